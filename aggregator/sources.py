"""The registry: source kind -> parser, location -> fetcher.

Adding a kind is one parser module and one line in KINDS_BY_NAME.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from aggregator.fetch.files import fetch_files
from aggregator.fetch.http import fetch_http
from aggregator.fetch.limits import FetchLimits
from aggregator.fetch.politeness import HostGate
from aggregator.parse.article import parse_article
from aggregator.parse.feed import parse_feed
from aggregator.parse.liveblog import split_liveblog
from aggregator.types import Document, Fetched, FetchState, Kind, ParseContext, Post, SourceSpec

Parser = Callable[[Document, ParseContext], list[Post]]


@dataclass(frozen=True)
class KindInfo:
    parse: Parser
    # A feed carries everything its publisher writes; pages and articles are chosen by hand.
    filtered_by_keywords: bool
    # A page or article is read whole each time, so a post missing from it was taken
    # down or re-keyed by a correction; a feed is a sliding window, where a missing item
    # proves nothing and only items named by key need looking up.
    reads_whole_pages: bool


KINDS_BY_NAME: dict[Kind, KindInfo] = {
    "feed": KindInfo(parse_feed, filtered_by_keywords=True, reads_whole_pages=False),
    "liveblog": KindInfo(split_liveblog, filtered_by_keywords=False, reads_whole_pages=True),
    "article": KindInfo(parse_article, filtered_by_keywords=False, reads_whole_pages=True),
}


class Fetchers:
    """Fetches any source: http(s) URLs with one shared client, local paths from disk."""

    def __init__(self, client: httpx.Client, limits: FetchLimits) -> None:
        self.client = client
        self.limits = limits
        self.hosts = HostGate(limits.per_host, limits.host_gap)

    def fetch(self, source: SourceSpec, state: FetchState, *, now: datetime) -> Fetched:
        if source.url:
            with self.hosts.slot(source.url):
                return fetch_http(self.client, source, state, now=now, limits=self.limits)
        return fetch_files(source, state, now=now, limits=self.limits)
