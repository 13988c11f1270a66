"""The caps every fetch obeys, chosen once at start and passed down."""

from __future__ import annotations

from dataclasses import dataclass

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
    # Hosts and networks ("intranet.example", "10.1.2.0/24") a redirect may lead to
    # although they are not public (fetch/destinations.py).
    allow_private: tuple[str, ...] = ()
