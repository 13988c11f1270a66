"""The websub_subscriptions table on SQLite and PostgreSQL, and ingest_pushed's write."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.core.types import FetchState, StorySpec
from aggregator.ingest.pipeline import ingest_pushed
from aggregator.store import Store
from aggregator.store.subscriptions import Subscriptions
from aggregator.websub.rules import Subscription
from tests.support.builders import T0, source

WANTED = Subscription(
    source="wire",
    hub="http://127.0.0.1:9/hub",
    topic="http://127.0.0.1:9/wire.atom",
    token="token-1",
    secret="secret-1",
    state="pending",
)
FEED = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>w</title>
<id>urn:w</id><updated>2026-11-22T09:00:00Z</updated>
<entry><id>urn:w:1</id><title>Ferry services resume</title>
<updated>2026-11-22T09:00:00Z</updated><content type="text">Ferries sail again.</content></entry>
</feed>"""


@pytest.fixture
def subscriptions(store: Store) -> Subscriptions:
    return Subscriptions(store)


def test_a_subscription_goes_pending_then_active(subscriptions: Subscriptions) -> None:
    saved = subscriptions.save_pending(WANTED, T0)
    assert (saved.state, saved.created_at, saved.updated_at) == ("pending", T0, T0)
    later = T0 + timedelta(minutes=1)
    subscriptions.activate("token-1", 600, later + timedelta(seconds=600), later)
    row = subscriptions.by_token("token-1")
    assert row is not None and row.state == "active" and row.lease_seconds == 600
    assert row.lease_until == later + timedelta(seconds=600)
    assert subscriptions.by_token("token-2") is None


def test_asking_again_keeps_the_callback_and_secret(subscriptions: Subscriptions) -> None:
    subscriptions.save_pending(WANTED, T0)
    subscriptions.activate("token-1", 600, T0 + timedelta(seconds=600), T0)
    again = Subscription(**{**WANTED.__dict__, "token": "token-2", "secret": "secret-2"})
    kept = subscriptions.save_pending(again, T0 + timedelta(hours=1))
    assert (kept.token, kept.secret, kept.state) == ("token-1", "secret-1", "pending")
    assert len(subscriptions.all()) == 1


def test_pushes_and_polled_changes_are_recorded(subscriptions: Subscriptions) -> None:
    subscriptions.save_pending(WANTED, T0)
    subscriptions.record_polled_change("wire", T0)  # only active ones count
    assert subscriptions.for_source("wire")[0].polled_change_at is None
    subscriptions.activate("token-1", 600, T0 + timedelta(seconds=600), T0)
    subscriptions.record_push("token-1", T0 + timedelta(seconds=5))
    subscriptions.record_polled_change("wire", T0 + timedelta(seconds=9))
    row = subscriptions.for_source("wire")[0]
    assert row.last_push_at == T0 + timedelta(seconds=5)
    assert row.polled_change_at == T0 + timedelta(seconds=9)
    subscriptions.set_state("token-1", "denied", T0)
    assert subscriptions.for_source("wire")[0].state == "denied"
    subscriptions.delete("token-1")
    assert subscriptions.all() == []


def test_a_push_is_stored_without_touching_the_poll_state(store: Store) -> None:
    spec = source("wire", kind="feed", url="http://127.0.0.1:9/wire.atom", path=None)
    story = StorySpec(id="story", title="A story")
    store.sync_sources([spec])
    polled = FetchState(etag='"v1"', body_sha256="abc")
    store.apply(spec, [], polled, T0)
    before = store.source_status("wire")
    report = ingest_pushed(spec, story, FEED, "application/atom+xml", store=store, now=T0)
    assert (report.new, report.error) == (1, None)
    assert store.source_status("wire") == before
    again = ingest_pushed(spec, story, FEED, "application/atom+xml", store=store, now=T0)
    assert (again.new, again.unchanged) == (0, 1)
    [entry] = store.story_view(story).entries
    assert entry.title == "Ferry services resume"
    broken = ingest_pushed(spec, story, b"<html>no</html>", "text/html", store=store, now=T0)
    assert broken.error and store.source_status("wire").error_count == 0
