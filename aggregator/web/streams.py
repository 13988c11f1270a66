"""The live event stream (Server-Sent Events): every stored change of a story, read
from the store, so a worker in another process and a reconnecting client
(Last-Event-ID) both see exactly what they missed. Streams are long-lived, so they
hold slots of their own, apart from the connections every other request uses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from aggregator.config import LiveSettings
from aggregator.core.digits import INTEGER_MAX, read_count
from aggregator.metrics import STREAM_CLIENTS
from aggregator.publish.feeds import titled_entry
from aggregator.publish.stream import format_comment, format_event, format_retry
from aggregator.store.roles import StreamStore
from aggregator.web.changes import StoryChanges
from aggregator.web.responses import not_found
from aggregator.web.shared_reads import SharedReads

# An idle stream re-reads the store this often even without a "story changed" signal,
# so a lost notification delays an event and never loses it.
STREAM_RECHECK_SECONDS = 5.0
STREAM_PING_SECONDS = 15.0
STREAM_BACKLOG = 50
# Event streams are long-lived by design, so they are counted apart from other requests:
# past this many, a new one is answered 503, and the server keeps connections for the rest.
MAX_STREAMS = 2048
STREAM_RETRY_AFTER = 30


class EventStreams:
    """`GET /stories/{id}/events`."""

    def __init__(
        self,
        store: StreamStore,
        live: LiveSettings,
        changes: StoryChanges,
        recheck_seconds: float,
        max_streams: int,
    ) -> None:
        self.store = store
        self.live = live
        self.changes = changes
        self.recheck_seconds = recheck_seconds
        self.reads = SharedReads(store.events_after, changes)
        self.slots = Slots(max_streams)

    async def events(self, request: Request) -> Response:
        story = self.live.current.story(request.path_params["story_id"])
        if story is None:
            return not_found(request)
        after = last_event_id(request)
        if after is None:
            after = await anyio.to_thread.run_sync(
                self.store.backlog_start, story.id, STREAM_BACKLOG
            )
        if not self.slots.take():
            reason = f"{self.slots.limit} live streams are open; retry later"
            retry = {"Retry-After": str(STREAM_RETRY_AFTER)}
            return JSONResponse({"error": reason}, status_code=503, headers=retry)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return SlotStream(
            self.slots,
            self._stream(story.id, after),
            media_type="text/event-stream",
            headers=headers,
        )

    async def _stream(self, story_id: str, after: int) -> AsyncIterator[str]:
        """Every event after `after`, read from the store, so a worker in another
        process and a reconnecting client (Last-Event-ID) both see exactly what they
        missed. Between reads it waits for the story's change signal, or the re-check."""
        yield format_retry(2000)
        idle = Idle(self.recheck_seconds)
        while True:
            token = self.changes.token(story_id)
            batch = await self.reads.events_after(story_id, after)
            idle.read()
            titles = self.live.current.source_titles
            for event in batch:
                yield format_event(replace(event, entry=titled_entry(event.entry, titles)))
                after = event.id
            if batch:
                idle.sent()
                continue
            while not await self.changes.wait(token, idle.until_next()):
                if idle.ping_due():
                    yield format_comment("ping")
                    idle.sent()
                if idle.recheck_due():
                    break


class Slots:
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


class SlotStream(StreamingResponse):
    """A stream that holds one of `slots` from its creation until it ends, however it
    ends (the client leaves, the server stops, the send fails)."""

    def __init__(self, slots: Slots, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slots.give_back()


class Idle:
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


def last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    return read_count(raw, INTEGER_MAX)
