"""The store on SQLite and on PostgreSQL: one transaction per poll, provenance, events."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from aggregator.core.errors import StoreError
from aggregator.core.types import Decision, FetchState, FileStamp, PollReport, Post, SourceSpec
from aggregator.dedupe.decide import decide
from aggregator.store import Store, open_store
from aggregator.store.database import WAL_CHECKPOINT_PAGES
from aggregator.store.schema import entries as entries_table
from aggregator.store.schema import metadata
from tests.support.builders import STORY, T0, entries, post, source

# synchronous 1 = NORMAL: with WAL, a commit is durable once the WAL is synced at checkpoint.
SQLITE_SETTINGS = {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1}
SQLITE_SETTINGS |= {"wal_autocheckpoint": WAL_CHECKPOINT_PAGES}

LIVE = source("live")
WIRE = source("wire", kind="feed", url="http://127.0.0.1:9/wire.xml", path=None)
BODY = "Ofsted said it would inspect children's services early after the report was published."


def poll_once(
    store: Store,
    spec: SourceSpec,
    posts: list[Post],
    now: datetime = T0,
    state: FetchState | None = None,
) -> PollReport:
    batch = entries(*posts, source_name=spec.name, now=now)
    decisions = decide(batch, store.known_for(spec, batch), now=now)
    return store.apply(spec, decisions, state or FetchState(etag=f"e{now:%H%M}"), now)


@pytest.fixture
def synced(store: Store) -> Store:
    store.sync_sources([LIVE, WIRE])
    return store


def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
    assert diff == []


def test_sqlite_connections_get_the_write_settings(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with store.engine.connect() as c:
        settings = [c.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE_SETTINGS]
    store.engine.dispose()
    assert settings == list(SQLITE_SETTINGS.values())


def test_new_posts_are_stored_once_and_in_page_order(synced: Store) -> None:
    posts = [post(f"Post {i}", f"{BODY} Number {i}.", position=i) for i in range(3)]
    report = poll_once(synced, LIVE, posts)
    assert (report.new, report.unchanged) == (3, 0)
    again = poll_once(synced, LIVE, posts, now=T0 + timedelta(minutes=1))
    assert (again.new, again.unchanged) == (0, 3)
    view = synced.story_view(STORY)
    assert [e.title for e in view.entries] == ["Post 0", "Post 1", "Post 2"]
    assert all(e.time_source == "first-seen" and e.published == T0 for e in view.entries)
    assert synced.source_status("live").state.etag == "e0901"


def test_an_edit_keeps_id_and_published_and_emits_one_update(synced: Store) -> None:
    poll_once(synced, LIVE, [post("Ofsted", BODY)])
    [before] = synced.story_view(STORY).entries
    later = T0 + timedelta(minutes=10)
    report = poll_once(synced, LIVE, [post("Ofsted", BODY.replace("early", "soon"))], now=later)
    assert report.updated == 1
    [after] = synced.story_view(STORY).entries
    assert (after.id, after.key, after.published) == (before.id, before.key, T0)
    assert after.updated == later and "soon" in after.text
    kinds = [e.kind for e in synced.events_after("story", 0)]
    assert kinds == ["new", "update"]
    poll_once(synced, LIVE, [post("Ofsted", BODY.replace("early", "soon"))], now=later)
    assert len(synced.events_after("story", 0)) == 2


def test_the_same_text_from_two_sources_is_one_entry_with_both(synced: Store) -> None:
    poll_once(synced, LIVE, [post("Ofsted plans early inspection", BODY)])
    wire = [post("Ofsted plans early inspection", BODY.replace("'", "\u2019"), guid="w1")]
    report = poll_once(synced, WIRE, wire)
    assert report.duplicates == 1 and report.new == 0
    [entry] = synced.story_view(STORY).entries
    assert entry.source.name == "live"
    assert [s.name for s in entry.also_from] == ["wire"]
    again = poll_once(synced, WIRE, wire, now=T0 + timedelta(minutes=1))
    assert (again.unchanged, again.duplicates) == (1, 0)


def test_a_failing_write_stores_nothing_and_keeps_old_validators(synced: Store) -> None:
    poll_once(synced, LIVE, [post("First", BODY)], state=FetchState(etag="old"))
    good = entries(post("Second", BODY + " More."), source_name="live")[0]
    broken = replace(good, item_key="x" * 10, published=good.published.replace(tzinfo=None))
    decisions = [Decision("new", good), Decision("new", broken)]
    with pytest.raises((StoreError, ValueError)):
        synced.apply(LIVE, decisions, FetchState(etag="new"), T0 + timedelta(minutes=1))
    with synced.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(entries_table)).scalar() == 1
    assert synced.source_status("live").state.etag == "old"


def test_fetch_state_round_trips(synced: Store) -> None:
    state = FetchState(
        etag='"abc"',
        last_modified="Sat, 22 Nov 2026 09:00:00 GMT",
        body_sha256="f" * 64,
        files={"/data/live.txt": FileStamp(123, 456, "a" * 64)},
    )
    poll_once(synced, LIVE, [], state=state)
    assert synced.source_status("live").state == state


def test_failures_count_up_and_success_resets(synced: Store) -> None:
    retry = T0 + timedelta(minutes=5)
    assert synced.record_failure(LIVE, "HTTP 500", T0, retry) == 1
    assert synced.record_failure(LIVE, "HTTP 500", T0, retry) == 2
    status = synced.source_status("live")
    assert status.error_count == 2 and status.next_attempt_at == retry
    [health] = synced.source_health(["live"])
    assert health.last_error == "HTTP 500"
    poll_once(synced, LIVE, [])
    assert synced.source_status("live").error_count == 0


def test_a_moved_source_forgets_its_validators(synced: Store) -> None:
    poll_once(synced, LIVE, [], state=FetchState(etag="x"))
    synced.sync_sources([replace(LIVE, path="/elsewhere.txt"), WIRE])
    assert synced.source_status("live").state == FetchState()


def test_events_resume_after_an_id(synced: Store) -> None:
    poll_once(synced, LIVE, [post(f"P{i}", f"{BODY} {i}", position=i) for i in range(4)])
    all_events = synced.events_after("story", 0)
    assert [e.kind for e in all_events] == ["new"] * 4
    ids = [e.id for e in all_events]
    assert ids == sorted(ids)
    assert [e.id for e in synced.events_after("story", ids[1])] == ids[2:]
    assert synced.backlog_start("story", 2) == ids[1]
    assert synced.backlog_start("story", 10) == 0
