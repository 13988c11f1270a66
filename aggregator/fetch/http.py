"""EDGE: one conditional GET of a source's URL, bounded in size and in time.

    request    If-None-Match / If-Modified-Since from the stored FetchState
    | status   304 -> unchanged; 410 -> gone; 2xx -> read on; anything else -> FetchError
    | hints    freshness (Cache-Control max-age, Expires), where 301/308 redirects led
    | read     streamed and decoded, stopped past max_bytes or past the total deadline
    | compare  sha256 equal to the last body's -> unchanged, new validators kept

httpx errors become FetchError in fetch/reasons.py's `translated_errors`, the one place
that knows them.

The wire is libcurl's (fetch/network.py), under httpx's API. HTTP/2 is offered where the
server offers it: h2 is negotiated by ALPN during the TLS handshake (RFC 9113 §3.2), so
https:// sources may speak HTTP/2 while plain http:// ones stay on HTTP/1.1 (no
cleartext upgrade or prior knowledge). The version each fetch spoke is in its debug log
line.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypedDict
from urllib.parse import urlsplit

import httpx

from aggregator.core.digits import read_count
from aggregator.core.errors import FetchError
from aggregator.core.types import Document, Fetched, FetchState, SourceSpec
from aggregator.fetch.decoding import ACCEPTED_CODINGS, DecodingError, TooLarge, decoded
from aggregator.fetch.destinations import destinations
from aggregator.fetch.limits import FetchLimits
from aggregator.fetch.network import CurlTransport, body_cap, deadline_at
from aggregator.fetch.reasons import shown, translated_errors

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
SCHEMES = ("http", "https")
# Longer freshness or Retry-After than this is held at it.
_YEAR = 365 * 24 * 3600

log = logging.getLogger("aggregator.fetch")


def make_client(limits: FetchLimits, *, ca_pem: bytes | None = None) -> httpx.Client:
    """The shared client: the User-Agent and Accept, redirects followed up to the cap,
    HTTP/2 where a TLS server offers it (each request names `limits.user_agent` again,
    so a reloaded config's takes effect). Servers are verified against certifi's trust
    store, or against the PEM certificates `ca_pem` (a test's own CA)."""
    return httpx.Client(
        transport=CurlTransport(ca_pem=ca_pem),
        timeout=request_timeout(limits),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        headers={
            "User-Agent": limits.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPTED_CODINGS,
        },
    )


def fetch_http(
    client: httpx.Client,
    source: SourceSpec,
    state: FetchState,
    *,
    now: datetime,
    limits: FetchLimits,
) -> Fetched:
    """GET `source.url` unless it is unchanged since `state`; raise FetchError on failure."""
    url = _checked_url(source)
    deadline = time.monotonic() + limits.total_timeout
    headers = {"User-Agent": limits.user_agent, **_conditional_headers(state)}
    # The configured URL's host is trusted; where its redirects lead must be public.
    with (
        translated_errors(source.name, url, limits, client.max_redirects),
        destinations(trusted=[urlsplit(url).hostname or ""], allowed=limits.allow_private),
        deadline_at(deadline),
        client.stream(
            "GET",
            url,
            headers=headers,
            timeout=request_timeout(limits),
            extensions=body_cap(limits.max_bytes),
        ) as response,
    ):
        hints = _server_hints(response, now)
        _log_response(source.name, response)
        if response.status_code == httpx.codes.NOT_MODIFIED:
            # A 304 has no body, but a response closed unread closes its connection:
            # reading the nothing hands the connection back to the pool for the next poll.
            response.read()
            return Fetched(documents=(), state=state, **hints)
        if response.status_code == httpx.codes.GONE:
            return Fetched(documents=(), state=state, status=410)
        if not response.is_success:
            reason = f"HTTP {_status(response)} from {shown(response.url)}"
            wait = _retry_after(response, now)
            if wait is not None:
                reason += f" (the server asks us to wait {wait:g}s)"
            raise FetchError(source.name, reason, retry_after=wait)
        body = read_body(response, source.name, limits, deadline)
    return replace(_compare(response, body, state, now), **hints)


def _log_response(name: str, response: httpx.Response) -> None:
    fields = {
        "source": name,
        "url": str(response.url),
        "status": response.status_code,
        "http_version": response.http_version,
    }
    log.debug("fetched", extra=fields)


def request_timeout(limits: FetchLimits) -> httpx.Timeout:
    # A single operation may wait as long as the whole budget; `deadline_at` around the
    # exchange is what stops a server that keeps dribbling headers or bytes.
    return httpx.Timeout(limits.total_timeout, connect=limits.connect_timeout)


def _checked_url(source: SourceSpec) -> str:
    url = source.url or ""
    if urlsplit(url).scheme.lower() not in SCHEMES:
        raise FetchError(source.name, f"not an http(s) URL: {url!r}")
    return url


def _conditional_headers(state: FetchState) -> dict[str, str]:
    # RFC 9110 §13.1: the server answers 304 when the validators still match.
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def read_body(response: httpx.Response, name: str, limits: FetchLimits, deadline: float) -> bytes:
    """The decoded body. The cap bounds what a compressed body expands to, at every
    decompression step (fetch/decoding.py); the deadline covers the whole download."""
    body = bytearray()
    encoding = response.headers.get("Content-Encoding")
    try:
        with deadline_at(deadline):
            for piece in decoded(response.iter_raw(), encoding, limits.max_bytes):
                body += piece
                if time.monotonic() > deadline:
                    where = shown(response.url)
                    late = f"timed out after {limits.total_timeout:g}s downloading {where}"
                    raise FetchError(name, f"{late} (total_timeout)")
    except TooLarge as e:
        cap = f"the {limits.max_bytes}-byte size cap (max_bytes)"
        raise FetchError(name, f"body from {shown(response.url)} is larger than {cap}") from e
    except DecodingError as e:
        raise FetchError(name, f"body from {shown(response.url)}: {e}") from e
    return bytes(body)


def _compare(response: httpx.Response, body: bytes, state: FetchState, now: datetime) -> Fetched:
    digest = hashlib.sha256(body).hexdigest()
    last_modified = response.headers.get("Last-Modified")
    new_state = FetchState(
        etag=response.headers.get("ETag"), last_modified=last_modified, body_sha256=digest
    )
    if digest == state.body_sha256:
        return Fetched(documents=(), state=new_state)
    document = Document(
        location=str(response.url),
        body=body,
        content_type=response.headers.get("Content-Type"),
        fetched_at=now,
        modified_at=_parse_http_date(last_modified),
    )
    return Fetched(documents=(document,), state=new_state)


class _Hints(TypedDict):
    max_age: float | None
    moved_to: str | None
    status: int
    links: tuple[str, ...]


def _server_hints(response: httpx.Response, now: datetime) -> _Hints:
    return {
        "max_age": _freshness(response, now),
        "moved_to": _moved_to(response),
        "status": response.status_code,
        "links": tuple(response.headers.get_list("link")),
    }


def _moved_to(response: httpx.Response) -> str | None:
    """Where the permanent redirects (301, 308: RFC 9110 §15.4.2, §15.4.9) at the start
    of the chain lead; a temporary one (302, 303, 307) ends what may be stored."""
    moved = None
    hops = response.history
    for hop, target in zip(hops, [*hops, response][1:], strict=True):
        if hop.status_code not in (301, 308):
            break
        moved = str(target.url)
    return moved


def _freshness(response: httpx.Response, now: datetime) -> float | None:
    """Seconds the response stays fresh for a private cache (RFC 9111 §4.2.1): max-age,
    else Expires minus Date, less the Age it already has (§4.2.3). None when unsaid."""
    directives = {
        part.strip().split("=", 1)[0].lower(): part.strip().partition("=")[2].strip('"')
        for part in response.headers.get("cache-control", "").split(",")
        if part.strip()
    }
    if "no-store" in directives or "no-cache" in directives:
        return None
    lifetime: float | None = None
    if (max_age := read_count(directives.get("max-age"), _YEAR)) is not None:
        lifetime = float(max_age)
    elif expires := response.headers.get("expires"):
        when = _parse_http_date(expires)
        # A response has one Date (RFC 9110 §6.6.1); given several, the last is used.
        dates = response.headers.get_list("date")
        date = _parse_http_date(dates[-1] if dates else None) or now
        # §5.3: an invalid Expires (e.g. "0") means already expired.
        lifetime = max((when - date).total_seconds(), 0.0) if when else 0.0
    if lifetime is None:
        return None
    age = read_count(response.headers.get("age"), _YEAR) or 0
    return max(lifetime - age, 0.0)


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: seconds, or an HTTP date; honoured on 429 and 503 only."""
    if response.status_code not in (429, 503):
        return None
    value = (response.headers.get("retry-after") or "").strip()
    if (seconds := read_count(value, _YEAR)) is not None:
        return float(seconds)
    when = _parse_http_date(value)
    return max((when - now).total_seconds(), 0.0) if when else None


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # RFC 9110 §5.6.7: HTTP dates are GMT, so a date without a zone is UTC too.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _status(response: httpx.Response) -> str:
    """ "404 Not Found": the reason phrase is the server's text, so only a short one of
    printable ASCII is shown."""
    phrase = response.reason_phrase
    shows = phrase and phrase.isascii() and phrase.isprintable()
    return f"{response.status_code} {phrase[:40]}" if shows else str(response.status_code)
