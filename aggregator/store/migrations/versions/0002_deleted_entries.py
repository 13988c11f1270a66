"""Entries deleted by their publisher: entries.deleted_at.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
# One nullable column: older code never names it.
phase = "expand"


def upgrade() -> None:
    op.add_column("entries", sa.Column("deleted_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("deleted_at")
