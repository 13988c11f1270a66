"""EDGE: one line per HTTP request in the combined log format (NCSA/Apache, as nginx
writes it), for the log analysers people already run; off unless `[service] access_log`
names a file or "-" (standard error).

    127.0.0.1 - - [06/Dec/2026:21:04:05 +0000] "GET /stories/x.atom HTTP/1.1" 200 5120 "-" "curl"

Everything taken from the request is escaped as nginx does (`"` and `\\` with a
backslash, other control and non-ASCII bytes as \\xHH), so a request cannot forge a line.
An event stream is logged when it ends, with the bytes it sent.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.web.http_guard import Early
from aggregator.web.responses import Answer

Write = Callable[[str], None]


def combined_line(
    client: str, when: datetime, request: str, status: int, sent: int, referer: str, agent: str
) -> str:
    size = str(sent) if sent else "-"
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    fields = (_escaped(request), _escaped(referer or "-"), _escaped(agent or "-"))
    return (
        f'{client or "-"} - - [{stamp}] "{fields[0]}" {status} {size} "{fields[1]}" "{fields[2]}"'
    )


def _escaped(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.extend(f"\\x{byte:02X}" for byte in char.encode("utf-8", "replace"))
    return "".join(out)


class AccessLog:
    """ASGI middleware writing one combined-format line per finished request."""

    def __init__(
        self, app: ASGIApp, write: Write, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.app = app
        self.write = write
        self.clock = clock or (lambda: datetime.now(UTC))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status, sent = 500, 0

        async def counted(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            self.write(_line(scope, started, status, sent))

    def answering(self, early: Early) -> Early:
        """`early` writing a line for each request it answers, as this does for the app."""

        def logged(scope: Scope) -> Answer | None:
            started = self.clock()
            found = early(scope)
            if found is not None:
                self.write(_line(scope, started, found[0], len(found[2])))
            return found

        return logged


def _line(scope: Scope, started: datetime, status: int, sent: int) -> str:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    target = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    request = (
        f"{scope['method']} {target.decode('latin-1')} HTTP/{scope.get('http_version', '1.1')}"
    )
    client = scope.get("client") or ("-", 0)
    return combined_line(
        client[0],
        started,
        request,
        status,
        sent,
        headers.get("referer", ""),
        headers.get("user-agent", ""),
    )


def open_access_log(destination: Path | None) -> Write | None:
    """A writer for `access_log`: None when off, standard error for "-", else a file
    opened for appending (rotate it with logrotate's copytruncate, or restart)."""
    if destination is None:
        return None
    stream: IO[str]
    if str(destination) == "-":
        stream = sys.stderr
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
        stream = destination.open("a", encoding="ascii", buffering=1)
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            stream.write(line + "\n")
            stream.flush()

    return write
