"""One poll cycle of aggregator over the bench corpus, in a process of its own.

    python bench/ours_cycle.py DB_URL BASE_URL FEEDS [--workers 16]

Polls every feed once with the service's own pipeline (fetch | parse | normalize |
dedupe | store) on a pool of threads, as the scheduler does, and prints seconds, new
entries and peak memory as JSON. Run it again on the same database for a warm cycle.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.pipeline import poll
from aggregator.sources import Fetchers
from aggregator.store import open_store
from aggregator.types import SourceSpec, StorySpec

STORY = StorySpec("bench", "Bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("base_url")
    parser.add_argument("feeds", type=int)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    store = open_store(args.database_url)
    specs = [
        SourceSpec(f"f{n:05d}", "bench", "feed", f"{args.base_url}/f{n:05d}.xml", None, 300, "UTC")
        for n in range(args.feeds)
    ]
    store.sync_sources(specs)
    # Every bench feed is on 127.0.0.1: per-host politeness would serialise the run.
    limits = FetchLimits(per_host=args.workers)
    with make_client(limits) as client, ThreadPoolExecutor(args.workers) as pool:
        fetchers = Fetchers(client, limits)
        now = datetime.now(UTC)
        start = time.perf_counter()
        reports = list(
            pool.map(lambda s: poll(s, STORY, store=store, fetchers=fetchers, now=now), specs)
        )
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "seconds": seconds,
        "new": sum(r.new for r in reports),
        "errors": sum(1 for r in reports if r.failed),
        "peak_bytes": peak,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
