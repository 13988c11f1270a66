"""The schedule each poll writes, against real servers on 127.0.0.1 and both databases.
The clock is driven by explicit `now` arguments: nothing here waits or times."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.httpserver import Route, redirect, serve

STORY = StorySpec("s", "S")


def rss(*guids: str, channel: str = "") -> bytes:
    items = "".join(
        f"<item><guid>{g}</guid><title>Item {g}</title><description>Body of {g}.</description>"
        "<pubDate>Sun, 22 Nov 2026 08:00:00 GMT</pubDate></item>"
        for g in guids
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{channel}'
        f"{items}</channel></rss>"
    ).encode()


def feed(url: str, name: str = "wire") -> SourceSpec:
    return bounded(SourceSpec(name, "s", "feed", url, None, 60, "UTC"))


def bounded(spec: SourceSpec) -> SourceSpec:
    return replace(spec, min_interval=30.0, max_interval=3600.0)


def due_in(store: Store, name: str, now: datetime = T0) -> float:
    due = store.source_status(name).next_attempt_at
    assert due is not None
    return (due - now).total_seconds()


def test_a_retry_after_holds_back_every_source_on_the_host(
    store: Store, fetchers: Fetchers
) -> None:
    routes = {
        "/busy": Route(status=429, headers={"Retry-After": "120"}),
        "/ok": Route(body=rss("a")),
    }
    with serve(routes) as server:
        busy, ok = feed(server.url("/busy"), "busy"), feed(server.url("/ok"), "ok")
        store.sync_sources([busy, ok])
        assert poll(busy, STORY, store=store, fetchers=fetchers, now=T0).error
        held = poll(ok, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(seconds=10))
        assert [r.path for r in server.requests] == ["/busy"]  # /ok was never asked
        later = poll(ok, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(seconds=120))
        assert [r.path for r in server.requests] == ["/busy", "/ok"]
    assert held.error is None and later.new == 1
    assert due_in(store, "busy") == 120
    status = store.source_status("ok")
    assert status.error_count == 0 and status.last_success_at == T0 + timedelta(seconds=120)


def test_max_age_pushes_the_next_poll_later(store: Store, fetchers: Fetchers) -> None:
    routes = {"/feed": Route(body=rss("a"), headers={"Cache-Control": "max-age=900"})}
    with serve(routes) as server:
        spec = feed(server.url("/feed"))
        store.sync_sources([spec])
        poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
    assert due_in(store, "wire") == 900
    [health] = store.source_health(["wire"])
    assert health.interval == 60 and "fresh for 15m" in (health.schedule_reason or "")


def test_a_feed_ttl_and_a_publishing_feed(store: Store, fetchers: Fetchers) -> None:
    routes = {"/feed": Route(body=rss("a", channel="<ttl>20</ttl>"))}
    with serve(routes) as server:
        spec = feed(server.url("/feed"))
        store.sync_sources([spec])
        poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
        assert due_in(store, "wire") == 1200  # ttl 20 minutes
        routes["/feed"] = Route(body=rss("b", "a"))
        later = T0 + timedelta(minutes=20)
        assert poll(spec, STORY, store=store, fetchers=fetchers, now=later).new == 1
    assert due_in(store, "wire", later) == 30  # publishing: min_interval


def test_permanent_redirect_moves_the_source_and_temporary_does_not(
    store: Store, fetchers: Fetchers, caplog: pytest.LogCaptureFixture
) -> None:
    routes = {
        "/moved": redirect("/new", 301),
        "/away": redirect("/new", 302),
        "/new": Route(body=rss("a")),
    }
    with serve(routes) as server, caplog.at_level(logging.WARNING, "aggregator.poll"):
        moved, away = feed(server.url("/moved"), "moved"), feed(server.url("/away"), "away")
        store.sync_sources([moved, away])
        for when in (T0, T0 + timedelta(minutes=5)):
            for spec in (moved, away):
                poll(spec, STORY, store=store, fetchers=fetchers, now=when)
        paths = [r.path for r in server.requests]
    assert paths == ["/moved", "/new", "/away", "/new", "/new", "/away", "/new"]
    assert store.source_status("moved").moved_to == server.url("/new")
    assert store.source_status("away").moved_to is None
    [warning] = [r for r in caplog.records if "moved" in r.getMessage()]
    assert warning.new == server.url("/new") and warning.old == server.url("/moved")  # type: ignore[attr-defined]


def test_410_gone_stops_the_source_until_its_config_changes(
    store: Store, fetchers: Fetchers
) -> None:
    routes = {"/gone": Route(status=410), "/back": Route(body=rss("a"))}
    with serve(routes) as server:
        spec = feed(server.url("/gone"))
        store.sync_sources([spec])
        report = poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
    assert report.error and "410" in report.error
    assert store.claim_due(T0 + timedelta(days=30), "w", 60, 10) == []
    [health] = store.source_health(["wire"])
    assert health.stopped_reason and "410 Gone" in health.stopped_reason
    store.sync_sources([spec])  # unchanged config: still stopped
    assert store.claim_due(T0 + timedelta(days=30), "w", 60, 10) == []
    store.sync_sources([replace(spec, url=server.url("/back"))])
    assert store.claim_due(T0, "w", 60, 10) == ["wire"]


def test_errors_back_off_then_recover_on_the_first_success(
    store: Store, fetchers: Fetchers
) -> None:
    routes = {"/feed": Route(status=500)}
    with serve(routes) as server:
        spec = feed(server.url("/feed"))
        store.sync_sources([spec])
        now, waits = T0, []
        for _ in range(4):
            poll(spec, STORY, store=store, fetchers=fetchers, now=now)
            waits.append(due_in(store, "wire", now))
            now += timedelta(seconds=waits[-1])
        routes["/feed"] = Route(body=rss("a"))
        assert poll(spec, STORY, store=store, fetchers=fetchers, now=now).new == 1
    assert waits == [60, 120, 240, 480]
    status = store.source_status("wire")
    assert status.error_count == 0 and due_in(store, "wire", now) == 60


def test_a_live_page_whose_coverage_ended_slows_to_its_maximum(
    store: Store, fetchers: Fetchers
) -> None:
    page = (
        "<html><body><h1>Storm live</h1><h2>Roads reopen</h2><p>All roads are open.</p>"
        "<h2>Wind drops</h2><p>The wind has dropped.</p>"
        "<p>This live coverage has now ended. Thanks for reading.</p></body></html>"
    )
    routes = {"/live": Route(body=page.encode(), content_type="text/html; charset=utf-8")}
    with serve(routes) as server:
        spec = bounded(SourceSpec("live", "s", "liveblog", server.url("/live"), None, 60, "UTC"))
        store.sync_sources([spec])
        poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
    assert due_in(store, "live") == 3600
    status = store.source_status("live")
    assert status.signals.ended
    [health] = store.source_health(["live"])
    assert "coverage has ended" in (health.schedule_reason or "")


def test_claims_are_disjoint_and_leases_run_out(store: Store) -> None:
    specs = [feed(f"http://127.0.0.1:9/{n}", f"s{n:02d}") for n in range(20)]
    store.sync_sources(specs)
    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda w: store.claim_due(T0, f"w{w}", 60, 6), range(4)))
    names = [n for claim in claims for n in claim]
    assert len(names) == len(set(names)) == 20
    assert store.claim_due(T0 + timedelta(seconds=30), "late", 60, 50) == []
    assert len(store.claim_due(T0 + timedelta(seconds=61), "late", 60, 50)) == 20
