"""A read that is exactly one plain request head, taken apart without the full parser.

Most requests to a kept feed arrive as one read holding one small GET:

    GET /stories/rotherham.atom HTTP/1.1\\r\\n
    Host: example.org\\r\\n
    If-None-Match: "…"\\r\\n
    \\r\\n

`plain_head` reads such a head in a few C-speed passes (bytes.translate, count, split)
and says None to anything it does not fully understand: another method or version, an
absolute, percent-encoded or unusual target, a body or its promise, a Connection header other
than keep-alive, an upgrade, folded or malformed lines, bytes outside printable ASCII,
more than one head, or one past the server's limits. What it refuses goes to uvicorn's
parser as before, so it only ever narrows what is read here, never widens what the
server accepts.
"""

from __future__ import annotations

from typing import NamedTuple

_HEAD_END = b"\r\n\r\n"
_READS = frozenset((b"GET", b"HEAD"))
# Headers that change how the connection or the message continues: left to the parser.
_PARSER_HEADERS = frozenset(
    (b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"connection")
)
_KEEP_ALIVE = b"keep-alive"
# RFC 9110 §5.6.2 tchar; field values here are visible ASCII, space and tab (§5.5,
# without obs-text).
_TOKEN = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
# RFC 3986 pchar, "/" and "?", without pct-encoded: a target that needs no decoding.
_TARGET = b"-._~!$&'()*+,;=:@/?0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class PlainHead(NamedTuple):
    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]  # names lowercased, values without outer OWS


def plain_head(data: bytes, max_bytes: int, max_lines: int) -> PlainHead | None:
    """`data` as one whole HTTP/1.1 GET or HEAD head of origin-form target, no body and
    a connection kept alive; None when the full parser must read it."""
    if len(data) > max_bytes or data.find(_HEAD_END) != len(data) - 4:
        return None
    if data.translate(None, _PRINTABLE):
        return None
    crlf = data.count(b"\r\n")
    if crlf > max_lines or data.count(b"\r") != crlf or data.count(b"\n") != crlf:
        return None
    lines = data[:-4].split(b"\r\n")
    request = lines[0].split(b" ")
    if len(request) != 3 or request[0] not in _READS or request[2] != b"HTTP/1.1":
        return None
    target = request[1]
    if not target.startswith(b"/") or target.translate(None, _TARGET):
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name.translate(None, _TOKEN):
            return None
        name = name.lower()
        value = value.strip(b" \t")
        if name in _PARSER_HEADERS and (name != b"connection" or value.lower() != _KEEP_ALIVE):
            return None
        headers.append((name, value))
    raw_path, _, query = target.partition(b"?")
    return PlainHead(request[0].decode(), raw_path.decode(), raw_path, query, headers)
