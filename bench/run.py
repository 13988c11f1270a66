"""The benchmarks in one invocation: one Markdown table, bench/results.md + .json.

    .venv/bin/python bench/run.py                              # the full run
    .venv/bin/python bench/run.py --feeds 500 --runs 5        # one size
    (a quick check that leaves bench/ and README alone: bench/README.md)

    poll_cycle.py     cold / warm / tick cycles, aggregator beside lemon24/reader, per size
    watch_latency.py  a line appended to a watched file -> its event on the SSE stream
    tick_latency.py   a served feed gains posts -> their events on the SSE stream
    feed_rate.py      /stories/ID.atom under wrk, beside nginx serving the same bytes

Each part runs on 127.0.0.1 and is bounded in time; a part that fails is reported as
not measured, with the reason, and the others still run. Needs nginx and wrk (apt).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
import tick_latency
import watch_latency
from report import render

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
# README's results sit between these two lines; run.py rewrites what is between them.
README_START = "<!-- bench/run.py writes from here -->"
README_END = "<!-- bench/run.py writes up to here -->"
PARTS = ("cycles", "watch", "tick", "rate")


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
    parser.add_argument("--tick-feeds", type=int, default=500, help="feeds the service follows")
    parser.add_argument("--tick-interval", type=int, default=30, help="their interval, s")
    parser.add_argument("--rate-feeds", type=int, default=20, help="feeds behind the merged feed")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--profile-requests", type=int, default=20, help="0: no profile")
    parser.add_argument("--skip", action="append", choices=PARTS, default=[])
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument(
        "--readme",
        type=Path,
        default=README,
        help="the README whose results section is rewritten ('-': none)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="re-measure only the parts not skipped (and, of the cycles, only the --feeds "
        "sizes), keeping the rest from --out's .json",
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
        "commit": commit(),
        "peers": peer_versions(),
    }
    results: dict[str, Any] = {"meta": meta}
    if args.update:
        results = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        parts = [p for p in PARTS if p not in args.skip]
        results["meta"].setdefault("updates", []).append({**meta, "parts": parts})
    if "cycles" not in args.skip:
        # With --update, the sizes measured now replace theirs; the others stay.
        kept = results.get("cycles", {}) if args.update else {}
        results["cycles"] = {**kept, **cycles(args)}
    if "watch" not in args.skip:
        results["watch"] = attempt("watch", lambda: watch_latency.measure(args.edits))
    if "tick" not in args.skip:
        tick = lambda: tick_latency.measure(args.tick_feeds, args.tick_interval)  # noqa: E731
        results["tick"] = attempt("tick", tick)
    if "rate" not in args.skip:
        results["rate"] = attempt("rate", lambda: rate(args))
    table = render(results)
    args.out.write_text(table, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    print(table, flush=True)
    print(f"written to {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)
    if str(args.readme) != "-":
        rewrite_readme(args.readme, table)
        print(f"and README's results section in {args.readme}", file=sys.stderr)


def rewrite_readme(readme: Path, table: str) -> None:
    """Put `table` between README's two markers, its headings one level down."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: no '{README_START}' ... '{README_END}' section")
    body = table.replace("\n### ", "\n#### ").strip()
    section = f"{README_START}\n\n{body}\n\n"
    readme.write_text(text[:start] + section + text[end:], encoding="utf-8")


# What a run writes: a change to these alone is not a change to what is measured.
WRITTEN = (":!bench/results.md", ":!bench/results.json", ":!README.md")


def commit() -> str:
    """HEAD's short hash, "+changes" when tracked files other than the results differ."""
    run = lambda *a: subprocess.run(a, cwd=HERE.parent, capture_output=True, text=True)  # noqa: E731
    head = run("git", "rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    status = ("git", "status", "--porcelain", "--untracked-files=no", "--", ".", *WRITTEN)
    dirty = run(*status).stdout.strip()
    return f"{head}+changes" if dirty else head


def peer_versions() -> dict[str, str]:
    """What the measurements compare against: reader (its venv), nginx, wrk."""
    found: dict[str, str] = {}
    try:
        python = poll_cycle.reader_python()
        version = [python, "-c", "import reader; print(reader.__version__)"]
        found["reader"] = subprocess.run(version, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found["reader"] = "not installed"
    for name, flag in (("nginx", "-v"), ("wrk", "--version")):
        try:
            done = subprocess.run([name, flag], capture_output=True, text=True)
        except OSError:
            found[name] = "not installed"
            continue
        version = re.search(r"\d+(?:\.\d+)+", done.stderr + done.stdout)
        found[name] = version[0] if version else "unknown"
    return found


if __name__ == "__main__":
    main()
