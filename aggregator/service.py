"""The one place that builds concrete objects: store, HTTP client, scheduler, web app."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import uvicorn
from sqlalchemy import make_url

from aggregator.config import LiveSettings, Settings
from aggregator.export import OutputWriter
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.sources import Fetchers
from aggregator.store import Store, open_store
from aggregator.web import create_app
from aggregator.worker import Worker

log = logging.getLogger("aggregator.service")


@dataclass(frozen=True)
class Parts:
    store: Store
    fetchers: Fetchers


@contextmanager
def http_fetchers() -> Iterator[Fetchers]:
    limits = FetchLimits()
    client = make_client(limits)
    try:
        yield Fetchers(client, limits)
    finally:
        client.close()


@contextmanager
def built(settings: Settings) -> Iterator[Parts]:
    """Open the store (migrating it) and an HTTP client; close both on exit."""
    store = open_store(settings.service.database_url)
    try:
        store.sync_sources(settings.sources)
        with http_fetchers() as fetchers:
            yield Parts(store, fetchers)
    finally:
        store.engine.dispose()


def run(live: LiveSettings) -> int:
    """Poll on schedule and serve the feeds until SIGINT or SIGTERM."""
    settings = live.current
    with built(settings) as parts:
        writer = OutputWriter(parts.store, live)
        worker = Worker(live, parts.store, parts.fetchers, on_change=writer)
        app = create_app(parts.store, live)
        config = uvicorn.Config(
            app,
            host=settings.service.host,
            port=settings.service.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=3,
        )
        server = uvicorn.Server(config)
        worker.start()
        for story in settings.stories:
            writer(story.id)
        _announce(settings)
        try:
            with _stop_signals_end_cleanly():
                server.run()
        finally:
            worker.shutdown()
    return 0 if server.started else 1


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


def _announce(settings: Settings) -> None:
    base = settings.service.public_url
    lines = [f"aggregator is serving {base}/ (store: {safe_url(settings.service.database_url)})"]
    for story in settings.stories:
        lines.append(f"  {story.title}")
        lines.append(f"    subscribe (Atom):      {base}/stories/{story.id}.atom")
        lines.append(f"    subscribe (JSON Feed): {base}/stories/{story.id}.json")
        lines.append(f"    live stream (SSE):     {base}/stories/{story.id}/events")
        lines.append(f"    read in a browser:     {base}/stories/{story.id}")
    print("\n".join(lines), file=sys.stderr, flush=True)


def safe_url(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)
