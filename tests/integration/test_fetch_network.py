"""libcurl under httpx (fetch/network.py): what a raw server on 127.0.0.1 sends is what
httpx's Response shows, a body past its cap stops the transfer, the thread's deadline
holds, and many threads share one client."""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from aggregator.fetch.decoding import TooLarge
from aggregator.fetch.network import CurlTransport, body_cap, deadline_at
from tests.support.httpserver import Route, serve

Answer = Callable[[socket.socket, bytes], None]


@contextmanager
def raw_server(answer: Answer) -> Iterator[str]:
    """Each connection: the request is read (its head, and a body of Content-Length),
    then `answer` gets the socket and the request's bytes and writes what it likes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            try:
                answer(conn, read_request(conn))
            except OSError:
                return

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        if not (piece := conn.recv(65536)):
            raise OSError("the client went away")
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length and (piece := conn.recv(65536)):
        body += piece
    return head + b"\r\n\r\n" + body


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=CurlTransport()) as opened:
        yield opened


def test_an_interim_response_is_dropped_and_folded_headers_are_joined(
    client: httpx.Client,
) -> None:
    def answer(conn: socket.socket, request: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
            b"HTTP/1.1 203 Fine Thanks\r\nContent-Length: 5\r\nX-Long: one\r\n two\r\n"
            b"Link: <https://hub.example/>; rel=hub\r\nLink: <https://self.example/>; rel=self"
            b"\r\n\r\nhello"
        )

    with raw_server(answer) as url:
        response = client.get(url)
    assert (response.status_code, response.reason_phrase) == (203, "Fine Thanks")
    assert response.content == b"hello"
    assert response.http_version == "HTTP/1.1"
    assert "x-interim" not in response.headers
    assert response.headers["x-long"] == "one two"
    assert response.headers.get_list("link") == [
        "<https://hub.example/>; rel=hub",
        "<https://self.example/>; rel=self",
    ]


def test_a_body_past_its_cap_stops_the_transfer_and_raises_on_reading(
    client: httpx.Client,
) -> None:
    sent = []

    def endless(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        piece = b"x" * 65536
        total = 0
        try:
            while total < 1_000_000_000:
                conn.sendall(piece)
                total += len(piece)
        finally:
            sent.append(total)

    started = time.monotonic()
    with raw_server(endless) as url:
        with client.stream("GET", url, extensions=body_cap(100_000)) as response:
            assert response.status_code == 200
            with pytest.raises(TooLarge):
                response.read()
        deadline = time.monotonic() + 5
        while not sent and time.monotonic() < deadline:
            time.sleep(0.01)
    # The client hung up just past the cap: the server got no further than what the
    # sockets' buffers held, nowhere near the gigabyte it meant to send.
    assert sent and sent[0] < 50_000_000
    assert time.monotonic() - started < 5


def test_a_passed_deadline_sends_nothing(client: httpx.Client) -> None:
    asked = []

    def answer(conn: socket.socket, request: bytes) -> None:
        asked.append(True)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with raw_server(answer) as url:
        with deadline_at(time.monotonic() - 1), pytest.raises(httpx.TimeoutException):
            client.get(url)
        time.sleep(0.1)
    assert asked == []


def test_a_silent_server_is_a_read_timeout_and_no_listener_a_refused_connect(
    client: httpx.Client,
) -> None:
    with (
        raw_server(lambda conn, request: time.sleep(2)) as url,
        deadline_at(time.monotonic() + 0.3),
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get(url)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(httpx.ConnectError) as caught:
        client.get(f"http://127.0.0.1:{port}/")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_a_post_sends_its_body_and_other_methods_their_name(client: httpx.Client) -> None:
    requests: list[bytes] = []

    def answer(conn: socket.socket, request: bytes) -> None:
        requests.append(request)
        conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    with raw_server(answer) as url:
        assert client.post(url, content=b"hub.mode=publish").status_code == 202
        assert client.delete(url).status_code == 202
    head, _, body = requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /feed HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 16" in head
    assert b"Expect" not in head
    assert body == b"hub.mode=publish"
    assert requests[1].startswith(b"DELETE /feed HTTP/1.1\r\n")


def test_many_threads_share_one_client(client: httpx.Client) -> None:
    with serve({f"/f{n}": Route(body=b"feed %d" % n) for n in range(20)}) as server:
        urls = [server.url(f"/f{n % 20}") for n in range(400)]
        with ThreadPoolExecutor(16) as pool:
            bodies = list(pool.map(lambda url: client.get(url).content, urls))
    assert bodies == [b"feed %d" % (n % 20) for n in range(400)]


def test_a_thread_that_ends_takes_its_connection_with_it(client: httpx.Client) -> None:
    closed = threading.Event()

    def keep_alive(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        if conn.recv(65536) == b"":  # the client hung up
            closed.set()

    with raw_server(keep_alive) as url:
        thread = threading.Thread(target=client.get, args=(url,))
        thread.start()
        thread.join()
        gc.collect()
        assert closed.wait(5)


def test_a_chunked_body_arrives_whole_and_a_server_that_hangs_up_early_is_an_error(
    client: httpx.Client,
) -> None:
    def chunked(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.sendall(b"5\r\n<rss>\r\n")
        conn.sendall(b"6\r\n</rss>\r\n0\r\n\r\n")

    def short(conn: socket.socket, request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    with raw_server(chunked) as url:
        assert client.get(url).content == b"<rss></rss>"
    with raw_server(short) as url, pytest.raises(httpx.RemoteProtocolError):
        client.get(url)
