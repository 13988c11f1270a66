"""Issue 11: two patterns of dedupe, pure and end to end (SQLite and PostgreSQL).

1. Announcements written from one template about different people, places or times
   share most of their words, yet are two updates: a changed name or clock time keeps
   them apart, while a wire copy with a typo fixed, a sentence added or a byline merges.
2. A first-seen time only bounds the real time from above: a dated feed copy and a copy
   from a page with no times, saved more than a day later, are one update, and the
   merged entry shows the feed's time labelled "feed".
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, update

from aggregator.core.types import FetchState, PollReport, SourceSpec, StorySpec
from aggregator.dedupe.decide import decide
from aggregator.dedupe.normalize import normalize
from aggregator.dedupe.similarity import (
    FIRST_SEEN_REACH,
    JACCARD,
    MAX_GAP,
    band_days,
    band_days_near,
    compare,
    judge,
    shingles,
    sign,
    time_gap,
)
from aggregator.ingest.pipeline import poll
from aggregator.ingest.sources import Fetchers
from aggregator.publish.feeds import render_feed
from aggregator.store import Store
from aggregator.store.database import MIGRATIONS
from aggregator.store.schema import entries, entry_items
from tests.support.builders import STORY as BUILT_STORY
from tests.support.builders import T0, post, source
from tests.support.httpserver import Route, serve
from tests.support.shortcuts import changed_facts

STORY = StorySpec("inquiry", "Kell flood inquiry")
TITLE = "Witness to give evidence"
HALE = (
    "Council chief executive Martin Hale will give evidence to the flooding inquiry at "
    "2.30pm on Thursday, the committee said. He is expected to be asked why sandbags "
    "arrived late in Kelsford and who decided to close the rest centre early. The session "
    "will be streamed on the council's website."
)
BELLAMY = (
    "Council finance director Ruth Bellamy will give evidence to the flooding inquiry at "
    "10am on Thursday, the committee said. She is expected to be asked why sandbags "
    "arrived late in Kelsford and who decided to close the rest centre early. The session "
    "will be streamed on the council's website."
)
PRYCE = (
    "The county has appointed Dr Alan Pryce as the independent flood commissioner for the "
    "Kell valley, the council announced this morning. The commissioner will report to the "
    "cabinet within six months and will hold public hearings in every affected village."
)
OSEI = PRYCE.replace("Dr Alan Pryce", "Professor Nadia Osei")
# Only the clock time is a fact that differs, in an otherwise reworded text.
CLERK = (
    "The committee clerk will read the list of written submissions at 9.15am on Friday, "
    "before the chair opens the hearing on the closure of the rest centre and the late "
    "delivery of sandbags to homes along the river, the inquiry office said."
)
USHER = (
    "The committee clerk will read the list of late submissions at 4pm on Friday, after "
    "the chair closes the hearing on the closure of the rest centre and the late delivery "
    "of sandbags to homes along the river, the inquiry office said."
)
# The same template about a different street.
MILL = (
    "Temporary flood barriers will be put up along Mill Lane tonight, the council said, "
    "and residents should move cars off the road by six o'clock. Sandbags are being handed "
    "out at the depot and volunteers will help anyone who cannot carry them."
)
TANNERS = MILL.replace("Mill Lane", "Tanner's Row")


@pytest.mark.parametrize(
    ("first", "second"),
    [(HALE, BELLAMY), (PRYCE, OSEI), (CLERK, USHER), (MILL, TANNERS)],
    ids=["person-and-time", "person", "time-only", "place"],
)
def test_one_template_about_other_people_places_or_times_is_two_updates(
    first: str, second: str
) -> None:
    text_alone = compare(shingles(TITLE, first), shingles(TITLE, second)).jaccard
    assert text_alone >= JACCARD  # the words alone would have merged them
    assert judge((TITLE, first), (TITLE, second), timedelta(minutes=5)) is None


WIRE_EDITS = {
    "typo fixed": HALE.replace("sandbags", "sandbgas", 1),
    "name typo fixed": HALE.replace("Kelsford", "Kelsferd"),
    "sentence added": HALE + " Mr Hale has said he welcomes the chance to explain himself.",
    "byline, clock written out": "By Tom Reed, PA\n\n" + HALE.replace("2.30pm", "2.30 p.m."),
    "24-hour clock": HALE.replace("2.30pm", "14:30"),
    "figure corrected": PRYCE.replace("six months", "9 months").replace("within", "in"),
    "name misspelt, time corrected": HALE.replace("Kelsford", "Kelsfrod").replace("2.30", "3.30"),
}


@pytest.mark.parametrize("edited", WIRE_EDITS.values(), ids=WIRE_EDITS.keys())
def test_a_lightly_edited_wire_copy_still_merges(edited: str) -> None:
    original = HALE if "Hale" in edited else PRYCE
    assert judge(("Hale to face inquiry", original), (TITLE, edited), timedelta(0)) is not None


def test_facts_are_counted_as_swapped_not_as_added() -> None:
    assert changed_facts(HALE, BELLAMY) == 3  # the clock time and both names
    assert changed_facts(HALE, "By Tom Reed, PA\n\n" + HALE) == 0
    assert changed_facts(HALE, HALE.replace("2.30pm", "2:30 pm")) == 0
    assert changed_facts(HALE, HALE.replace("2.30pm", "3pm")) == 1
    assert changed_facts(HALE, HALE.replace("Kelsford", "Kelsfrod")) == 0  # a typo fixed
    assert changed_facts(PRYCE, PRYCE.replace("Pryce", "Price")) == 1  # another person


def test_a_first_seen_time_bounds_the_real_time_from_above() -> None:
    later = T0 + timedelta(hours=50)
    assert time_gap(T0, "feed", later, "first-seen") == timedelta(0)
    assert time_gap(later, "first-seen", T0, "feed") == timedelta(0)
    assert time_gap(T0, "feed", later, "page") == timedelta(hours=50)
    # Seen on a page before the feed's date: it was out then, so the gap is real.
    assert time_gap(later, "feed", T0, "first-seen") == timedelta(hours=50)
    too_late = T0 + FIRST_SEEN_REACH + MAX_GAP + timedelta(hours=1)
    assert time_gap(T0, "feed", too_late, "first-seen") > MAX_GAP


def test_a_first_seen_copy_is_indexed_on_every_day_it_may_be_from() -> None:
    later = T0 + timedelta(hours=50)
    assert len(band_days(later, "feed")) == 1
    assert set(band_days(later, "first-seen")) >= set(band_days(T0, "feed"))
    # Each side's look-up reaches the other's index days.
    assert set(band_days_near(T0, "feed")) & set(band_days(later, "first-seen"))
    assert set(band_days_near(later, "first-seen")) >= set(band_days(T0, "feed"))


# End to end: a wire's RSS feed on 127.0.0.1 and a saved live page (a text file).


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><guid>urn:wire:{guid}</guid><title>{title}</title>"
        f"<link>https://wire.example/{guid}</link><description>{text}</description>"
        "<pubDate>Sun, 22 Nov 2026 09:00:00 +0000</pubDate></item>"
        for guid, title, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire'
        f"</title><link>https://wire.example/</link>{body}</channel></rss>"
    ).encode()


def page(*posts: tuple[str, str]) -> str:
    return "".join(f"{title}\n\n{text}\n\n" for title, text in posts)


class Sources:
    """The story's two sources: the wire's feed, and a page with no times that the test
    saves (writes) when it likes."""

    def __init__(self, store: Store, fetchers: Fetchers, folder: Path) -> None:
        self.store, self.fetchers, self.path = store, fetchers, folder / "live.txt"

    def poll_wire(self, url: str, after: timedelta) -> PollReport:
        wire = SourceSpec("wire", STORY.id, "feed", url, None, 60, "Europe/London")
        self.store.sync_sources([wire, self._live()])
        return poll(wire, STORY, store=self.store, fetchers=self.fetchers, now=T0 + after)

    def poll_page(self, text: str, after: timedelta) -> PollReport:
        self.path.write_text(text, encoding="utf-8")
        live = self._live()
        self.store.sync_sources([live])
        return poll(live, STORY, store=self.store, fetchers=self.fetchers, now=T0 + after)

    def _live(self) -> SourceSpec:
        path = str(self.path)
        return SourceSpec("inquiry-live", STORY.id, "liveblog", None, path, 60, "Europe/London")


def items(store: Store) -> list[dict[str, Any]]:
    body = render_feed(store.story_view(STORY), "json", story_url="https://agg.example/i")
    found: list[dict[str, Any]] = json.loads(body)["items"]
    return found


def test_template_announcements_about_two_people_both_appear(
    store: Store, fetchers: Fetchers, tmp_path: Path
) -> None:
    added = HALE + " Mr Hale has said he welcomes the chance to explain himself."
    feed = rss(("hale", TITLE, HALE))
    with serve({"/rss": Route(body=feed, content_type="application/rss+xml")}) as server:
        sources = Sources(store, fetchers, tmp_path)
        wire = sources.poll_wire(server.url("/rss"), timedelta(minutes=5))
        live = sources.poll_page(page((TITLE, BELLAMY), (TITLE, added)), timedelta(minutes=20))
    assert (wire.error, wire.new) == (None, 1)
    assert (live.error, live.new, live.duplicates) == (None, 1, 1)
    published = items(store)
    assert len(published) == 2
    [hale] = [i for i in published if "Martin Hale" in i["content_text"]]
    [bellamy] = [i for i in published if "Bellamy" in i["content_text"]]
    assert [s["name"] for s in hale["_aggregator"]["also_from"]] == ["inquiry-live"]
    assert bellamy["_aggregator"]["also_from"] == []


@pytest.mark.parametrize("page_first", [False, True], ids=["feed-first", "page-first"])
@pytest.mark.parametrize("hours", [5, 50], ids=["saved-5h-later", "saved-50h-later"])
@pytest.mark.slow
def test_a_feed_copy_and_a_later_saved_timeless_page_show_the_feed_time(
    store: Store, fetchers: Fetchers, tmp_path: Path, page_first: bool, hours: int
) -> None:
    saved = timedelta(hours=hours)  # when the page was saved, after the wire's 09:00
    feed = rss(("hale", "Hale to face inquiry", HALE))
    edited = page((TITLE, "By Tom Reed, PA\n\n" + HALE.replace("sandbags", "sand bags")))
    with serve({"/rss": Route(body=feed, content_type="application/rss+xml")}) as server:
        sources = Sources(store, fetchers, tmp_path)
        if page_first:
            first = sources.poll_page(edited, saved)
            second = sources.poll_wire(server.url("/rss"), saved + timedelta(hours=1))
        else:
            first = sources.poll_wire(server.url("/rss"), timedelta(minutes=5))
            second = sources.poll_page(edited, saved)
    assert (first.error, first.new, second.error, second.new) == (None, 1, None, 0)
    assert second.duplicates == 1
    [entry] = store.story_view(STORY).entries
    assert (entry.published, entry.time_source) == (T0, "feed")
    [item] = items(store)
    assert item["date_published"] == "2026-11-22T09:00:00Z"
    assert item["_aggregator"]["time_source"] == "feed"


# The best time of a cluster, through the store (normalize | sign | decide | apply).

LIVE = source("live")
OTHER = source("other")
WIRE = source("wire", kind="feed", url="http://127.0.0.1:9/wire.xml", path=None)


def store_copy(store: Store, spec: SourceSpec, text: str, after: timedelta, **dated: Any) -> None:
    now = T0 + after
    posts = [post(TITLE, text, **dated)]
    batch = [sign(e) for e in normalize(posts, source=spec.name, now=now)]
    store.apply(spec, decide(batch, store.known_for(spec, batch), now=now), FetchState(), now)


def test_an_exact_time_beats_an_earlier_first_seen_one_and_first_seen_the_earliest(
    store: Store,
) -> None:
    store.sync_sources([LIVE, OTHER, WIRE])
    store_copy(store, LIVE, HALE, timedelta(hours=2))
    store_copy(store, OTHER, "By Tom Reed, PA\n\n" + HALE, timedelta(hours=1))
    [entry] = store.story_view(BUILT_STORY).entries
    assert (entry.published, entry.time_source) == (T0 + timedelta(hours=1), "first-seen")
    dated = {"published": T0 + timedelta(hours=3), "time_source": "feed"}
    store_copy(store, WIRE, HALE + " It was confirmed today.", timedelta(hours=4), **dated)
    [entry] = store.story_view(BUILT_STORY).entries
    assert (entry.published, entry.time_source) == (T0 + timedelta(hours=3), "feed")


def test_the_migration_labels_stored_copies_and_relabels_merged_entries(store: Store) -> None:
    store.sync_sources([LIVE, WIRE])
    store_copy(store, LIVE, HALE, timedelta(hours=2))
    dated = {"published": T0, "time_source": "feed"}
    store_copy(store, WIRE, "By Tom Reed, PA\n\n" + HALE, timedelta(hours=3), **dated)
    with store.engine.begin() as c:  # as older code left it: the feed's time, mislabelled
        c.execute(update(entries).values(time_source="first-seen"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as c:
        config.attributes["connection"] = c
        command.downgrade(config, "0008")
        command.upgrade(config, "head")
    with store.engine.connect() as c:
        labels = c.execute(select(entry_items.c.source, entry_items.c.time_source)).all()
    assert sorted(labels) == [("live", "first-seen"), ("wire", "feed")]
    [entry] = store.story_view(BUILT_STORY).entries
    assert (entry.published, entry.time_source) == (T0, "feed")
