"""The LSH band index kept per day of publication: `entry_bands` gains `day` at the head
of its key, so a poll writes into and reads from the days near its entries only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime, band_day, band_keys

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Rebuilds entry_bands with a NOT NULL `day` in its key: older inserts fail; it needed a stop.
phase = "contract"


def upgrade() -> None:
    op.drop_table("entry_bands")
    _create(with_day=True)
    _backfill(with_day=True)


def downgrade() -> None:
    op.drop_table("entry_bands")
    _create(with_day=False)
    _backfill(with_day=False)


def _create(*, with_day: bool) -> None:
    day = [sa.Column("day", sa.Integer, primary_key=True, autoincrement=False)]
    op.create_table(
        "entry_bands",
        sa.Column("story", sa.String(64), primary_key=True),
        *(day if with_day else []),
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


def _backfill(*, with_day: bool) -> None:
    """Index every signed copy again from its stored signature."""
    bind = op.get_bind()
    copies = bind.execute(
        sa.text(
            "SELECT entry_items.id, entries.story, entry_items.signature, "
            "COALESCE(entry_items.published, entries.published) AS published "
            "FROM entry_items JOIN entries ON entries.id = entry_items.entry_id "
            "WHERE entry_items.signature IS NOT NULL"
        ).columns(published=UTCDateTime())
    ).all()
    columns = ["story", "band_key", "item_id", *(["day"] if with_day else [])]
    bands = sa.table("entry_bands", *(sa.column(name) for name in columns))
    for item_id, story, signature, published in copies:
        day = {"day": band_day(published)} if with_day else {}
        keys = sorted(set(band_keys(signature)))
        bind.execute(
            bands.insert(),
            [{"story": story, "band_key": k, "item_id": item_id, **day} for k in keys],
        )
