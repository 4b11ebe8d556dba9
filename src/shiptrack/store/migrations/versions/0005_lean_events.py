"""leaner tracking events: 12-byte binary identity, no per-event created_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, identity FROM tracking_events")).fetchall()
    with op.batch_alter_table("tracking_events") as batch:
        batch.drop_constraint("uq_tracking_events_subscription_id_identity", type_="unique")
        batch.drop_column("created_at")
        batch.drop_column("identity")
        batch.add_column(sa.Column("identity", sa.LargeBinary(length=12), nullable=True))
    table = sa.table("tracking_events", sa.column("id"), sa.column("identity", sa.LargeBinary))
    for row_id, identity in rows:
        bind.execute(
            table.update().where(table.c.id == row_id).values(identity=bytes.fromhex(identity))
        )
    with op.batch_alter_table("tracking_events") as batch:
        batch.alter_column("identity", existing_type=sa.LargeBinary(length=12), nullable=False)
        batch.create_unique_constraint(
            "uq_tracking_events_subscription_id_identity", ["subscription_id", "identity"]
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, identity FROM tracking_events")).fetchall()
    with op.batch_alter_table("tracking_events") as batch:
        batch.drop_constraint("uq_tracking_events_subscription_id_identity", type_="unique")
        batch.drop_column("identity")
        batch.add_column(sa.Column("identity", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
    table = sa.table("tracking_events", sa.column("id"), sa.column("identity", sa.String))
    for row_id, identity in rows:
        bind.execute(
            table.update().where(table.c.id == row_id).values(identity=bytes(identity).hex())
        )
    with op.batch_alter_table("tracking_events") as batch:
        batch.alter_column("identity", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(
            "uq_tracking_events_subscription_id_identity", ["subscription_id", "identity"]
        )
