"""A hostile server can neither hold a fetch past its deadline nor make it decompress
past the cap (issue 14, items 2 and 3): real sockets on 127.0.0.1."""

from __future__ import annotations

import gzip
import resource
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from aggregator.core.errors import FetchError
from aggregator.core.types import FetchState
from aggregator.fetch.decoding import DecodingError, TooLarge, decoded
from aggregator.fetch.http import fetch_http, make_client
from aggregator.fetch.limits import FetchLimits
from tests.support.builders import source
from tests.support.httpserver import Route, serve

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@contextmanager
def dripping_headers(gap: float) -> Iterator[str]:
    """A server that answers with a status line, then one header line every `gap`
    seconds, forever (until the client goes away)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                n = 0
                while not stop.wait(gap):
                    conn.sendall(f"X-Drip-{n}: {n}\r\n".encode())
                    n += 1
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.mark.slow
def test_dripped_headers_are_cut_off_at_the_whole_exchange_deadline() -> None:
    limits = FetchLimits(total_timeout=1.0)
    with dripping_headers(0.2) as url, make_client(limits) as client:
        spec = source("drip", kind="feed", url=url, path=None)
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"timed out after 1s"):
            fetch_http(client, spec, FetchState(), now=NOW, limits=limits)
        assert time.monotonic() - started < 3.0


def test_stacked_content_encodings_are_refused() -> None:
    body = gzip.compress(gzip.compress(b"<rss/>" * 10))
    route = Route(body=body, headers={"Content-Encoding": "gzip, gzip"})
    limits = FetchLimits()
    with serve({"/feed": route}) as server, make_client(limits) as client:
        spec = source("stacked", kind="feed", url=server.url("/feed"), path=None)
        with pytest.raises(FetchError, match="more than one coding refused"):
            fetch_http(client, spec, FetchState(), now=NOW, limits=limits)


def test_we_ask_only_for_codings_we_undo_ourselves() -> None:
    with serve({"/feed": Route(body=b"<rss/>")}) as server, make_client(FetchLimits()) as client:
        spec = source("plain", kind="feed", url=server.url("/feed"), path=None)
        fetch_http(client, spec, FetchState(), now=NOW, limits=FetchLimits())
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.slow
def test_a_bomb_in_one_network_chunk_never_expands_past_the_cap() -> None:
    """2 GiB of zeros compress to ~2 MB; decoded with the cap at 10 MiB, the process's
    peak memory grows by a small multiple of the cap, not by gigabytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * (64 * 1024 * 1024)
    bomb = b"".join(compressor.compress(zeros) for _ in range(32)) + compressor.flush()
    cap = 10 * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    seen = 0
    with pytest.raises(TooLarge):
        for piece in decoded([bomb], "gzip", cap):  # the whole bomb as one chunk
            seen += len(piece)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert seen <= cap + 1
    assert grown < 8 * cap, f"peak memory grew by {grown / 2**20:.0f} MiB"


@pytest.mark.parametrize("coding", ["deflate-zlib", "deflate-raw", "gzip"])
def test_single_codings_decode_as_before(coding: str) -> None:
    text = b"<rss><channel><title>Same bytes</title></channel></rss>" * 100
    if coding == "gzip":
        body, header = gzip.compress(text), "gzip"
    elif coding == "deflate-zlib":
        body, header = zlib.compress(text), "deflate"
    else:
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, header = raw.compress(text) + raw.flush(), "deflate"
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    assert b"".join(decoded(chunks, header, 10**6)) == text


def test_an_unknown_or_broken_coding_is_a_clear_error() -> None:
    with pytest.raises(DecodingError, match="'br' is not supported"):
        list(decoded([b"x"], "br", 100))
    with pytest.raises(DecodingError, match="not valid gzip data"):
        list(decoded([b"definitely not gzip"], "gzip", 100))
