"""Where one merged-feed request's time goes: cProfile over the work `/stories/ID.atom` does.

    .venv/bin/python bench/feed_profile.py sqlite:///path/store.sqlite --story bench

Repeats, in this process, what the route does per request (store.story_view, render_feed,
the ETag's sha256) on an existing store, and prints milliseconds per request for each
step and the functions with the most cumulative time. bench/feed_rate.py --profile runs
it on the store it has just filled.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import time

from aggregator.core.types import StorySpec
from aggregator.publish.feeds import render_feed
from aggregator.store import open_store

URL = "http://127.0.0.1/stories/bench"


def profile(database_url: str, story_id: str = "bench", requests: int = 20, top: int = 15) -> str:
    """A short text report: ms per request for each step, then cProfile's top functions."""
    store = open_store(database_url)
    story = StorySpec(story_id, story_id.title())
    try:
        steps = {"story_view": 0.0, "render_feed": 0.0, "sha256": 0.0}
        profiler = cProfile.Profile()
        for _ in range(requests):
            profiler.enable()
            start = time.perf_counter()
            view = store.story_view(story)
            read = time.perf_counter()
            body = render_feed(view, "atom", story_url=URL)
            rendered = time.perf_counter()
            hashlib.sha256(body).hexdigest()
            profiler.disable()
            steps["story_view"] += read - start
            steps["render_feed"] += rendered - read
            steps["sha256"] += time.perf_counter() - rendered
    finally:
        store.engine.dispose()
    lines = [f"{len(view.entries)} entries, {len(body):,} bytes; ms per request:"]
    lines += [f"  {step}: {1000 * total / requests:.1f}" for step, total in steps.items()]
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative").print_stats(top)
    return "\n".join(lines) + "\n" + _trim(out.getvalue())


def _trim(report: str) -> str:
    """pstats' table without its preamble."""
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(line.rstrip() for line in lines[start:] if line.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--story", default="bench")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    print(profile(args.database_url, args.story, args.requests))


if __name__ == "__main__":
    main()
