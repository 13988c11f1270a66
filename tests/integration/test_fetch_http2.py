"""fetch_http over HTTP/2: a real h2 server (hypercorn) over TLS on 127.0.0.1, its
certificate from a test CA (trustme) that only these clients trust. HTTP/2 comes by ALPN
in the TLS handshake, so the plain-http server of tests/support/httpserver.py stays HTTP/1.1."""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from aggregator.core.errors import FetchError
from aggregator.core.types import Fetched, FetchState, SourceSpec
from aggregator.fetch.http import fetch_http, make_client
from aggregator.fetch.limits import FetchLimits
from tests.support.httpserver import Route, redirect, serve

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LIMITS = FetchLimits(max_bytes=64 * 1024, connect_timeout=2.0, total_timeout=5.0, max_redirects=3)
FEED = b"<rss><channel><title>t</title></channel></rss>"
ROUTES = {
    "/feed": Route(body=FEED, content_type="application/rss+xml", etag='"v1"'),
    "/big": Route(body=b"x" * (LIMITS.max_bytes + 1)),
    "/bomb": Route(body=FEED + b"\0" * (16 * 1024 * 1024), gzip=True),
    "/zipped": Route(body=FEED, gzip=True),
    "/old": redirect("/feed", 301),
}


@dataclass(frozen=True)
class Seen:
    path: str
    http_version: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class H2Server:
    base_url: str
    ca_pem: bytes
    seen: list[Seen]

    def url(self, path: str) -> str:
        return self.base_url + path


def _scripted_app(seen: list[Seen]) -> Any:
    """An ASGI app answering ROUTES as tests/support/httpserver.py does: ETag -> 304, gzip."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            for stage in ("startup", "shutdown"):
                await receive()
                await send({"type": f"lifespan.{stage}.complete"})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        seen.append(Seen(scope["path"], scope["http_version"], headers))
        route = ROUTES.get(scope["path"], Route(status=404))
        status, body = route.status, route.body
        sent = [("content-type", route.content_type), *route.headers.items()]
        if route.etag:
            sent.append(("etag", route.etag))
            if headers.get("if-none-match") == route.etag:
                status, body = 304, b""
        if route.gzip and body:
            body = gzip.compress(body)
            sent.append(("content-encoding", "gzip"))
        raw = [(k.lower().encode(), v.encode()) for k, v in sent]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.fixture(scope="module")
def h2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H2Server]:
    ca = trustme.CA()
    folder: Path = tmp_path_factory.mktemp("h2")
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]  # hypercorn owns and closes it
    config.certfile, config.keyfile = str(folder / "cert.pem"), str(folder / "key.pem")
    seen: list[Seen] = []
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()
    served = loop.create_task(
        hypercorn_serve(_scripted_app(seen), config, shutdown_trigger=stopping.wait)
    )
    thread = threading.Thread(target=loop.run_until_complete, args=(served,))
    thread.start()
    try:
        yield H2Server(f"https://127.0.0.1:{port}", ca.cert_pem.bytes(), seen)
    finally:
        loop.call_soon_threadsafe(stopping.set)
        thread.join()
        loop.close()


@pytest.fixture
def client(h2_server: H2Server) -> Iterator[httpx.Client]:
    with make_client(LIMITS, ca_pem=h2_server.ca_pem) as opened:
        yield opened


def fetch(client: httpx.Client, url: str, state: FetchState | None = None) -> Fetched:
    source = SourceSpec(
        name="wire", story="s", kind="feed", url=url, path=None, interval=60, timezone="UTC"
    )
    return fetch_http(client, source, state or FetchState(), now=NOW, limits=LIMITS)


def logged_versions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [getattr(r, "http_version", "") for r in caplog.records if r.msg == "fetched"]


def test_an_https_fetch_speaks_http2_and_logs_it(
    h2_server: H2Server, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aggregator.fetch")
    fetched = fetch(client, h2_server.url("/feed"))
    [document] = fetched.documents
    assert document.body == FEED
    assert document.content_type == "application/rss+xml"
    assert h2_server.seen[-1].http_version == "2"
    assert "aggregator/" in h2_server.seen[-1].headers["user-agent"]
    assert logged_versions(caplog) == ["HTTP/2"]


def test_etag_gives_304_over_http2(h2_server: H2Server, client: httpx.Client) -> None:
    first = fetch(client, h2_server.url("/feed"))
    second = fetch(client, h2_server.url("/feed"), first.state)
    assert first.changed and first.state.etag == '"v1"'
    assert not second.changed and second.status == 304
    assert h2_server.seen[-1].headers["if-none-match"] == '"v1"'
    assert h2_server.seen[-1].http_version == "2"


@pytest.mark.parametrize("path", ["/big", "/bomb"])
def test_the_size_cap_holds_over_http2_also_after_decompression(
    h2_server: H2Server, client: httpx.Client, path: str
) -> None:
    with pytest.raises(FetchError, match="65536-byte size cap"):
        fetch(client, h2_server.url(path))


def test_gzip_and_permanent_redirects_work_over_http2(
    h2_server: H2Server, client: httpx.Client
) -> None:
    assert fetch(client, h2_server.url("/zipped")).documents[0].body == FEED
    moved = fetch(client, h2_server.url("/old"))
    assert moved.moved_to == h2_server.url("/feed")
    assert moved.documents[0].body == FEED


def test_the_system_trust_store_refuses_the_test_ca(h2_server: H2Server) -> None:
    with make_client(LIMITS) as client, pytest.raises(FetchError, match="certificate"):
        fetch(client, h2_server.url("/feed"))


def test_a_plain_http_server_is_still_fetched_over_http1(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aggregator.fetch")
    with serve({"/feed": Route(body=FEED)}) as server:
        fetched = fetch(client, server.url("/feed"))
    assert fetched.documents[0].body == FEED
    # tests/support/httpserver.py answers as HTTP/1.0 (BaseHTTPRequestHandler's default).
    assert logged_versions(caplog) == ["HTTP/1.0"]
