"""Hostile clients against the web server, all on 127.0.0.1, bounded in count and time.

    .venv/bin/python bench/load_web.py                    # the service as run.py starts it
    .venv/bin/python bench/load_web.py --server httptools # on uvicorn's defaults, as before
    .venv/bin/python bench/load_web.py --server h11       # on h11, 64 KB head limit

Starts the real service (run.py, role `run`) on a temp config with one story whose live
page holds 30 posts. `--server guarded` (the default) is the service as it is; the two
others swap its connection guard (aggregator/web/http_guard.py) for plain uvicorn: its
default httptools protocol, or h11 with `h11_max_incomplete_event_size` at 64 KB, the
limit uvicorn offers. Then, one after another:

    baseline    nothing else
    sse         --streams event-stream clients held open (default 2,000)
    half-open   --half-open connections (default 5,000): half send nothing, half send
                half a request head; the server's descriptors are counted again after
                --settle seconds (past the 10 s head timeout)
    header      one request whose header is --header-mb MB (default 100), sent in 1 MB
                pieces, given up after --header-seconds

During each, a normal client fetches the story's Atom feed on a fresh connection every
0.1 s, whether the one before was answered or not; the report gives the median and the
slowest of its latencies, its failures, and the server's open descriptors
(/proc/PID/fd). With wrk on the PATH, `--wrk-seconds` of wrk on the feed first (one
thread, 50 connections, three runs) give the requests per second the server answers
and the server's CPU time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from serve import ROOT, START_SECONDS, free_port, stop, wait_for_port, write_config
from watch_latency import post

PROBE_GAP = 0.1
PROBE_TIMEOUT = 60.0
ANSWER_WAIT = 5.0
OPENING = 200  # connections being opened at once
FEED = b"GET /stories/bench.atom HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
EVENTS = b"GET /stories/bench/events HTTP/1.1\r\nHost: bench\r\n\r\n"
HALF_HEAD = b"GET /stories/bench.atom HTTP/1.1\r\nHost: bench\r\n"
Row = dict[str, Any]


SERVERS = ("guarded", "httptools", "h11")
H11_HEAD_LIMIT = 64 * 1024


def serve_bare(config: str, http: str) -> None:
    """The service with uvicorn's own Config in place of the guarded one."""
    import uvicorn

    from aggregator import service
    from aggregator.cli.main import main

    def bare(app: Any, _limits: Any, **options: Any) -> uvicorn.Config:
        if http == "h11":
            options.update(http="h11", h11_max_incomplete_event_size=H11_HEAD_LIMIT)
        return uvicorn.Config(app, **options)

    service.server_config = bare  # type: ignore[assignment]
    sys.exit(main(["--config", config, "run"]))


@contextmanager
def service(folder: Path, server: str) -> Iterator[tuple[int, int]]:
    """The service on a free port; yields (port, pid)."""
    port = free_port()
    page = folder / "live.md"
    page.write_text("# Bench live page\n\n" + "".join(post(n) for n in range(30)))
    config = folder / "config.toml"
    source = {"name": "live", "kind": "liveblog", "path": str(page), "interval": "1h"}
    write_config(config, port, folder / "store.sqlite", [source])
    command = [sys.executable, str(ROOT / "run.py"), "--config", str(config)]
    if server != "guarded":
        command[1:] = [str(Path(__file__).resolve()), "--serve-bare", str(config), server]
    with (folder / "service.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, process, "aggregator")
            wait_for_posts(f"http://127.0.0.1:{port}")
            yield port, process.pid
        finally:
            stop(process)


def wait_for_posts(base: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(f"{base}/stories/bench.json", timeout=5).json()["items"]:
                return
        time.sleep(0.2)
    raise RuntimeError("the live page was not read in time")


def descriptors(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def probe(port: int) -> float | None:
    """One normal request on a fresh connection: its latency, or None if it failed."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(FEED)
            answer = await reader.read()
            writer.close()
    except (OSError, TimeoutError):
        return None
    return time.perf_counter() - start if answer.startswith(b"HTTP/1.1 200") else None


async def probes(port: int, count: int, until: asyncio.Future[Any] | None = None) -> Row:
    """`count` probes started PROBE_GAP apart, each on its own, whether the one before
    has been answered or not (and on until `until` is done)."""
    started: list[asyncio.Future[float | None]] = []
    while len(started) < count or (until is not None and not until.done()):
        started.append(asyncio.ensure_future(probe(port)))
        await asyncio.sleep(PROBE_GAP)
    latencies = await asyncio.gather(*started)
    seconds = [s for s in latencies if s is not None]
    failed = len(latencies) - len(seconds)
    return {
        "probes": len(latencies),
        "failed": failed,
        "median_ms": round(1000 * statistics.median(seconds), 1) if seconds else None,
        "max_ms": round(1000 * max(seconds), 1) if seconds else None,
    }


async def open_many(port: int, count: int, send: bytes) -> list[Any]:
    """`count` connections that each send `send`, opened OPENING at a time."""
    gate = asyncio.Semaphore(OPENING)

    async def one(i: int) -> Any:
        async with gate:
            with suppress(OSError, TimeoutError):
                async with asyncio.timeout(30):
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(send if i % 2 or send is EVENTS else b"")
                    return reader, writer
        return None

    return [c for c in await asyncio.gather(*(one(i) for i in range(count))) if c]


def close_all(connections: list[Any]) -> None:
    for _reader, writer in connections:
        writer.transport.abort()


async def sse_phase(port: int, pid: int, streams: int) -> Row:
    opened = await open_many(port, streams, EVENTS)
    statuses: dict[str, int] = {}
    for reader, _writer in opened:
        with suppress(OSError, TimeoutError, ValueError, IndexError):
            async with asyncio.timeout(10):
                status = (await reader.readline()).split()[1].decode()
                statuses[status] = statuses.get(status, 0) + 1
    row = await probes(port, 30)
    row.update(fds=descriptors(pid), note=f"streams by status {statuses}")
    close_all(opened)
    return row


async def half_open_phase(port: int, pid: int, count: int, settle: float) -> Row:
    opened = await open_many(port, count, HALF_HEAD)
    row = await probes(port, 30)
    during = descriptors(pid)
    await asyncio.sleep(settle)
    after = await probes(port, 5)
    row.update(fds=during, note=f"{len(opened)} opened; after {settle:g} s: {descriptors(pid)} fds")
    row["after_median_ms"] = after["median_ms"]
    close_all(opened)
    return row


async def big_header(port: int, megabytes: int, give_up: float) -> str:
    """Send one request whose header has `megabytes` MB (for at most `give_up` seconds,
    then wait ANSWER_WAIT more for an answer); say how it ended."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    answer = asyncio.ensure_future(reader.read(200))
    writer.write(HALF_HEAD + b"X-Big: ")
    chunk, sent = b"a" * (1 << 20), 0
    try:
        async with asyncio.timeout(give_up):
            while sent < megabytes and not answer.done():
                writer.write(chunk)
                await writer.drain()
                sent += 1
        async with asyncio.timeout(ANSWER_WAIT):
            first = (await answer).split(b"\r\n", 1)[0].decode(errors="replace")
        outcome = f"answered {first!r}" if first else "closed"
    except TimeoutError:
        outcome = "no answer"
    except OSError as e:
        outcome = f"reset ({type(e).__name__})"
    writer.transport.abort()
    answer.cancel()
    return f"{outcome} after {time.monotonic() - start:.2f} s, {sent} MB sent"


async def header_phase(port: int, pid: int, megabytes: int, give_up: float) -> Row:
    sending = asyncio.ensure_future(big_header(port, megabytes, give_up))
    row = await probes(port, 10, until=sending)
    row.update(fds=descriptors(pid), note=await sending)
    return row


async def attack(port: int, pid: int, args: argparse.Namespace) -> dict[str, Row]:
    phases: dict[str, Callable[[], Awaitable[Row]]] = {
        "baseline": lambda: probes(port, 30),
        "sse": lambda: sse_phase(port, pid, args.streams),
        "half-open": lambda: half_open_phase(port, pid, args.half_open, args.settle),
        "header": lambda: header_phase(port, pid, args.header_mb, args.header_seconds),
    }
    rows: dict[str, Row] = {}
    for name, run in phases.items():
        rows[name] = await run()
        rows[name].setdefault("fds", descriptors(pid))
        print(name, json.dumps(rows[name]), file=sys.stderr, flush=True)
        await asyncio.sleep(1.0)
    return rows


def throughput(port: int, pid: int, seconds: int, runs: int = 3) -> str:
    """Medians over `runs` runs of wrk on the feed: requests per second, and the server's
    CPU time per request (steadier than the rate on a shared machine)."""
    if seconds <= 0 or shutil.which("wrk") is None:
        return "not measured (no wrk on the PATH, or --wrk-seconds 0)"
    url = f"http://127.0.0.1:{port}/stories/bench.atom"
    command = ["wrk", "-t1", "-c50", f"-d{seconds}s", url]
    rates, costs = [], []
    for _ in range(runs):
        cpu = cpu_seconds(pid)
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
        cpu = cpu_seconds(pid) - cpu
        words = out.stdout.split()
        if "requests" in words and "Requests/sec:" in words:
            done = int(words[words.index("requests") - 1])
            rates.append(float(words[words.index("Requests/sec:") + 1]))
            costs.append(1e6 * cpu / max(1, done))
    if not rates:
        return "wrk printed no rate"
    rate, cost = statistics.median(rates), statistics.median(costs)
    spread = f"{min(rates):,.0f}-{max(rates):,.0f}"
    return f"{rate:,.0f} requests/s ({spread}), {cost:,.0f} µs of server CPU a request"


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` so far (proc(5): fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(rows: dict[str, Row], server: str, rate: str) -> str:
    lines = [
        f"server: {server}; wrk on the feed: {rate}",
        "",
        "| phase | probes (failed) | median ms | max ms | server fds | what happened |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        note = r.get("note", "")
        if "after_median_ms" in r:
            note += f"; a probe then: {r['after_median_ms']} ms"
        cells = [name, f"{r['probes']} ({r['failed']})", r["median_ms"], r["max_ms"], r["fds"]]
        lines.append("| " + " | ".join(str(c) for c in [*cells, note]) + " |")
    return "\n".join(lines)


def raise_descriptor_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, default="guarded")
    parser.add_argument("--wrk-seconds", type=int, default=5)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--half-open", type=int, default=5000)
    parser.add_argument("--settle", type=float, default=12.0)
    parser.add_argument("--header-mb", type=int, default=100)
    parser.add_argument("--header-seconds", type=float, default=90.0)
    parser.add_argument("--serve-bare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(*args.serve_bare)
    if max(args.streams, args.half_open) > 10_000 or args.header_mb > 1000:
        parser.error("bounded: at most 10,000 connections and 1,000 MB")
    raise_descriptor_limit(args.streams + args.half_open + 1000)
    with (
        tempfile.TemporaryDirectory(prefix="aggbench-web-") as temp,
        service(Path(temp), args.server) as (port, pid),
    ):
        rate = throughput(port, pid, args.wrk_seconds)
        rows = asyncio.run(attack(port, pid, args))
    print(report(rows, args.server, rate))


if __name__ == "__main__":
    main()
