"""Near-duplicate clusters: each copy's own text and signature, the LSH band index,
why a copy joined its entry, and the merges a reader split apart.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import (
    MIN_BODY_WORDS,
    UTCDateTime,
    band_keys,
    body_words,
    shingles,
    signature_of,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Adds only; the backfill writes new columns and tables, which older code never reads.
phase = "expand"

_COPIED = ("title", "text", "html", "url", "author", "published", "updated", "location")


def upgrade() -> None:
    with op.batch_alter_table("entry_items") as batch:
        for name in ("title", "text", "html", "url", "author", "location", "reason"):
            batch.add_column(sa.Column(name, sa.Text, nullable=True))
        batch.add_column(sa.Column("published", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("updated", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))
        batch.add_column(sa.Column("signature", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("match", sa.String(8), nullable=True))
        batch.add_column(sa.Column("score", sa.Float, nullable=True))
    op.create_index("ix_entry_items_fingerprint", "entry_items", ["fingerprint"])
    op.create_table(
        "entry_bands",
        sa.Column("story", sa.String(64), primary_key=True),
        sa.Column("band_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("entry_items.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
    )
    op.create_index("ix_entry_bands_item", "entry_bands", ["item_id"])
    op.create_table(
        "kept_apart",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("entry_id", "source", name="uq_kept_apart_entry_source"),
    )
    _backfill()


def _backfill() -> None:
    """Until now every copy of an entry was an exact duplicate of it, so the entry's text
    is each copy's text; then sign and index every copy once."""
    for name in (*_COPIED, "fingerprint"):
        op.execute(
            f"UPDATE entry_items SET {name} = "
            f"(SELECT entries.{name} FROM entries WHERE entries.id = entry_items.entry_id)"
        )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT entry_items.id, entries.story, entries.title, entries.text FROM entry_items "
            "JOIN entries ON entries.id = entry_items.entry_id"
        )
    ).all()
    for item_id, story, title, text in rows:
        if len(body_words(text)) < MIN_BODY_WORDS:
            continue
        signature = signature_of(shingles(title, text))
        bind.execute(
            sa.text("UPDATE entry_items SET signature = :s WHERE id = :i"),
            {"s": signature, "i": item_id},
        )
        bind.execute(
            sa.text("INSERT INTO entry_bands (story, band_key, item_id) VALUES (:s, :k, :i)"),
            [{"s": story, "k": k, "i": item_id} for k in set(band_keys(signature))],
        )


def downgrade() -> None:
    op.drop_table("kept_apart")
    op.drop_table("entry_bands")
    op.drop_index("ix_entry_items_fingerprint", "entry_items")
    with op.batch_alter_table("entry_items") as batch:
        for name in (*_COPIED, "fingerprint", "signature", "match", "score", "reason"):
            batch.drop_column(name)
