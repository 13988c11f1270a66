"""HTTP routes: read the store, render with publish/, answer conditional requests.

    GET /                          the stories
    GET /healthz                   role, store reachable? when did each source last succeed?
    GET /stories/{id}.atom         Atom 1.0 (RFC 4287)
    GET /stories/{id}.json         JSON Feed 1.1
    GET /stories/{id}/events       Server-Sent Events: new and updated entries
    GET /stories/{id}              the readable page
    GET /stories/{id}/archive/{n}[.atom|.json]   closed archive page n (RFC 5005), 0 oldest

Starlette rather than FastAPI: every response here is a document we render ourselves,
so request/response models and OpenAPI would add weight without use.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from aggregator.config import LiveSettings
from aggregator.core.digits import INTEGER_MAX, read_count
from aggregator.core.errors import StoreError
from aggregator.core.types import SourceSpec, StorySpec, StoryView
from aggregator.ingest.parsing import INLINE, Parsing
from aggregator.metrics import CONTENT_TYPE as METRICS_TYPE
from aggregator.metrics import STREAM_CLIENTS, Allowed, CountRequests, exposition
from aggregator.publish.feeds import render_feed, titled, titled_entry
from aggregator.publish.opml import OPML_TYPE, render_opml
from aggregator.publish.page import SourceLine, render_index, render_not_found, render_page
from aggregator.publish.stream import format_comment, format_event, format_retry
from aggregator.publish.timefmt import format_rfc3339
from aggregator.store import Store
from aggregator.store.database import status
from aggregator.store.notify import Listener, StoryChanges
from aggregator.store.views import SourceHealth
from aggregator.web.rendered import FRESH_SECONDS, RenderCache, Rendered, Renderer, etag_of
from aggregator.web.shared_reads import SharedReads
from aggregator.websub.callback import websub_routes

log = logging.getLogger("aggregator.web")

ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSONFEED_TYPE = "application/feed+json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
# An idle stream re-reads the store this often even without a "story changed" signal,
# so a lost notification delays an event and never loses it.
STREAM_RECHECK_SECONDS = 5.0
STREAM_PING_SECONDS = 15.0
STREAM_BACKLOG = 50
# Event streams are long-lived by design, so they are counted apart from other requests:
# past this many, a new one is answered 503, and the server keeps connections for the rest.
MAX_STREAMS = 2048
STREAM_RETRY_AFTER = 30
ARCHIVE_MAX_AGE = 3600


@dataclass(frozen=True)
class Live:
    """How event streams learn of changes: the process's signal, and the PostgreSQL
    listener feeding it (None on SQLite, where the worker in this process feeds it)."""

    changes: StoryChanges = field(default_factory=StoryChanges)
    listener: Listener | None = None
    role: str = "run"
    recheck_seconds: float = STREAM_RECHECK_SECONDS
    # How long a rendered feed is served without asking the store (web/rendered.py).
    fresh_seconds: float = FRESH_SECONDS
    max_streams: int = MAX_STREAMS


def create_app(
    store: Store, live: LiveSettings, streams: Live | None = None, parsing: Parsing = INLINE
) -> Starlette:
    """The one app factory, for the service and for tests alike. `parsing` runs the CPU
    work of WebSub pushes."""
    site = _Site(store, live, streams or Live())
    # Feeds and pages keep their own gzip variant (web/rendered.py); the rest is gzipped here.
    gzipped = [Middleware(GZipMiddleware, minimum_size=500)]
    routes = [
        Route("/", site.index, middleware=gzipped),
        Route("/healthz", site.health, middleware=gzipped),
        Route("/readyz", site.ready),
        Route("/metrics", site.metrics),
        Route("/stories/{story_id}.atom", site.atom),
        Route("/stories/{story_id}.json", site.jsonfeed),
        Route("/stories/{story_id}.opml", site.opml),
        Route("/stories/{story_id}/events", site.events),
        Route("/stories/{story_id}", site.page),
        Route("/stories/{story_id}/archive/{archive:int}.atom", site.atom),
        Route("/stories/{story_id}/archive/{archive:int}.json", site.jsonfeed),
        Route("/stories/{story_id}/archive/{archive:int}", site.page),
    ]
    routes += websub_routes(store, live, on_change=site.streams.changes.changed, parsing=parsing)
    app = Starlette(routes=routes, middleware=[Middleware(CountRequests)])
    # Starlette answers "/x/" with a redirect to "/x" built from the Host header: a
    # reflected redirect anyone can aim elsewhere. Unknown paths get a 404 instead.
    app.router.redirect_slashes = False
    return app


class _Site:
    def __init__(self, store: Store, live: LiveSettings, streams: Live) -> None:
        self.store = store
        self.live = live
        self.streams = streams
        self.rendered = RenderCache(store, streams.changes, fresh_seconds=streams.fresh_seconds)
        self.reads = SharedReads(store.events_after, streams.changes)
        self.stream_slots = _Slots(streams.max_streams)

    def url(self, path: str) -> str:
        return self.live.current.service.public_url + path

    def story(self, request: Request) -> StorySpec | None:
        return self.live.current.story(request.path_params["story_id"])

    async def index(self, request: Request) -> Response:
        counts = await anyio.to_thread.run_sync(self.store.entry_counts)
        lines = await anyio.to_thread.run_sync(self._source_lines)
        stories = [(s, counts.get(s.id, 0), lines.get(s.id, [])) for s in self.live.current.stories]
        body = render_index(stories, base_url=self.url("")).encode()
        return _conditional(request, Rendered(body, etag_of(body), None), HTML_TYPE)

    async def health(self, request: Request) -> Response:
        settings = self.live.current
        names = [s.name for s in settings.sources]
        node = {"role": self.streams.role, "notifications": self._notifications()}
        try:
            rows = await anyio.to_thread.run_sync(self.store.source_health, names)
        except StoreError as e:
            failed = {"ok": False, **node, "store": "unreachable", "error": str(e)}
            return JSONResponse(failed, 503)
        sources = [
            {
                "name": r.name,
                "story": r.story,
                "last_success_at": _rfc3339(r.last_success_at),
                "last_attempt_at": _rfc3339(r.last_attempt_at),
                "last_error": r.last_error,
                "error_count": r.error_count,
                "next_attempt_at": _rfc3339(r.next_attempt_at),
                "interval_seconds": r.interval,
                "schedule_reason": r.schedule_reason,
                "stopped_reason": r.stopped_reason,
                "moved_to": r.moved_to,
            }
            for r in rows
        ]
        # A failing source is the publisher's problem, not this node's: it is listed, and
        # the node stays healthy.
        failing = _failing(rows)
        body = {"ok": True, **node, "store": "reachable", "failing": failing, "sources": sources}
        return JSONResponse(body)

    async def ready(self, request: Request) -> Response:
        """Whether this node should get traffic: the store answers and holds every
        migration this code needs (a contract one still waiting for `--contract` does
        not count: the code runs before and after it)."""
        try:
            plan, _ = await anyio.to_thread.run_sync(status, self.store.engine)
        except StoreError as e:
            log.warning("not ready", extra={"reason": str(e)})
            return JSONResponse({"ready": False, "reason": "store unreachable"}, 503)
        missing = [m.revision for m in plan.applying(contract=False)] if plan.known else []
        if missing:
            reason = f"migrations pending: {' '.join(missing)} (run aggregator migrate)"
            return JSONResponse({"ready": False, "reason": reason}, 503)
        return JSONResponse({"ready": True, "revision": plan.current})

    def _notifications(self) -> str:
        listener = self.streams.listener
        if listener is None:
            return "in-process"
        return "listening" if listener.listening else "reconnecting"

    async def atom(self, request: Request) -> Response:
        return await self._document(request, ATOM_TYPE, self._atom)

    async def jsonfeed(self, request: Request) -> Response:
        return await self._document(request, JSONFEED_TYPE, self._jsonfeed)

    async def metrics(self, request: Request) -> Response:
        """Prometheus' text format, when `[service] metrics` is on, to `metrics_allow`."""
        service = self.live.current.service
        if not service.metrics:
            return _not_found(request, "metrics are off (set [service] metrics = true)")
        if not Allowed(service.metrics_allow)(request.client.host if request.client else None):
            reason = "metrics are not served to this address (metrics_allow)"
            return JSONResponse({"error": reason}, status_code=403)
        body = await anyio.to_thread.run_sync(exposition, self._failing_count)
        return Response(body, media_type=METRICS_TYPE, headers={"Cache-Control": "no-store"})

    def _failing_count(self) -> int | None:
        names = [s.name for s in self.live.current.sources]
        try:
            return sum(
                1 for r in self.store.source_health(names) if r.error_count or r.stopped_reason
            )
        except StoreError:
            return None

    async def opml(self, request: Request) -> Response:
        """The story's sources as OPML 2.0, titled as its page titles them."""
        story = self.story(request)
        if story is None:
            return _not_found(request)
        sources = self.live.current.sources_of(story.id)
        titles = await anyio.to_thread.run_sync(self._source_titles, sources)
        body = render_opml(story, sources, titles).body
        return _conditional(request, Rendered(body, etag_of(body), None), OPML_TYPE)

    def _source_titles(self, sources: Sequence[SourceSpec]) -> dict[str, str]:
        """The config's title, else the source's own; the config's alone while the
        store is down."""
        titles = self.live.current.source_titles
        try:
            rows = self.store.source_health([s.name for s in sources])
        except StoreError:
            return titles
        return {**{r.name: r.title for r in rows if r.title}, **titles}

    async def page(self, request: Request) -> Response:
        story = self.story(request)
        if story is None:
            return _not_found(request)
        lines = (await anyio.to_thread.run_sync(self._source_lines)).get(story.id, [])

        def render(view: StoryView, base: str) -> bytes:
            return render_page(self._titled(view), story_url=base, sources=lines).encode()

        return await self._document(request, HTML_TYPE, render, variant=repr(lines))

    def _source_lines(self) -> dict[str, list[SourceLine]]:
        """Each story's sources as its pages report them; none while the store is down."""
        settings = self.live.current
        try:
            rows = {r.name: r for r in self.store.source_health([s.name for s in settings.sources])}
        except StoreError:
            return {}
        lines: dict[str, list[SourceLine]] = {}
        for spec in settings.sources:
            row = rows.get(spec.name)
            success, error = (row.last_success_at, row.last_error) if row else (None, None)
            title = spec.title or (row.title if row else None) or spec.name
            lines.setdefault(spec.story, []).append(SourceLine(title, success, error))
        return lines

    def _titled(self, view: StoryView) -> StoryView:
        return titled(view, self.live.current.source_titles)

    async def _document(
        self, request: Request, media_type: str, render: Renderer, variant: str = ""
    ) -> Response:
        """The story's document rendered by `render`; `variant` names what else than the
        story's entries it shows (a change renders afresh, as a new hub or title does)."""
        story = self.story(request)
        if story is None:
            return _not_found(request)
        archive: int | None = request.path_params.get("archive")
        base = self.url(f"/stories/{story.id}")
        titles = sorted(self.live.current.source_titles.items())
        shown = f"hub={self._hub()} archive={archive} titles={titles} {variant}"
        form = f"{media_type} {hashlib.sha256(shown.encode()).hexdigest()}"
        rendered = self.rendered.peek(story, form, base)
        if rendered is None:
            get = self.rendered.get
            rendered = await anyio.to_thread.run_sync(get, story, form, base, render, archive)
        if rendered is None:
            return _not_found(request, f"no archive page {archive} of story {story.id!r}")
        # Archive pages keep their entries; only an edit or deletion of one changes them.
        cache = "no-cache" if archive is None else f"max-age={ARCHIVE_MAX_AGE}"
        return _conditional(request, rendered, media_type, cache)

    def _hub(self) -> str | None:
        return self.live.current.service.websub_hub

    def _atom(self, view: StoryView, base: str) -> bytes:
        return render_feed(self._titled(view), "atom", story_url=base, hub_url=self._hub())

    def _jsonfeed(self, view: StoryView, base: str) -> bytes:
        return render_feed(self._titled(view), "json", story_url=base, hub_url=self._hub())

    async def events(self, request: Request) -> Response:
        story = self.story(request)
        if story is None:
            return _not_found(request)
        after = _last_event_id(request)
        if after is None:
            after = await anyio.to_thread.run_sync(
                self.store.backlog_start, story.id, STREAM_BACKLOG
            )
        if not self.stream_slots.take():
            reason = f"{self.stream_slots.limit} live streams are open; retry later"
            retry = {"Retry-After": str(STREAM_RETRY_AFTER)}
            return JSONResponse({"error": reason}, status_code=503, headers=retry)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return _SlotStream(
            self.stream_slots,
            self._stream(story.id, after),
            media_type="text/event-stream",
            headers=headers,
        )

    async def _stream(self, story_id: str, after: int) -> AsyncIterator[str]:
        """Every event after `after`, read from the store, so a worker in another
        process and a reconnecting client (Last-Event-ID) both see exactly what they
        missed. Between reads it waits for the story's change signal, or the re-check."""
        yield format_retry(2000)
        idle = _Idle(self.streams.recheck_seconds)
        while True:
            token = self.streams.changes.token(story_id)
            batch = await self.reads.events_after(story_id, after)
            idle.read()
            titles = self.live.current.source_titles
            for event in batch:
                yield format_event(replace(event, entry=titled_entry(event.entry, titles)))
                after = event.id
            if batch:
                idle.sent()
                continue
            while not await self.streams.changes.wait(token, idle.until_next()):
                if idle.ping_due():
                    yield format_comment("ping")
                    idle.sent()
                if idle.recheck_due():
                    break


class _Slots:
    """A count of open event streams, at most `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def take(self) -> bool:
        if self.taken >= self.limit:
            return False
        self.taken += 1
        STREAM_CLIENTS.inc()
        return True

    def give_back(self) -> None:
        self.taken -= 1
        STREAM_CLIENTS.dec()


class _SlotStream(StreamingResponse):
    """A stream that holds one of `slots` from its creation until it ends, however it
    ends (the client leaves, the server stops, the send fails)."""

    def __init__(self, slots: _Slots, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slots.give_back()


class _Idle:
    """When an idle stream sends its keep-alive comment and re-reads the store anyway."""

    def __init__(self, recheck_seconds: float) -> None:
        self.recheck_seconds = recheck_seconds
        self.last_read = self.last_sent = time.monotonic()

    def read(self) -> None:
        self.last_read = time.monotonic()

    def sent(self) -> None:
        self.last_sent = time.monotonic()

    def until_next(self) -> float:
        due = min(self.last_read + self.recheck_seconds, self.last_sent + STREAM_PING_SECONDS)
        return max(0.0, due - time.monotonic())

    def ping_due(self) -> bool:
        return time.monotonic() - self.last_sent >= STREAM_PING_SECONDS

    def recheck_due(self) -> bool:
        return time.monotonic() - self.last_read >= self.recheck_seconds


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    return read_count(raw, INTEGER_MAX)


def _conditional(
    request: Request, rendered: Rendered, media_type: str, cache: str = "no-cache"
) -> Response:
    """200 with validators, or 304 when the client's copy is current (RFC 9110 §13).
    A rendering kept with its gzip variant is sent gzipped to clients that accept it."""
    packed = rendered.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding"))
    headers = {"ETag": rendered.gzip_etag if packed else rendered.etag, "Cache-Control": cache}
    if rendered.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    modified = rendered.modified
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        current = {rendered.etag, rendered.gzip_etag}
        if current & {t.strip().removeprefix("W/") for t in if_none_match.split(",")}:
            return Response(status_code=304, headers=headers)
    elif modified is not None and _not_modified_since(request, modified):
        return Response(status_code=304, headers=headers)
    if packed and rendered.gzipped is not None:
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped, media_type=media_type, headers=headers)
    return Response(rendered.body, media_type=media_type, headers=headers)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (a `q=0` refuses it)."""
    for part in (accept_encoding or "").split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        weight = params.strip().lower()
        if not weight.startswith("q="):
            return True
        try:
            return float(weight[2:]) > 0
        except ValueError:
            return False
    return False


def _not_modified_since(request: Request, modified: datetime) -> bool:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return False
    try:
        since = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return modified.replace(microsecond=0) <= since


def _not_found(request: Request, reason: str | None = None) -> Response:
    """404: an HTML page for browsers, JSON for everything else."""
    story = request.path_params.get("story_id", "")
    reason = reason or f"no story {story!r}"
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(render_not_found(reason), status_code=404)
    return JSONResponse({"error": reason}, status_code=404)


def failing_count(store: Store, names: Sequence[str]) -> int | None:
    """How many of the sources are failing, for the metrics; None if the store is down."""
    try:
        return len(_failing(store.source_health(names)))
    except StoreError:
        return None


def _failing(rows: Sequence[SourceHealth]) -> list[str]:
    """The sources whose last poll failed, or that stopped (410 Gone)."""
    return [r.name for r in rows if r.error_count or r.stopped_reason]


def _rfc3339(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)
