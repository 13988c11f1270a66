"""EDGE: the network under httpx: libcurl (through pycurl) as httpx's transport, with
one deadline over a whole HTTP exchange (connect, TLS, request, headers, body), a cap on
the bytes a body may bring, and not one byte sent to a destination fetch/destinations.py
refuses: a new connection is checked on the address it is about to open, and every
request, on a new or a reused connection, on the peer it would go to.

httpx keeps what it does above the wire (redirects, cookies, the Request and Response
models); libcurl does the wire in C, so a request costs about the same CPU however many
threads poll (httpx's own pool took twice as much per request at 16 threads,
bench/transport.py). Each thread has its own curl handle and its handle's connections.

httpx's timeouts bound each network operation, so a server that drips one header line
a second never trips them and holds the poll as long as it likes. Here every exchange of
the calling thread ends at the deadline set by `deadline_at` at the latest:

    with deadline_at(time.monotonic() + 30):
        client.get(url)       # raises httpx.TimeoutException once the 30 s are spent

A body is read whole into memory, up to `max_body_bytes` in the request's extensions
(`body_cap`), else DEFAULT_MAX_BYTES; past it the transfer stops and reading the
response raises fetch/decoding.py's TooLarge, as a decoded body past its cap does.
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import certifi
import httpx
import pycurl

from aggregator.fetch.curl_errors import as_httpx_error
from aggregator.fetch.decoding import TooLarge
from aggregator.fetch.destinations import Refused, check_peer
from aggregator.fetch.limits import FetchLimits

DEFAULT_MAX_BYTES = FetchLimits.max_bytes
MAX_BODY_BYTES = "max_body_bytes"
# Each thread's handle keeps up to this many idle connections for reuse.
CONNECTIONS_PER_THREAD = 16
# Connection-level headers are libcurl's to write (HTTP/2 forbids them, RFC 9113 §8.2.2);
# Content-Length comes from the body it is given, Host from the URL.
_CURL_WRITES = frozenset(
    {b"host", b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding"}
    | {b"upgrade", b"te", b"content-length", b"expect"}
)
_VERSIONS = {
    pycurl.CURL_HTTP_VERSION_1_0: b"HTTP/1.0",
    pycurl.CURL_HTTP_VERSION_1_1: b"HTTP/1.1",
    pycurl.CURL_HTTP_VERSION_2_0: b"HTTP/2",
    pycurl.CURL_HTTP_VERSION_3: b"HTTP/3",
}

_current = threading.local()


@contextmanager
def deadline_at(moment: float) -> Iterator[None]:
    """Bound this thread's exchanges by `moment` (time.monotonic()) inside."""
    outer = getattr(_current, "moment", None)
    _current.moment = moment if outer is None else min(outer, moment)
    try:
        yield
    finally:
        _current.moment = outer


def body_cap(max_bytes: int) -> dict[str, Any]:
    """Request extensions that stop a body's transfer past `max_bytes`."""
    return {MAX_BODY_BYTES: max_bytes}


def _seconds_left(timeout: float | None) -> float | None:
    moment: float | None = getattr(_current, "moment", None)
    if moment is None:
        return timeout
    left = moment - time.monotonic()
    if left <= 0:
        raise httpx.ReadTimeout("the fetch deadline has passed")
    return left if timeout is None else min(timeout, left)


class CurlTransport(httpx.BaseTransport):
    """httpx's transport over libcurl. `ca_pem` (PEM certificates) replaces certifi's
    trust store, for a private CA. h2 is offered by ALPN on TLS, as httpx's own transport
    does with http2=True; plain http:// stays HTTP/1.1."""

    def __init__(self, *, ca_pem: bytes | None = None) -> None:
        self._ca_pem = ca_pem
        self._local = threading.local()
        # Weak: a thread that ends takes its handle and its connections with it.
        self._handles: weakref.WeakSet[pycurl.Curl] = weakref.WeakSet()
        self._guard = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        total = _seconds_left(timeouts.get("read"))
        cap = int(request.extensions.get(MAX_BODY_BYTES, DEFAULT_MAX_BYTES))
        exchange = _Exchange(request.url.host, cap)
        curl = self._handle()
        curl.reset()
        self._configure(curl)
        _set_request(curl, request)
        if total is not None:
            curl.setopt(pycurl.TIMEOUT_MS, max(1, int(total * 1000)))
        if (connect := timeouts.get("connect")) is not None:
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(connect * 1000)))
        curl.setopt(pycurl.OPENSOCKETFUNCTION, exchange.open_socket)
        curl.setopt(pycurl.PREREQFUNCTION, exchange.before_request)
        curl.setopt(pycurl.HEADERFUNCTION, exchange.header_line)
        curl.setopt(pycurl.WRITEFUNCTION, exchange.body_bytes)
        try:
            curl.perform()
        except pycurl.error as e:
            if exchange.refused is not None:
                raise exchange.refused from None
            if not exchange.overflowed:
                args: tuple[Any, ...] = e.args
                code, message = int(args[0]), str(args[-1])
                connected = curl.getinfo(pycurl.PRETRANSFER_TIME) > 0
                errno = curl.getinfo(pycurl.OS_ERRNO)
                raise as_httpx_error(code, message, request, connected, errno)  # noqa: B904
        version = _VERSIONS.get(curl.getinfo(pycurl.INFO_HTTP_VERSION), b"HTTP/1.1")
        return httpx.Response(
            exchange.status or curl.getinfo(pycurl.RESPONSE_CODE),
            headers=exchange.headers,
            stream=_Body(bytes(exchange.body), exchange.overflowed),
            extensions={"http_version": version, "reason_phrase": exchange.reason},
        )

    def close(self) -> None:
        with self._guard:
            handles = list(self._handles)
            self._handles.clear()
        for curl in handles:
            curl.close()

    def _handle(self) -> pycurl.Curl:
        curl: pycurl.Curl | None = getattr(self._local, "curl", None)
        if curl is None:
            curl = self._local.curl = pycurl.Curl()
            with self._guard:
                self._handles.add(curl)
        return curl

    def _configure(self, curl: pycurl.Curl) -> None:
        curl.setopt(pycurl.NOSIGNAL, 1)  # threads: no SIGALRM for DNS timeouts
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.MAXCONNECTS, CONNECTIONS_PER_THREAD)
        # httpx routes the proxies it is told of to its own transports; libcurl must
        # not pick others from the environment on its own.
        curl.setopt(pycurl.PROXY, "")
        # Bodies come as sent: fetch/decoding.py undoes Content-Encoding under its cap.
        curl.setopt(pycurl.HTTP_CONTENT_DECODING, 0)
        curl.setopt(pycurl.HTTP_TRANSFER_DECODING, 1)
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
        if self._ca_pem is not None:
            curl.setopt(pycurl.CAINFO_BLOB, self._ca_pem)
        else:
            curl.setopt(pycurl.CAINFO, certifi.where())


def _set_request(curl: pycurl.Curl, request: httpx.Request) -> None:
    curl.setopt(pycurl.URL, str(request.url))
    headers = [
        name + b": " + value
        for name, value in request.headers.raw
        if name.lower() not in _CURL_WRITES
    ]
    body = request.read()
    method = request.method
    if method == "HEAD":
        curl.setopt(pycurl.NOBODY, 1)
    elif body or method in ("POST", "PUT", "PATCH"):
        curl.setopt(pycurl.POSTFIELDSIZE, len(body))
        curl.setopt(pycurl.POSTFIELDS, body)
        headers.append(b"Expect:")  # no 100-continue round trip
    if method not in ("GET", "HEAD", "POST"):
        curl.setopt(pycurl.CUSTOMREQUEST, method)
    curl.setopt(pycurl.HTTPHEADER, headers)


class _Exchange:
    """One request's callbacks from libcurl: the destination checks, the response's
    status and headers, and its body up to the cap."""

    def __init__(self, host: str, cap: int) -> None:
        self.host = host
        self.cap = cap
        self.refused: Refused | None = None
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.overflowed = False

    def open_socket(self, purpose: int, address: Any) -> Any:
        """A new connection: its address is checked before anything is sent to it."""
        if self.refused is None:
            try:
                check_peer(self.host, address.addr)
            except Refused as e:
                self.refused = e
        if self.refused is not None:
            return pycurl.SOCKET_BAD
        return socket.socket(address.family, address.socktype, address.protocol)

    def before_request(self, peer_ip: str, local_ip: str, peer_port: int, local_port: int) -> int:
        """Every request, on a new or a reused connection, before its first byte."""
        try:
            check_peer(self.host, (peer_ip, peer_port))
        except Refused as e:
            self.refused = e
            return int(pycurl.PREREQFUNC_ABORT)
        return int(pycurl.PREREQFUNC_OK)

    def header_line(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):  # a status line: a 1xx's headers are dropped
            parts = line.split(None, 2)
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.reason = parts[2].strip() if len(parts) > 2 else b""
            self.headers = []
        elif line[:1] in (b" ", b"\t") and self.headers:  # obs-fold (RFC 9112 §5.2)
            name, value = self.headers[-1]
            self.headers[-1] = (name, value + b" " + line.strip())
        else:
            name, colon, value = line.partition(b":")
            if colon and name.strip():
                self.headers.append((name.strip(), value.strip()))

    def body_bytes(self, chunk: bytes) -> int | None:
        if len(self.body) + len(chunk) > self.cap:
            self.overflowed = True
            return 0  # stops the transfer (CURLE_WRITE_ERROR)
        self.body += chunk
        return None


class _Body(httpx.SyncByteStream):
    def __init__(self, body: bytes, overflowed: bool) -> None:
        self._body = body
        self._overflowed = overflowed

    def __iter__(self) -> Iterator[bytes]:
        if self._body:
            yield self._body
        if self._overflowed:
            raise TooLarge("the body passed its cap before it was decoded")
