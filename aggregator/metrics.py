"""EDGE: what the service counts, in Prometheus' text format (the official client).

The metrics live in one registry of this module, as the client library is meant to be
used: each process counts its own polls, writes and requests, and serves its own
numbers (`/metrics` on the web port; a worker without one serves them on
`[service] metrics_port`). Prometheus adds the processes up, which suits workers on
other machines, where the client's multiprocess mode (one shared folder) cannot reach.
Nothing is served unless `[service] metrics = true`, and then only to the networks in
`metrics_allow` (loopback by default).

Labels stay bounded: sources and stories come from the config, HTTP requests are
counted by the kind of document asked for, never by the path a client typed.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from time import perf_counter
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from aggregator.core.types import PollReport

REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LAG = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

POLLS = Counter(
    "aggregator_polls",
    "Polls by source and outcome: changed, unchanged, held, error.",
    ["source", "outcome"],
    registry=REGISTRY,
)
POLL_SECONDS = Histogram(
    "aggregator_poll_duration_seconds",
    "One poll from reading its state to writing its outcome.",
    ["kind"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
PARSE_SECONDS = Histogram(
    "aggregator_parse_duration_seconds",
    "Parsing one poll's documents into posts.",
    ["kind"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
ENTRIES = Counter(
    "aggregator_entries",
    "Entries stored, by story and change: new, updated, deleted, duplicate.",
    ["story", "change"],
    registry=REGISTRY,
)
DUE_LAG = Histogram(
    "aggregator_poll_lag_seconds",
    "How long after its due time a poll started.",
    buckets=_LAG,
    registry=REGISTRY,
)
STORE_WRITE_SECONDS = Histogram(
    "aggregator_store_write_duration_seconds",
    "Writing one poll's outcome in its transaction.",
    buckets=_SECONDS,
    registry=REGISTRY,
)
SOURCES_FAILING = Gauge(
    "aggregator_sources_failing",
    "Sources whose last poll failed or that stopped, as the store says at scrape time.",
    registry=REGISTRY,
)
STREAM_CLIENTS = Gauge("aggregator_stream_clients", "Open event streams (SSE).", registry=REGISTRY)
REQUESTS = Counter(
    "aggregator_http_requests",
    "HTTP requests by the document asked for and the status answered.",
    ["document", "status"],
    registry=REGISTRY,
)


def count_poll(report: PollReport, kind: str, story: str, seconds: float) -> None:
    POLLS.labels(report.source, outcome_of(report)).inc()
    POLL_SECONDS.labels(kind).observe(seconds)
    for change, count in (
        ("new", report.new),
        ("updated", report.updated),
        ("deleted", report.deleted),
        ("duplicate", report.duplicates),
    ):
        if count:
            ENTRIES.labels(story, change).inc(count)


def outcome_of(report: PollReport) -> str:
    if report.failed:
        return "error"
    if report.held:
        return "held"
    return "changed" if report.changed_story else "unchanged"


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    started = perf_counter()
    try:
        yield
    finally:
        target = histogram.labels(*labels) if labels else histogram
        target.observe(perf_counter() - started)


def document_of(path: str) -> str:
    """A request's path as a bounded label: which kind of document it asked for."""
    if path == "/metrics":
        return "metrics"
    if path in ("/healthz", "/readyz", "/"):
        return path.strip("/") or "index"
    if path.startswith("/websub/"):
        return "websub"
    if not path.startswith("/stories/"):
        return "other"
    for suffix, name in ((".atom", "atom"), (".json", "json"), (".opml", "opml")):
        if path.endswith(suffix):
            return name
    return "events" if path.endswith("/events") else "page"


def exposition(failing: Callable[[], int | None] | None = None) -> bytes:
    """The registry in the text format; `failing` is read now, at scrape time (None:
    the store did not answer, the last count stays)."""
    _set_failing(failing)
    return generate_latest(REGISTRY)


def _set_failing(failing: Callable[[], int | None] | None) -> None:
    count = failing() if failing is not None else None
    if count is not None:
        SOURCES_FAILING.set(count)


class CountRequests:
    """ASGI middleware: each HTTP request counted by document and status."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def noted(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            count_request(scope["path"], status)


def count_request(path: str, status: int) -> None:
    key = (document_of(path), status)
    counter = _REQUEST_COUNTERS.get(key)
    if counter is None:  # a bounded set: documents are a few names, statuses 100-599
        counter = _REQUEST_COUNTERS.setdefault(key, REQUESTS.labels(key[0], str(status)))
    counter.inc()


_REQUEST_COUNTERS: dict[tuple[str, int], Counter] = {}


class Allowed:
    """Whether a client address may read the metrics: `metrics_allow`'s networks."""

    def __init__(self, networks: Sequence[str]) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def __call__(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged: one a few seconds would drown the service's log."""


def serve_worker_metrics(
    host: str, port: int, allowed: Allowed, failing: Callable[[], int | None] | None = None
) -> WSGIServer:
    """A worker's own /metrics, on a thread; `server.shutdown()` stops it."""
    scrape = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not allowed(environ.get("REMOTE_ADDR")):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"metrics are not served to this address (metrics_allow)\n"]
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"only /metrics here\n"]
        _set_failing(failing)
        body: Iterable[bytes] = scrape(environ, start_response)
        return body

    server = make_server(host, port, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="aggregator-metrics", daemon=True)
    thread.start()
    return server
