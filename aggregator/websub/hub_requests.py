"""EDGE: the HTTP side of WebSub: (un)subscription requests and publish pings.

Every request goes through the shared client with the same caps as a poll: connect and
total timeouts, the redirect limit, and the destination rules of fetch/destinations.py.
A hub found in a feed is the feed's publisher's choice, not the operator's, so it may
only be a public address (unless `[fetch] allow_private` names it, or `trusted` does:
the host of the source's configured URL, or of the operator's own `websub_hub`). The
check is made on the address actually connected to, at every redirect and on a pooled
connection too. httpx errors become FetchError in fetch/reasons.py.

Hub discovery needs no request of its own: the poll's response is read for it
(pipeline.poll with `find_hubs`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

import httpx

from aggregator.core.errors import FetchError
from aggregator.fetch.destinations import destinations
from aggregator.fetch.http import request_timeout
from aggregator.fetch.limits import FetchLimits
from aggregator.fetch.network import deadline_at
from aggregator.fetch.reasons import shown, translated_errors

FORM_TYPE = "application/x-www-form-urlencoded"
SCHEMES = ("http", "https")


def post_form(
    client: httpx.Client,
    url: str,
    form: Mapping[str, str] | Sequence[tuple[str, str]],
    limits: FetchLimits,
    *,
    name: str,
    trusted: Iterable[str] = (),
) -> int:
    """POST a form to a hub; the status on 2xx, else FetchError saying the status (the
    hub's words are not kept: they would reach logs and status pages unchecked).

    §5.1.2: a hub that cannot handle the request may answer 307/308 to another hub; the
    shared client follows those (up to max_redirects) and re-sends the body."""
    if _scheme(url) not in SCHEMES:
        raise FetchError(name, f"hub {shown(url)} is not an http(s) URL")
    deadline = time.monotonic() + limits.total_timeout
    content = httpx.QueryParams(list(form.items()) if isinstance(form, Mapping) else list(form))
    headers = {"Content-Type": FORM_TYPE, "User-Agent": limits.user_agent}
    with (
        translated_errors(name, url, limits, client.max_redirects),
        destinations(trusted=trusted, allowed=limits.allow_private),
        deadline_at(deadline),
        client.stream(
            "POST",
            url,
            content=str(content).encode(),
            headers=headers,
            timeout=request_timeout(limits),
        ) as response,
    ):
        if response.is_success:
            return response.status_code
        raise FetchError(name, f"hub {shown(url)} answered HTTP {response.status_code}")


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # a malformed IPv6 host, say
        return ""
