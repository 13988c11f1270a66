"""EDGE: the publisher side of WebSub: tell our hub when a story's feeds changed.

§6 leaves the ping to hub and publisher; the public hubs it names take a form POST of
hub.mode=publish and hub.url=<the changed resource>, which is what is sent here, once per
feed URL. Nothing is sent unless `[service] websub_hub` is configured (which requires
`public_url`, the address the hub fetches the feeds from).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from aggregator.config import LiveSettings
from aggregator.core.errors import FetchError
from aggregator.fetch.limits import FetchLimits
from aggregator.websub.hub_requests import post_form
from aggregator.websub.rules import publish_form

log = logging.getLogger("aggregator.websub")
FEED_SUFFIXES = (".atom", ".json")


class HubPing:
    """An on_change callback: `ping(story_id)` after a story's feed changed."""

    def __init__(self, live: LiveSettings, client: httpx.Client, limits: FetchLimits) -> None:
        self.live = live
        self.client = client
        self.limits = limits

    def __call__(self, story_id: str) -> None:
        service = self.live.current.service
        if service.websub_hub is None:
            return
        base = f"{service.public_url}/stories/{story_id}"
        limits = self.limits.configured(self.live.current.fetch)
        # The operator configured this hub: its host is trusted, where it redirects is not.
        trusted = [urlsplit(service.websub_hub).hostname or ""]
        for url in (base + suffix for suffix in FEED_SUFFIXES):
            form = publish_form([url])
            try:
                post_form(
                    self.client, service.websub_hub, form, limits, name=story_id, trusted=trusted
                )
            except FetchError as e:
                log.warning("websub ping failed", extra={"url": url, "reason": e.reason})
            else:
                log.info("websub ping sent", extra={"url": url, "hub": service.websub_hub})
