"""each package's public tracking page token; indexes for the console's package list

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

``subscriptions.public_token`` names the package's public tracking page (``/t/{token}``): 128
random bits, URL-safe base64. Packages tracked before this revision get theirs here, in batches.
The console lists an account's packages newest first, by status, and by tracking number prefix.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("public_token", sa.String(32), nullable=True))
    connection = op.get_bind()
    table = sa.table("subscriptions", sa.column("id", sa.BigInteger), sa.column("public_token"))
    while True:
        ids = (
            connection.execute(
                sa.select(table.c.id).where(table.c.public_token.is_(None)).limit(_BATCH)
            )
            .scalars()
            .all()
        )
        if not ids:
            break
        connection.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(public_token=sa.bindparam("token")),
            [{"row_id": row_id, "token": secrets.token_urlsafe(16)} for row_id in ids],
        )
    op.create_index("ix_subscriptions_public_token", "subscriptions", ["public_token"], unique=True)
    op.create_index("ix_subscriptions_account_id_id", "subscriptions", ["account_id", "id"])
    op.create_index(
        "ix_subscriptions_account_status", "subscriptions", ["account_id", "status_code", "id"]
    )
    op.create_index(
        "ix_subscriptions_account_number", "subscriptions", ["account_id", "tracking_number"]
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_account_number", "subscriptions")
    op.drop_index("ix_subscriptions_account_status", "subscriptions")
    op.drop_index("ix_subscriptions_account_id_id", "subscriptions")
    op.drop_index("ix_subscriptions_public_token", "subscriptions")
    op.drop_column("subscriptions", "public_token")
