"""EDGE: the WebSub callback, `GET/POST /websub/{token}`.

    GET   verification of intent (§5.3): echo hub.challenge for a topic we asked for,
          404 for anything else; a denial (§5.2) marks the subscription denied
    POST  content distribution (§7): read the body up to the cap, check X-Hub-Signature,
          then store it at once through pipeline.ingest_pushed, in a worker thread.
          A hub on plain http was given no secret, so its pushes are unsigned: they
          are taken only while `[service] websub_http_hubs` says so, else answered 410

The token is the unguessable last segment of the callback URL, one per subscription, so
a request naming no known token is answered 404 (GET) or 410 Gone (POST: §7 lets a hub
end a subscription on 410).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aggregator.config import LiveSettings
from aggregator.core.digits import read_count
from aggregator.core.types import SourceSpec
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.parsing import INLINE, Parsing
from aggregator.ingest.pipeline import ingest_pushed
from aggregator.store.roles import CallbackStore
from aggregator.store.subscriptions import Subscriptions
from aggregator.websub.rules import (
    Subscription,
    check_intent,
    check_signature,
    is_denial_of,
    lease_end,
    push_secret,
    read_intent,
)

log = logging.getLogger("aggregator.websub")
OnChange = Callable[[str], None]


def websub_routes(
    store: CallbackStore,
    live: LiveSettings,
    *,
    on_change: OnChange | None = None,
    max_bytes: int = FetchLimits.max_bytes,
    parsing: Parsing = INLINE,
) -> list[Route]:
    """The callback route; `on_change(story_id)` runs after a push stored news."""
    callback = _Callback(store, live, on_change, max_bytes, parsing)
    return [Route("/websub/{token}", callback.answer, methods=["GET", "POST"])]


class _BodyTooLarge(Exception):
    pass


class _Callback:
    def __init__(
        self,
        store: CallbackStore,
        live: LiveSettings,
        on_change: OnChange | None,
        max_bytes: int,
        parsing: Parsing,
    ) -> None:
        self.store = store
        self.parsing = parsing
        self.subscriptions = Subscriptions(store)
        self.live = live
        self.on_change = on_change
        self.max_bytes = max_bytes

    async def answer(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscription = await anyio.to_thread.run_sync(self.subscriptions.by_token, token)
        if request.method == "POST":
            return await self.deliver(request, subscription)
        return await self.verify(request, subscription)

    async def verify(self, request: Request, subscription: Subscription | None) -> Response:
        intent = read_intent(request.query_params)
        if intent is None:
            return PlainTextResponse("hub.mode and hub.topic are required", 400)
        now = datetime.now(UTC)
        fields = {"mode": intent.mode, "topic": intent.topic}
        if subscription is not None and is_denial_of(subscription, intent):
            log.warning("websub subscription denied", extra={**fields, "reason": intent.reason})
            await anyio.to_thread.run_sync(
                self.subscriptions.set_state, subscription.token, "denied", now
            )
            return PlainTextResponse("")
        challenge = check_intent(subscription, intent)
        if subscription is None or challenge is None:
            log.warning("websub verification refused", extra=fields)
            return PlainTextResponse("no such subscription wanted", 404)
        if intent.mode == "subscribe" and intent.lease_seconds:
            until = lease_end(intent, now) or now
            activate = partial(self.subscriptions.activate, subscription.token)
            await anyio.to_thread.run_sync(activate, intent.lease_seconds, until, now)
        else:
            await anyio.to_thread.run_sync(self.subscriptions.delete, subscription.token)
        log.info("websub verified", extra={**fields, "source": subscription.source})
        return PlainTextResponse(challenge)

    async def deliver(self, request: Request, subscription: Subscription | None) -> Response:
        wanted = subscription is not None and self._wanted(subscription)
        spec = self._source(subscription) if subscription is not None else None
        story = self.live.current.story(spec.story) if spec is not None else None
        if subscription is None or not wanted or spec is None or story is None:
            return PlainTextResponse("no such subscription", 410)
        try:
            body = await self._read(request)
        except _BodyTooLarge:
            log.warning("websub push too large", extra={"source": spec.name})
            return PlainTextResponse(f"body larger than {self.max_bytes} bytes", 413)
        signature = request.headers.get("x-hub-signature")
        if not check_signature(body, push_secret(subscription), signature):
            # §7.1.2: ignored, yet acknowledged like any push so the hub does not retry
            # and a forger learns nothing about the signature.
            log.warning("websub push with a bad signature ignored", extra={"source": spec.name})
            return Response(status_code=202)
        now = datetime.now(UTC)
        ingest = partial(
            ingest_pushed,
            store=self.store,
            now=now,
            content_type=request.headers.get("content-type"),
            parsing=self.parsing,
        )
        report = await anyio.to_thread.run_sync(ingest, spec, story, body)
        await anyio.to_thread.run_sync(self.subscriptions.record_push, subscription.token, now)
        fields = {"source": spec.name, "new": report.new, "updated": report.updated}
        if report.error:
            log.warning("websub push not stored", extra={**fields, "reason": report.error})
        elif report.changed_story:
            log.info("websub push stored", extra=fields)
        else:
            log.info("websub push brought nothing new", extra=fields)
        if report.changed_story and self.on_change is not None:
            await anyio.to_thread.run_sync(self.on_change, story.id)
        return Response(status_code=202)

    async def _read(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if (read_count(declared) or 0) > self.max_bytes:
            raise _BodyTooLarge
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_bytes:
                raise _BodyTooLarge
        return bytes(body)

    def _wanted(self, subscription: Subscription) -> bool:
        """Live, and signed unless the config accepts a plain http hub's unsigned pushes
        (its secret was never sent: §5.1 wants https for it)."""
        live = subscription.state in ("active", "pending")
        signed = push_secret(subscription) is not None
        return live and (signed or self.live.current.service.websub_http_hubs)

    def _source(self, subscription: Subscription) -> SourceSpec | None:
        return next((s for s in self.live.current.sources if s.name == subscription.source), None)
