"""A live page fetched over HTTP is just another liveblog source with a url: its posts
keep the publisher's ids, a moved dateModified is an update, a removed post a tombstone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0
from tests.support.httpserver import Route, serve

STORY = StorySpec("strike", "Strike")
BODIES = {
    "p3": "Talks between the union and the port operator will resume on Friday, both sides said.",
    "p2": "Ferries due to dock this afternoon are diverted to Portland while the strike lasts.",
    "p1": "The union says four hundred workers walked out at six this morning over pay and rotas.",
}


def page(ids: list[str], modified: dict[str, str] | None = None) -> bytes:
    updates = []
    for n, post_id in enumerate(ids):
        stamp = f"2024-06-12T0{9 - n}:00:00+01:00"
        updates.append(
            {
                "@type": "BlogPosting",
                "@id": f"https://news.example/live#{post_id}",
                "headline": f"Update {post_id}",
                "articleBody": BODIES[post_id],
                "datePublished": stamp,
                "dateModified": (modified or {}).get(post_id, stamp),
            }
        )
    data = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "liveBlogUpdate": updates}
    script = json.dumps(data)
    head = f'<head><script type="application/ld+json">{script}</script></head>'
    return f'<html lang="en">{head}<body></body></html>'.encode()


def test_a_live_page_over_http(store: Store, fetchers: Fetchers) -> None:
    routes = {
        "/live": Route(body=page(["p3", "p2", "p1"]), content_type="text/html; charset=utf-8")
    }
    with serve(routes) as server:
        spec = SourceSpec(
            "live", "strike", "liveblog", server.url("/live"), None, 60, "Europe/London"
        )
        store.sync_sources([spec])
        first = poll(spec, STORY, store=store, fetchers=fetchers, now=T0)
        routes["/live"] = Route(
            body=page(["p3", "p2", "p1"], {"p2": "2024-06-12T11:30:00+01:00"}),
            content_type="text/html",
        )
        moved = poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=1))
        routes["/live"] = Route(body=page(["p3", "p1"]), content_type="text/html")
        gone = poll(spec, STORY, store=store, fetchers=fetchers, now=T0 + timedelta(minutes=2))
    assert (first.new, first.error) == (3, None)
    assert (moved.new, moved.updated) == (0, 1)
    assert (gone.new, gone.deleted) == (0, 1)
    view = store.story_view(STORY)
    assert [e.title for e in view.entries] == ["Update p3", "Update p1"]
    assert [e.title for e in view.deleted] == ["Update p2"]
    p3 = view.entries[0]
    assert p3.published == datetime(2024, 6, 12, 8, 0, tzinfo=UTC) and p3.time_source == "page"
