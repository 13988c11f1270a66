"""WebSub subscriptions: one row per source and hub, found by its callback token.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
# A new table nothing older reads.
phase = "expand"


def upgrade() -> None:
    op.create_table(
        "websub_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("hub", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lease_seconds", sa.Integer),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("last_push_at", UTCDateTime),
        sa.Column("polled_change_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("token", name="uq_websub_subscriptions_token"),
        sa.UniqueConstraint("source", "hub", name="uq_websub_subscriptions_source_hub"),
    )


def downgrade() -> None:
    op.drop_table("websub_subscriptions")
