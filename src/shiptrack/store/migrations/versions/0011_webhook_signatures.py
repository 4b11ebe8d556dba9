"""which signatures a webhook's deliveries carry

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

``webhooks.signatures``: the signature schemes of a webhook's deliveries as a JSON list
(``["standard"]`` skips ShipEngine's RSA signature, the costly one). NULL, the value of every
existing webhook, means every scheme, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("signatures", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE on both databases (SQLite 3.35+), as in 0009.
    op.execute("ALTER TABLE webhooks DROP COLUMN signatures")
