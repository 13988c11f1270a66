"""The LSH band index kept per day in each poller's memory and in step with the store,
and a poll written in batches: on SQLite and PostgreSQL, through the real normalize |
sign | known_for | decide | apply path."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text, update

from aggregator.core.types import Entry, FetchState, PollReport, Post, SourceSpec
from aggregator.dedupe.decide import decide
from aggregator.dedupe.similarity import BANDS, band_day, band_days_near, sign
from aggregator.store import Store, open_store
from aggregator.store.bands import TRIMMED, StoryBands
from aggregator.store.database import MIGRATIONS
from aggregator.store.schema import band_changes, entry_items
from tests.support.builders import STORY, T0, entries, post, source

LIVE = source("live")
WIRE = source("wire", kind="feed", url="http://127.0.0.1:9/wire.xml", path=None)
PAPER = source("paper", kind="feed", url="http://127.0.0.1:9/paper.xml", path=None)
TEXT = (
    "Engineers have closed the Old Bridge in Kelsford after cracks were found in one of its "
    "piers during an inspection on Tuesday morning. The listed bridge carries thousands of "
    "vehicles a day and is the main route between the town centre and the railway station."
)
COPY = "By Tom Reed, PA. " + TEXT.replace("Tuesday morning", "Tuesday")
OTHER_TEXT = (
    "The ferry across the Kell will run every twenty minutes from Thursday while the bridge "
    "stays shut, the council said, and the crossing will be free for residents who show a "
    "parking permit until the repairs to the damaged pier are finished next spring."
)


def _batch(spec: SourceSpec, posts: list[Post], now: datetime) -> list[Entry]:
    return [sign(e) for e in entries(*posts, source_name=spec.name, now=now)]


def _poll(store: Store, spec: SourceSpec, posts: list[Post], now: datetime) -> PollReport:
    batch = _batch(spec, posts, now)
    decisions = decide(batch, store.known_for(spec, batch), now=now)
    return store.apply(spec, decisions, FetchState(), now)


def _dated(title: str, text: str, when: datetime, position: int = 0) -> Post:
    return post(title, text, position, published=when, time_source="feed")


def test_the_index_days_cover_every_gap_the_judge_accepts() -> None:
    late = datetime.fromisoformat("2026-11-22T23:59:00+00:00")
    assert band_day(late) == band_day(late - timedelta(hours=23)) == 20779
    assert list(band_days_near(late)) == [20778, 20779, 20780]
    assert band_day(late + timedelta(hours=24)) in band_days_near(late)


def test_a_copy_a_day_away_is_not_even_read_but_one_across_midnight_merges(
    store: Store,
) -> None:
    store.sync_sources([LIVE, WIRE])
    evening = T0.replace(hour=23, minute=30)
    _poll(store, WIRE, [_dated("Bridge shut", TEXT, evening)], evening)
    much_later = evening + timedelta(days=2)
    far = _batch(LIVE, [_dated("Cracked bridge", COPY, much_later)], much_later)
    assert store.known_for(LIVE, far).copies == {}
    next_morning = evening + timedelta(hours=2)
    near = _batch(LIVE, [_dated("Cracked bridge", COPY, next_morning)], next_morning)
    assert band_day(next_morning) == band_day(evening) + 1
    assert [c.source for c in store.known_for(LIVE, near).copies.values()] == ["wire"]
    report = _poll(store, LIVE, [_dated("Cracked bridge", COPY, next_morning)], next_morning)
    assert (report.new, report.duplicates) == (0, 1)


def test_a_poll_writes_its_events_in_the_order_of_its_decisions(store: Store) -> None:
    store.sync_sources([LIVE])
    first = [post(f"Post {i}", f"{TEXT} Update number {i}.", i) for i in range(2)]
    _poll(store, LIVE, first, T0)
    start = store.events_after(STORY.id, 0)[-1].id
    later = T0 + timedelta(minutes=5)
    edited = post("Post 1", f"{TEXT} Update number 1, corrected.", 1)
    polled = [post("New A", f"{TEXT} Fresh A."), edited, post("New B", f"{TEXT} Fresh B.", 2)]
    report = _poll(store, LIVE, polled, later)
    assert (report.new, report.updated) == (2, 1)
    events = store.events_after(STORY.id, start)
    assert [(e.kind, e.entry.title) for e in events] == [
        ("new", "New A"),
        ("update", "Post 1"),
        ("new", "New B"),
    ]


def _migrate(store: Store, revision: str, *, down: bool) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as c:
        config.attributes["connection"] = c
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_migrations_rebuild_the_band_keys_from_the_stored_signatures(store: Store) -> None:
    store.sync_sources([LIVE, WIRE])
    _poll(store, WIRE, [_dated("Bridge shut", TEXT, T0)], T0)
    _poll(store, LIVE, [_dated("Other", f"{TEXT} And more.", T0, 1)], T0)
    query = select(entry_items.c.id, entry_items.c.bands).order_by(entry_items.c.id)
    with store.engine.connect() as c:
        before = [tuple(r) for r in c.execute(query).all()]
    assert len(before) == 2 and all(len(bands) == 8 * BANDS for _, bands in before)
    _migrate(store, "0011", down=True)  # back to before the in-memory index
    with store.engine.connect() as c:
        days = c.execute(text("SELECT DISTINCT day FROM entry_bands")).scalars().all()
        rows = c.execute(text("SELECT count(*) FROM entry_bands")).scalar()
    assert days == [band_day(T0)] and rows == 2 * BANDS
    _migrate(store, "0010", down=True)
    _migrate(store, "head", down=False)
    with store.engine.connect() as c:
        after = [tuple(r) for r in c.execute(query).all()]
    assert after == before


def test_a_second_process_index_catches_up_with_what_the_first_stores(
    store: Store, database_url: str
) -> None:
    """Two Stores on one database stand for two pollers: each keeps its own index in
    memory, and each sees the copies, edits and deletions the other wrote."""
    store.sync_sources([LIVE, WIRE])
    other = open_store(database_url)
    try:
        loaded = _batch(LIVE, [_dated("Cracked bridge", COPY, T0)], T0)
        assert other.known_for(LIVE, loaded).copies == {}  # its index loads, empty
        _poll(store, WIRE, [_dated("Bridge shut", TEXT, T0)], T0)
        assert [c.source for c in other.known_for(LIVE, loaded).copies.values()] == ["wire"]
        # The wire rewrites its story: the old text's keys stop finding it in both.
        later = T0 + timedelta(minutes=5)
        _poll(store, WIRE, [_dated("Bridge shut", OTHER_TEXT, T0)], later)
        for reader in (store, other):
            assert reader.known_for(LIVE, loaded).copies == {}
            again = _batch(LIVE, [_dated("Ferry", OTHER_TEXT, T0)], later)
            assert [c.source for c in reader.known_for(LIVE, again).copies.values()] == ["wire"]
        # The live page's copy joins the wire's entry; forgetting the page deletes that
        # copy without a logged change, and a look-up that names it drops it.
        report = _poll(other, LIVE, [_dated("Ferry", OTHER_TEXT, T0)], later)
        assert (report.new, report.duplicates) == (0, 1)
        store.forget("live", later)
        third = _batch(PAPER, [_dated("Ferry", OTHER_TEXT, T0)], later)
        assert [c.source for c in other.known_for(PAPER, third).copies.values()] == ["wire"]
    finally:
        other.engine.dispose()


def test_an_index_loaded_after_the_fact_finds_what_was_stored_before(
    store: Store, database_url: str
) -> None:
    store.sync_sources([LIVE, WIRE])
    _poll(store, WIRE, [_dated("Bridge shut", TEXT, T0)], T0)
    restarted = open_store(database_url)
    try:
        report = _poll(restarted, LIVE, [_dated("Cracked bridge", COPY, T0)], T0)
        assert (report.new, report.duplicates) == (0, 1)
    finally:
        restarted.engine.dispose()


def test_an_index_held_before_the_first_look_up_is_not_loaded_again(
    store: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.sync_sources([LIVE, WIRE])
    _poll(store, WIRE, [_dated("Bridge shut", TEXT, T0)], T0)
    restarted = open_store(database_url)
    try:
        with caplog.at_level("INFO", logger="aggregator.store"):
            restarted.hold_band_index(STORY.id)
            held = [r for r in caplog.records if r.msg == "band index loaded"]
            assert [getattr(r, "postings", None) for r in held] == [BANDS]
            report = _poll(restarted, LIVE, [_dated("Cracked bridge", COPY, T0)], T0)
        assert (report.new, report.duplicates) == (0, 1)
        assert len([r for r in caplog.records if r.msg == "band index loaded"]) == 1
    finally:
        restarted.engine.dispose()


def test_an_index_loaded_reads_a_copy_without_a_time_label_as_older_code_stored_it(
    store: Store, database_url: str
) -> None:
    """A row older code wrote has no `time_source`: one whose time is when it was
    stored was first seen then, so its keys reach back three days, and a copy dated two
    days before it still finds it in an index loaded from the store."""
    store.sync_sources([LIVE, WIRE])
    _poll(store, WIRE, [post("Bridge shut", TEXT)], T0)  # no time: first seen at T0
    with store.engine.begin() as c:
        c.execute(update(entry_items).values(time_source=None))
    restarted = open_store(database_url)
    try:
        two_days_before = _dated("Cracked bridge", COPY, T0 - timedelta(days=2))
        report = _poll(restarted, LIVE, [two_days_before], T0)
        assert (report.new, report.duplicates) == (0, 1)
    finally:
        restarted.engine.dispose()


def test_the_log_is_trimmed_and_an_index_behind_the_trim_loads_again(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change log keeps a story's newest rows; a poller whose index last read a row
    older than those finds the marker where the log now begins, and loads the index
    again instead of missing what was trimmed."""
    monkeypatch.setattr(StoryBands, "keep", 3)
    monkeypatch.setattr(StoryBands, "trim_every", 1)
    store.sync_sources([LIVE, WIRE, PAPER])
    other = open_store(database_url)
    try:
        probe = _batch(LIVE, [_dated("Cracked bridge", COPY, T0)], T0)
        assert other.known_for(LIVE, probe).copies == {}  # its index loads, empty
        _poll(store, WIRE, [_dated("Bridge shut", TEXT, T0)], T0)
        for i in range(4):
            text = f"Ferry number {i} sails at {i} o'clock. " + OTHER_TEXT.replace("twenty", str(i))
            _poll(store, PAPER, [_dated(f"Ferry {i}", text, T0, i)], T0)
        query = select(band_changes.c.item_id).where(band_changes.c.story == STORY.id)
        with store.engine.connect() as c:
            logged = c.execute(query.order_by(band_changes.c.id)).scalars().all()
        assert len(logged) == 3 and logged[0] == TRIMMED
        # The wire's row is gone from the log: only a load finds its copy.
        assert [c.source for c in other.known_for(LIVE, probe).copies.values()] == ["wire"]
        assert [c.source for c in store.known_for(LIVE, probe).copies.values()] == ["wire"]
    finally:
        other.engine.dispose()
