"""When each story's document last changed, for Last-Modified: a new table, filled from
the event log so existing stores keep a date (the newest event of each story).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# A new table nothing old reads or writes: older workers leave it behind, which newer web
# nodes survive (the date then trails, never goes back).
phase = "expand"


def upgrade() -> None:
    op.create_table(
        "story_changes",
        sa.Column("story", sa.String(64), primary_key=True),
        sa.Column("changed_at", sa.DateTime, nullable=False),
    )
    op.execute(
        "INSERT INTO story_changes (story, changed_at) "
        "SELECT story, MAX(created_at) FROM events GROUP BY story"
    )


def downgrade() -> None:
    op.drop_table("story_changes")
