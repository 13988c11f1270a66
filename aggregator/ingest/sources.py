"""The registry: source kind -> parser, location -> fetcher.

Adding a kind is one parser module, its name in `Kind` and `KINDS` (core/types.py), and
one line in KINDS_BY_NAME.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from aggregator.config import FetchSettings
from aggregator.core.errors import FetchError
from aggregator.core.types import (
    Document,
    Fetched,
    FetchState,
    Kind,
    ParseContext,
    Post,
    SourceSpec,
)
from aggregator.fetch.files import fetch_files
from aggregator.fetch.http import fetch_http
from aggregator.fetch.limits import FetchLimits, HostRule
from aggregator.fetch.politeness import HostGate, HostHeld, SharedHosts, host_of
from aggregator.parse.article import parse_article
from aggregator.parse.feeds.feed import parse_feed
from aggregator.parse.live.liveblog import split_liveblog
from aggregator.parse.signals import (
    Signals,
    feed_signals,
    live_signals,
    no_signals,
    page_signals,
)

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
    # What a document says about when to poll again (RSS ttl, coverage ended...).
    signals: Signals = no_signals


KINDS_BY_NAME: dict[Kind, KindInfo] = {
    "feed": KindInfo(
        parse_feed, filtered_by_keywords=True, reads_whole_pages=False, signals=feed_signals
    ),
    "liveblog": KindInfo(
        split_liveblog, filtered_by_keywords=False, reads_whole_pages=True, signals=live_signals
    ),
    "article": KindInfo(
        parse_article, filtered_by_keywords=False, reads_whole_pages=True, signals=page_signals
    ),
}


class Fetchers:
    """Fetches any source: http(s) URLs with one shared client, local paths from disk.
    With a `shared` gate (several workers on PostgreSQL), its per-host limits hold
    across processes too; this process's own gate then leaves the gap to it."""

    def __init__(
        self, client: httpx.Client, limits: FetchLimits, shared: SharedHosts | None = None
    ) -> None:
        self.client = client
        self.base_limits = self.limits = limits
        self.shared = shared
        self.hosts = HostGate(rules=self._local_rule)

    def reconfigure(self, fetch: FetchSettings) -> None:
        """The config's `[fetch]` and `[[hosts]]` from the next request on."""
        self.limits = self.base_limits.configured(fetch)
        self.client.max_redirects = self.limits.max_redirects

    def _local_rule(self, host: str) -> HostRule:
        rule = self.limits.rule_for(host)
        # With workers sharing the gate, the gap is kept across processes, not here.
        return HostRule(rule.per_host, 0.0) if self.shared is not None else rule

    def fetch(self, source: SourceSpec, state: FetchState, *, now: datetime) -> Fetched:
        """Fetch the source; a Retry-After from its host holds back the host's others."""
        if not source.url:
            return fetch_files(source, state, now=now, limits=self.limits)
        try:
            with self.turn(source.name, source.url, now):
                return fetch_http(self.client, source, state, now=now, limits=self.limits)
        except FetchError as e:
            if e.retry_after and not isinstance(e, HostHeld):
                self._hold(source.url, now + timedelta(seconds=e.retry_after))
            raise

    @contextmanager
    def turn(self, source: str, url: str, now: datetime) -> Iterator[None]:
        """One request's turn at its host, for any request to it: this process's slot
        and gap, and the workers' shared ones. Raises HostHeld while the host asked us
        to wait (Retry-After)."""
        self.hosts.check(source, url, now)
        if self.shared is not None:
            self.shared.check(source, url, now)
        with self.hosts.slot(url), self._shared_slot(source, url, now):
            yield

    @contextmanager
    def _shared_slot(self, source: str, url: str, now: datetime) -> Iterator[None]:
        if self.shared is None:
            yield
            return
        with self.shared.slot(source, url, now, self.limits.rule_for(host_of(url))):
            yield

    def _hold(self, url: str, until: datetime) -> None:
        self.hosts.hold(url, until)
        if self.shared is not None:
            self.shared.hold(url, until)
