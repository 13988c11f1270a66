"""Merged-feed rate: requests/s for `/stories/bench.atom` beside nginx serving its bytes.

    .venv/bin/python bench/feed_rate.py --feeds 20 --seconds 10

Generates a corpus of `--feeds` feeds (bench/corpus.py; 20 give about 700 entries, more
than the 500 a merged feed shows), serves it with nginx, and starts the real service
(run.py, uvicorn as service.py configures it) on a temp config that follows every feed.
Once each source has been polled, the merged Atom feed is saved to a folder that a
second nginx serves as a static file with ETag, beside the gzip bytes the service sends
(`gzip_static`, so both send exactly the same bytes). wrk then measures, for both servers,
plain GETs (200), GETs with a matching If-None-Match (304) and GETs that accept gzip (200,
gzip: what feed readers send). Needs wrk and nginx (apt).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from corpus import write
from feed_profile import profile
from serve import START_SECONDS, aggregator, free_port, nginx, write_config

POLL_SECONDS = 120.0
SETTLE_SECONDS = 3.0
Result = dict[str, float | str]
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_ERRORS = re.compile(r"^\s+(Socket errors|Non-2xx or 3xx responses):.*$", re.MULTILINE)


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> float:
    """Requests/s from `wrk -t2`, every request carrying `headers`."""
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
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk's output for {url}:\n{out}")
    return float(match.group(1))


def validator(url: str, body: bytes) -> str:
    """The ETag `url` serves for exactly `body`, after checking it answers 304 to it."""
    first = httpx.get(url, timeout=30)
    if first.content != body:
        raise RuntimeError(f"{url} does not serve the bytes being compared")
    etag = first.headers["etag"]
    again = httpx.get(url, headers={"If-None-Match": etag}, timeout=30)
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


def measure(feeds: int, seconds: int, connections: int, profiled: int = 0) -> Result:
    """Requests/s of both servers for 200 and 304; with `profiled` > 0, also a profile of
    that many merged-feed requests' work on the service's store (feed_profile.py)."""
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
                with nginx(folder / "static") as static:
                    theirs = f"{static}/bench.atom"
                    if gzipped(theirs) != packed:
                        raise RuntimeError("nginx does not send the service's gzip bytes")
                    rates = {
                        f"{name}_{status}": wrk(url, seconds, connections, headers)
                        for name, url in (("ours", ours), ("nginx", theirs))
                        for status, headers in (
                            ("200", {}),
                            ("304", {"If-None-Match": validator(url, body)}),
                            ("200gz", {"Accept-Encoding": "gzip"}),
                        )
                    }
        why = profile(f"sqlite:///{folder / 'store.sqlite'}", "bench", profiled) if profiled else ""
    entries = body.count(b"<entry>") + body.count(b"<entry ")
    sizes = {"bytes": len(body), "gzip_bytes": len(packed)}
    return {**sizes, "entries": entries, **rates, "profile": why}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run's duration")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--profile", type=int, default=0, metavar="REQUESTS")
    args = parser.parse_args()
    result = measure(args.feeds, args.seconds, args.connections, args.profile)
    print(result.pop("profile"))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
