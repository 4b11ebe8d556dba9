"""how many checks in a row heard that a package's number is invalid

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

``subscriptions.invalid_checks``: a carrier that says the number itself is invalid (UPS "Invalid
inquiry number", FedEx ``TRACKING.TRACKINGNUMBER.INVALID``, …) is asked again a few times; tracking
stops once that many answers in a row said so (``domain.schedule.INVALID_NUMBER_CONFIRMATIONS``).
Existing packages start at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("invalid_checks", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # A plain ALTER TABLE on both databases (SQLite 3.35+), as in 0009.
    op.execute("ALTER TABLE subscriptions DROP COLUMN invalid_checks")
