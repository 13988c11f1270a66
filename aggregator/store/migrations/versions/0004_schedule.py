"""The schedule in the store: interval and reason, bounds, page hints, activity, the
lease a worker holds on a due source, why a source stopped, and where it moved.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
# Nullable columns and an index only.
phase = "expand"

_COLUMNS = (
    ("interval_s", sa.Float()),
    ("schedule_reason", sa.Text()),
    ("bounds", sa.String(64)),
    ("hints", sa.Text()),
    ("last_new_at", UTCDateTime()),
    ("lease_owner", sa.String(200)),
    ("lease_until", UTCDateTime()),
    ("stopped_at", UTCDateTime()),
    ("stopped_reason", sa.Text()),
    ("moved_to", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_index("ix_sources_next_attempt_at", "sources", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_sources_next_attempt_at", "sources")
    with op.batch_alter_table("sources") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
