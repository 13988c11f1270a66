"""What the metrics cost: the counting one poll does, and one scrape with every
source's series filled in.

    .venv/bin/python bench/metrics_cost.py --sources 5000 --runs 5

Counting: the calls a poll makes (count_poll, three timed blocks, the lag) repeated
100,000 times. Scrape: after one poll of each of `--sources` sources (so the polls
counter holds one series per source), generate the text exposition. Prints the median
and min-max of `--runs` runs. Run it in a fresh process: the registry is the process's.
"""

from __future__ import annotations

import argparse
import statistics
from time import perf_counter

from aggregator import metrics
from aggregator.core.types import PollReport

CALLS = 100_000


def count_one_poll(i: int) -> None:
    report = PollReport(source=f"source-{i % 100}", new=1, unchanged=3)
    with metrics.timed(metrics.PARSE_SECONDS, "feed"):
        pass
    with metrics.timed(metrics.STORE_WRITE_SECONDS):
        pass
    metrics.DUE_LAG.observe(0.4)
    metrics.count_poll(report, "feed", "story", 0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    per_poll: list[float] = []
    for _ in range(args.runs):
        started = perf_counter()
        for i in range(CALLS):
            count_one_poll(i)
        per_poll.append((perf_counter() - started) / CALLS * 1e6)
    for i in range(args.sources):
        metrics.count_poll(PollReport(source=f"feed-{i:05d}", new=1), "feed", "story", 0.02)
    scrapes: list[float] = []
    size = 0
    for _ in range(args.runs):
        started = perf_counter()
        size = len(metrics.exposition())
        scrapes.append((perf_counter() - started) * 1000)
    print(
        f"counting one poll: median {statistics.median(per_poll):.1f} us "
        f"(min {min(per_poll):.1f}, max {max(per_poll):.1f}) over {CALLS:,} polls x {args.runs}"
    )
    print(
        f"one scrape with {args.sources:,} sources: median {statistics.median(scrapes):.1f} ms "
        f"(min {min(scrapes):.1f}, max {max(scrapes):.1f}), {size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
