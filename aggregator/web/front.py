"""EDGE: a story's feed answered from its kept rendering, before routing.

Feed readers poll, and most polls of a merged feed find it unchanged. While the render
cache may answer without the store (web/rendered.py's `peek`), a GET or HEAD of
`/stories/{id}.atom` or `/stories/{id}.json` is answered from memory with what the
route would send (web/responses.py's `answer` is the route's own), counted as the
route's answer is. The service's HTTP protocol asks `early` as soon as a request is
whole, before uvicorn makes it an ASGI task (web/http_guard.py), and hands what it does
not answer to the routes (`KeptFirst.app`); any other server runs `KeptFirst` as the
outermost ASGI app, which asks the same. What the cache cannot answer
alone, and every other request, goes on to the app. Routing, the task and middleware
cost several times what the answer does (bench/README.md, "Merged feed").
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from aggregator.metrics import count_request
from aggregator.web.rendered import Rendered
from aggregator.web.responses import Answer, Asked, answer

# A request path -> the kept rendering that answers it, its media type and its
# Cache-Control; None when the app must answer.
Kept = Callable[[str], tuple[Rendered, str, str] | None]
_READS = frozenset(("GET", "HEAD"))


class KeptFirst:
    """ASGI: answers from `kept` what it can, passes the rest to `app`. A server that
    answers before any app runs calls `early` itself (web/http_guard.py)."""

    def __init__(self, app: ASGIApp, kept: Kept) -> None:
        self.app = app
        self.kept = kept

    def early(self, scope: Scope) -> Answer | None:
        """The answer to a whole HTTP request when a kept rendering gives it, counted;
        None when the app must answer."""
        if scope["method"] not in _READS:
            return None
        hit = self.kept(scope["path"])
        if hit is None:
            return None
        rendered, media_type, cache = hit
        found = answer(rendered, media_type, cache, Asked.of(scope["headers"]))
        count_request(scope["path"], found[0])
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (found := self.early(scope)) is not None:
            status, headers, body = found
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
