"""HTTP routes: read the store, render with publish/, answer conditional requests.

    GET /                          the stories
    GET /healthz                   role, store reachable? when did each source last succeed?
    GET /stories/{id}.atom         Atom 1.0 (RFC 4287)
    GET /stories/{id}.json         JSON Feed 1.1
    GET /readyz                    the store answers and holds this code's migrations
    GET /metrics                   Prometheus, when configured (aggregator/metrics.py)
    GET /stories/{id}.opml         the story's sources for other feed readers
    GET /stories/{id}/events       Server-Sent Events (web/streams.py)
    GET /stories/{id}              the readable page
    GET /stories/{id}/archive/{n}[.atom|.json]   closed archive page n (RFC 5005), 0 oldest

Starlette rather than FastAPI: every response here is a document we render ourselves,
so request/response models and OpenAPI would add weight without use.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aggregator.config import LiveSettings, Settings
from aggregator.core.errors import StoreError
from aggregator.core.types import SourceSpec, StorySpec, StoryView
from aggregator.ingest.parsing import INLINE, Parsing
from aggregator.metrics import CONTENT_TYPE as METRICS_TYPE
from aggregator.metrics import Allowed, CountRequests, exposition
from aggregator.publish.feeds import render_feed, titled
from aggregator.publish.opml import OPML_TYPE, render_opml
from aggregator.publish.page import SourceLine, render_index, render_page
from aggregator.publish.timefmt import format_rfc3339
from aggregator.store.database import status
from aggregator.store.health import SourceHealth
from aggregator.store.notify import Listener
from aggregator.store.roles import WebStore
from aggregator.store.subscriptions import Subscriptions
from aggregator.web.changes import StoryChanges
from aggregator.web.front import KeptFirst
from aggregator.web.rendered import FRESH_SECONDS, RenderCache, Rendered, Renderer, etag_of
from aggregator.web.responses import conditional, not_found, store_unavailable
from aggregator.web.streams import MAX_STREAMS, STREAM_RECHECK_SECONDS, EventStreams
from aggregator.websub.callback import websub_routes

log = logging.getLogger("aggregator.web")

ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSONFEED_TYPE = "application/feed+json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ARCHIVE_MAX_AGE = 3600
# A story's current feed changes with every post: readers revalidate each time.
CURRENT_CACHE = "no-cache"
_FEEDS = {".atom": ATOM_TYPE, ".json": JSONFEED_TYPE}
_STORIES = "/stories/"


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
    store: WebStore, live: LiveSettings, streams: Live | None = None, parsing: Parsing = INLINE
) -> KeptFirst:
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
        Route("/stories/{story_id}/events", site.events.events),
        Route("/stories/{story_id}", site.page),
        Route("/stories/{story_id}/archive/{archive:int}.atom", site.atom),
        Route("/stories/{story_id}/archive/{archive:int}.json", site.jsonfeed),
        Route("/stories/{story_id}/archive/{archive:int}", site.page),
    ]
    routes += websub_routes(store, live, on_change=site.streams.changes.changed, parsing=parsing)
    app = Starlette(
        routes=routes,
        middleware=[Middleware(CountRequests)],
        exception_handlers={StoreError: store_unavailable},
    )
    # Starlette answers "/x/" with a redirect to "/x" built from the Host header: a
    # reflected redirect anyone can aim elsewhere. Unknown paths get a 404 instead.
    app.router.redirect_slashes = False
    return KeptFirst(app, site.kept)


class _Site:
    def __init__(self, store: WebStore, live: LiveSettings, streams: Live) -> None:
        self.store = store
        self.live = live
        self.streams = streams
        self.rendered = RenderCache(store, streams.changes, fresh_seconds=streams.fresh_seconds)
        self.events = EventStreams(
            store, live, streams.changes, streams.recheck_seconds, streams.max_streams
        )
        self._forms_of: Settings | None = None
        self._forms: dict[str, str] = {}

    def url(self, path: str) -> str:
        return self.live.current.service.public_url + path

    def story(self, request: Request) -> StorySpec | None:
        return self.live.current.story(request.path_params["story_id"])

    async def index(self, request: Request) -> Response:
        counts = await anyio.to_thread.run_sync(self.store.entry_counts)
        lines = await anyio.to_thread.run_sync(self._source_lines)
        stories = [(s, counts.get(s.id, 0), lines.get(s.id, [])) for s in self.live.current.stories]
        body = render_index(stories, base_url=self.url("")).encode()
        return conditional(request, Rendered(body, etag_of(body), None), HTML_TYPE)

    async def health(self, request: Request) -> Response:
        settings = self.live.current
        names = [s.name for s in settings.sources]
        node = {"role": self.streams.role, "notifications": self._notifications()}
        try:
            rows = await anyio.to_thread.run_sync(self.store.source_health, names)
        except StoreError as e:
            failed = {"ok": False, **node, "store": "unreachable", "error": str(e)}
            return JSONResponse(failed, 503)
        try:
            hubs = await anyio.to_thread.run_sync(Subscriptions(self.store).all)
        except StoreError:  # a store a migration behind this code: /readyz says so
            hubs = []
        websub: dict[str, list[dict[str, str | None]]] = {}
        for hub in hubs:
            state = {"hub": hub.hub, "state": hub.state, "last_error": hub.last_error}
            websub.setdefault(hub.source, []).append(state)
        if (full := self.store.write_failure) is not None:
            # Reads work, so the feeds are served, but nothing new can be stored.
            failed = {"ok": False, **node, "store": "not writable", "error": full}
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
                "websub": websub.get(r.name, []),
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
            return not_found(request, "metrics are off (set [service] metrics = true)")
        if not Allowed(service.metrics_allow)(request.client.host if request.client else None):
            reason = "metrics are not served to this address (metrics_allow)"
            return JSONResponse({"error": reason}, status_code=403)
        body = await anyio.to_thread.run_sync(exposition, self._failing_count)
        return Response(body, media_type=METRICS_TYPE, headers={"Cache-Control": "no-store"})

    def _failing_count(self) -> int | None:
        return failing_count(self.store, [s.name for s in self.live.current.sources])

    async def opml(self, request: Request) -> Response:
        """The story's sources as OPML 2.0, titled as its page titles them."""
        story = self.story(request)
        if story is None:
            return not_found(request)
        sources = self.live.current.sources_of(story.id)
        titles = await anyio.to_thread.run_sync(self._source_titles, sources)
        body = render_opml(story, sources, titles).body
        return conditional(request, Rendered(body, etag_of(body), None), OPML_TYPE)

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
            return not_found(request)
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
            return not_found(request)
        archive: int | None = request.path_params.get("archive")
        base = self.url(f"/stories/{story.id}")
        form = self._form(media_type, archive, variant)
        rendered = self.rendered.peek(story, form, base)
        if rendered is None:
            try:
                rendered = await self.rendered.confirmed(story, form, base, render, archive)
            except StoreError as e:
                # Readers keep the last copy this process rendered (their validators still
                # match it); with none, the app's handler answers 503.
                rendered = self.rendered.last(story, form, base)
                if rendered is None:
                    raise
                log.warning("store unreachable, serving the last copy", extra={"reason": str(e)})
                response = conditional(request, rendered, media_type, CURRENT_CACHE)
                # Marked stale (RFC 7234 §5.5.1's 110), for whoever looks.
                response.headers["Warning"] = '110 aggregator "Response is Stale"'
                return response
        if rendered is None:
            return not_found(request, f"no archive page {archive} of story {story.id!r}")
        # Archive pages keep their entries; only an edit or deletion of one changes them.
        cache = CURRENT_CACHE if archive is None else f"max-age={ARCHIVE_MAX_AGE}"
        return conditional(request, rendered, media_type, cache)

    def kept(self, path: str) -> tuple[Rendered, str, str] | None:
        """What `_document` would answer a GET of `path` from, when that is a story's
        current feed and the render cache may answer without the store; else None.
        Called on the event loop for every request (web/front.py), so it stays cheap."""
        media_type = _FEEDS.get(path[-5:])
        if media_type is None or not path.startswith(_STORIES):
            return None
        story_id = path[len(_STORIES) : -5]
        if not story_id or "/" in story_id:
            return None
        story = self.live.current.story(story_id)
        if story is None:
            return None
        base = self.url(_STORIES + story.id)
        rendered = self.rendered.peek(story, self._form(media_type, None), base)
        return None if rendered is None else (rendered, media_type, CURRENT_CACHE)

    def _form(self, media_type: str, archive: int | None, variant: str = "") -> str:
        """The render cache's name for a document: its type and everything besides the
        story's entries that it shows. A current feed's is kept per settings."""
        settings = self.live.current
        keep = archive is None and not variant
        if keep and self._forms_of is settings and (form := self._forms.get(media_type)):
            return form
        titles = sorted(settings.source_titles.items())
        shown = f"hub={settings.service.websub_hub} archive={archive} titles={titles} {variant}"
        form = f"{media_type} {hashlib.sha256(shown.encode()).hexdigest()}"
        if keep:
            if self._forms_of is not settings:
                self._forms_of, self._forms = settings, {}
            self._forms[media_type] = form
        return form

    def _hub(self) -> str | None:
        return self.live.current.service.websub_hub

    def _atom(self, view: StoryView, base: str) -> bytes:
        return render_feed(self._titled(view), "atom", story_url=base, hub_url=self._hub())

    def _jsonfeed(self, view: StoryView, base: str) -> bytes:
        return render_feed(self._titled(view), "json", story_url=base, hub_url=self._hub())


def failing_count(store: WebStore, names: Sequence[str]) -> int | None:
    """How many of the sources are failing, for the metrics; None if the store is down."""
    try:
        return len(_failing(store.source_health(names)))
    except StoreError:
        return None


def _failing(rows: Sequence[SourceHealth]) -> list[str]:
    return [r.name for r in rows if r.is_failing]


def _rfc3339(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)
