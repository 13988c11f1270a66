"""web/plain_head.py: a whole plain request head read without the full parser, and only
ever what uvicorn's parser (httptools) reads the same way."""

from __future__ import annotations

import random
import urllib.parse

import httptools
import pytest

from aggregator.web.plain_head import PlainHead, plain_head

MAX_BYTES, MAX_LINES = 4096, 12
PLAIN = (
    b"GET /stories/rotherham.atom?page=2 HTTP/1.1\r\n"
    b"Host: example.org\r\n"
    b'If-None-Match:  "abc-gzip" \t\r\n'
    b"Accept-Encoding: gzip, br\r\n"
    b"Connection: Keep-Alive\r\n"
    b"\r\n"
)


class _Heard:
    """What uvicorn's httptools protocol keeps of a request (its on_url, on_header)."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.heads = 0
        self.messages = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        self.heads += 1

    def on_message_complete(self) -> None:
        self.messages += 1


def parser_reading(data: bytes) -> PlainHead | None:
    """How uvicorn's parser reads `data`, when that is one whole GET or HEAD of HTTP/1.1
    with no body, kept alive; None otherwise (an error included)."""
    heard = _Heard()
    parser = httptools.HttpRequestParser(heard)
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        return None
    whole = heard.heads == heard.messages == 1 and not parser.should_upgrade()
    if not whole or parser.get_http_version() != "1.1" or not parser.should_keep_alive():
        return None
    url = httptools.parse_url(heard.url)
    path = url.path.decode("ascii")
    return PlainHead(
        parser.get_method().decode(),
        urllib.parse.unquote(path),
        url.path,
        url.query or b"",
        heard.headers,
    )


def read(data: bytes) -> PlainHead | None:
    return plain_head(data, MAX_BYTES, MAX_LINES)


def test_a_plain_head_is_read_as_the_parser_reads_it() -> None:
    got = read(PLAIN)
    assert got == parser_reading(PLAIN)
    assert got == PlainHead(
        "GET",
        "/stories/rotherham.atom",
        b"/stories/rotherham.atom",
        b"page=2",
        [
            (b"host", b"example.org"),
            (b"if-none-match", b'"abc-gzip"'),
            (b"accept-encoding", b"gzip, br"),
            (b"connection", b"Keep-Alive"),
        ],
    )
    head = b"HEAD / HTTP/1.1\r\n\r\n"
    assert read(head) == parser_reading(head) == PlainHead("HEAD", "/", b"/", b"", [])


@pytest.mark.parametrize(
    "data",
    [
        PLAIN.replace(b"GET", b"POST"),
        PLAIN.replace(b"HTTP/1.1", b"HTTP/1.0"),
        PLAIN.replace(b"/stories", b"http://example.org/stories"),
        PLAIN.replace(b"rotherham", b"rother%68am"),
        PLAIN.replace(b"?page=2", b"#top"),
        PLAIN.replace(b"Host:", b"Content-Length: 0\r\nHost:"),
        PLAIN.replace(b"Host:", b"Transfer-Encoding: chunked\r\nHost:"),
        PLAIN.replace(b"Host:", b"Expect: 100-continue\r\nHost:"),
        PLAIN.replace(b"Host:", b"Upgrade: websocket\r\nHost:"),
        PLAIN.replace(b"Keep-Alive", b"close"),
        PLAIN.replace(b"Host: example.org\r\n", b"Host: example.org\r\n  .net\r\n"),
        PLAIN.replace(b"\r\nHost", b"\nHost"),
        PLAIN.replace(b"\r\nHost", b"\rHost"),
        PLAIN.replace(b"example", b"exa\x00mple"),
        PLAIN.replace(b"example", b"exa\x7fmple"),
        PLAIN.replace(b"example", "exämple".encode()),
        PLAIN.replace(b"Host:", b"Host :"),
        PLAIN.replace(b"Host:", b":"),
        PLAIN.replace(b"Host: example.org", b"Host"),
        PLAIN.replace(b"GET ", b"GET  "),
        PLAIN.replace(b"GET /", b"GET\t/"),
        PLAIN + PLAIN,
        PLAIN + b"x",
        PLAIN[:-2],
        PLAIN[:-1],
        b"",
        PLAIN.replace(b"Host: example.org", b"X-Pad: " + b"x" * MAX_BYTES),
        PLAIN.replace(b"Host:", b"A: 1\r\n" * (MAX_LINES - 4) + b"Host:"),
    ],
)
def test_what_it_does_not_fully_understand_is_left_to_the_parser(data: bytes) -> None:
    assert read(data) is None


def test_the_limits_are_the_servers() -> None:
    assert read(PLAIN) is not None
    assert plain_head(PLAIN, len(PLAIN) - 1, MAX_LINES) is None
    assert plain_head(PLAIN, len(PLAIN), PLAIN.count(b"\n") - 1) is None
    assert plain_head(PLAIN, len(PLAIN), PLAIN.count(b"\n")) is not None


_ALPHABET = [b" ", b"\t", b"\r", b"\n", b":", b"%", b"?", b"#", b"/", b"\x00", b"\x7f", b"\xc3"]


def _mutated(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data) + 1)
        cut = rng.randint(0, 2) if at < len(data) else 0
        piece = rng.choice([*_ALPHABET, bytes([rng.randrange(256)]), b"", b"\r\n"])
        data = data[:at] + piece + data[at + cut :]
    return data


def test_it_never_reads_a_head_otherwise_than_the_parser() -> None:
    """Whatever it accepts, the parser accepts too and reads the same: so it can only
    narrow what is answered early, never widen what the server takes."""
    rng = random.Random(15)
    accepted = 0
    for _ in range(20_000):
        data = _mutated(PLAIN, rng)
        got = read(data)
        if got is not None:
            accepted += 1
            assert got == parser_reading(data), data
    assert accepted > 1_000  # the mutations kept many heads plain
