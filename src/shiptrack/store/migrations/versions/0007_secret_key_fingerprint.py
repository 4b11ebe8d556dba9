"""the fingerprint of the secret key the database was first used with

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

An empty table: the first process that opens the database with its secret key records the key's
fingerprint (``shiptrack.services.secret_key``); a database upgraded from 0006 gets its row then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Spelled out here, not imported from shiptrack.store.tables: a migration is frozen in time.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "secret_key",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_secret_key_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_key")),
    )


def downgrade() -> None:
    op.drop_table("secret_key")
