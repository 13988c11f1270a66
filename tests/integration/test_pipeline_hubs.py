"""Hub discovery reads the poll's own response (issue 14, item 3): Link headers first,
else the changed document's links; a response with nothing new to read, or a poll that
failed, gives no answer and costs no second request."""

from __future__ import annotations

from datetime import timedelta

from aggregator.core.types import HubLinks, SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0, source
from tests.support.httpserver import Route, serve

STORY = StorySpec("story", "The inquiry")
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Inquiry</title><id>urn:x:inquiry</id>
<updated>2026-11-22T09:00:00Z</updated>
<link rel="hub" href="https://hub.example.org/"/>
<link rel="self" href="https://gazette.example/inquiry.atom"/>
<entry><id>urn:x:1</id><title>Hearing adjourned</title><updated>2026-11-22T09:00:00Z</updated>
<content type="text">The inquiry adjourned until Monday after a witness fell ill.</content></entry>
</feed>"""


def feed_source(url: str) -> SourceSpec:
    return source("gazette", kind="feed", url=url, path=None, story="story")


def test_the_documents_links_are_read(store: Store, fetchers: Fetchers) -> None:
    route = Route(body=ATOM, content_type="application/atom+xml", etag='"v1"')
    with serve({"/inquiry.atom": route}) as server:
        spec = feed_source(server.url("/inquiry.atom"))
        store.sync_sources([spec])
        report = poll(spec, STORY, store=store, fetchers=fetchers, now=T0, find_hubs=True)
        assert report.new == 1
        assert report.hubs == HubLinks(
            ("https://hub.example.org/",), "https://gazette.example/inquiry.atom"
        )
        # A 304 brings nothing to read: no answer, and no second request for one.
        later = T0 + timedelta(minutes=5)
        again = poll(spec, STORY, store=store, fetchers=fetchers, now=later, find_hubs=True)
        assert again.error is None
        assert again.hubs is None
        assert len(server.requests) == 2


def test_link_headers_come_first_and_resolve_against_the_response(
    store: Store, fetchers: Fetchers
) -> None:
    headers = {"Link": '</hub>; rel="hub", <https://gazette.example/feed>; rel="self"'}
    route = Route(body=ATOM, content_type="application/atom+xml", headers=headers)
    with serve({"/inquiry.atom": route}) as server:
        spec = feed_source(server.url("/inquiry.atom"))
        store.sync_sources([spec])
        report = poll(spec, STORY, store=store, fetchers=fetchers, now=T0, find_hubs=True)
        assert report.hubs == HubLinks((server.url("/hub"),), "https://gazette.example/feed")
        assert len(server.requests) == 1


def test_without_find_hubs_nothing_is_read(store: Store, fetchers: Fetchers) -> None:
    with serve({"/inquiry.atom": Route(body=ATOM, content_type="application/atom+xml")}) as s:
        spec = feed_source(s.url("/inquiry.atom"))
        store.sync_sources([spec])
        assert poll(spec, STORY, store=store, fetchers=fetchers, now=T0).hubs is None


def test_a_failed_poll_says_nothing_of_hubs(store: Store, fetchers: Fetchers) -> None:
    with serve({"/inquiry.atom": Route(status=500, body=ATOM)}) as server:
        spec = feed_source(server.url("/inquiry.atom"))
        store.sync_sources([spec])
        report = poll(spec, STORY, store=store, fetchers=fetchers, now=T0, find_hubs=True)
        assert report.failed and report.hubs is None
        assert len(server.requests) == 1
