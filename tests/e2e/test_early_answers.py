"""A kept feed answered by the HTTP protocol before any app runs (web/http_guard.py's
early answers, web/front.py): byte for byte what the app sends, in order behind a
request the app is still answering, and within the same connection bounds."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from aggregator.config import LiveSettings
from aggregator.store import Store, open_store
from aggregator.web import http_guard
from aggregator.web.front import KeptFirst
from aggregator.web.http_guard import ServerLimits
from aggregator.web.plain_head import PlainHead, plain_head
from aggregator.web.routes import Live, create_app
from tests.support.appserver import serving
from tests.support.builders import one_live_page, post, store_posts

SHORT = ServerLimits(head_timeout=1.0, body_timeout=1.0, keep_alive=1, linger=0.5)
FEED = "/stories/story.atom"


class Counted:
    """ASGI: the app behind KeptFirst, counting the requests that reach it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.engine.dispose()


def app_of(store: Store, folder: Path) -> tuple[KeptFirst, Counted]:
    """The service's app, and its routes behind it, counted."""
    folder.mkdir(exist_ok=True)
    settings = one_live_page(store, folder)
    body = "The council's chief executive answered questions from the panel."
    store_posts(store, settings.sources[0], [post("An update", body)])
    # Kept copies stay fresh for the whole test: the store is not written meanwhile.
    app = create_app(store, LiveSettings(settings, {}), Live(fresh_seconds=600))
    counted = Counted(app.app)
    app.app = counted
    return app, counted


def exchange(base: str, raw: bytes, limit: float = 10.0) -> bytes:
    """Send `raw` on a fresh connection; what comes back until the server closes."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def without_date(response: bytes) -> bytes:
    return b"\r\n".join(line for line in response.split(b"\r\n") if not line.startswith(b"date:"))


def request(method: str, headers: str = "", version: str = "1.1") -> bytes:
    text = f"{method} {FEED} HTTP/{version}\r\nHost: t\r\n{headers}Connection: close\r\n\r\n"
    return text.encode()


def test_early_answers_are_the_apps_byte_for_byte(store: Store, tmp_path: Path) -> None:
    early_app, early_counted = app_of(store, tmp_path / "a")
    _, routes = app_of(store, tmp_path / "b")
    # The routes alone answer every request themselves: the reference.
    with serving(early_app) as early, serving(routes) as plain:
        identity = {"Accept-Encoding": "identity"}
        etag = httpx.get(early + FEED, headers=identity).headers["etag"]
        assert httpx.get(plain + FEED, headers=identity).headers["etag"] == etag
        gzip_etag = etag[:-1] + '-gzip"'
        modified = httpx.get(early + FEED).headers["last-modified"]
        asked = [
            request("GET"),
            request("HEAD"),
            request("GET", version="1.0"),
            request("GET", f"If-None-Match: {etag}\r\n"),
            request("GET", f'If-None-Match: "other", W/{gzip_etag}\r\n'),
            request("GET", 'If-None-Match: "other"\r\n'),
            request("GET", f"If-Modified-Since: {modified}\r\n"),
            request("GET", "Accept-Encoding: gzip, br\r\n"),
            request("GET", "Accept-Encoding: gzip;q=0\r\n"),
            request("HEAD", f"Accept-Encoding: gzip\r\nIf-None-Match: {gzip_etag}\r\n"),
        ]
        reached = early_counted.calls
        for raw in asked:
            got, want = exchange(early, raw), exchange(plain, raw)
            assert without_date(got) == without_date(want), raw
        assert early_counted.calls == reached, "every one of them was answered early"
        assert routes.calls >= len(asked)
        statuses = [exchange(early, raw).split(b" ", 2)[1] for raw in asked]
        assert statuses == [
            b"200",
            b"200",
            b"200",
            b"304",
            b"304",
            b"200",
            b"304",
            b"200",
            b"200",
            b"304",
        ]
        packed = exchange(early, asked[7]).split(b"\r\n\r\n", 1)[1]
        assert gzip.decompress(packed) == httpx.get(early + FEED).content


def test_what_is_not_a_kept_feed_goes_to_the_app(store: Store, tmp_path: Path) -> None:
    app, counted = app_of(store, tmp_path)
    with serving(app) as base:
        httpx.get(base + FEED)  # kept from here on
        calls = counted.calls
        for head in [
            "POST /stories/story.atom HTTP/1.1\r\nContent-Length: 0\r\n",
            "GET /stories/nosuch.atom HTTP/1.1\r\n",
            "GET /stories/story HTTP/1.1\r\n",
        ]:
            calls += 1
            raw = f"{head}Host: t\r\nConnection: close\r\n\r\n".encode()
            assert exchange(base, raw).startswith(b"HTTP/1.1 "), raw
            assert counted.calls == calls, raw
        # A quoted path reaches the same story, early, as the app would route it.
        quoted = request("GET").replace(b"story.atom", b"st%6Fry.atom")
        assert exchange(base, quoted).startswith(b"HTTP/1.1 200 ")
        assert counted.calls == calls
        # A GET with a body is the app's to read: answered early, the body would be
        # taken for the next request on the connection.
        with_body = f"GET {FEED} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"
        got = exchange(base, with_body.encode() + request("GET"))
        assert [r[:3] for r in got.split(b"HTTP/1.1 ")[1:]] == [b"200", b"200"]


def test_a_pipelined_feed_request_waits_for_the_answer_before_it(
    store: Store, tmp_path: Path
) -> None:
    app, _ = app_of(store, tmp_path)
    with serving(app) as base:
        httpx.get(base + FEED)
        # The page reads the store in a thread: its answer comes later than an early one
        # could, and must still come first.
        page = b"GET /stories/story HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\n\r\n"
        feed = request("GET")
        got = exchange(base, page + feed)
        first, second = got.split(b"HTTP/1.1 ")[1:3]
        assert first.startswith(b"200 ") and b"text/html" in first
        assert second.startswith(b"200 ") and b"application/atom+xml" in second


def test_an_early_answer_keeps_the_connection_bounds(store: Store, tmp_path: Path) -> None:
    app, _ = app_of(store, tmp_path)
    with serving(app, limits=SHORT) as base:
        httpx.get(base + FEED)
        port = int(base.rsplit(":", 1)[1])
        keep = f"GET {FEED} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        # A head left unfinished after an early answer is cut off by the head deadline.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(keep)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            sock.sendall(b"GET /stories/story.atom HTTP/1.1\r\nHo")
            started = time.monotonic()
            got = b""
            while chunk := sock.recv(65536):
                got += chunk
            assert got.startswith(b"HTTP/1.1 408 Request Timeout")
            assert time.monotonic() - started < 5
        # An idle connection after an early answer is closed by the keep-alive time.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(keep)
            started = time.monotonic()
            got = b""
            while chunk := sock.recv(65536):
                got += chunk
            assert got.startswith(b"HTTP/1.1 200 ") and got.count(b"HTTP/1.1 ") == 1
            assert time.monotonic() - started < 5


def one_response(sock: socket.socket, head_only: bool = False) -> bytes:
    """One whole response from a kept-alive connection (its body by Content-Length)."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {got!r}"
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length" and not head_only:
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    assert len(body) == length, "nothing past the answer"
    return head + b"\r\n\r\n" + body


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_plain_heads_are_answered_before_the_parser_as_the_app_would(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What feed readers send (one plain GET or HEAD a read, the connection kept alive)
    is read by web/plain_head.py, and answered byte for byte as the routes answer."""
    read: list[bool] = []

    def reading(data: bytes, max_bytes: int, max_lines: int) -> PlainHead | None:
        found = plain_head(data, max_bytes, max_lines)
        read.append(found is not None)
        return found

    monkeypatch.setattr(http_guard, "plain_head", reading)
    early_app, early_counted = app_of(store, tmp_path / "a")
    _, routes = app_of(store, tmp_path / "b")
    with serving(early_app) as early, serving(routes, answer_early=False) as plain:
        identity = {"Accept-Encoding": "identity"}
        etag = httpx.get(early + FEED, headers=identity).headers["etag"]
        asked = [
            ("GET", ""),
            ("HEAD", ""),
            ("GET", f"If-None-Match: {etag}\r\n"),
            ("GET", 'If-None-Match: "other"\r\n'),
            ("GET", "Accept-Encoding: gzip\r\nUser-Agent: a reader\r\n"),
            ("HEAD", f'Connection: keep-alive\r\nIf-None-Match: {etag[:-1]}-gzip"\r\n'),
        ]
        reached, read[:] = early_counted.calls, []
        answers: dict[str, list[bytes]] = {early: [], plain: []}
        for base, answered in answers.items():
            port = int(base.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                for method, headers in asked:
                    sock.sendall(f"{method} {FEED} HTTP/1.1\r\nHost: t\r\n{headers}\r\n".encode())
                    answered.append(without_date(one_response(sock, method == "HEAD")))
        assert answers[early] == answers[plain]
        assert [a.split(b" ", 2)[1] for a in answers[early]] == [
            b"200",
            b"200",
            b"304",
            b"200",
            b"200",
            b"304",
        ]
        assert early_counted.calls == reached, "none of them reached the app"
        assert read[: len(asked)] == [True] * len(asked), "each was read as a plain head"


def test_a_connection_answered_early_stays_open_while_it_is_used(
    store: Store, tmp_path: Path
) -> None:
    """Answers to plain heads do not move uvicorn's keep-alive timer; it counts from the
    last of them when it fires. The connection's first head deadline ends with its
    first answer."""
    app, _ = app_of(store, tmp_path)
    with serving(app, limits=SHORT) as base:  # head_timeout and keep_alive 1 s
        httpx.get(base + FEED)
        port = int(base.rsplit(":", 1)[1])
        keep = f"GET {FEED} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            started = time.monotonic()
            while time.monotonic() - started < 3.0:  # three keep-alive times
                sock.sendall(keep)
                assert one_response(sock).startswith(b"HTTP/1.1 200 ")
                time.sleep(0.4)
            last = time.monotonic()
            assert sock.recv(65536) == b"", "closed once idle"
            assert 0.5 < time.monotonic() - last < 3.0


def test_a_connection_answered_early_is_not_the_first_evicted(store: Store, tmp_path: Path) -> None:
    """A full table closes the connection that has waited longest for a request: one
    just answered early began to wait again."""
    app, _ = app_of(store, tmp_path)
    with serving(app, limits=ServerLimits(max_connections=2)) as base:
        httpx.get(base + FEED)
        port = int(base.rsplit(":", 1)[1])
        keep = f"GET {FEED} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as older,
            socket.create_connection(("127.0.0.1", port), timeout=10) as idle,
        ):
            time.sleep(0.2)
            older.sendall(keep)
            assert one_response(older).startswith(b"HTTP/1.1 200 ")
            with socket.create_connection(("127.0.0.1", port), timeout=10) as newcomer:
                assert closed(idle), "the idle one was closed"
                newcomer.sendall(keep)
                assert one_response(newcomer).startswith(b"HTTP/1.1 200 ")
                older.sendall(keep)
                assert one_response(older).startswith(b"HTTP/1.1 200 ")


def test_a_plain_read_behind_a_partial_pipelined_head_is_the_parsers(
    store: Store, tmp_path: Path
) -> None:
    """The start of a pipelined head that came behind an answered request stays in the
    parser: a next read that looks whole on its own is that head's rest, not a request."""
    app, counted = app_of(store, tmp_path)
    with serving(app) as base:
        httpx.get(base + FEED)
        port = int(base.rsplit(":", 1)[1])
        plain = f"GET {FEED} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(plain + b"GET /stories/nosuch.atom HTTP/1.1\r\nX-Note: ")
            assert one_response(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.2)  # the partial head is read on its own, before the rest
            calls = counted.calls
            sock.sendall(plain)  # the rest: an X-Note value, a Host and the blank line
            assert one_response(sock).startswith(b"HTTP/1.1 404 ")
            assert counted.calls == calls + 1
