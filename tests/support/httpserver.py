"""A scripted HTTP server on 127.0.0.1 for tests: real sockets, no mocks.

    routes = {"/feed": Route(body=b"<rss/>", etag='"v1"'), "/old": redirect("/feed")}
    with serve(routes) as server:
        httpx.get(server.url("/feed"))
        assert server.requests[-1].headers["user-agent"].startswith("aggregator/")

`routes` is looked up on every request, so a test may change it between fetches.
A path with no route answers 404. `refused_url()` gives a URL nobody listens on.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Route:
    """One scripted answer. Validators given here are sent and honoured with a 304."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before the status line
    dribble: float = 0.0  # seconds to wait between body chunks of `chunk_size` bytes
    chunk_size: int = 1
    gzip: bool = False  # compress `body` and send Content-Encoding: gzip
    etag: str | None = None
    last_modified: str | None = None


def redirect(location: str, status: int = 301) -> Route:
    return Route(status=status, headers={"Location": location})


@dataclass(frozen=True)
class Received:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    at: float = field(default_factory=time.monotonic)
    client_port: int = 0  # which connection it came on


@dataclass
class Concurrency:
    """How many requests the server was working on at once, at most: in all (`most`) and
    for each path (`most_by_path`).

    A request counts from its arrival until its response starts going out: once the
    client has the response it may rightly send the next one, possibly before this
    handler's thread gets to run again, so counting up to the last byte would overstate.
    """

    now: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    now_by_path: dict[str, int] = field(default_factory=dict)
    most_by_path: dict[str, int] = field(default_factory=dict)

    def enter(self, path: str = "") -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.now_by_path[path] = self.now_by_path.get(path, 0) + 1
            self.most_by_path[path] = max(self.most_by_path.get(path, 0), self.now_by_path[path])

    def leave(self, path: str = "") -> None:
        with self.lock:
            self.now -= 1
            self.now_by_path[path] -= 1


@dataclass(frozen=True)
class Server:
    base_url: str
    requests: list[Received]
    concurrency: Concurrency

    def url(self, path: str) -> str:
        return self.base_url + path


@contextlib.contextmanager
def serve(
    routes: Mapping[str, Route], host: str = "127.0.0.1", *, keep_alive: bool = False
) -> Iterator[Server]:
    """Serve `routes` on a free port of `host` (a loopback address) in a background
    thread; with `keep_alive`, over HTTP/1.1 connections that stay open."""
    httpd = _ScriptedHTTPServer(routes, host, _KeepAliveHandler if keep_alive else _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        bound, port = httpd.server_address[:2]
        base_url = f"http://{bound!s}:{port}"
        yield Server(base_url, requests=httpd.received, concurrency=httpd.concurrency)
    finally:
        httpd.stopping.set()  # wakes handlers still sleeping in a delay or a dribble
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextlib.contextmanager
def refused_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose port is bound but not listening, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


class _ScriptedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, routes: Mapping[str, Route], host: str, handler: type[BaseHTTPRequestHandler]
    ) -> None:
        super().__init__((host, 0), handler)
        self.routes = routes
        self.received: list[Received] = []
        self.stopping = threading.Event()
        self.concurrency = Concurrency()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _ScriptedHTTPServer)
        self._counted = True
        server.concurrency.enter(urlsplit(self.path).path)
        try:
            self._respond(send_body=True)
        finally:
            self._stop_counting()

    def _stop_counting(self) -> None:
        server = self.server
        assert isinstance(server, _ScriptedHTTPServer)
        if getattr(self, "_counted", False):
            self._counted = False
            server.concurrency.leave(urlsplit(self.path).path)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_POST(self) -> None:
        """Answered like a GET of the path; the request body is read and dropped."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._respond(send_body=True)

    def handle(self) -> None:
        # A client that gave up (timeout, size cap) closes its end mid-response.
        with contextlib.suppress(ConnectionError):
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _respond(self, *, send_body: bool) -> None:
        server = self.server
        assert isinstance(server, _ScriptedHTTPServer)
        headers = {name.lower(): value for name, value in self.headers.items()}
        port = int(self.client_address[1])
        server.received.append(Received(self.command, self.path, headers, client_port=port))
        route = server.routes.get(urlsplit(self.path).path, Route(404, b"not found"))
        if route.delay and server.stopping.wait(route.delay):
            return
        status, response_headers, body = _answer(route, self.headers)
        self._stop_counting()
        self.send_response(status)
        for name, value in response_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self._send_body(route, body, server.stopping)

    def _send_body(self, route: Route, body: bytes, stopping: threading.Event) -> None:
        if not route.dribble:
            self.wfile.write(body)
            return
        for start in range(0, len(body), route.chunk_size):
            self.wfile.write(body[start : start + route.chunk_size])
            self.wfile.flush()
            if stopping.wait(route.dribble):
                return


class _KeepAliveHandler(_Handler):
    protocol_version = "HTTP/1.1"


def _answer(route: Route, request: Message) -> tuple[int, dict[str, str], bytes]:
    validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
    headers = {name: value for name, value in validators.items() if value is not None}
    if _is_not_modified(route, request):
        return 304, headers, b""
    body = gzip.compress(route.body) if route.gzip else route.body
    headers["Content-Type"] = route.content_type
    if route.gzip:
        headers["Content-Encoding"] = "gzip"
    headers.update(route.headers)
    headers["Content-Length"] = str(len(body))
    return route.status, headers, body


def _is_not_modified(route: Route, request: Message) -> bool:
    # RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since counts only without it.
    if_none_match = request.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return route.etag is not None and (route.etag in tags or "*" in tags)
    if_modified_since = request.get("If-Modified-Since")
    if if_modified_since is None or route.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return parsedate_to_datetime(route.last_modified) <= since
