"""poll() of feed sources served over HTTP on 127.0.0.1: keywords, 304s, duplicates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.httpserver import Route, serve

STORY = StorySpec("rotherham", "Rotherham", ("Rotherham", "Ofsted"))
OFSTED = (
    "Ofsted said local authorities have been too slow to face up to their responsibilities "
    "in preventing child sexual exploitation."
)


def rss(*items: tuple[str, str, str, str]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<description>{text}</description><pubDate>{date}</pubDate></item>"
        for guid, title, text, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire</title><link>https://news.example/</link>{body}</channel></rss>"
    ).encode()


ITEMS = [
    ("a1", "Ofsted: Councils too slow", OFSTED, "Tue, 03 Feb 2015 10:15:00 +0000"),
    (
        "a2",
        "Weather warning for the north",
        "Heavy rain is expected.",
        "Tue, 03 Feb 2015 09:00:00 +0000",
    ),
    (
        "a3",
        "Rotherham council leader quits",
        "The leader resigned tonight.",
        "Tue, 03 Feb 2015 08:30:00 GMT",
    ),
]


def feed_source(url: str, name: str = "wire") -> SourceSpec:
    return SourceSpec(name, "rotherham", "feed", url, None, 60, "Europe/London")


def test_keywords_dates_and_a_free_304(store: Store, fetchers: Fetchers) -> None:
    routes = {"/rss": Route(body=rss(*ITEMS), content_type="application/rss+xml", etag='"v1"')}
    with serve(routes) as server:
        spec = feed_source(server.url("/rss"))
        store.sync_sources([spec])
        first = poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
        second = poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=1))
        assert server.requests[-1].headers.get("if-none-match") == '"v1"'
    assert (first.new, first.filtered, first.error) == (2, 1, None)
    assert (second.new, second.unchanged, second.error) == (0, 0, None)
    view = store.story_view(STORY)
    assert [e.title for e in view.entries] == [
        "Ofsted: Councils too slow",
        "Rotherham council leader quits",
    ]
    top = view.entries[0]
    assert top.published == datetime(2015, 2, 3, 10, 15, tzinfo=UTC) and top.time_source == "feed"
    assert top.url == "https://news.example/a1" and top.source.url == spec.url


def test_an_exclusion_wins_over_a_keyword(store: Store, fetchers: Fetchers) -> None:
    story = replace(STORY, exclude=("council leader",))
    with serve({"/rss": Route(body=rss(*ITEMS))}) as server:
        spec = feed_source(server.url("/rss"))
        store.sync_sources([spec])
        report = poll(spec, story, store=store, fetchers=fetchers, now=T0)
    assert (report.new, report.filtered) == (1, 2)
    assert [e.title for e in store.story_view(story).entries] == ["Ofsted: Councils too slow"]


def test_the_same_copy_from_two_feeds_is_one_entry(store: Store, fetchers: Fetchers) -> None:
    # The same copy with markup, an entity and doubled spaces: normalised, it is equal.
    marked_up = (
        "&lt;p&gt;"
        + OFSTED.replace("too slow", "too  slow").replace(" in ", " &amp;#32;in ")
        + "&lt;/p&gt;"
    )
    other = [("b9", "Ofsted: Councils too slow", marked_up, "Tue, 03 Feb 2015 10:20:00 +0000")]
    routes = {"/a": Route(body=rss(ITEMS[0])), "/b": Route(body=rss(*other))}
    with serve(routes) as server:
        a, b = feed_source(server.url("/a"), "wire-a"), feed_source(server.url("/b"), "wire-b")
        store.sync_sources([a, b])
        poll(a, STORY, store=store, fetchers=fetchers, now=T0)
        report = poll(b, STORY, store=store, fetchers=fetchers, now=T0)
    assert (report.new, report.duplicates) == (0, 1)
    [entry] = store.story_view(STORY).entries
    assert entry.source.name == "wire-a" and [s.name for s in entry.also_from] == ["wire-b"]
    # "Also reported by" leads to wire-b's own item, not to its feed.
    assert [s.link for s in entry.also_from] == ["https://news.example/b9"]


def test_a_broken_feed_does_not_stop_a_good_one(store: Store, fetchers: Fetchers) -> None:
    routes = {
        "/good": Route(body=rss(ITEMS[0])),
        "/bad": Route(body=b"<rss><channel><item><title>unclosed", content_type="application/xml"),
        "/missing": Route(status=404),
    }
    with serve(routes) as server:
        specs = [feed_source(server.url(p), p.strip("/")) for p in ("/bad", "/missing", "/good")]
        store.sync_sources(specs)
        reports = [poll(s, STORY, store=store, fetchers=fetchers, now=T0) for s in specs]
    bad, missing, good = reports
    assert bad.error and missing.error and "404" in missing.error
    assert good.new == 1 and good.error is None
    assert [h.error_count for h in store.source_health(["bad", "good", "missing"])] == [1, 0, 1]


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (503, "120", 120),
        (429, "Sun, 22 Nov 2026 09:05:00 GMT", 300),
        (503, "soon", 60),
        (500, "600", 60),
    ],
)
@pytest.mark.slow
def test_retry_after_is_honoured_on_429_and_503(
    store: Store, fetchers: Fetchers, status: int, retry_after: str, wait: int
) -> None:
    routes = {"/busy": Route(status=status, headers={"Retry-After": retry_after})}
    with serve(routes) as server:
        spec = feed_source(server.url("/busy"))
        store.sync_sources([spec])
        report = poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
    assert report.error and str(status) in report.error
    assert store.source_status("wire").next_attempt_at == T0 + timedelta(seconds=wait)
