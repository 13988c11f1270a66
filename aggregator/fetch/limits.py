"""The caps every fetch obeys, chosen once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aggregator import USER_AGENT
from aggregator.config import FetchSettings

MIB = 1024 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """How much one fetch may read and how long it may take.

    `max_bytes` bounds the decoded body (so a gzip bomb stops early), `total_timeout`
    the whole download from connecting to the last byte. `per_host` requests at most run
    at once against one host, each starting at least `host_gap` seconds after the last.
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

    def configured(self, fetch: FetchSettings) -> FetchLimits:
        """These limits with the config's `[fetch]` choices: read again on each reload."""
        agent = fetch.user_agent or USER_AGENT
        return replace(self, allow_private=fetch.allow_private, user_agent=agent)
