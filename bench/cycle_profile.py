"""Where a cold poll cycle's time goes: cProfile of N corpus feeds polled one after another.

    python bench/cycle_profile.py                # --feeds 200 --top 40
    python bench/cycle_profile.py --phase tick   # cold first (not profiled), then a tick
    python bench/cycle_profile.py --phase warm   # cold first, then a cycle of 304s

Writes `corpus.py`'s feeds to a temp dir, serves them with nginx, and polls each once
with the service's pipeline (`pipeline.poll`) into a fresh SQLite store, in this thread,
so cProfile sees all of it. Prints the cycle's seconds and the top functions by
cumulative time. One thread, unlike ours_cycle.py's 16: the split between parse, sign,
look-up and write is the same, without threads blurring it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corpus import write
from serve import nginx

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import open_store

STORY = StorySpec("bench", "Bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--phase",
        choices=("cold", "warm", "tick"),
        default="cold",
        help="warm, tick: poll every feed once unprofiled, then profile the next cycle "
        "(tick: after adding posts to every tenth feed)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aggbench-profile-") as tmp:
        folder = Path(tmp)
        write(folder / "corpus", args.feeds)
        with nginx(folder / "corpus") as base:
            store = open_store(f"sqlite:///{folder / 'store.sqlite'}")
            specs = [
                SourceSpec(f"f{n:05d}", "bench", "feed", f"{base}/f{n:05d}.xml", None, 300, "UTC")
                for n in range(args.feeds)
            ]
            store.sync_sources(specs)
            limits = FetchLimits()
            with make_client(limits) as client:
                fetchers = Fetchers(client, limits)
                now = datetime.now(UTC)
                if args.phase != "cold":
                    for spec in specs:
                        poll(spec, STORY, store=store, fetchers=fetchers, now=now)
                    if args.phase == "tick":
                        write(folder / "corpus", args.feeds, tick=1)
                    now += timedelta(minutes=10)
                profile = cProfile.Profile()
                start = time.perf_counter()
                with profile:
                    for spec in specs:
                        poll(spec, STORY, store=store, fetchers=fetchers, now=now)
                seconds = time.perf_counter() - start
            store.engine.dispose()
    print(f"{args.feeds} feeds polled one after another ({args.phase}): {seconds:.2f} s")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
