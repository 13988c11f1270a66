"""Merged-feed rate: requests/s for `/stories/bench.atom` beside nginx serving its bytes.

    .venv/bin/python bench/feed_rate.py --feeds 20 --seconds 10

Generates a corpus of `--feeds` feeds (bench/corpus.py; 20 give about 700 entries, more
than the 500 a merged feed shows), serves it with nginx, and starts the real service
(run.py, uvicorn as service.py configures it) on a temp config that follows every feed.
Once each source has been polled, the merged Atom feed is saved to a folder that a
second nginx serves as a static file with ETag and sendfile (as production configs do),
beside the gzip bytes the service sends (`gzip_static`: both send exactly the same bytes).
wrk then measures, for both servers, plain GETs (200), GETs with a matching If-None-Match
(304) and GETs that accept gzip (200, gzip: what feed readers send), `--runs` times each,
the servers interleaved. Needs wrk and nginx (apt).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from corpus import write
from feed_profile import profile
from serve import START_SECONDS, aggregator, free_port, nginx, write_config

# How a static file is served in production (Debian's default nginx.conf has both):
# the kernel copies the file to the socket. Without it nginx manages about half the rate.
STATIC_TUNING = "sendfile on; tcp_nopush on;"
POLL_SECONDS = 120.0
SETTLE_SECONDS = 3.0
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS = re.compile(r"^\s+(Socket errors|Non-2xx or 3xx responses):.*$", re.MULTILINE)
_READ = re.compile(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read")
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
# A 304 is headers only; anything bigger means the server sent the body after all.
MAX_304_BYTES = 2000


def wrk(
    url: str, seconds: int, connections: int, headers: dict[str, str], sizes: tuple[int, int]
) -> float:
    """Requests/s from `wrk -t2`, every request carrying `headers`; the bytes read per
    response must fall within `sizes`, so a server answering 200 where a 304 was meant
    (or the reverse) fails the run instead of skewing it."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    if (problem := _ERRORS.search(out)) is not None:
        raise RuntimeError(f"wrk reported {problem.group(0).strip()!r} for {url}")
    match = _RATE.search(out)
    if " 0 requests in " in out:
        raise RuntimeError(f"no request to {url} completed in {seconds} s: try longer --seconds")
    read = _READ.search(out)
    if match is None or read is None:
        raise RuntimeError(f"no Requests/sec in wrk's output for {url}:\n{out}")
    per_response = float(read.group(2)) * _UNITS[read.group(3)] / int(read.group(1))
    # wrk rounds what it read to two decimals of its unit.
    if not sizes[0] * 0.99 <= per_response <= sizes[1] * 1.01:
        raise RuntimeError(f"{url} {headers}: {per_response:,.0f} bytes a response, not {sizes}")
    return float(match.group(1))


def validator(url: str, body: bytes) -> str:
    """The ETag `url` serves for exactly `body` to a client that asks for no compression,
    as wrk does (a gzip variant has an ETag of its own), after checking that it answers
    304 to it."""
    plain = {"Accept-Encoding": "identity"}
    first = httpx.get(url, headers=plain, timeout=30)
    if first.content != body or "content-encoding" in first.headers:
        raise RuntimeError(f"{url} does not serve the bytes being compared")
    etag = first.headers["etag"]
    again = httpx.get(url, headers={**plain, "If-None-Match": etag}, timeout=30)
    if again.status_code != 304:
        raise RuntimeError(f"{url} answers {again.status_code} to If-None-Match {etag}")
    return etag


def gzipped(url: str) -> bytes:
    """The bytes `url` sends to a client that accepts gzip, as sent."""
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=30) as r:
        if r.headers.get("content-encoding") != "gzip":
            raise RuntimeError(f"{url} did not gzip for a client that accepts it")
        return b"".join(r.iter_raw())


def wait_until_settled(base: str, sources: int) -> None:
    """Until every source has been polled and the merged feed stayed the same for
    SETTLE_SECONDS (a source can report success before its entries are all stored)."""
    deadline = time.monotonic() + POLL_SECONDS
    etag, since = "", time.monotonic()
    while time.monotonic() < deadline:
        health = httpx.get(f"{base}/healthz", timeout=START_SECONDS).json()
        polled = sum(1 for s in health["sources"] if s["last_success_at"])
        now_etag = httpx.get(f"{base}/stories/bench.atom", timeout=START_SECONDS).headers["etag"]
        if now_etag != etag or polled < sources:
            etag, since = now_etag, time.monotonic()
        elif time.monotonic() - since >= SETTLE_SECONDS:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the service did not poll all {sources} feeds in {POLL_SECONDS:.0f} s")


def measure(
    feeds: int, seconds: int, connections: int, runs: int = 5, profiled: int = 0
) -> dict[str, Any]:
    """Requests/s of both servers for 200, 304 and gzipped 200, `runs` wrk runs of each;
    with `profiled` > 0, also a profile of that many merged-feed requests' work on the
    service's store (feed_profile.py)."""
    with tempfile.TemporaryDirectory(prefix="aggbench-rate-") as tmp:
        folder = Path(tmp)
        write(folder / "corpus", feeds)
        (folder / "static").mkdir()
        with nginx(folder / "corpus") as corpus:
            port = free_port()
            sources = [
                {"name": f"f{n:05d}", "kind": "feed", "url": f"{corpus}/f{n:05d}.xml"}
                for n in range(feeds)
            ]
            # An hour's interval: no poll competes with the measurement.
            sources = [{**s, "interval": "1h"} for s in sources]
            write_config(folder / "aggregator.toml", port, folder / "store.sqlite", sources)
            with aggregator(folder / "aggregator.toml", port, folder / "service.log") as base:
                wait_until_settled(base, feeds)
                ours = f"{base}/stories/bench.atom"
                body = httpx.get(ours, timeout=30).content
                packed = gzipped(ours)
                (folder / "static" / "bench.atom").write_bytes(body)
                (folder / "static" / "bench.atom.gz").write_bytes(packed)
                with nginx(folder / "static", STATIC_TUNING) as static:
                    theirs = f"{static}/bench.atom"
                    if gzipped(theirs) != packed:
                        raise RuntimeError("nginx does not send the service's gzip bytes")
                    headroom = 1000  # status line and headers
                    whole, gz = (
                        (len(body), len(body) + headroom),
                        (len(packed), len(packed) + headroom),
                    )
                    plans = [
                        (f"{name}_{status}", url, headers, sizes)
                        for name, url in (("ours", ours), ("nginx", theirs))
                        for status, headers, sizes in (
                            ("200", {}, whole),
                            ("304", {"If-None-Match": validator(url, body)}, (0, MAX_304_BYTES)),
                            ("200gz", {"Accept-Encoding": "gzip"}, gz),
                        )
                    ]
                    # Runs interleave the servers, so a slow spell of the machine hits both.
                    rates: dict[str, list[float]] = {key: [] for key, *_ in plans}
                    for _ in range(runs):
                        for key, url, headers, sizes in plans:
                            rates[key].append(wrk(url, seconds, connections, headers, sizes))
        why = profile(f"sqlite:///{folder / 'store.sqlite'}", "bench", profiled) if profiled else ""
    entries = body.count(b"<entry>") + body.count(b"<entry ")
    lengths = {"bytes": len(body), "gzip_bytes": len(packed)}
    return {**lengths, "entries": entries, **rates, "profile": why}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run's duration")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5, help="wrk runs per server and response")
    parser.add_argument("--profile", type=int, default=0, metavar="REQUESTS")
    args = parser.parse_args()
    result = measure(args.feeds, args.seconds, args.connections, args.runs, args.profile)
    print(result.pop("profile"))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
