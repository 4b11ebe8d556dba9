"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Types spelled out here, not imported from shiptrack.store.tables: a migration is frozen in time.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_account_id"), "api_keys", ["account_id"], unique=False)
    op.create_table(
        "carrier_connections",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("carrier_code", sa.String(length=40), nullable=False),
        sa.Column("nickname", sa.String(length=200), nullable=False),
        sa.Column("account_number", sa.String(length=100), nullable=True),
        sa.Column("base_url", sa.String(length=2048), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("deleted_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_carrier_connections_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_connections")),
    )
    op.create_index(
        op.f("ix_carrier_connections_account_id_carrier_code"),
        "carrier_connections",
        ["account_id", "carrier_code"],
        unique=False,
    )
    op.create_table(
        "webhooks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("deleted_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhooks_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index(
        "uq_webhooks_live_event_url",
        "webhooks",
        ["account_id", "event", "url"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("connection_id", ID, nullable=False),
        sa.Column("carrier_code", sa.String(length=40), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("status_detail_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_status_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_detail_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_status_description", sa.Text(), nullable=True),
        sa.Column("ship_date", sa.String(length=40), nullable=True),
        sa.Column("estimated_delivery_date", sa.String(length=40), nullable=True),
        sa.Column("actual_delivery_date", sa.String(length=40), nullable=True),
        sa.Column("exception_description", sa.Text(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("next_check_at", UTC_DATETIME, nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_checked_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("stop_reason", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("stopped_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_subscriptions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["carrier_connections.id"],
            name=op.f("fk_subscriptions_connection_id_carrier_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "account_id",
            "carrier_code",
            "tracking_number",
            name=op.f("uq_subscriptions_account_id_carrier_code_tracking_number"),
        ),
    )
    op.create_index(
        op.f("ix_subscriptions_connection_id"), "subscriptions", ["connection_id"], unique=False
    )
    op.create_index(
        "ix_subscriptions_due",
        "subscriptions",
        ["next_check_at"],
        unique=False,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("previous_status", sa.String(length=2), nullable=True),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("status_detail_code", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", UTC_DATETIME, nullable=True),
        sa.Column("detected_at", UTC_DATETIME, nullable=False),
        sa.Column("correction", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_status_changes_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
        sa.UniqueConstraint(
            "subscription_id", "sequence", name=op.f("uq_status_changes_subscription_id_sequence")
        ),
    )
    op.create_table(
        "tracking_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=True),
        sa.Column("carrier_occurred_at", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("city_locality", sa.String(length=200), nullable=True),
        sa.Column("state_province", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=40), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("signer", sa.String(length=200), nullable=True),
        sa.Column("event_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_detail_code", sa.String(length=64), nullable=True),
        sa.Column("status_code", sa.String(length=2), nullable=False),
        sa.Column("status_detail_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_status_code", sa.String(length=64), nullable=True),
        sa.Column("carrier_status_description", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("proof_of_delivery_url", sa.String(length=2048), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_tracking_events_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_events")),
        sa.UniqueConstraint(
            "subscription_id", "identity", name=op.f("uq_tracking_events_subscription_id_identity")
        ),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("webhook_id", ID, nullable=False),
        sa.Column("status_change_id", ID, nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["status_change_id"],
            ["status_changes.id"],
            name=op.f("fk_deliveries_status_change_id_status_changes"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_deliveries_subscription_id_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_deliveries_webhook_id_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "status_change_id", name=op.f("uq_deliveries_webhook_id_status_change_id")
        ),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        op.f("ix_deliveries_subscription_id_webhook_id_sequence"),
        "deliveries",
        ["subscription_id", "webhook_id", "sequence"],
        unique=False,
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("attempted_at", UTC_DATETIME, nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_delivery_attempts_delivery_id"), "delivery_attempts", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_attempts_delivery_id"), table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index(
        op.f("ix_deliveries_subscription_id_webhook_id_sequence"), table_name="deliveries"
    )
    op.drop_index(
        "ix_deliveries_due",
        table_name="deliveries",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_table("deliveries")
    op.drop_table("tracking_events")
    op.drop_table("status_changes")
    op.drop_index(
        "ix_subscriptions_due",
        table_name="subscriptions",
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.drop_index(op.f("ix_subscriptions_connection_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(
        "uq_webhooks_live_event_url",
        table_name="webhooks",
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("webhooks")
    op.drop_index(
        op.f("ix_carrier_connections_account_id_carrier_code"), table_name="carrier_connections"
    )
    op.drop_table("carrier_connections")
    op.drop_index(op.f("ix_api_keys_account_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("accounts")
