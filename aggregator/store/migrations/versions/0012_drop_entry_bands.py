"""`entry_bands`, the band index in the database, is dropped: code since 0011 keeps the
index in memory, loaded from `entry_items.bands` and kept in step by `band_changes`.
Downgrading builds it again from the stored signatures.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime, band_day, band_keys

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# Drops a table that code before 0011 writes on every poll.
phase = "contract"


def upgrade() -> None:
    op.drop_index("ix_entry_bands_item", "entry_bands")
    op.drop_table("entry_bands")


def downgrade() -> None:
    op.create_table(
        "entry_bands",
        sa.Column("story", sa.String(64), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
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
    bind = op.get_bind()
    copies = bind.execute(
        sa.text(
            "SELECT entry_items.id, entries.story, entry_items.signature, "
            "COALESCE(entry_items.published, entries.published) AS published "
            "FROM entry_items JOIN entries ON entries.id = entry_items.entry_id "
            "WHERE entry_items.signature IS NOT NULL"
        ).columns(published=UTCDateTime())
    ).all()
    bands = sa.table(
        "entry_bands", *(sa.column(name) for name in ("story", "day", "band_key", "item_id"))
    )
    for item_id, story, signature, published in copies:
        day = band_day(published)
        rows = [
            {"story": story, "day": day, "band_key": key, "item_id": item_id}
            for key in sorted(set(band_keys(bytes(signature))))
        ]
        bind.execute(bands.insert(), rows)
