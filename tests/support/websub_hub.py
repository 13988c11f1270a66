"""A small WebSub hub on 127.0.0.1 for tests: real sockets, real HTTP both ways.

    with run_hub() as hub:
        ... a subscriber POSTs hub.mode=subscribe to hub.url ...
        hub.wait_for(lambda: hub.subscribers)       # verification of intent happened
        hub.distribute(topic, body, "application/atom+xml")   # signed with the secret

It answers a subscription request 202 and then, in a thread of its own, verifies intent
with a GET to the callback (hub.challenge, hub.lease_seconds) as §5.3 describes; a
publish ping (hub.mode=publish, hub.url) is recorded and the URL fetched, as a hub would.

`run_hub(tls=ca)` serves https with a certificate for 127.0.0.1 from a test CA
(trustme); `hub.ca_pem` is the CA (PEM) a client needs to trust it. Subscribers give
hub.secret to https hubs only (WebSub §5.1), so signed pushes need a TLS hub.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import parse_qs

import httpx
import trustme

T = TypeVar("T")
WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class HubSubscription:
    callback: str
    topic: str
    secret: str | None
    lease_seconds: int


@dataclass(frozen=True)
class Verification:
    mode: str
    callback: str
    topic: str
    status: int
    echoed: bool


@dataclass
class HubState:
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    subscribers: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)
    verifications: list[Verification] = field(default_factory=list)
    pings: list[str] = field(default_factory=list)
    fetched: list[tuple[str, int]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)


class Hub:
    def __init__(self, base_url: str, state: HubState, ca_pem: bytes | None) -> None:
        self.url = base_url + "/"
        self.state = state
        self.ca_pem = ca_pem

    @property
    def subscribers(self) -> dict[tuple[str, str], HubSubscription]:
        return self.state.subscribers

    def requests_of(self, mode: str) -> list[dict[str, list[str]]]:
        return [r for r in self.state.requests if r.get("hub.mode") == [mode]]

    def wait_for(self, check: Callable[[], T]) -> T:
        """Block until `check()` is truthy (it is re-run whenever the hub's state moves)."""
        with self.state.changed:
            result = self.state.changed.wait_for(check, timeout=WAIT_SECONDS)
        assert result, "the hub never reached the expected state"
        return result

    def verify(self, callback: str, topic: str, mode: str = "subscribe", lease: int = 60) -> int:
        """One verification GET, as the hub sends it; returns the callback's status."""
        return _verify(self.state, callback, topic, mode, lease, secret=None)

    def deny(self, callback: str, topic: str) -> int:
        params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "not allowed"}
        return httpx.get(callback, params=params).status_code

    def distribute(
        self,
        topic: str,
        body: bytes,
        content_type: str,
        *,
        signature: str | None = None,
        method: str = "sha256",
    ) -> list[int]:
        """§7: POST the content to every subscriber of `topic`, signed with its secret
        unless `signature` says what to send instead ("" sends none)."""
        statuses = []
        for sub in [s for (_, t), s in self.subscribers.items() if t == topic]:
            headers = {
                "Content-Type": content_type,
                "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
            }
            if signature is None and sub.secret:
                digest = hmac.new(sub.secret.encode(), body, getattr(hashlib, method))
                headers["X-Hub-Signature"] = f"{method}={digest.hexdigest()}"
            elif signature:
                headers["X-Hub-Signature"] = signature
            statuses.append(httpx.post(sub.callback, content=body, headers=headers).status_code)
        return statuses


@contextlib.contextmanager
def run_hub(
    *, lease_seconds: int | None = None, tls: trustme.CA | None = None, host: str = "127.0.0.1"
) -> Iterator[Hub]:
    """Serve a hub on a free port of `host`; `lease_seconds` overrides what subscribers
    ask for; with `tls`, over https with a certificate from that CA."""
    state = HubState()
    httpd = _HubServer(state, lease_seconds, host)
    ca_pem = None
    if tls is not None:
        server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.issue_cert(host).configure_cert(server_side)
        httpd.socket = server_side.wrap_socket(httpd.socket, server_side=True)
        ca_pem = tls.cert_pem.bytes()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = httpd.server_address[1]
        yield Hub(f"{'https' if tls else 'http'}://{host}:{port}", state, ca_pem)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class _HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: HubState, lease_seconds: int | None, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.state = state
        self.lease_seconds = lease_seconds


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server = self.server
        assert isinstance(server, _HubServer)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        with server.state.changed:
            server.state.requests.append(form)
            server.state.changed.notify_all()
        mode = (form.get("hub.mode") or [""])[0]
        if mode in ("subscribe", "unsubscribe"):
            self._answer(202)
            args = (server.state, form, server.lease_seconds)
            threading.Thread(target=_verify_request, args=args, daemon=True).start()
        elif mode == "publish":
            self._answer(204)
            for url in form.get("hub.url", []):
                _fetch_published(server.state, url)
        else:
            self._answer(400, b"unknown hub.mode")

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _verify_request(state: HubState, form: dict[str, list[str]], lease: int | None) -> None:
    def one(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    asked = one("hub.lease_seconds")
    granted = lease or (int(asked) if asked else 864000)
    callback, topic, mode = one("hub.callback"), one("hub.topic"), one("hub.mode")
    assert callback and topic and mode
    _verify(state, callback, topic, mode, granted, one("hub.secret"))


def _verify(
    state: HubState, callback: str, topic: str, mode: str, lease: int, secret: str | None
) -> int:
    challenge = secrets.token_urlsafe(16)
    params = {
        "hub.mode": mode,
        "hub.topic": topic,
        "hub.challenge": challenge,
        "hub.lease_seconds": str(lease),
    }
    response = httpx.get(callback, params=params)
    echoed = response.is_success and response.text == challenge
    with state.changed:
        if echoed and mode == "subscribe":
            state.subscribers[(callback, topic)] = HubSubscription(callback, topic, secret, lease)
        elif echoed and mode == "unsubscribe":
            state.subscribers.pop((callback, topic), None)
        state.verifications.append(
            Verification(mode, callback, topic, response.status_code, echoed)
        )
        state.changed.notify_all()
    return response.status_code


def _fetch_published(state: HubState, url: str) -> None:
    status = httpx.get(url).status_code
    with state.changed:
        state.pings.append(url)
        state.fetched.append((url, status))
        state.changed.notify_all()
