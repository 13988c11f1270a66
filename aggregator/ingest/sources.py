"""Where a source's bytes come from: http(s) URLs through the shared client, under the
per-host limits; local paths from disk. (What reads them: ingest/kinds.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import httpx

from aggregator.config import FetchSettings
from aggregator.core.errors import FetchError
from aggregator.core.types import Fetched, FetchState, SourceSpec
from aggregator.fetch.files import fetch_files
from aggregator.fetch.http import fetch_http
from aggregator.fetch.limits import FetchLimits, HostRule
from aggregator.fetch.politeness import HostGate, HostHeld, SharedHosts, host_of


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
