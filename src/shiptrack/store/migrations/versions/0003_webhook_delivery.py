"""webhook delivery: signing keys, webhook secrets and health, test deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("previous_secret_expires_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("failing_since", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("disabled_at", UTC_DATETIME, nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("status_change_id", existing_type=ID, nullable=True)
        batch.alter_column("subscription_id", existing_type=ID, nullable=True)
    op.create_table(
        "signing_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("activates_at", UTC_DATETIME, nullable=False),
        sa.Column("retires_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("subscription_id", existing_type=ID, nullable=False)
        batch.alter_column("status_change_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("failing_since")
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret")
        batch.drop_column("secret")
