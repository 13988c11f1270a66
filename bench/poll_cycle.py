"""Poll-cycle benchmark: aggregator beside lemon24/reader on one corpus served by nginx.

    .venv/bin/python bench/poll_cycle.py --feeds 500 --runs 5

Everything runs on 127.0.0.1. For each run: a fresh corpus (bench/corpus.py) is served
by nginx with ETag/Last-Modified; each engine, in a process of its own with a fresh
SQLite database, does a cold cycle (empty store), a warm cycle (every feed answers 304)
and, after a tick that adds posts to 10 % of the feeds, a tick cycle. Reported: the
median and min-max seconds of each, feeds per second, peak memory, and the ratio of
aggregator's speed to reader's. Needs nginx (apt) and creates bench/.venv-reader.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
READER_VENV = HERE / ".venv-reader"
PHASES = ("cold", "warm", "tick")
NGINX_CONF = """daemon off; worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; default_type application/xml;
  server {{ listen 127.0.0.1:{port}; root {root}; etag on; }} }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def nginx(root: Path) -> Iterator[str]:
    """Serve `root` with nginx on a free loopback port; stop it on exit."""
    folder = Path(tempfile.mkdtemp(prefix="aggbench-nginx-"))
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, root=root))
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(folder)])
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def reader_python() -> str:
    python = READER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
    # reader's vendored feedparser imports sgmllib, which Python 3 ships as sgmllib3k.
    check = [str(python), "-c", "import reader, sgmllib"]
    if subprocess.run(check, capture_output=True).returncode:
        install = ["-m", "pip", "install", "-q", "reader>=3.12", "sgmllib3k"]
        subprocess.run([str(python), *install], check=True)
    return str(python)


def cycle(command: list[str], expect_new: bool) -> dict[str, float]:
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if result.get("errors") or (expect_new and not result["new"]):
        raise SystemExit(f"a cycle went wrong, refusing to report it: {command} -> {result}")
    return result


def one_run(
    feeds: int, corpus: Path, base: str, work: Path, reader: str
) -> dict[str, dict[str, dict[str, float]]]:
    write_corpus(corpus, feeds, tick=0)
    ours_db = f"sqlite:///{work / 'ours.sqlite'}"
    reader_db = str(work / "reader.sqlite")
    ours = [sys.executable, str(HERE / "ours_cycle.py"), ours_db, base, str(feeds)]
    theirs = [reader, str(HERE / "reader_cycle.py"), reader_db, base, str(feeds)]
    results: dict[str, dict[str, dict[str, float]]] = {"aggregator": {}, "reader": {}}
    for phase in PHASES:
        if phase == "tick":
            write_corpus(corpus, feeds, tick=1)
        expect_new = phase != "warm"
        results["aggregator"][phase] = cycle(ours, expect_new)
        results["reader"][phase] = cycle(theirs, expect_new)
    for name in ("ours.sqlite", "ours.sqlite-wal", "ours.sqlite-shm", "reader.sqlite"):
        (work / name).unlink(missing_ok=True)
    return results


def write_corpus(corpus: Path, feeds: int, tick: int) -> None:
    subprocess.run(
        [
            sys.executable,
            str(HERE / "corpus.py"),
            str(corpus),
            "--feeds",
            str(feeds),
            "--tick",
            str(tick),
        ],
        check=True,
        capture_output=True,
    )


def summarise(feeds: int, runs: list[dict[str, dict[str, dict[str, float]]]]) -> str:
    lines = [
        f"### {feeds} feeds, {len(runs)} runs (median, min-max)",
        "",
        "| phase | aggregator s | aggregator feeds/s | reader s | reader feeds/s"
        " | aggregator / reader speed |",
        "|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        ours = [r["aggregator"][phase]["seconds"] for r in runs]
        theirs = [r["reader"][phase]["seconds"] for r in runs]
        ratio = statistics.median(theirs) / statistics.median(ours)
        lines.append(
            f"| {phase} | {_spread(ours)} | {feeds / statistics.median(ours):,.0f} "
            f"| {_spread(theirs)} | {feeds / statistics.median(theirs):,.0f} | {ratio:.2f}x |"
        )
    peak_ours = max(r["aggregator"][p]["peak_bytes"] for r in runs for p in PHASES)
    peak_theirs = max(r["reader"][p]["peak_bytes"] for r in runs for p in PHASES)
    memory = f"aggregator {peak_ours / 2**20:.0f} MiB, reader {peak_theirs / 2**20:.0f} MiB"
    lines += ["", f"Peak memory of one cycle's process: {memory}."]
    return "\n".join(lines)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[500])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    reader = reader_python()
    for feeds in args.feeds:
        with tempfile.TemporaryDirectory(prefix="aggbench-") as tmp:
            os.chmod(tmp, 0o755)  # nginx's workers run as another user
            corpus, work = Path(tmp) / "corpus", Path(tmp) / "work"
            work.mkdir()
            write_corpus(corpus, feeds, tick=0)
            runs = []
            with nginx(corpus) as base:
                for n in range(args.runs):
                    runs.append(one_run(feeds, corpus, base, work, reader))
                    print(f"run {n + 1}/{args.runs} done", file=sys.stderr, flush=True)
            print(summarise(feeds, runs), flush=True)
    os.sync()


if __name__ == "__main__":
    main()
