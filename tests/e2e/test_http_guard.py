"""One client must not freeze the web server: a real uvicorn on 127.0.0.1 behind the
connection guard, attacked over real sockets with short timeouts, while a normal
client is served."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aggregator.config import LiveSettings
from aggregator.store import Store
from aggregator.web.http_guard import FD_RESERVE, HeadMeter, ServerLimits
from aggregator.web.routes import Live, create_app
from tests.support.appserver import listening_socket, port_of, serving
from tests.support.builders import one_live_page, post, store_posts
from tests.support.paths import ROOT

SHORT = ServerLimits(head_timeout=1.0, body_timeout=1.0, keep_alive=1, linger=0.5)
GET = b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"


def small_app(release: threading.Event | None = None) -> Starlette:
    """/ok answers at once; /hold answers once `release` is set."""

    async def ok(request: Request) -> Response:
        return PlainTextResponse(
            "ok" if request.method == "GET" else str(len(await request.body()))
        )

    async def hold(_request: Request) -> Response:
        assert release is not None
        await anyio.to_thread.run_sync(release.wait, 10)
        return PlainTextResponse("held")

    return Starlette(routes=[Route("/ok", ok, methods=["GET", "POST"]), Route("/hold", hold)])


@contextlib.contextmanager
def connected(base: str) -> Iterator[socket.socket]:
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        yield sock


def read_all(sock: socket.socket, limit: float = 10.0) -> bytes:
    """What the server sends until it closes (a reset ends it too)."""
    sock.settimeout(limit)
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def timed_get(base: str) -> float:
    start = time.monotonic()
    response = httpx.get(f"{base}/ok", timeout=10)
    assert response.status_code == 200 and response.text == "ok"
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("pieces", "head_bytes"),
    [
        ([b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"], 27),
        ([b"GET / HTTP/1.1\r\nHost: a\r\n\r", b"\nBODY"], 27),
        ([b"GET / HTTP/1.1\r\nHost: a\r\n", b"\r\nBODY"], 27),
        ([b"GET / HTTP/1.1\nHost: a\n\nBODY"], 24),
        ([b"GET / HTTP/1.1\r\nHost: a", b"a" * 100], 123),
    ],
)
def test_the_meter_counts_a_head_up_to_its_blank_line(pieces: list[bytes], head_bytes: int) -> None:
    meter = HeadMeter(1000, 10)
    for piece in pieces:
        meter.take(piece)
    assert meter.seen == head_bytes and meter.fits


def test_the_meter_counts_lines_and_bytes_against_its_limits() -> None:
    meter = HeadMeter(1000, 4)
    meter.take(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n")
    assert meter.lines == 3 and meter.fits
    meter.take(b"C: 3\r\nD: 4\r\n")
    assert not meter.fits
    big = HeadMeter(100, 10)
    big.take(b"GET /" + b"a" * 100)
    assert not big.fits


def test_a_100_mb_header_is_refused_at_once_while_others_are_served() -> None:
    sent, refused_at = 0, 0.0
    with serving(small_app(), limits=SHORT) as base, connected(base) as attacker:
        start = time.monotonic()
        answer: list[bytes] = []
        reader = threading.Thread(target=lambda: answer.append(read_all(attacker)))
        reader.start()
        attacker.sendall(b"GET /ok HTTP/1.1\r\nHost: t\r\nX-Big: ")
        chunk = b"a" * (1 << 20)
        latencies = []
        with contextlib.suppress(OSError):
            while sent < 100 * len(chunk) and time.monotonic() - start < 10:
                attacker.sendall(chunk)
                sent += len(chunk)
                if sent % (10 * len(chunk)) == 0:
                    latencies.append(timed_get(base))
        refused_at = time.monotonic() - start
        reader.join(10)
        latencies.append(timed_get(base))
    assert answer[0].startswith(b"HTTP/1.1 431 ")
    assert refused_at < 3.0
    assert max(latencies) < 1.0


@pytest.mark.parametrize(("headers", "status"), [(100, b"200"), (101, b"431")])
def test_a_head_of_more_than_100_headers_is_refused(headers: int, status: bytes) -> None:
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(headers - 2))
    request = b"GET /ok HTTP/1.1\r\nHost: t\r\n" + lines + b"Connection: close\r\n\r\n"
    with serving(small_app(), limits=SHORT) as base, connected(base) as sock:
        sock.sendall(request)
        assert read_all(sock).startswith(b"HTTP/1.1 " + status)


@pytest.mark.slow
def test_a_slow_head_is_cut_after_the_head_timeout() -> None:
    with serving(small_app(), limits=SHORT) as base, connected(base) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /ok HTTP/1.1\r\n")
        with contextlib.suppress(OSError):
            for i in range(30):
                time.sleep(0.2)
                sock.sendall(b"X-Slow-%d: v\r\n" % i)
        cut_after = time.monotonic() - start
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert SHORT.head_timeout <= cut_after < SHORT.head_timeout + 1.5


@pytest.mark.slow
def test_a_slow_body_is_cut_after_the_body_timeout() -> None:
    head = b"POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
    with serving(small_app(), limits=SHORT) as base, connected(base) as sock:
        start = time.monotonic()
        sock.sendall(head + b"x")
        answer = read_all(sock)
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert SHORT.body_timeout <= elapsed < SHORT.body_timeout + 1.5


@pytest.mark.slow
def test_no_408_follows_an_answer_sent_before_the_body() -> None:
    head = b"PUT /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
    with serving(small_app(), limits=SHORT) as base, connected(base) as sock:
        sock.sendall(head + b"x")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 405 ") and b"408" not in answer


@pytest.mark.slow
def test_a_silent_connection_is_closed_after_the_head_timeout() -> None:
    with serving(small_app(), limits=SHORT) as base:
        # From before the connection: the server's deadline may start before
        # `connected` returns to this thread.
        start = time.monotonic()
        with connected(base) as sock:
            assert read_all(sock) == b""
        elapsed = time.monotonic() - start
    assert SHORT.head_timeout <= elapsed < SHORT.head_timeout + 1.0


@pytest.mark.slow
def test_keep_alive_serves_again_then_closes_when_idle() -> None:
    with serving(small_app(), limits=SHORT) as base, connected(base) as sock:
        for _ in range(3):
            sock.sendall(GET)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.5)  # within keep-alive, and past half the head timeout
        start = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - start < SHORT.keep_alive + 0.5


@pytest.mark.slow
def test_blank_lines_after_a_response_do_not_keep_a_connection_open() -> None:
    """A blank line stops uvicorn's keep-alive timer without starting a request."""
    with serving(small_app(), limits=SHORT) as base, connected(base) as sock:
        sock.sendall(GET)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        start = time.monotonic()
        with contextlib.suppress(OSError):
            for _ in range(30):
                sock.sendall(b"\r\n")
                time.sleep(0.1)
        assert time.monotonic() - start < SHORT.head_timeout + 1.0


def enough_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.mark.parametrize("max_connections", [500, 4096])
@pytest.mark.slow
def test_a_flood_of_half_open_connections_does_not_stop_a_normal_client(
    max_connections: int,
) -> None:
    flood = 2000
    enough_descriptors(2 * flood + 500)
    limits = ServerLimits(max_connections=max_connections, head_timeout=30.0)
    with serving(small_app(), limits=limits) as base, contextlib.ExitStack() as stack:
        port = int(base.rsplit(":", 1)[1])
        for i in range(flood):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), 10))
            if i % 2:
                sock.sendall(b"GET /ok HTTP/1.1\r\nHost: t\r\n")  # a head never finished
            if i % 400 == 0:
                assert timed_get(base) < 1.0
        assert timed_get(base) < 1.0


@pytest.mark.slow
def test_when_every_connection_is_busy_a_newcomer_gets_503() -> None:
    release = threading.Event()
    limits = ServerLimits(max_connections=3)
    with serving(small_app(release), limits=limits) as base, contextlib.ExitStack() as stack:
        held = [stack.enter_context(connected(base)) for _ in range(3)]
        for sock in held:
            sock.sendall(b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.3)
        with connected(base) as late:
            assert read_all(late).startswith(b"HTTP/1.1 503 ")
        release.set()
        assert all(read_all_response(s).startswith(b"HTTP/1.1 200 ") for s in held)
        time.sleep(0.1)
        assert timed_get(base) < 1.0


def read_all_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    return sock.recv(65536)


def follow(base: str, lines: list[str], until: str) -> None:
    """Read the story's event stream until a line carries `until`."""
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=30)) as client,
        client.stream("GET", f"{base}/stories/story/events") as response,
    ):
        lines.append(f"status {response.status_code}")
        for line in response.iter_lines():
            lines.append(line)
            if until in line:
                return


@pytest.mark.slow
def test_event_streams_outlive_the_timeouts_and_are_capped(store: Store, tmp_path: Path) -> None:
    settings = one_live_page(store, tmp_path)
    spec = settings.sources[0]
    store_posts(store, spec, [post("Update 0", "The inquiry opened on Monday morning.")])
    streams = Live(recheck_seconds=0.2, max_streams=2)
    app = create_app(store, LiveSettings(settings, {}), streams)
    with serving(app, limits=SHORT) as base:
        followers = [list[str](), list[str]()]
        threads = [threading.Thread(target=follow, args=(base, f, "Update 1")) for f in followers]
        for thread in threads:
            thread.start()
        time.sleep(SHORT.head_timeout + SHORT.keep_alive + 0.5)
        refused = httpx.get(f"{base}/stories/story/events", timeout=5)
        assert refused.status_code == 503 and "retry-after" in refused.headers
        store_posts(
            store, spec, [post("Update 1", "The inquiry heard from a witness.", position=1)]
        )
        streams.changes.changed("story")
        for thread in threads:
            thread.join(10)
        assert all(any("Update 1" in line for line in f) for f in followers), followers
        deadline = time.monotonic() + 5
        while streams_open(base) == 503:  # a slot is given back once a stream ends
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert all(f[0] == "status 200" for f in followers)


def streams_open(base: str) -> int:
    with (
        httpx.Client(timeout=5) as client,
        client.stream("GET", f"{base}/stories/story/events") as response,
    ):
        return response.status_code


SERVER_IN_A_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[2])))
import uvicorn
from starlette.responses import PlainTextResponse
from aggregator.web.http_guard import ServerLimits, fit_to_descriptors, server_config
limits = fit_to_descriptors(ServerLimits(head_timeout=30.0))
print(limits.max_connections, flush=True)
app = PlainTextResponse("ok")
config = server_config(app, limits, fd=int(sys.argv[1]), log_config=None)
uvicorn.Server(config).run()
"""


@pytest.mark.slow
def test_a_flood_past_the_descriptor_limit_leaves_room_for_a_normal_client() -> None:
    """The server runs with 1,024 descriptors; 1,000 connections that send nothing
    cannot take them all: the longest waiting are closed for the newest."""
    enough_descriptors(3000)
    listener = listening_socket()
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER_IN_A_CHILD, str(listener.fileno()), "1024"],
        cwd=ROOT,
        pass_fds=[listener.fileno()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port_of(listener)}"
    try:
        assert child.stdout is not None
        assert 0 < int(child.stdout.readline()) < 1024
        wait_until_serving(base)
        with contextlib.ExitStack() as stack:
            for i in range(1000):
                stack.enter_context(socket.create_connection(("127.0.0.1", port_of(listener))))
                if i % 500 == 499:
                    assert timed_get(base) < 1.0
            assert timed_get(base) < 1.0
    finally:
        child.terminate()
        _, errors = child.communicate(timeout=10)
        listener.close()
    assert b"Too many open files" not in errors, errors.decode()[-2000:]


def wait_until_serving(base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/ok", timeout=1)
            return
        time.sleep(0.05)
    raise AssertionError("the server did not start")


def test_the_limits_fit_the_descriptor_limit() -> None:
    """Run in a child: lowering a hard limit cannot be undone."""
    limits = ServerLimits()
    wanted = limits.max_connections + limits.backlog + FD_RESERVE
    code = (
        "import resource\n"
        "from aggregator.web.http_guard import ServerLimits, fit_to_descriptors\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))\n"
        "raised = fit_to_descriptors(ServerLimits())\n"
        "print(raised == ServerLimits(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))\n"
        "fitted = fit_to_descriptors(ServerLimits())\n"
        "print(fitted.max_connections, fitted.backlog)\n"
    )
    enough_descriptors(wanted)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[:2] == ["True", str(wanted)]
    assert out[2:] == [str(1024 - 128 - FD_RESERVE), "128"]
