"""EDGE: the HTTP side of WebSub: discovery GETs, (un)subscribe requests, publish pings.

Every call goes through the shared client with the same caps as a poll: connect and
total timeouts, a body size cap, the redirect limit. httpx errors become FetchError in
fetch.http's `translated_errors`, the one place that knows them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import httpx

from aggregator.errors import FetchError
from aggregator.fetch.http import read_body, request_timeout, translated_errors
from aggregator.fetch.limits import FetchLimits
from aggregator.fetch.network import deadline_at
from aggregator.websub import HubLinks, discover

FORM_TYPE = "application/x-www-form-urlencoded"
_ERROR_EXCERPT = 200


def discover_hub(client: httpx.Client, url: str, limits: FetchLimits, *, name: str) -> HubLinks:
    """§4: GET the topic URL and read its hub and self links (headers, then body)."""
    deadline = time.monotonic() + limits.total_timeout
    with (
        translated_errors(name, url, limits, client.max_redirects),
        deadline_at(deadline),
        client.stream("GET", url, timeout=request_timeout(limits)) as response,
    ):
        if not response.is_success:
            raise FetchError(name, f"HTTP {response.status_code} from {response.url}")
        body = read_body(response, name, limits, deadline)
    links = response.headers.get_list("link")
    return discover(str(response.url), links, body, response.headers.get("content-type"))


def post_form(
    client: httpx.Client,
    url: str,
    form: Mapping[str, str] | Sequence[tuple[str, str]],
    limits: FetchLimits,
    *,
    name: str,
) -> int:
    """POST a form to a hub; the status on 2xx, else FetchError with the hub's words.

    §5.1.2: a hub that cannot handle the request may answer 307/308 to another hub; the
    shared client follows those (up to max_redirects) and re-sends the body."""
    deadline = time.monotonic() + limits.total_timeout
    content = httpx.QueryParams(list(form.items()) if isinstance(form, Mapping) else list(form))
    headers = {"Content-Type": FORM_TYPE}
    with (
        translated_errors(name, url, limits, client.max_redirects),
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
        said = read_body(response, name, limits, deadline)[:_ERROR_EXCERPT]
        text = said.decode("utf-8", "replace").strip()
        detail = f": {text}" if text else ""
        raise FetchError(name, f"hub {url} answered HTTP {response.status_code}{detail}")
