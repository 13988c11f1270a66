"""Poll-cycle benchmark: aggregator beside lemon24/reader on one corpus served by nginx.

    .venv/bin/python bench/poll_cycle.py --feeds 500 --runs 5

Everything runs on 127.0.0.1. For each run: a fresh corpus (bench/corpus.py) is served
by nginx with ETag/Last-Modified; each engine, in a process of its own with a fresh
SQLite database, does a cold cycle (empty store), a warm cycle (every feed answers 304)
and, after a tick that adds posts to 10 % of the feeds, a tick cycle; so does the whole
`aggregator poll --once` command on a database of its own (once_cycle.py). Reported: the
median and min-max seconds of each, feeds per second, peak memory, and the ratio of
aggregator's speed to reader's. Needs nginx (apt) and creates bench/.venv-reader.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import write
from report import ONCE, cycles_section
from serve import nginx

HERE = Path(__file__).resolve().parent
READER_VENV = HERE / ".venv-reader"
PHASES = ("cold", "warm", "tick")
CYCLE_TIMEOUT = 3600.0
Run = dict[str, dict[str, dict[str, float]]]  # engine -> phase -> seconds, new, peak_bytes


class CycleFailed(RuntimeError):
    """A cycle errored, stored nothing where it should have, or ran out of time."""


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


def cycle(command: list[str], expect_new: bool, timeout: float) -> dict[str, float]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise CycleFailed(f"{command[1]} took over {timeout:.0f} s (killed)") from e
    if done.returncode:
        raise CycleFailed(f"{command[1]} exited {done.returncode}: {done.stderr[-500:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if result.get("errors") or (expect_new and not result["new"]):
        raise CycleFailed(f"a cycle went wrong, refusing to report it: {command} -> {result}")
    return result


def one_run(
    feeds: int, corpus: Path, base: str, work: Path, reader: str, timeout: float, markup: str
) -> Run:
    write(corpus, feeds, tick=0, markup=markup)
    ours_db = f"sqlite:///{work / 'ours.sqlite'}"
    reader_db = str(work / "reader.sqlite")
    once_db = str(work / "once.sqlite")
    engines = {
        "aggregator": [sys.executable, str(HERE / "ours_cycle.py"), ours_db, base, str(feeds)],
        ONCE: [sys.executable, str(HERE / "once_cycle.py"), once_db, base, str(feeds)],
        "reader": [reader, str(HERE / "reader_cycle.py"), reader_db, base, str(feeds)],
    }
    results: Run = {engine: {} for engine in engines}
    for phase in PHASES:
        if phase == "tick":
            write(corpus, feeds, tick=1, markup=markup)
        expect_new = phase != "warm"
        for engine, command in engines.items():
            results[engine][phase] = cycle(command, expect_new, timeout)
    for path in work.iterdir():
        if path.name.startswith(("ours.", "once.", "reader.")):
            path.unlink()
    return results


def measure(
    feeds: int, runs: int, reader: str, timeout: float = CYCLE_TIMEOUT, markup: str = "publisher"
) -> tuple[list[Run], str | None]:
    """Up to `runs` runs of cold, warm and tick cycles over a corpus of `feeds` feeds
    (`markup`: "publisher" or "plain", see corpus.py); the runs done, and why the rest
    were not (a failed or timed-out cycle) or None."""
    done: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="aggbench-") as tmp:
        corpus, work = Path(tmp) / "corpus", Path(tmp) / "work"
        work.mkdir()
        write(corpus, feeds, tick=0, markup=markup)
        with nginx(corpus) as base:
            for n in range(runs):
                try:
                    done.append(one_run(feeds, corpus, base, work, reader, timeout, markup))
                except CycleFailed as e:
                    return done, str(e)
                print(f"{feeds} feeds: run {n + 1}/{runs} done", file=sys.stderr, flush=True)
    return done, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[500])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=CYCLE_TIMEOUT, help="per cycle, s")
    parser.add_argument("--markup", choices=("publisher", "plain"), default="publisher")
    args = parser.parse_args()
    reader = reader_python()
    for feeds in args.feeds:
        runs, error = measure(feeds, args.runs, reader, args.timeout, args.markup)
        print(cycles_section({feeds: {"runs": runs, "error": error}}), flush=True)


if __name__ == "__main__":
    main()
