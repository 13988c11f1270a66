"""The service's ASGI app under a real uvicorn on 127.0.0.1, in a thread of the test,
behind the same connection guard as the service (aggregator/web/http_guard.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from aggregator.web.front import KeptFirst
from aggregator.web.http_guard import ServerLimits, server_config


def listening_socket() -> socket.socket:
    """A socket already listening on a free loopback port. Held from the start, the port
    cannot be taken by another server or a client's ephemeral port before uvicorn runs,
    as a port found free and closed again can."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    app: ASGIApp,
    sock: socket.socket | None = None,
    limits: ServerLimits | None = None,
    answer_early: bool = True,
) -> Iterator[str]:
    """Serve `app` on `sock` (a fresh listening socket if None) within `limits` (the
    service's defaults if None), with its early answers if it has them (unless
    `answer_early` is False: then KeptFirst answers them as an ASGI app); yield its
    base URL."""
    sock = sock or listening_socket()
    early = None
    if answer_early and isinstance(app, KeptFirst):
        early, app = app.early, app.app  # as the service runs it (service.py)
    config = server_config(app, limits or ServerLimits(), early, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port_of(sock)}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
