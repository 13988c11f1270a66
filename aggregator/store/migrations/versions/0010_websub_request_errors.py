"""Each WebSub subscription keeps why its last request to the hub failed (a hub on a
private address refused, a hub that did not answer), so /healthz can say it: until
now only the log did.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from aggregator.store.migrations.frozen import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# Two nullable columns older code neither reads nor writes.
phase = "expand"


def upgrade() -> None:
    with op.batch_alter_table("websub_subscriptions") as batch:
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_error_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("websub_subscriptions") as batch:
        batch.drop_column("last_error_at")
        batch.drop_column("last_error")
