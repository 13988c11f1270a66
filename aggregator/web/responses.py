"""Answers every route shares: conditional requests (RFC 9110 §13) with the gzip
variant a rendering keeps, and the 404 a browser reads as a page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from aggregator.publish.page import render_not_found
from aggregator.web.rendered import Rendered

RawHeaders = list[tuple[bytes, bytes]]
# A response ready to send: status, headers as ASGI carries them, body.
Answer = tuple[int, RawHeaders, bytes]


@dataclass(frozen=True)
class Asked:
    """What a request's conditional and content-coding headers ask; None when not sent
    (the first of repeated ones counts)."""

    if_none_match: str | None = None
    if_modified_since: str | None = None
    accept_encoding: str | None = None

    @classmethod
    def of(cls, raw: Iterable[tuple[bytes, bytes]]) -> Asked:
        """From ASGI's raw headers, whose names the server has lowercased."""
        found: dict[bytes, str] = {}
        for name, value in raw:
            if name in _ASKED and name not in found:
                found[name] = value.decode("latin-1")
        return cls(
            found.get(b"if-none-match"),
            found.get(b"if-modified-since"),
            found.get(b"accept-encoding"),
        )


_ASKED = frozenset((b"if-none-match", b"if-modified-since", b"accept-encoding"))


def conditional(
    request: Request, rendered: Rendered, media_type: str, cache: str = "no-cache"
) -> Response:
    """`answer` as a Starlette response."""
    status, headers, body = answer(rendered, media_type, cache, Asked.of(request.headers.raw))
    return _Prepared(status, list(headers), body)


def answer(rendered: Rendered, media_type: str, cache: str, asked: Asked) -> Answer:
    """200 with validators, or 304 when the client's copy is current (RFC 9110 §13).
    A rendering kept with its gzip variant is sent gzipped to clients that accept it.
    Pure, and cheap once a rendering's headers are built: the event loop calls it for
    every request a kept feed answers (web/front.py)."""
    packed = rendered.gzipped is not None and accepts_gzip(asked.accept_encoding)
    if asked.if_none_match is not None:
        tags, current = asked.if_none_match, (rendered.etag, rendered.gzip_etag)
        # The usual case, one tag as it was sent, is found without splitting.
        fresh = tags in current or any(
            t.strip().removeprefix("W/") in current for t in tags.split(",")
        )
    else:
        modified = rendered.modified
        fresh = modified is not None and not_modified_since(asked.if_modified_since, modified)
    if fresh:
        return 304, _headers(rendered, media_type, cache, packed, 304), b""
    return 200, _headers(rendered, media_type, cache, packed, 200), _body(rendered, packed)


def _body(rendered: Rendered, packed: bool) -> bytes:
    return rendered.gzipped if packed and rendered.gzipped is not None else rendered.body


def _headers(
    rendered: Rendered, media_type: str, cache: str, packed: bool, status: int
) -> RawHeaders:
    """The response's headers, built once per rendering and kind of answer."""
    key = (media_type, cache, packed, status)
    if (kept := rendered.heads.get(key)) is not None:
        return kept
    headers = [
        (b"etag", (rendered.gzip_etag if packed else rendered.etag).encode("latin-1")),
        (b"cache-control", cache.encode("latin-1")),
    ]
    if rendered.gzipped is not None:
        headers.append((b"vary", b"Accept-Encoding"))
    if rendered.modified is not None:
        stamp = format_datetime(rendered.modified.astimezone(UTC), usegmt=True)
        headers.append((b"last-modified", stamp.encode("latin-1")))
    if status != 304:
        if packed:
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(_body(rendered, packed))).encode("latin-1")))
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            media_type += "; charset=utf-8"  # as Starlette's responses name it
        headers.append((b"content-type", media_type.encode("latin-1")))
    # Racing threads may each build it; the lists are equal, so either may stay.
    rendered.heads[key] = headers
    return headers


class _Prepared(Response):
    """A response whose status, headers and body are already decided."""

    def __init__(self, status: int, raw_headers: RawHeaders, body: bytes) -> None:
        self.status_code = status
        self.raw_headers = raw_headers
        self.body = body
        self.background = None


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (a `q=0` refuses it)."""
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
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


def not_modified_since(raw: str | None, modified: datetime) -> bool:
    """Whether an If-Modified-Since header's date is at or after `modified`."""
    if not raw:
        return False
    try:
        since = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return modified.replace(microsecond=0) <= since


def not_found(request: Request, reason: str | None = None) -> Response:
    """404: an HTML page for browsers, JSON for everything else."""
    story = request.path_params.get("story_id", "")
    reason = reason or f"no story {story!r}"
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(render_not_found(reason), status_code=404)
    return JSONResponse({"error": reason}, status_code=404)


# How long a client is asked to wait while the store cannot be reached.
UNAVAILABLE_RETRY_SECONDS = 30


async def store_unavailable(request: Request, error: Exception) -> Response:
    """503 with Retry-After for any request the store could not answer: the reason is
    told in a few words (StoreError's own), never a traceback or SQL."""
    reason = "the store cannot be reached; try again shortly"
    headers = {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS), "Cache-Control": "no-store"}
    if "text/html" in request.headers.get("accept", ""):
        page = render_not_found(reason, heading="Unavailable")
        return HTMLResponse(page, status_code=503, headers=headers)
    return JSONResponse({"error": reason}, status_code=503, headers=headers)
