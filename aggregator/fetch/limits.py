"""The caps every fetch obeys, chosen at start and re-read with the config."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aggregator import USER_AGENT
from aggregator.config import FetchSettings

MIB = 1024 * 1024


@dataclass(frozen=True)
class HostRule:
    """How many requests may run at once against one host, and the gap between starts."""

    per_host: int
    host_gap: float


@dataclass(frozen=True)
class FetchLimits:
    """How much one fetch may read and how long it may take.

    `max_bytes` bounds the decoded body (so a gzip bomb stops early), `total_timeout`
    the whole download from connecting to the last byte. `per_host` requests at most run
    at once against one host, each starting at least `host_gap` seconds after the last;
    `hosts` gives single hosts their own.
    """

    max_bytes: int = 10 * MIB
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 5
    per_host: int = 2
    host_gap: float = 0.0
    # Hosts and networks ("intranet.example", "10.1.2.0/24") a redirect or a discovered
    # WebSub hub may lead to although they are not public (fetch/destinations.py).
    allow_private: tuple[str, ...] = ()
    user_agent: str = USER_AGENT
    hosts: tuple[tuple[str, HostRule], ...] = ()

    def configured(self, fetch: FetchSettings) -> FetchLimits:
        """These limits with the config's `[fetch]` and `[[hosts]]` choices; what the
        config leaves out keeps these limits' value. The deadline can only shrink: these
        limits' `total_timeout` is what the worker's lease leaves a fetch."""
        total = min(fetch.timeout or self.total_timeout, self.total_timeout)
        connect = min(fetch.connect_timeout or self.connect_timeout, total)
        per_host = fetch.per_host or self.per_host
        gap = self.host_gap if fetch.host_gap is None else fetch.host_gap
        hosts = tuple(
            (h.name, HostRule(h.per_host or per_host, gap if h.host_gap is None else h.host_gap))
            for h in fetch.hosts
        )
        return replace(
            self,
            allow_private=fetch.allow_private,
            user_agent=fetch.user_agent or USER_AGENT,
            max_bytes=fetch.max_bytes or self.max_bytes,
            total_timeout=total,
            connect_timeout=connect,
            max_redirects=self.max_redirects
            if fetch.max_redirects is None
            else fetch.max_redirects,
            per_host=per_host,
            host_gap=gap,
            hosts=hosts,
        )

    def rule_for(self, host: str) -> HostRule:
        """The host's own `[[hosts]]` entry, else the `[fetch]` defaults."""
        return next(
            (r for name, r in self.hosts if name == host), HostRule(self.per_host, self.host_gap)
        )
