"""Rendered feeds kept in memory per process, keyed by the story's version in the store.

Rendering a story of 500 entries takes tens of milliseconds; asking the store whether
anything changed takes three index lookups and a thread. So a request whose story has not
changed is answered from memory: 200 with the kept bytes (gzipped once, when the client
accepts it), or 304 on the kept ETag.

The store stays the source of truth. `get` asks it for the story's version and renders
afresh when a write from any process changed it. `peek` answers without asking, from the
event loop, only while the kept rendering was confirmed less than `fresh_seconds` ago and
no change signal for the story arrived since: this process's worker and the PostgreSQL
listener signal every write as it commits, so the window only bounds how late a write
that signals nobody (a one-off `aggregator poll` on SQLite, a lost notification) shows.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import anyio

from aggregator.core.types import StorySpec, StoryView
from aggregator.store.roles import ViewStore
from aggregator.web.changes import StoryChanges

Renderer = Callable[[StoryView, str], bytes]
# A confirmation under way: its event loop, story, form, base URL and archive page.
_Flight = tuple[asyncio.AbstractEventLoop, str, str, str, int | None]
FRESH_SECONDS = 1.0
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    modified: datetime | None
    gzipped: bytes | None = None
    # Response headers built for it, per kind of answer (web/responses.py).
    heads: dict[tuple[str, str, bool, int], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def gzip_etag(self) -> str:
        """The ETag of the gzip-coded variant: a different representation (RFC 9110 §8.8.3)."""
        return self.etag[:-1] + '-gzip"'


@dataclass(frozen=True)
class _Kept:
    version: tuple[object, ...]
    rendered: Rendered
    confirmed_at: float
    generation: tuple[int, int]


class RenderCache:
    def __init__(
        self,
        store: ViewStore,
        changes: StoryChanges | None = None,
        *,
        fresh_seconds: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.changes = changes or StoryChanges()
        self.fresh_seconds = fresh_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._flights: dict[_Flight, asyncio.Future[Rendered | None]] = {}

    def peek(self, story: StorySpec, form: str, base: str) -> Rendered | None:
        """The kept rendering if it may be served without asking the store; non-blocking."""
        with self._lock:
            kept = self._kept.get((story.id, form))
        if kept is None or kept.version[1:] != (story, base):
            return None
        if self.clock() - kept.confirmed_at >= self.fresh_seconds:
            return None
        if self.changes.generation(story.id) != kept.generation:
            return None
        return kept.rendered

    def last(self, story: StorySpec, form: str, base: str) -> Rendered | None:
        """The kept rendering however old, for when the store cannot be asked."""
        with self._lock:
            kept = self._kept.get((story.id, form))
        return kept.rendered if kept is not None and kept.version[1:] == (story, base) else None

    async def confirmed(
        self, story: StorySpec, form: str, base: str, render: Renderer, archive: int | None = None
    ) -> Rendered | None:
        """`get` in a worker thread, once at a time per document: the requests that come
        while one runs (every reader of a busy feed, the moment its kept copy needs
        confirming) share its result or its error instead of each taking a thread."""
        key = (asyncio.get_running_loop(), story.id, form, base, archive)
        flight = self._flights.get(key)
        if flight is None:
            work = anyio.to_thread.run_sync(self.get, story, form, base, render, archive)
            flight = asyncio.ensure_future(work)
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(flight)

    def _landed(self, key: _Flight, done: asyncio.Future[Rendered | None]) -> None:
        self._flights.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter went away

    def get(
        self, story: StorySpec, form: str, base: str, render: Renderer, archive: int | None = None
    ) -> Rendered | None:
        """The story (or its archive page `archive`) rendered by `render` (named `form`),
        from memory when still current; None for an archive page that is not closed.
        Blocking: call it from a worker thread."""
        # Read the signal's generation, then the version, then the view: a write landing
        # in between leaves a newer document under an older version and generation, which
        # costs one more render, never staleness.
        generation = self.changes.generation(story.id)
        confirmed_at = self.clock()
        version = (self.store.story_version(story.id), story, base)
        key = (story.id, form)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept.version == version:
            rendered = kept.rendered
        else:
            view = (
                self.store.story_view(story)
                if archive is None
                else self.store.archive_view(story, archive)
            )
            if view is None:
                return None
            body = render(view, base)
            packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
            rendered = Rendered(body, etag_of(body), view.updated, packed)
        with self._lock:
            self._kept[key] = _Kept(version, rendered, confirmed_at, generation)
        return rendered


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
