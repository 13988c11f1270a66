"""What one client may hold of the web server before the app sees its request.

uvicorn's httptools protocol reads a request head with no size limit (httptools joins
the pieces of a header with bytes concatenation, so a 100 MB header costs tens of
seconds of the event loop) and with no deadline (its keep-alive timer runs only
between requests, and stops at the first byte of the next). uvicorn's own
`limit_concurrency` answers 503 once a request head has arrived, so connections that
send nothing still take a descriptor each, and count against the clients that do.
`GuardedHttp` subclasses that protocol and adds, per connection:

    connect ─► head ──────────► body ──────────► busy (the app answers; SSE stays here)
               │ more than max_head_bytes or max_headers: 431, close
               │ not whole within head_timeout: 408 (silence if nothing came), close
                                │ not whole within body_timeout: 408, close
    busy ─► response sent ─► idle: uvicorn's keep-alive, then head again from its first byte

The head's deadline runs from the connection's start, or on a kept-alive connection
from the first byte of the next request; the body's from the read that ended the head.
Per server: at most `max_connections` are open; a newcomer past that closes the one
that has waited longest for a request head, or gets 503 when every one is busy.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, cast

import httptools
import uvicorn
from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from aggregator.web.plain_head import plain_head
from aggregator.web.responses import Answer

log = logging.getLogger("aggregator.http_guard")
Phase = Literal["head", "body", "busy", "refused"]
# A whole request's scope -> its answer, or None for the app to answer it.
Early = Callable[[Scope], Answer | None]
# Descriptors kept for everything but client connections: the store, logs, the parse
# pool's pipes, outgoing fetches.
FD_RESERVE = 256


@dataclass(frozen=True)
class ServerLimits:
    """Bounds on what clients may hold. Times are seconds; `keep_alive` is uvicorn's
    idle time between requests; `linger` is how long a refused connection is drained
    so its client can read the 431 before the close."""

    max_head_bytes: int = 64 * 1024
    max_headers: int = 100
    head_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: int = 5
    linger: float = 1.0
    max_connections: int = 4096
    backlog: int = 2048

    def __post_init__(self) -> None:
        if min(self.max_head_bytes, self.max_headers, self.max_connections, self.backlog) < 1:
            raise ValueError("server limits must be positive")

    @property
    def max_head_lines(self) -> int:
        """The request line, the header lines and the blank line that ends them."""
        return self.max_headers + 2


class HeadMeter:
    """Counts the bytes and lines of one request head as its pieces arrive. A piece is
    counted up to the blank line that ends a head (RFC 9112 §2.1), which may begin in
    the piece before it."""

    def __init__(self, max_bytes: int, max_lines: int) -> None:
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.seen = 0
        self.lines = 0
        self._tail = b""

    def take(self, data: bytes) -> int:
        """Count the part of `data` up to the end of the head; return its length."""
        joined = self._tail + data
        ends = [i + len(m) for m in (b"\n\r\n", b"\n\n") if (i := joined.find(m)) >= 0]
        taken = max(0, min(ends) - len(self._tail)) if ends else len(data)
        self.add(data[:taken])
        return taken

    def add(self, part: bytes) -> None:
        self.seen += len(part)
        self.lines += part.count(b"\n")
        self._tail = (self._tail + part[-2:])[-2:]

    @property
    def fits(self) -> bool:
        return self.seen <= self.max_bytes and self.lines <= self.max_lines


class Connections:
    """The server's open connections, and those waiting for a request head in the order
    they began to wait: the first of those is the one to close when the table is full."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[GuardedHttp] = set()
        self._waiting: dict[GuardedHttp, None] = {}

    def admit(self, conn: GuardedHttp) -> bool:
        """Take `conn` in, closing the longest-waiting one if the table is full; False
        when it is full of busy connections."""
        if len(self._open) >= self.limit:
            victim = next(iter(self._waiting), None)
            if victim is None:
                return False
            self.forget(victim)
            victim.evict()
        self._open.add(conn)
        return True

    def waiting(self, conn: GuardedHttp) -> None:
        if conn in self._open:
            self._waiting.pop(conn, None)
            self._waiting[conn] = None

    def busy(self, conn: GuardedHttp) -> None:
        self._waiting.pop(conn, None)

    def forget(self, conn: GuardedHttp) -> None:
        self._open.discard(conn)
        self._waiting.pop(conn, None)


def _response(status: str, text: str, extra: str = "") -> bytes:
    body = text.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


TOO_LARGE = _response("431 Request Header Fields Too Large", "request head too large\n")
TIMED_OUT = _response("408 Request Timeout", "request not received in time\n")
FULL = _response("503 Service Unavailable", "too many connections\n", "retry-after: 5\r\n")


class _NobodyWaits:
    def set(self) -> None:
        pass


class _Answered:
    """Stands for the cycle of a request answered early: complete, nobody waiting."""

    response_started = True
    response_complete = True
    message_event = _NobodyWaits()


_ANSWERED = _Answered()
_READS = (b"GET", b"HEAD")
_BODY_HEADERS = (b"content-length", b"transfer-encoding", b"expect")


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of `limits`; `server_config` makes
    one subclass per server, naming its limits, its connection table and what it may
    answer `early`.

    An early answer is for the event loop's cheapest requests: a GET or HEAD without a
    body, with no response under way before it, that `early` answers from memory (a
    kept feed, web/front.py). It is written as uvicorn would write the app's response,
    without the scope's task, the app or its middleware; `early` sees the scope as the
    app would. Anything else, or None from `early`, goes to the app as usual. What
    feed readers mostly send, a read holding exactly one plain head on an idle
    connection, is taken apart by web/plain_head.py before uvicorn's parser sees it
    (the parser's per-header callbacks cost more than the answer); the rest goes
    through the parser and is asked about when its head ends."""

    limits: ClassVar[ServerLimits]
    table: ClassVar[Connections]
    early: ClassVar[staticmethod[[Scope], Answer | None] | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: Phase = "head"
        self._meter = HeadMeter(self.limits.max_head_bytes, self.limits.max_head_lines)
        self._deadline: asyncio.TimerHandle | None = None
        self._answer: tuple[Answer, bool] | None = None
        self._answered_early = False
        self._missed = False
        self._in_message = False  # the parser holds part of a request
        self._idle_since = float("-inf")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if not self.table.admit(self):
            self._phase = "refused"
            self.transport.write(FULL)
            self.transport.close()
            return
        self._await_head()
        self._arm(self.limits.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.table.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "refused":
            return  # drained while the refusal is read
        # Only at a message boundary: the parser may hold the start of a pipelined head
        # that came behind an answered request, which the head meter has not counted.
        plain = self._phase == "head" and not self._meter.seen and not self._in_message
        if plain and self._answer_plain(data):
            return
        self._answered_early = False
        meter = self._meter if self._phase == "head" else None
        taken = meter.take(data) if meter else 0
        if meter and not meter.fits:
            self._refuse_head()
            return
        super().data_received(data)
        self._missed = False
        # A blank line the parser did not take as the head's end: the rest counts too.
        if meter and self._phase == "head" and self._meter is meter and taken < len(data):
            meter.add(data[taken:])
            if not meter.fits:
                self._refuse_head()
                return
        # A request not whole after this read gets its deadline from here (a whole one,
        # the usual case, costs no timer); the connection's first one runs from the start.
        # After an early answer that ended the read, uvicorn's keep-alive timer runs.
        if self._deadline is None and not self.transport.is_closing():
            if self._phase == "head" and not self._answered_early:
                self._arm(self.limits.head_timeout)
            elif self._phase == "body":
                self._arm(self.limits.body_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message = True
        self._answered_early = False
        if self._phase == "busy":  # a pipelined request, read while one is answered
            self._await_head(idle=False)

    def on_headers_complete(self) -> None:
        self._phase = "body"
        self.table.busy(self)
        self._disarm()
        self._answer = self._early_answer()
        if self._answer is None:
            super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._answer is None:
            super().on_message_complete()
        self._phase = "busy"
        self._disarm()
        if self._answer is not None:
            answer, keep_alive = self._answer
            self._answer = None
            self._write_early(answer, keep_alive)

    def _answer_plain(self, data: bytes) -> bool:
        """Answer `data` early when it is one whole plain head (web/plain_head.py) on an
        idle connection and `early` answers it, without uvicorn's parser; False when the
        usual path is to read it."""
        if not self._may_answer_early():
            return False
        head = plain_head(data, self.limits.max_head_bytes, self.limits.max_head_lines)
        if head is None:
            return False
        scope = {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "root_path": "",
            "headers": head.headers,
            "state": self.app_state.copy(),
            "method": head.method,
            "path": head.path,
            "raw_path": head.raw_path,
            "query_string": head.query,
        }
        found = self.early(cast(Scope, scope))  # type: ignore[misc]
        if found is None:
            self._missed = True  # the parser's path need not ask again
            return False
        self._disarm()  # the connection's first head deadline, if this is its first
        self.cycle = _ANSWERED  # type: ignore[assignment]
        self._send(found, head.method, keep_alive=True)
        self.server_state.total_requests += 1
        self.table.waiting(self)
        # Idle again. uvicorn's keep-alive timer is not moved for each such answer: it
        # looks at when the connection last went idle when it fires (see its handler).
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
        return True

    def timeout_keep_alive_handler(self) -> None:
        """Close an idle connection, unless a plain head was answered since the timer
        was set: then wait out the keep-alive time from that answer."""
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(
                left, self.timeout_keep_alive_handler
            )
            return
        super().timeout_keep_alive_handler()

    def _may_answer_early(self) -> bool:
        if self.early is None or self.pipeline or self.root_path or self.flow.write_paused:
            return False
        return self.cycle is None or self.cycle.response_complete

    def _early_answer(self) -> tuple[Answer, bool] | None:
        """`early`'s answer to the request whose head just ended, and whether the
        connection stays open after it; None when the app is to answer."""
        early = self.early
        if early is None or self._missed or not self._may_answer_early():
            return None
        method = self.parser.get_method()
        if method not in _READS or self.parser.should_upgrade():
            return None
        if any(name in _BODY_HEADERS for name, _ in self.headers):
            return None
        http_version = self.parser.get_http_version()
        path = httptools.parse_url(self.url)
        # The scope as uvicorn's on_headers_complete fills it in.
        scope = self.scope
        scope["method"] = method.decode("ascii")
        if http_version != "1.1":
            scope["http_version"] = http_version
        text = path.path.decode("ascii")
        scope["path"] = urllib.parse.unquote(text) if "%" in text else text
        scope["raw_path"] = path.path
        scope["query_string"] = path.query or b""
        answer = early(cast(Scope, scope))
        if answer is None:
            return None
        return answer, http_version != "1.0" and self.parser.should_keep_alive()

    def _write_early(self, answer: Answer, keep_alive: bool) -> None:
        """Write `answer` as uvicorn writes a response, then go on as it does after one."""
        self._send(answer, self.scope["method"], keep_alive)
        self.cycle = _ANSWERED  # type: ignore[assignment]
        self._answered_early = True
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()

    def _send(self, answer: Answer, method: str, keep_alive: bool) -> None:
        """Write `answer` as uvicorn writes a response: its head, and its body unless
        the request was a HEAD."""
        status, headers, body = answer
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers + headers:
            parts += (name, b": ", value, b"\r\n")
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        head = b"".join(parts)
        if method == "HEAD" or not body:
            self.transport.write(head)
        else:
            self.transport.writelines([head, body])

    def on_response_complete(self) -> None:
        """Idle again: uvicorn's keep-alive timer runs until the next byte comes."""
        super().on_response_complete()
        idle = self.cycle.response_complete and not self.pipeline
        if self._phase == "busy" and idle and not self.transport.is_closing():
            self._await_head()

    def evict(self) -> None:
        """Closed to make room for a newer connection."""
        self._disarm()
        self.transport.abort()

    def _await_head(self, idle: bool = True) -> None:
        self._phase = "head"
        self._meter = HeadMeter(self.limits.max_head_bytes, self.limits.max_head_lines)
        if idle:
            self.table.waiting(self)

    def _refuse_head(self) -> None:
        """431, then read and drop what the client still sends for `linger` seconds, so
        the close does not reset the connection before the client reads the answer."""
        self._phase = "refused"
        self._disarm()
        if self._answering():
            self.transport.close()  # a pipelined head: a response is under way
            return
        self.transport.write(TOO_LARGE)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._deadline = self.loop.call_later(self.limits.linger, self.transport.abort)

    def _expire(self) -> None:
        self._deadline = None
        if self._meter.seen and not self._answering():
            self.transport.write(TIMED_OUT)
        self._phase = "refused"
        self.transport.close()

    def _answering(self) -> bool:
        """Whether a response has begun that a 408 would cut into: the one to this
        request (it may answer before reading the body), or to the one before it."""
        if self.cycle is None:
            return False
        if self._phase == "body":
            return self.cycle.response_started
        return not self.cycle.response_complete

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def server_config(
    app: Any, limits: ServerLimits, early: Early | None = None, **options: Any
) -> uvicorn.Config:
    """A uvicorn Config whose connections are bounded by `limits` and whose requests
    `early` may answer before the app; `options` are the rest of uvicorn's (host,
    port, logging...)."""
    table = Connections(limits.max_connections)
    fields = {"limits": limits, "table": table, "early": staticmethod(early) if early else None}
    guarded = type("GuardedHttp", (GuardedHttp,), fields)
    return uvicorn.Config(
        app,
        http=guarded,
        ws="none",
        timeout_keep_alive=limits.keep_alive,
        backlog=limits.backlog,
        **options,
    )


def fit_to_descriptors(limits: ServerLimits) -> ServerLimits:
    """`limits` with as many connections as the descriptor limit (RLIMIT_NOFILE) has
    room for, beside the accept backlog and FD_RESERVE; the soft limit is raised
    toward the hard one first."""
    want = limits.max_connections + limits.backlog + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        raised = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= want:
        return limits
    backlog = min(limits.backlog, max(16, soft // 8))
    room = max(1, soft - backlog - FD_RESERVE)
    log.warning(
        "descriptor limit %d leaves room for %d connections, not %d",
        soft,
        room,
        limits.max_connections,
    )
    return replace(limits, max_connections=room, backlog=backlog)
