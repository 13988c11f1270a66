"""One poison item never stops its source (issue 14, item 5): a NUL byte in a title
(which PostgreSQL refuses), a pubDate in year 9999 or before 1970, control characters
in the text; the item is repaired, its neighbours stored, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.core.types import SourceSpec, StorySpec
from aggregator.dedupe.normalize import normalize
from aggregator.fetch.http import make_client
from aggregator.fetch.limits import FetchLimits
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.store import Store
from tests.support.builders import T0, post
from tests.support.httpserver import Route, serve

STORY = StorySpec("story", "Story")
ITEMS = [
    ("nul", "Council\x00 statement", "Mon, 23 Nov 2026 08:00:00 GMT", "Plain words."),
    ("far", "A date from the far future", "Fri, 31 Dec 9999 23:59:59 GMT", "Text."),
    ("old", "A date before feeds", "Mon, 01 Jan 1900 00:00:00 GMT", "Text \x07bell\x1b[31m."),
    ("ok", "An ordinary item", "Mon, 23 Nov 2026 07:00:00 GMT", "Ordinary text."),
]


def feed() -> bytes:
    items = "".join(
        f"<item><guid>{key}</guid><title>{title}</title><pubDate>{date}</pubDate>"
        f"<description>{text}</description></item>"
        for key, title, date, text in ITEMS
    )
    return f'<rss version="2.0"><channel><title>W</title>{items}</channel></rss>'.encode()


def test_poison_items_are_repaired_and_their_neighbours_stored(store: Store) -> None:
    with serve({"/feed": Route(body=feed(), content_type="application/rss+xml")}) as server:
        spec = SourceSpec("wire", STORY.id, "feed", server.url("/feed"), None, 300.0, "UTC")
        store.sync_sources([spec])
        with make_client(FetchLimits()) as client:
            report = poll(
                spec, STORY, store=store, fetchers=Fetchers(client, FetchLimits()), now=T0
            )
    assert report.error is None and report.new == 4
    entries = {e.title: e for e in store.story_view(STORY).entries}
    assert "Council statement" in entries
    far, old = entries["A date from the far future"], entries["A date before feeds"]
    assert (far.published, far.time_source) == (T0, "first-seen")
    assert (old.published, old.time_source) == (T0, "first-seen")
    assert "\x07" not in old.text and "\x1b" not in old.text
    ordinary = entries["An ordinary item"]
    assert ordinary.published == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert ordinary.time_source == "feed"


def test_tabs_and_line_breaks_stay_and_a_day_ahead_is_believed() -> None:
    ahead = T0 + timedelta(hours=23)
    [entry] = normalize(
        [post("Title", "one\ttwo\nthree\r\n", published=ahead, time_source="page")],
        source="s",
        now=T0,
    )
    assert entry.text == "one\ttwo\nthree\r\n"
    assert (entry.published, entry.time_source) == (ahead, "page")
