"""The benchmarks in one invocation: one Markdown table, bench/results.md + .json.

    .venv/bin/python bench/run.py                              # the full run
    .venv/bin/python bench/run.py --feeds 60 --runs 2 --edits 10 --wrk-seconds 5  # quick

    poll_cycle.py     cold / warm / tick cycles, aggregator beside lemon24/reader, per size
    watch_latency.py  a line appended to a watched file -> its event on the SSE stream
    feed_rate.py      /stories/ID.atom under wrk, beside nginx serving the same bytes

Each part runs on 127.0.0.1 and is bounded in time; a part that fails is reported as
not measured, with the reason, and the others still run. Needs nginx and wrk (apt).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feed_rate
import poll_cycle
import watch_latency
from report import render

HERE = Path(__file__).resolve().parent
PARTS = ("cycles", "watch", "rate")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", default="500,5000", help="corpus sizes, comma-separated")
    parser.add_argument(
        "--markup",
        default="plain,publisher",
        help="corpora, comma-separated: plain paragraphs, or everyday publisher markup",
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="runs per size, and wrk runs per rate (>= 5)"
    )
    parser.add_argument(
        "--cycle-timeout", type=float, default=poll_cycle.CYCLE_TIMEOUT, help="per cycle, s"
    )
    parser.add_argument("--edits", type=int, default=50, help="watched-file edits")
    parser.add_argument("--rate-feeds", type=int, default=20, help="feeds behind the merged feed")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--profile-requests", type=int, default=20, help="0: no profile")
    parser.add_argument("--skip", action="append", choices=PARTS, default=[])
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--update",
        action="store_true",
        help="re-measure only the parts not skipped, keeping the others from --out's .json",
    )
    return parser.parse_args(argv)


def attempt(what: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The part's results, or {"error": why} so the rest of the benchmark carries on."""
    print(f"measuring {what}", file=sys.stderr, flush=True)
    try:
        return measure()
    except Exception as e:  # a broken part is reported, not allowed to hide the others
        traceback.print_exc()
        return {"error": f"{type(e).__name__}: {e}"}


def cycles(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(n) for n in args.feeds.split(",")]
    try:
        reader = poll_cycle.reader_python()
    except (OSError, subprocess.CalledProcessError) as e:
        why = {"runs": [], "error": f"no reader venv: {e}"}
        return {f"{n} {m}": why for n in sizes for m in args.markup.split(",")}
    sized: dict[str, Any] = {}
    for feeds in sizes:
        for markup in args.markup.split(","):
            label = f"{feeds} {markup}"
            print(f"measuring poll cycles, {label} feeds", file=sys.stderr, flush=True)
            runs, error = poll_cycle.measure(feeds, args.runs, reader, args.cycle_timeout, markup)
            sized[label] = {"runs": runs, "error": error}
    return sized


def rate(args: argparse.Namespace) -> dict[str, Any]:
    result = feed_rate.measure(
        args.rate_feeds, args.wrk_seconds, args.connections, args.runs, args.profile_requests
    )
    sizes = {"seconds": args.wrk_seconds, "connections": args.connections, "runs": args.runs}
    return {**result, **sizes}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = shlex.join([".venv/bin/python", "bench/run.py", *sys.argv[1:]])
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "command": command,
    }
    results: dict[str, Any] = {"meta": meta}
    if args.update:
        results = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        parts = [p for p in PARTS if p not in args.skip]
        results["meta"].setdefault("updates", []).append({**meta, "parts": parts})
    if "cycles" not in args.skip:
        results["cycles"] = cycles(args)
    if "watch" not in args.skip:
        results["watch"] = attempt("watch", lambda: watch_latency.measure(args.edits))
    if "rate" not in args.skip:
        results["rate"] = attempt("rate", lambda: rate(args))
    table = render(results)
    args.out.write_text(table, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    print(table, flush=True)
    print(f"written to {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
