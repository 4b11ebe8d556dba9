"""an index of each webhook's deliveries by state; when a carrier connection last worked

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

The console lists a webhook's deliveries failures first, then newest first, a page at a time
(keyset on ``id`` within each state), and reads its health from its newest delivered and failing
deliveries: ``(webhook_id, state, id)`` serves each of those as a short range read, whatever the
number of deliveries of the webhook (without it, a webhook with few failures among 100,000
deliveries is read whole to find them).

``carrier_connections.last_success_at``: when a call through the connection last worked, noted by
the workers at most once a minute, for the console's carriers page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As earlier revisions write it (the model's UTCDateTime maps to this column type).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_index("ix_deliveries_webhook_state", "deliveries", ["webhook_id", "state", "id"])
    op.add_column("carrier_connections", sa.Column("last_success_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE on both databases (SQLite 3.35+): a batch copy of the table would trip
    # over the packages' foreign keys to it on SQLite.
    op.execute("ALTER TABLE carrier_connections DROP COLUMN last_success_at")
    op.drop_index("ix_deliveries_webhook_state", table_name="deliveries")
