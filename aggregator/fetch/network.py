"""EDGE: the network under httpx: one deadline over a whole HTTP exchange (connect, TLS,
request, headers, body), and not one byte sent to a destination fetch/destinations.py
refuses: a new connection is checked on the address it is about to open, and every
write, on a new or a pooled connection, on the peer it goes to.

httpx's timeouts bound each network operation, so a server that drips one header line a
second never trips them and holds the poll as long as it likes. Here every socket
operation of the calling thread waits at most until the deadline set by `deadline_at`:

    with deadline_at(time.monotonic() + 30):
        client.get(url)       # raises httpx.TimeoutException once the 30 s are spent

It works below httpx, as an httpcore network backend that wraps the usual one
(`bounded_transport`), so no operation can outlive the deadline, whichever httpcore step
is waiting.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from aggregator.fetch.destinations import Refused, check_peer, checked_address

_current = threading.local()


@contextmanager
def deadline_at(moment: float) -> Iterator[None]:
    """Bound this thread's network operations by `moment` (time.monotonic()) inside."""
    outer = getattr(_current, "moment", None)
    _current.moment = moment if outer is None else min(outer, moment)
    try:
        yield
    finally:
        _current.moment = outer


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    moment: float | None = getattr(_current, "moment", None)
    if moment is None:
        return timeout
    left = moment - time.monotonic()
    if left <= 0:
        raise error("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    """A connection to `host`. A pooled one may be reused by a later request under
    other rules (one trusting `host` opened it), so each write checks its peer anew."""

    def __init__(self, inner: httpcore.NetworkStream, host: str) -> None:
        self._inner = inner
        self._host = host
        self._peer: object = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._peer is None:
            self._peer = self._inner.get_extra_info("server_addr")
        check_peer(self._host, self._peer)
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        tls = self._inner.start_tls(ssl_context, server_hostname, bounded)
        return _BoundedStream(tls, self._host)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        try:
            address = checked_address(host, port)
        except Refused as e:
            raise httpcore.ConnectError(f"refused: {e}") from e
        stream = self._inner.connect_tcp(address, port, bounded, local_address, socket_options)
        return _BoundedStream(stream, host)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, bounded, socket_options)
        return _BoundedStream(stream, "")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bounded_transport(*, verify: ssl.SSLContext | bool, http2: bool) -> httpx.HTTPTransport:
    """httpx's own transport, with its connection pool's network backend wrapped so that
    every operation honours the thread's deadline."""
    transport = httpx.HTTPTransport(verify=verify, http2=http2)
    pool = transport._pool
    pool._network_backend = _BoundedBackend(pool._network_backend)
    return transport
