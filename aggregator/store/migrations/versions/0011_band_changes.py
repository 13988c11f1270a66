"""The LSH band index moves into each poller's memory: every signed copy keeps its band
keys (`entry_items.bands`), and `band_changes` logs the copies whose keys were written,
so a poller's index catches up with what others stored. Existing copies get their keys
from their signatures.

Code of the previous release keeps writing `entry_bands` and no log rows beside this;
while both run, a near-duplicate that one of them stored is not found by the other
(exact copies still are). `entry_bands` goes in 0012, once the old code is gone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import band_keys

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# A new table and a nullable column that older code neither reads nor writes.
phase = "expand"


def upgrade() -> None:
    op.create_table(
        "band_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("story", sa.String(64), nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
    )
    op.create_index("ix_band_changes_story_id", "band_changes", ["story", "id"])
    with op.batch_alter_table("entry_items") as batch:
        batch.add_column(sa.Column("bands", sa.LargeBinary(), nullable=True))
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("entry_items") as batch:
        batch.drop_column("bands")
    op.drop_index("ix_band_changes_story_id", "band_changes")
    op.drop_table("band_changes")


def _backfill() -> None:
    """Each signed copy's band keys, big-endian signed 64-bit each, in band order."""
    bind = op.get_bind()
    items = sa.table("entry_items", sa.column("id"), sa.column("bands"))
    signed = bind.execute(
        sa.text("SELECT id, signature FROM entry_items WHERE signature IS NOT NULL")
    ).all()
    for item_id, signature in signed:
        keys = b"".join(k.to_bytes(8, "big", signed=True) for k in band_keys(bytes(signature)))
        bind.execute(items.update().where(items.c.id == item_id).values(bands=keys))
