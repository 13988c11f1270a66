"""One poll cycle of aggregator over the bench corpus, in a process of its own.

    python bench/ours_cycle.py DB_URL BASE_URL FEEDS [--workers 16] [--parse-processes 2]

Polls every feed once with the service's own pipeline (fetch | parse | normalize |
dedupe | store) on a pool of threads, as the scheduler does, with parse and sign in
`--parse-processes` child processes as the service runs them (0: in the polling threads),
holding the story's band index as a running worker does (`hold_band_index`, loaded
before the timer), and prints seconds, new entries and peak memory as JSON:
`peak_bytes` is this process's peak (`own_peak_bytes`) plus the sum of the parse
processes' peaks (`child_peak_bytes`,
each read from its /proc/PID/status VmHWM before it stops). getrusage's RUSAGE_CHILDREN
is not used: it counts a child forked from this process (subprocess) at this process's
size before the child's exec, which overstated the children by about 100 MiB each.
Run it again on the same database for a warm cycle.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from aggregator.arenas import limit_arenas
from aggregator.core.types import SourceSpec, StorySpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.parsing import INLINE, ParsePool, Parsing
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import open_store

STORY = StorySpec("bench", "Bench")


def main() -> None:
    limit_arenas()  # as the `aggregator` command does
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("base_url")
    parser.add_argument("feeds", type=int)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--parse-processes", type=int, default=2)
    args = parser.parse_args()
    store = open_store(args.database_url)
    specs = [
        SourceSpec(f"f{n:05d}", "bench", "feed", f"{args.base_url}/f{n:05d}.xml", None, 300, "UTC")
        for n in range(args.feeds)
    ]
    store.sync_sources(specs)
    # Every bench feed is on 127.0.0.1: per-host politeness would serialise the run.
    limits = FetchLimits(per_host=args.workers)
    processes = args.parse_processes
    parsing: Parsing = ParsePool(processes) if processes else INLINE
    if isinstance(parsing, ParsePool):
        parsing.start(wait=True)  # a running worker's children are up (service.py)
    # A running worker holds the index of a story it has polled before, kept in step with
    # the store; only its first look-up after a start loads it (poll --once pays that).
    store.hold_band_index(STORY.id)
    with make_client(limits) as client, ThreadPoolExecutor(args.workers) as pool:
        fetchers = Fetchers(client, limits)
        now = datetime.now(UTC)
        start = time.perf_counter()
        reports = list(
            pool.map(
                lambda s: poll(s, STORY, store=store, fetchers=fetchers, now=now, parsing=parsing),
                specs,
            )
        )
        seconds = time.perf_counter() - start
    children = 0
    if isinstance(parsing, ParsePool):
        children = sum(peak_bytes(pid) for pid in parsing.pids())
        parsing.close()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "seconds": seconds,
        "new": sum(r.new for r in reports),
        "errors": sum(1 for r in reports if r.failed),
        "peak_bytes": own + children,
        "own_peak_bytes": own,
        "child_peak_bytes": children,
    }
    print(json.dumps(result))


def peak_bytes(pid: int) -> int:
    """A running process's peak resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


if __name__ == "__main__":
    main()
