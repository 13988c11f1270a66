"""Fixtures the integration tests share (the store fixtures are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.sources import Fetchers


@pytest.fixture
def fetchers() -> Iterator[Fetchers]:
    """The real HTTP client and file reader, as a poll uses them. The servers are local,
    so a download that takes 5 s has hung: fail then, not after the default 30 s."""
    limits = FetchLimits(total_timeout=5)
    with make_client(limits) as client:
        yield Fetchers(client, limits)
