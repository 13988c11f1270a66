"""Per-host politeness across workers: when a host's next request may start, and until
when a Retry-After it sent holds every worker back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# A new table nothing old reads: safe while older workers still run.
phase = "expand"


def upgrade() -> None:
    op.create_table(
        "host_turns",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("next_start", UTCDateTime, nullable=False),
        sa.Column("held_until", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("host_turns")
