"""carrier connections: own request budget and carrier-specific options

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_connections") as batch:
        batch.add_column(sa.Column("requests_per_minute", sa.Float(), nullable=True))
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("carrier_connections") as batch:
        batch.drop_column("options")
        batch.drop_column("requests_per_minute")
