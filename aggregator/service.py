"""The one place that builds concrete objects: store, HTTP client, scheduler, web app."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Literal

import uvicorn
from sqlalchemy import Engine, make_url
from starlette.types import ASGIApp

from aggregator.config import LiveSettings, Settings
from aggregator.core.errors import ConfigError
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.parsing import ParsePool
from aggregator.ingest.sources import Fetchers
from aggregator.ingest.worker import CONFIG_CHECK_SECONDS, LEASE_SECONDS, Worker
from aggregator.metrics import Allowed, serve_worker_metrics
from aggregator.store import Store, open_store
from aggregator.store.database import create_store_engine
from aggregator.store.hosts import PostgresHosts
from aggregator.store.notify import listener_for
from aggregator.systemd import Notifications
from aggregator.web.access_log import AccessLog, open_access_log
from aggregator.web.changes import StoryChanges
from aggregator.web.export import OutputWriter
from aggregator.web.http_guard import Early, ServerLimits, fit_to_descriptors, server_config
from aggregator.web.routes import Live, create_app, failing_count
from aggregator.web.streams import MAX_STREAMS, STREAM_RECHECK_SECONDS
from aggregator.websub.ping import HubPing
from aggregator.websub.subscriber import Subscriber

log = logging.getLogger("aggregator.service")
Role = Literal["run", "web", "worker"]
HEARTBEAT_SECONDS = 10.0
# A poll must end inside its lease, or a second worker could claim the source while it
# still runs. Its worst case, in fetch deadlines T: waiting for a host slot (<= T),
# connecting and the response headers (<= T each), the body (stopped at the deadline,
# one more read late at most), then parse and write. So T is at most a fifth of the
# lease, and the shortest lease allowed gives T one second.
LEASE_PARTS = 5
MIN_LEASE_SECONDS = 5.0


@dataclass(frozen=True)
class RoleOptions:
    """Command-line choices of one process: where a web node listens (default: the
    config's), how often idle streams re-read the store, the worker's heartbeat file,
    how long a worker's claim on a source lasts, what one web client may hold."""

    host: str | None = None
    port: int | None = None
    stream_recheck: float = STREAM_RECHECK_SECONDS
    heartbeat: Path | None = None
    lease: float = LEASE_SECONDS
    server: ServerLimits = field(default_factory=ServerLimits)


@dataclass(frozen=True)
class Parts:
    store: Store
    fetchers: Fetchers
    parsing: ParsePool


def fetch_limits(lease: float = LEASE_SECONDS) -> FetchLimits:
    """The fetch limits whose deadline fits a poll inside a lease of `lease` seconds."""
    if lease < MIN_LEASE_SECONDS:
        raise ValueError(f"a lease must be at least {MIN_LEASE_SECONDS:g}s")
    base = FetchLimits()
    total = min(base.total_timeout, lease / LEASE_PARTS)
    return replace(base, total_timeout=total, connect_timeout=min(base.connect_timeout, total))


@contextmanager
def http_fetchers(
    limits: FetchLimits | None = None, engine: Engine | None = None
) -> Iterator[Fetchers]:
    """Fetchers with one HTTP client; on a PostgreSQL `engine`, per-host politeness
    holds across every process using that database."""
    limits = limits or FetchLimits()
    shared = None
    if engine is not None and engine.dialect.name == "postgresql":
        shared = PostgresHosts(engine, limits.per_host, limits.host_gap, limits.total_timeout)
    client = make_client(limits)
    try:
        yield Fetchers(client, limits, shared)
    finally:
        client.close()


@contextmanager
def built(
    settings: Settings, *, sync_sources: bool = True, limits: FetchLimits | None = None
) -> Iterator[Parts]:
    """Open the store (migrating it), an HTTP client and the parse pool; close all three
    on exit. The parse deadline fits the lease as the fetch deadline does."""
    store = open_store(settings.service.database_url)
    limits = (limits or FetchLimits()).configured(settings.fetch)
    deadline = min(settings.service.parse_timeout, max(1.0, limits.total_timeout))
    try:
        if sync_sources:
            store.sync_sources(settings.sources)
        with (
            http_fetchers(limits, store.engine) as fetchers,
            ParsePool(settings.service.parse_processes, deadline) as parsing,
        ):
            yield Parts(store, fetchers, parsing)
    finally:
        store.engine.dispose()


def run(live: LiveSettings, role: Role = "run", options: RoleOptions | None = None) -> int:
    """Serve the feeds (roles run and web) and poll on schedule (roles run and worker),
    until SIGINT or SIGTERM. `web` never polls; `worker` never opens a port. Under
    systemd (`Type=notify`) it says when it is ready and, while alive, pings the watchdog."""
    options = options or RoleOptions()
    if role != "worker":
        options = replace(options, server=fit_to_descriptors(options.server))
    settings = live.current
    notes = Notifications(os.environ)
    config = settings.path.resolve()
    log.info(
        "starting",
        extra={
            "role": role,
            "config": str(config),
            "relative_paths_from": str(config.parent),
            "store": safe_url(settings.service.database_url),
        },
    )
    # Only what polls keeps the sources table in step with the config.
    limits = fetch_limits(options.lease)
    with built(settings, sync_sources=role != "web", limits=limits) as parts:
        streams = _streams(settings, role, options)
        worker = None if role == "web" else _worker(live, parts, streams.changes, options)
        if worker is not None:
            parts.parsing.start()
            worker.on_tick = notes.beat("the worker's scheduler")
            worker.start()
        reloads = _ConfigFollower(live) if worker is None else None
        try:
            if role == "worker":
                _announce_worker(settings)
                with _worker_metrics(settings, parts.store):
                    notes.ready(f"polling {len(settings.sources)} source(s)")
                    _wait_for_stop(parts.store, options.heartbeat)
                return 0
            return _serve(live, parts, streams, role, options, notes)
        finally:
            notes.stopping()
            if worker is not None:
                worker.shutdown()
            if reloads is not None:
                reloads.stop()
            if streams.listener is not None:
                streams.listener.stop()


def _streams(settings: Settings, role: Role, options: RoleOptions) -> Live:
    changes = StoryChanges()
    listener = None
    if role != "worker":
        listener = listener_for(settings.service.database_url, changes.changed)
    if listener is not None:
        listener.start()
    # Streams may take half the connections; the other half answer everything else.
    max_streams = min(MAX_STREAMS, max(1, options.server.max_connections // 2))
    return Live(changes, listener, role, options.stream_recheck, max_streams=max_streams)


def _worker(
    live: LiveSettings, parts: Parts, changes: StoryChanges, options: RoleOptions
) -> Worker:
    writer = OutputWriter(parts.store, live)
    client, limits = parts.fetchers.client, parts.fetchers.limits
    ping = HubPing(live, client, limits)

    def on_change(story: str) -> None:
        changes.changed(story)
        writer(story)
        ping(story)

    for story in live.current.stories:
        writer(story.id)
    subscriber = Subscriber(live, parts.store, client, limits, fetchers=parts.fetchers)
    return Worker(
        live,
        parts.store,
        parts.fetchers,
        on_change=on_change,
        subscriber=subscriber,
        lease_seconds=options.lease,
        parsing=parts.parsing,
    )


def _serve(
    live: LiveSettings,
    parts: Parts,
    streams: Live,
    role: Role,
    opts: RoleOptions,
    notes: Notifications,
) -> int:
    settings = live.current
    site = create_app(parts.store, live, streams, parts.parsing)
    # The protocol asks `early` of every request it may answer so; what it passes on
    # goes to the routes without KeptFirst asking the same again.
    app: ASGIApp = site.app
    early: Early = site.early
    access = open_access_log(settings.service.access_log)
    if access is not None:
        logged = AccessLog(app, access)
        app, early = logged, logged.answering(early)
    config = server_config(
        app,
        opts.server,
        early,
        host=opts.host or settings.service.host,
        port=opts.port or settings.service.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    listening = f"{config.host}:{config.port}"
    server = _NotifyingServer(
        config, notes, f"serving {settings.service.public_url}/ on {listening}"
    )
    _announce(settings, role, listening)
    with _stop_signals_end_cleanly():
        server.run()
    return 0 if server.started else 1


@contextmanager
def _worker_metrics(settings: Settings, store: Store) -> Iterator[None]:
    """A worker has no web port: with `metrics` on and a `metrics_port`, it serves its
    own /metrics there while it runs."""
    service = settings.service
    if not service.metrics or service.metrics_port is None:
        yield
        return
    names = [s.name for s in settings.sources]
    allowed = Allowed(service.metrics_allow)
    port = service.metrics_port
    server = serve_worker_metrics(
        service.metrics_host, port, allowed, lambda: failing_count(store, names)
    )
    log.info("serving metrics", extra={"on": f"{service.metrics_host}:{service.metrics_port}"})
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


class _NotifyingServer(uvicorn.Server):
    """uvicorn's server, telling the service manager when it listens and, through the
    event loop's own tick (every 0.1 s in uvicorn's main loop), that the loop turns."""

    def __init__(self, config: uvicorn.Config, notes: Notifications, status: str) -> None:
        super().__init__(config)
        self.notes = notes
        self.status = status
        self.loop_beat = notes.beat("the web server's event loop")
        self._told = False

    async def on_tick(self, counter: int) -> bool:
        self.loop_beat()
        if not self._told and self.started:
            self._told = True
            self.notes.ready(self.status)
        return await super().on_tick(counter)


class _ConfigFollower:
    """Re-reads a web node's config when the file changes (in `run` the worker does)."""

    def __init__(self, live: LiveSettings) -> None:
        self.live = live
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="aggregator-config")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _follow(self) -> None:
        while not self._stop.wait(CONFIG_CHECK_SECONDS):
            try:
                if self.live.reload_if_changed() is not None:
                    log.info("config reloaded")
            except ConfigError as e:
                log.error(
                    "config not reloaded, keeping the last good one", extra={"reason": str(e)}
                )


def _wait_for_stop(store: Store, heartbeat: Path | None) -> None:
    """Block until SIGINT or SIGTERM; meanwhile touch `heartbeat` while the store answers
    and takes writes (a full disk stops the heartbeat, so `aggregator health` fails)."""
    stop = threading.Event()

    def note(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            if heartbeat is not None and store.ping() and store.write_failure is None:
                write_heartbeat(heartbeat)
            if stop.wait(HEARTBEAT_SECONDS):
                return
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def write_heartbeat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(datetime.now(UTC).isoformat(timespec="seconds") + "\n", encoding="utf-8")


def check_health(settings: Settings, heartbeat: Path | None, max_age: float) -> list[str]:
    """Problems that make this node unhealthy: the store does not answer, or the
    worker's heartbeat file is missing or older than `max_age` seconds."""
    problems = []
    store = Store(create_store_engine(settings.service.database_url))
    try:
        if not store.ping():
            problems.append(f"store unreachable: {safe_url(settings.service.database_url)}")
    finally:
        store.engine.dispose()
    if heartbeat is not None:
        try:
            age = time.time() - heartbeat.stat().st_mtime
        except OSError:
            problems.append(f"no heartbeat file {heartbeat}")
        else:
            if age > max_age:
                problems.append(f"heartbeat {heartbeat} is {age:.0f}s old (limit {max_age:g}s)")
    return problems


@contextmanager
def _stop_signals_end_cleanly() -> Iterator[None]:
    """uvicorn handles SIGINT/SIGTERM by shutting down gracefully, then re-raises the
    signal to the handler that was there before it; this makes that handler a no-op, so
    the scheduler is stopped too and the process exits 0."""

    def note(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _announce(settings: Settings, role: Role, listening: str) -> None:
    base = settings.service.public_url
    store = safe_url(settings.service.database_url)
    lines = [f"aggregator {role} is serving {base}/ on {listening} (store: {store})"]
    for story in settings.stories:
        lines.append(f"  {story.title}")
        lines.append(f"    subscribe (Atom):      {base}/stories/{story.id}.atom")
        lines.append(f"    subscribe (JSON Feed): {base}/stories/{story.id}.json")
        lines.append(f"    live stream (SSE):     {base}/stories/{story.id}/events")
        lines.append(f"    read in a browser:     {base}/stories/{story.id}")
    print("\n".join(lines), file=sys.stderr, flush=True)


def _announce_worker(settings: Settings) -> None:
    store = safe_url(settings.service.database_url)
    count = len(settings.sources)
    print(f"aggregator worker is polling {count} source(s) (store: {store})", file=sys.stderr)


def safe_url(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)
