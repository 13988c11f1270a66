"""The tables. Alembic migrations in migrations/versions/ build exactly this schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME stores, written in one call: a
        poll's inserts bind several per entry, and the two layers (2.2 us a value, this
        one 1.2) were 8 % of a cold cycle's CPU in the polling process (py-spy --gil)."""
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)


def _sqlite_text(value: datetime | None) -> str | None:
    """As `UTCDateTime` then SQLite's DATETIME would bind it: "YYYY-MM-DD HH:MM:SS.ffffff"."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


metadata = MetaData()

sources = Table(
    "sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("story", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("location", Text, nullable=False),
    Column("state", Text, nullable=False, default="{}"),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("error_count", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    # The schedule (aggregator.core.schedule): the current interval and why, the config's
    # interval/min/max it was planned under, and the page's hints (ttl, skipHours...).
    Column("interval_s", Float),
    Column("schedule_reason", Text),
    Column("bounds", String(64)),
    Column("hints", Text),
    Column("last_new_at", UTCDateTime),
    # A worker's claim on a due source; an expired lease (a dead worker) is claimable.
    Column("lease_owner", String(200)),
    Column("lease_until", UTCDateTime),
    # Set by 410 Gone or by removal from the config: such a source is not polled.
    Column("stopped_at", UTCDateTime),
    Column("stopped_reason", Text),
    # Where a permanent redirect (301/308) said the source now lives.
    Column("moved_to", Text),
    Index("ix_sources_next_attempt_at", "next_attempt_at"),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("story", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("source", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("url", Text),
    Column("author", Text),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("time_source", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("fingerprint", String(64)),
    Column("method", String(32), nullable=False),
    Column("location", Text, nullable=False),
    # Set when the post vanished from a page that still shows older posts (RFC 6721).
    Column("deleted_at", UTCDateTime),
    UniqueConstraint("story", "key", name="uq_entries_story_key"),
    Index("ix_entries_story_updated", "story", "updated"),
    Index("ix_entries_story_fingerprint", "story", "fingerprint"),
)

# Every (source, item) that carried an entry: the provenance, and how a re-poll finds it.
# Each keeps its own copy (title, text, ...) so a wrong merge can be split out again,
# its MinHash signature, and why it joined the entry (match, score, reason).
entry_items = Table(
    "entry_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(200), nullable=False),
    Column("item_key", String(600), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("title", Text),
    Column("text", Text),
    Column("html", Text),
    Column("url", Text),
    Column("author", Text),
    Column("published", UTCDateTime),
    # Where `published` came from (page | feed | first-seen); NULL in rows older code wrote.
    Column("time_source", String(16)),
    Column("updated", UTCDateTime),
    Column("location", Text),
    Column("fingerprint", String(64)),
    Column("signature", LargeBinary),
    # The LSH band keys of the signature, big-endian signed 64-bit each, in band order:
    # what a poller's in-memory band index (store/bands.py) is loaded from.
    Column("bands", LargeBinary),
    # exact | near for a copy that joined an entry; NULL for the entry's first copy.
    Column("match", String(8)),
    Column("score", Float),
    Column("reason", Text),
    UniqueConstraint("source", "item_key", name="uq_entry_items_source_key"),
    Index("ix_entry_items_entry", "entry_id"),
    Index("ix_entry_items_fingerprint", "fingerprint"),
)

# Every copy whose band keys were written (stored, edited), in commit order per story:
# how a poller's in-memory band index of the story catches up with what other pollers
# wrote since it last looked (store/bands.py). A copy deleted since is found gone.
band_changes = Table(
    "band_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("story", String(64), nullable=False),
    Column("item_id", Integer, nullable=False),
    Index("ix_band_changes_story_id", "story", "id"),
)

# Merges a reader undid (`aggregator split`): this source's items never join this entry.
kept_apart = Table(
    "kept_apart",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("entry_id", "source", name="uq_kept_apart_entry_source"),
)

# The event log behind /stories/{id}/events: its ids are the SSE event ids.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("story", String(64), nullable=False),
    Column("entry_id", Integer, ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_events_story_id", "story", "id"),
)

# WebSub subscriptions (aggregator.websub.rules): one per source and hub. `token` is the
# unguessable last segment of the callback URL (§5.1.1); `secret` keys the HMAC of pushes.
websub_subscriptions = Table(
    "websub_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("hub", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("token", String(64), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("lease_seconds", Integer),
    Column("lease_until", UTCDateTime),
    Column("last_push_at", UTCDateTime),
    # The last poll that found news: with last_push_at, how a silent hub is noticed.
    Column("polled_change_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Why the last request to the hub failed (refused address, no answer); NULL once
    # one went through.
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    UniqueConstraint("token", name="uq_websub_subscriptions_token"),
    UniqueConstraint("source", "hub", name="uq_websub_subscriptions_source_hub"),
)

# Per-host politeness shared by every worker (aggregator.store.hosts): when the next
# request to the host may start (`host_gap` apart), and until when a Retry-After holds it.
host_turns = Table(
    "host_turns",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("next_start", UTCDateTime, nullable=False),
    Column("held_until", UTCDateTime),
)

# When each story's published document last changed (aggregator.store.writes.mark_changed):
# the feeds' Last-Modified. Strictly increasing in whole seconds, so an HTTP client that
# compares dates (If-Modified-Since) never sees a changed document as older.
story_changes = Table(
    "story_changes",
    metadata,
    Column("story", String(64), primary_key=True),
    Column("changed_at", UTCDateTime, nullable=False),
)
