"""CPU and wall time per GET for the fetch transports we could put behind httpx's API.

    python bench/transport.py        # --requests 2000 --runs 5 --threads 16,64 --files 50
    python bench/transport.py --not-modified --threads 1,16

With `--not-modified` each GET carries the file's ETag in If-None-Match, so every answer
is a 304 without a body: what a warm poll cycle's requests cost.

nginx (one worker) serves `--files` corpus feeds (about 30 KB each) over plain HTTP/1.1
and, on a second port, over TLS with HTTP/2 offered by ALPN (a trustme test CA). Each
variant opens a fresh client and makes `--requests` GETs, round-robin over the files,
from a pool of `--threads` threads; each body is streamed and counted chunk by chunk as
`fetch_http` reads it. CPU is `time.process_time()` of this process (every thread, not
nginx); wall is `time.perf_counter()`. Runs are interleaved (run 1 of every variant, then
run 2...) so drift on the shared 2 cores falls on all alike. Prints a Markdown table of
medians with min-max and the GETs that failed
(counted, not fatal), and the raw numbers as JSON to `--json` if given.
"""

from __future__ import annotations

import argparse
import json
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import trustme
import urllib3
from corpus import write
from serve import free_port, stop, wait_for_port

from aggregator import USER_AGENT
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits

NGINX_CONF = """daemon off; worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log;
events {{ worker_connections 8192; }}
http {{ access_log off; default_type application/xml; keepalive_requests 100000;
  server {{ listen 127.0.0.1:{port}; root {root}; etag on; }}
  server {{ listen 127.0.0.1:{tls_port} ssl http2; root {root}; etag on;
    ssl_certificate {dir}/cert.pem; ssl_certificate_key {dir}/key.pem; }} }}
"""
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
HEADERS = {"User-Agent": USER_AGENT}


@dataclass(frozen=True)
class Servers:
    plain: str
    tls: str
    trust: ssl.SSLContext
    ca_pem: bytes


@contextmanager
def nginx_both(root: Path) -> Iterator[Servers]:
    """nginx serving `root` over http:// and over https:// with h2; a CA trusting it."""
    folder = Path(tempfile.mkdtemp(prefix="aggbench-transport-"))
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    port, tls_port = free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, tls_port=tls_port, root=root))
    root.chmod(0o755)
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(folder)])
    try:
        wait_for_port(port, process, "nginx")
        wait_for_port(tls_port, process, "nginx (TLS)")
        plain, tls = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}"
        yield Servers(plain, tls, trust, ca.cert_pem.bytes())
    finally:
        stop(process)
        complaints = (folder / "error.log").read_text(errors="replace").splitlines()
        for line in [c for c in complaints if "[notice]" not in c][-5:]:
            print(f"nginx: {line}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


class Urllib3Transport(httpx.BaseTransport):
    """httpx's API over urllib3's pool: the request mapped across, the raw body streamed
    back for httpx to decode (gzip) and to follow redirects itself. Enough for a benchmark
    (no error mapping to httpx's exceptions)."""

    def __init__(self, pool_size: int, ssl_context: ssl.SSLContext) -> None:
        self._pool = urllib3.PoolManager(
            maxsize=pool_size, block=False, retries=False, ssl_context=ssl_context
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        response = self._pool.urlopen(
            request.method,
            str(request.url),
            body=request.read() or None,
            headers=dict(request.headers.multi_items()),
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
            timeout=urllib3.Timeout(connect=timeouts.get("connect"), read=timeouts.get("read")),
        )
        return httpx.Response(
            response.status,
            headers=list(response.headers.items()),
            stream=_Body(response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode()},
        )

    def close(self) -> None:
        self._pool.clear()


class _Body(httpx.SyncByteStream):
    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.stream(64 * 1024, decode_content=False)

    def close(self) -> None:
        self._response.release_conn()


Get = Callable[[str], tuple[int, str]]  # url -> (body bytes, HTTP version)
# url -> If-None-Match, filled once per run with --not-modified (every GET is then a 304)
CONDITIONS: dict[str, str] = {}


def conditional(url: str) -> dict[str, str]:
    etag = CONDITIONS.get(url)
    return {"If-None-Match": etag} if etag else {}


FAILURES = (httpx.HTTPError, urllib3.exceptions.HTTPError)


def counted(get: Get) -> Get:
    """A failed GET is counted as failed (version "error") rather than ending the run."""

    def attempt(url: str) -> tuple[int, str]:
        try:
            return get(url)
        except FAILURES as e:
            return 0, f"error: {type(e).__name__}"

    return attempt


def httpx_get(client: httpx.Client) -> Get:
    def get(url: str) -> tuple[int, str]:
        size = 0
        with client.stream("GET", url, headers=conditional(url)) as response:
            for chunk in response.iter_bytes():
                size += len(chunk)
        return size, response.http_version

    return get


def urllib3_get(pool: urllib3.PoolManager) -> Get:
    def get(url: str) -> tuple[int, str]:
        size = 0
        headers = {**HEADERS, **conditional(url)}
        response = pool.request("GET", url, headers=headers, preload_content=False)
        for chunk in response.stream(64 * 1024):
            size += len(chunk)
        response.release_conn()
        return size, "HTTP/1.1"

    return get


@dataclass(frozen=True)
class Variant:
    name: str
    tls: bool
    open: Callable[[Servers], tuple[Get, Callable[[], None]]]


def _httpx(**options: object) -> Callable[[Servers], tuple[Get, Callable[[], None]]]:
    def open_(servers: Servers) -> tuple[Get, Callable[[], None]]:
        client = httpx.Client(timeout=TIMEOUT, headers=HEADERS, verify=servers.trust, **options)  # type: ignore[arg-type]
        return httpx_get(client), client.close

    return open_


def _curl(servers: Servers) -> tuple[Get, Callable[[], None]]:
    client = make_client(FetchLimits(), ca_pem=servers.ca_pem)
    return httpx_get(client), client.close


def _adapter(servers: Servers) -> tuple[Get, Callable[[], None]]:
    transport = Urllib3Transport(pool_size=100, ssl_context=servers.trust)
    client = httpx.Client(timeout=TIMEOUT, headers=HEADERS, transport=transport)
    return httpx_get(client), client.close


def _urllib3(servers: Servers) -> tuple[Get, Callable[[], None]]:
    pool = urllib3.PoolManager(maxsize=100, block=False, retries=False, ssl_context=servers.trust)
    return urllib3_get(pool), pool.clear


KEEP_100 = httpx.Limits(max_connections=100, max_keepalive_connections=100)
VARIANTS = [
    Variant("httpx over libcurl (the project's client, make_client)", False, _curl),
    Variant("httpx's own pool (keep-alive 20)", False, _httpx()),
    Variant("httpx http2=True (plain http: stays HTTP/1.1)", False, _httpx(http2=True)),
    Variant("httpx, keep-alive pool 100", False, _httpx(limits=KEEP_100)),
    Variant("httpx over urllib3 PoolManager (adapter)", False, _adapter),
    Variant("urllib3 alone (baseline)", False, _urllib3),
    Variant("TLS: httpx over libcurl (make_client; h2 by ALPN)", True, _curl),
    Variant("TLS: httpx HTTP/1.1", True, _httpx()),
    Variant("TLS: httpx http2=True (h2 by ALPN)", True, _httpx(http2=True)),
    Variant("TLS: httpx over urllib3 (adapter)", True, _adapter),
    Variant("TLS: urllib3 alone", True, _urllib3),
]


def run_once(variant: Variant, servers: Servers, files: int, requests: int, threads: int) -> dict:
    base = servers.tls if variant.tls else servers.plain
    urls = [f"{base}/f{n % files:05d}.xml" for n in range(requests)]
    get, close = variant.open(servers)
    try:
        get(urls[0])  # the first connection's set-up is not what is compared
        cpu, wall = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(counted(get), urls))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        close()
    versions = sorted({version for _, version in results})
    return {
        "failed": sum(1 for _, version in results if version.startswith("error")),
        "cpu_ms": 1000 * cpu / requests,
        "wall_ms": 1000 * wall / requests,
        "bytes": sum(size for size, _ in results),
        "versions": versions,
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", default="16,64")
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--not-modified", action="store_true", help="every GET a 304")
    args = parser.parse_args()
    thread_counts = [int(n) for n in args.threads.split(",")]
    root = Path(tempfile.mkdtemp(prefix="aggbench-transport-corpus-"))
    paths = write(root, args.files, markup="plain")  # the ~30 KB feeds README measured
    mean_size = sum(p.stat().st_size for p in paths) / len(paths)
    raw: dict[str, dict[int, list[dict]]] = {
        v.name: {t: [] for t in thread_counts} for v in VARIANTS
    }
    try:
        with nginx_both(root) as servers:
            if args.not_modified:
                with httpx.Client(verify=servers.trust) as client:
                    for base in (servers.plain, servers.tls):
                        for n in range(args.files):
                            url = f"{base}/f{n:05d}.xml"
                            CONDITIONS[url] = client.get(url).headers["etag"]
            for run in range(args.runs):
                for threads in thread_counts:
                    for variant in VARIANTS:
                        result = run_once(variant, servers, args.files, args.requests, threads)
                        raw[variant.name][threads].append(result)
                        print(
                            f"run {run + 1} t={threads} {variant.name}: {result}", file=sys.stderr
                        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    answers = "304s to GETs of files" if args.not_modified else "GETs"
    print(
        f"{args.requests} {answers} of {mean_size / 1024:.1f} KB on average;"
        f" medians of {args.runs} runs (min-max)\n"
    )
    head = "| transport | " + " | ".join(
        f"{t} threads CPU ms/req | {t} threads wall ms/req" for t in thread_counts
    )
    print(head + " | negotiated | failed GETs |")
    print("|---" * (3 + 2 * len(thread_counts)) + "|")
    for variant in VARIANTS:
        cells = []
        for threads in thread_counts:
            runs = raw[variant.name][threads]
            cells += [spread([r["cpu_ms"] for r in runs]), spread([r["wall_ms"] for r in runs])]
        failed = sum(r["failed"] for t in thread_counts for r in raw[variant.name][t])
        versions = sorted(
            {v for t in thread_counts for r in raw[variant.name][t] for v in r["versions"]} - {""}
        )
        spoken = ", ".join(v for v in versions if not v.startswith("error"))
        print(f"| {variant.name} | " + " | ".join(cells) + f" | {spoken} | {failed} |")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
