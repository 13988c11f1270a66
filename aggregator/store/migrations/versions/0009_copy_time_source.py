"""Each copy keeps where its time came from (page | feed | first-seen), so a merged entry
shows its best time with the right label, and a first-seen time is matched as the upper
bound it is. Existing copies are labelled from what the store knows: the entry's first
copy has the entry's label; another copy whose time is the moment it was stored was first
seen, else dated by its source (a feed or a page). A merged entry then takes the label
of the copy whose time it shows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# A nullable column older code neither reads nor writes; what it inserts stays NULL,
# which the reads take as unknown.
phase = "expand"


def upgrade() -> None:
    with op.batch_alter_table("entry_items") as batch:
        batch.add_column(sa.Column("time_source", sa.String(16), nullable=True))
    op.execute(
        "UPDATE entry_items SET time_source = CASE"
        " WHEN source = (SELECT entries.source FROM entries"
        "   WHERE entries.id = entry_items.entry_id)"
        " THEN (SELECT entries.time_source FROM entries WHERE entries.id = entry_items.entry_id)"
        " WHEN published = first_seen THEN 'first-seen'"
        " WHEN source IN (SELECT name FROM sources WHERE kind = 'feed') THEN 'feed'"
        " ELSE 'page' END"
        " WHERE published IS NOT NULL"
    )
    # A merged entry showing another copy's time kept its first copy's label: relabel it.
    op.execute(
        "UPDATE entries SET time_source = COALESCE((SELECT entry_items.time_source"
        " FROM entry_items WHERE entry_items.entry_id = entries.id"
        " AND entry_items.published = entries.published"
        " ORDER BY CASE WHEN entry_items.time_source = 'first-seen' THEN 1 ELSE 0 END"
        " LIMIT 1), time_source)"
    )


def downgrade() -> None:
    with op.batch_alter_table("entry_items") as batch:
        batch.drop_column("time_source")
