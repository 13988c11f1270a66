"""Initial schema: sources, entries, entry_items, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
# New tables in an empty database.
phase = "expand"


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("story", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("last_attempt_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("story", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("published", UTCDateTime, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
        sa.Column("time_source", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.UniqueConstraint("story", "key", name="uq_entries_story_key"),
    )
    op.create_index("ix_entries_story_updated", "entries", ["story", "updated"])
    op.create_index("ix_entries_story_fingerprint", "entries", ["story", "fingerprint"])
    op.create_table(
        "entry_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("item_key", sa.String(600), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.UniqueConstraint("source", "item_key", name="uq_entry_items_source_key"),
    )
    op.create_index("ix_entry_items_entry", "entry_items", ["entry_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("story", sa.String(64), nullable=False),
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_events_story_id", "events", ["story", "id"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("entry_items")
    op.drop_table("entries")
    op.drop_table("sources")
