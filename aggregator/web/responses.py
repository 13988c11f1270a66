"""Answers every route shares: conditional requests (RFC 9110 §13) with the gzip
variant a rendering keeps, and the 404 a browser reads as a page."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from aggregator.publish.page import render_not_found
from aggregator.web.rendered import Rendered


def conditional(
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
    elif modified is not None and not_modified_since(request, modified):
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


def not_modified_since(request: Request, modified: datetime) -> bool:
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
