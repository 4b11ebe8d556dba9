"""The schema, as SQLAlchemy Core tables: the truth the migrations must reproduce.

``tests/integration/test_migrations.py`` checks that applying every Alembic migration gives exactly
this schema, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A point in time, always UTC and timezone-aware in Python.

    PostgreSQL keeps it as ``timestamptz``; SQLite, which has no time zones, as naive UTC text.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL ids get 64 bits.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, Id, sa.ForeignKey(target), nullable=nullable)


def _created_at() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


accounts = sa.Table(
    "accounts",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sandbox", sa.Boolean(), nullable=False),
    sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
    # Keep watching a package this many days after it hits an exception (NULL: stop at once).
    sa.Column("exception_watch_days", sa.Integer(), nullable=True),
    _created_at(),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    _id(),
    _fk("account_id", "accounts.id"),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    _created_at(),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Index(None, "account_id"),
)

carrier_connections = sa.Table(
    "carrier_connections",
    metadata,
    _id(),
    _fk("account_id", "accounts.id"),
    sa.Column("carrier_code", sa.String(40), nullable=False),
    sa.Column("nickname", sa.String(200), nullable=False),
    sa.Column("account_number", sa.String(100), nullable=True),
    sa.Column("base_url", sa.String(2048), nullable=True),
    # Credentials sealed with the secret key (shiptrack.sealing); never returned.
    sa.Column("credentials", sa.Text(), nullable=True),
    sa.Column("simulated", sa.Boolean(), nullable=False),
    # The connection's own request budget (NULL: the carrier's published limit).
    sa.Column("requests_per_minute", sa.Float(), nullable=True),
    # Carrier-specific choices, e.g. {"api_version": "v3"} for USPS.
    sa.Column("options", sa.JSON(), nullable=True),
    # Carrier back-off, shared by every worker: no call before backoff_until.
    sa.Column("backoff_until", UTCDateTime(), nullable=True),
    sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text(), nullable=True),
    # When a call through it last worked, to the minute (migration 0009).
    sa.Column("last_success_at", UTCDateTime(), nullable=True),
    _created_at(),
    sa.Column("deleted_at", UTCDateTime(), nullable=True),
    sa.Index(None, "account_id", "carrier_code"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    _id(),
    _fk("account_id", "accounts.id"),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("store_id", sa.Integer(), nullable=True),
    sa.Column("headers", sa.JSON(), nullable=False),
    # The signature schemes of its deliveries as a JSON list; NULL is both (migration 0011).
    sa.Column("signatures", sa.JSON(), nullable=True),
    # The Standard Webhooks signing secret (whsec_…), sealed; the previous one stays valid for an
    # overlap after a rotation.
    sa.Column("secret", sa.Text(), nullable=True),
    sa.Column("previous_secret", sa.Text(), nullable=True),
    sa.Column("previous_secret_expires_at", UTCDateTime(), nullable=True),
    # Health: failing since the first failure after a success; disabled after long failure.
    sa.Column("failing_since", UTCDateTime(), nullable=True),
    sa.Column("disabled_at", UTCDateTime(), nullable=True),
    _created_at(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("deleted_at", UTCDateTime(), nullable=True),
    # One live webhook per (account, event, url): a second one is a 409.
    sa.Index(
        "uq_webhooks_live_event_url",
        "account_id",
        "event",
        "url",
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    _id(),
    _fk("account_id", "accounts.id"),
    _fk("connection_id", "carrier_connections.id"),
    # The tracking carrier code (``usps`` for a Stamps.com connection).
    sa.Column("carrier_code", sa.String(40), nullable=False),
    sa.Column("tracking_number", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("status_code", sa.String(2), nullable=False),
    sa.Column("status_detail_code", sa.String(64), nullable=True),
    sa.Column("carrier_status_code", sa.String(64), nullable=True),
    sa.Column("carrier_detail_code", sa.String(64), nullable=True),
    sa.Column("carrier_status_description", sa.Text(), nullable=True),
    sa.Column("ship_date", sa.String(40), nullable=True),
    sa.Column("estimated_delivery_date", sa.String(40), nullable=True),
    sa.Column("actual_delivery_date", sa.String(40), nullable=True),
    sa.Column("exception_description", sa.Text(), nullable=True),
    # The last status change's sequence number; status_changes continue from it.
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("next_check_at", UTCDateTime(), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Column("last_checked_at", UTCDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("stop_reason", sa.String(40), nullable=True),
    # When the current status was first seen.
    sa.Column("status_since", UTCDateTime(), nullable=True),
    # Checks in a row whose carrier said the number is invalid (migration 0010).
    sa.Column("invalid_checks", sa.Integer(), nullable=False, server_default="0"),
    # The next successful check notifies the current state even if nothing changed (a restart).
    sa.Column("announce", sa.Boolean(), nullable=False, server_default=sa.false()),
    # The package's public tracking page is /t/{public_token}: 128 random bits (migration 0008).
    sa.Column("public_token", sa.String(32), nullable=True),
    _created_at(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("stopped_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("account_id", "carrier_code", "tracking_number"),
    sa.Index(None, "connection_id"),
    sa.Index("ix_subscriptions_public_token", "public_token", unique=True),
    # The console's package list: newest first, by status, by tracking number prefix.
    sa.Index("ix_subscriptions_account_id_id", "account_id", "id"),
    sa.Index("ix_subscriptions_account_status", "account_id", "status_code", "id"),
    sa.Index("ix_subscriptions_account_number", "account_id", "tracking_number"),
    # Claiming due work reads only active rows in next_check_at order.
    sa.Index(
        "ix_subscriptions_due",
        "next_check_at",
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    ),
)

# A package's scans, one compressed document per subscription (see ``store/histories.py``).
tracking_histories = sa.Table(
    "tracking_histories",
    metadata,
    sa.Column(
        "subscription_id",
        Id,
        sa.ForeignKey("subscriptions.id"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("events", sa.LargeBinary(), nullable=False),
)

status_changes = sa.Table(
    "status_changes",
    metadata,
    _id(),
    _fk("subscription_id", "subscriptions.id"),
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("previous_status", sa.String(2), nullable=True),
    sa.Column("status_code", sa.String(2), nullable=False),
    sa.Column("status_detail_code", sa.String(64), nullable=True),
    sa.Column("occurred_at", UTCDateTime(), nullable=True),
    sa.Column("detected_at", UTCDateTime(), nullable=False),
    sa.Column("correction", sa.Boolean(), nullable=False),
    sa.UniqueConstraint("subscription_id", "sequence"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    _id(),
    _fk("webhook_id", "webhooks.id"),
    # Both NULL for a test event sent from the API.
    _fk("status_change_id", "status_changes.id", nullable=True),
    _fk("subscription_id", "subscriptions.id", nullable=True),
    sa.Column("sequence", sa.Integer(), nullable=False),
    # The Standard Webhooks ``webhook-id``: the same on every retry and replay.
    sa.Column("message_id", sa.String(64), nullable=False),
    # The exact bytes signed and sent.
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("lease_until", UTCDateTime(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    _created_at(),
    sa.Column("delivered_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("webhook_id", "status_change_id"),
    sa.Index(None, "subscription_id", "webhook_id", "sequence"),
    # The console's webhook page: each state's deliveries newest first (migration 0009).
    sa.Index("ix_deliveries_webhook_state", "webhook_id", "state", "id"),
    sa.Index(
        "ix_deliveries_due",
        "next_attempt_at",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    _id(),
    sa.Column("kid", sa.String(64), nullable=False, unique=True),
    # RSA private key (PEM), sealed with the secret key.
    sa.Column("private_key", sa.Text(), nullable=False),
    # The public half as a JWK, as /jwks publishes it.
    sa.Column("public_jwk", sa.JSON(), nullable=False),
    _created_at(),
    # Published from creation; used for signing from activates_at; unpublished after retires_at.
    sa.Column("activates_at", UTCDateTime(), nullable=False),
    sa.Column("retires_at", UTCDateTime(), nullable=True),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    _id(),
    _fk("delivery_id", "deliveries.id"),
    sa.Column("attempted_at", UTCDateTime(), nullable=False),
    sa.Column("response_status", sa.Integer(), nullable=True),
    sa.Column("latency_ms", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Index(None, "delivery_id"),
)

secret_key = sa.Table(
    "secret_key",
    metadata,
    # One row at most (id 1): the fingerprint of the secret key the database was first used with,
    # never the key (shiptrack.services.secret_key). A process with another key refuses to start.
    sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("id = 1", name="one_row"),
)
