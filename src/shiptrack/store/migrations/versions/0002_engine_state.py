"""tracking engine state: carrier back-off, status_since, announce, exception watching

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("exception_watch_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("carrier_connections") as batch:
        batch.add_column(sa.Column("backoff_until", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("status_since", UTC_DATETIME, nullable=True))
        batch.add_column(
            sa.Column("announce", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("announce")
        batch.drop_column("status_since")
    with op.batch_alter_table("carrier_connections") as batch:
        batch.drop_column("last_error")
        batch.drop_column("failures")
        batch.drop_column("backoff_until")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("exception_watch_days")
