"""Many workers on one PostgreSQL: sources polled per second by 1, 2 and 4 `aggregator
worker` processes, and the time from a worker's commit to the event on a web node.

    .venv/bin/python bench/workers.py                 # --feeds 120 --runs 3 --edits 20

Rate: the corpus (corpus.py) served by nginx (serve.py), one fresh PostgreSQL database a
run (created, then dropped), the sources recorded before any worker starts so the clock
measures polling only: from the first poll's start (min last_attempt_at) until every
source's poll has committed (seen by this script, which looks every 50 ms). Cold cycle:
every feed is new, every entry is stored.

Latency: one `web` node (`--stream-recheck 3600`, so only NOTIFY wakes its streams) and
one worker following a watched live page (watch_latency.py's posts). This script also
LISTENs on the channel the worker NOTIFYs at commit: "commit -> event" runs from that
notification to the `new` event on the web node's SSE stream; "save -> event" from the
file's close. Medians over runs, with the min-max; everything stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from corpus import write as write_corpus
from serve import ROOT, free_port, nginx, stop
from sqlalchemy import create_engine, func, make_url, select
from watch_latency import append, follow, post, title_of

from aggregator.config import load
from aggregator.store import open_store
from aggregator.store.schema import sources

PG = os.environ.get(
    "AGGREGATOR_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CYCLE_TIMEOUT = 600.0
EVENT_TIMEOUT = 20.0
Arrival = tuple[float, str, str]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"aggbench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(PG), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(PG), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(path: Path, db: str, entries: list[dict[str, str]], port: int = 0) -> None:
    lines = ["[service]", f'database_url = "{db}"', 'timezone = "UTC"', "websub_subscribe = false"]
    lines += [f"port = {port or free_port()}", "", "[[stories]]", 'id = "bench"']
    for source in entries:
        lines += ["", "[[sources]]", *(f'{k} = "{v}"' for k, v in source.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def started(config: Path, folder: Path, *roles: list[str]) -> Iterator[list[Path]]:
    """One `python -m aggregator` process per role; their logs; all stopped on exit."""
    with ExitStack() as stack:
        logs = []
        for n, role in enumerate(roles):
            log = folder / f"process-{n}.log"
            sink = stack.enter_context(log.open("wb"))
            command = [sys.executable, "-m", "aggregator", "--config", str(config), *role]
            process = subprocess.Popen(command, cwd=ROOT, stderr=sink)
            stack.callback(stop, process)
            logs.append(log)
        yield logs


def cold_cycle(base: str, feeds: int, workers: int, folder: Path) -> float:
    """Sources polled per second by `workers` processes, every feed new."""
    with fresh_database() as db:
        config = folder / "rate.toml"
        hour = {"interval": "1h", "min_interval": "1h", "max_interval": "1h"}
        entries = [
            {"name": f"f{n:05d}", "kind": "feed", "url": f"{base}/f{n:05d}.xml", **hour}
            for n in range(feeds)
        ]
        write_config(config, db, entries)
        store = open_store(db)  # migrate and record the sources before the clock starts
        store.sync_sources(load(config, {}).sources)
        store.engine.dispose()
        engine = create_engine(db)
        try:
            with started(config, folder, *(["worker"] for _ in range(workers))) as logs:
                done_at = wait_until_polled(engine, feeds, logs)
            with engine.connect() as c:
                first = c.execute(select(func.min(sources.c.last_attempt_at))).scalar_one()
        finally:
            engine.dispose()
    return feeds / (done_at - first.replace(tzinfo=UTC)).total_seconds()


def wait_until_polled(engine: object, feeds: int, logs: list[Path]) -> datetime:
    done = select(func.count()).where(
        sources.c.last_success_at.is_not(None), sources.c.lease_owner.is_(None)
    )
    deadline = time.monotonic() + CYCLE_TIMEOUT
    with engine.connect() as c:  # type: ignore[attr-defined]
        while c.execute(done).scalar_one() < feeds:
            c.rollback()
            if time.monotonic() > deadline:
                tail = logs[0].read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError(f"cycle not done in {CYCLE_TIMEOUT:g}s: {tail}")
            time.sleep(0.05)
    return datetime.now(UTC)


def listen(db: str, notices: queue.Queue[float], stopping: threading.Event) -> None:
    with psycopg.connect(libpq(db), autocommit=True) as conn:
        conn.execute("LISTEN aggregator_events")
        while not stopping.is_set():
            for _ in conn.notifies(timeout=0.5):
                notices.put(time.perf_counter())


def next_title(arrivals: queue.Queue[Arrival], title: str) -> float:
    deadline = time.monotonic() + EVENT_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        try:
            arrived, kind, got = arrivals.get(timeout=left)
        except queue.Empty:
            break
        if kind == "new" and got == title:
            return arrived
    raise RuntimeError(f"{title!r} did not reach the stream within {EVENT_TIMEOUT:g}s")


def latency(edits: int, folder: Path) -> dict[str, list[float]]:
    """Seconds commit -> event and save -> event, one pair per appended post."""
    page, port = folder / "live.md", free_port()
    page.write_text("# Bench live page\n" + post(0) + post(1), encoding="utf-8")
    source = {"name": "live", "kind": "liveblog", "path": str(page), "interval": "1h"}
    with fresh_database() as db, ExitStack() as stack:
        write_config(folder / "live.toml", db, [source], port)
        web = ["web", "--port", str(port), "--stream-recheck", "3600"]
        stack.enter_context(started(folder / "live.toml", folder, web, ["worker"]))
        base = f"http://127.0.0.1:{port}"
        wait_for_web(base)
        notices: queue.Queue[float] = queue.Queue()
        arrivals: queue.Queue[Arrival] = queue.Queue()
        stopping = threading.Event()
        stack.callback(stopping.set)
        threading.Thread(target=listen, args=(db, notices, stopping), daemon=True).start()
        url = f"{base}/stories/bench/events"
        threading.Thread(target=follow, args=(url, arrivals), daemon=True).start()
        next_title(arrivals, title_of(1))
        found: dict[str, list[float]] = {"commit": [], "save": []}
        for n in range(2, edits + 2):
            while not notices.empty():
                notices.get_nowait()
            saved = append(page, post(n))
            arrived = next_title(arrivals, title_of(n))
            committed = notices.get(timeout=EVENT_TIMEOUT)
            found["commit"].append(arrived - committed)
            found["save"].append(arrived - saved)
    return found


def wait_for_web(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).json().get("notifications") == "listening":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the web node did not start listening within 30 s")


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    result: dict[str, object] = {"feeds": args.feeds, "runs": args.runs, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="aggbench-workers-") as tmp:
        folder = Path(tmp)
        write_corpus(folder / "corpus", args.feeds)
        with nginx(folder / "corpus") as base:
            for count in map(int, args.workers.split(",")):
                rates = [cold_cycle(base, args.feeds, count, folder) for _ in range(args.runs)]
                result[f"polls_per_s_{count}_workers"] = spread(rates)
                print(f"{count} worker(s): {spread(rates)}", file=sys.stderr, flush=True)
        runs = [latency(args.edits, folder) for _ in range(args.runs)]
    for what in ("commit", "save"):
        result[f"{what}_to_event_p50_s"] = spread([statistics.median(r[what]) for r in runs])
        result[f"{what}_to_event_p95_s"] = spread([p95(r[what]) for r in runs])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
