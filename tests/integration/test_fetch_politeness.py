"""Per-host politeness: however many sources are due, one host sees at most N at once."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from aggregator.core.types import FetchState, SourceSpec
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.fetch.politeness import HostGate
from aggregator.ingest.sources import Fetchers
from tests.support.httpserver import Route, serve

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def spec(url: str, n: int) -> SourceSpec:
    return SourceSpec(f"s{n}", "s", "feed", url, None, 60, "UTC")


@pytest.mark.parametrize("per_host", [1, 2])
@pytest.mark.slow
def test_no_host_sees_more_than_its_share(per_host: int) -> None:
    limits = FetchLimits(per_host=per_host, total_timeout=10)
    routes = {f"/f{n}": Route(body=b"<rss/>", delay=0.15) for n in range(6)}
    with serve(routes) as server, make_client(limits) as client:
        fetchers = Fetchers(client, limits)
        specs = [spec(server.url(f"/f{n}"), n) for n in range(6)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda s: fetchers.fetch(s, FetchState(), now=NOW), specs))
        assert len(server.requests) == 6
        assert server.concurrency.most == per_host


def test_requests_to_one_host_are_spaced_by_the_gap() -> None:
    limits = FetchLimits(per_host=4, host_gap=0.25)
    with serve({"/f": Route(body=b"<rss/>")}) as server, make_client(limits) as client:
        fetchers = Fetchers(client, limits)
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(
                pool.map(
                    lambda n: fetchers.fetch(spec(server.url("/f"), n), FetchState(), now=NOW),
                    range(3),
                )
            )
        starts = sorted(r.at for r in server.requests)
    # Measured where the server reads each request, which a busy machine delays by some
    # milliseconds either way: the gap is asked for less that margin.
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(starts)), starts


def test_a_gate_needs_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        HostGate(per_host=0)
