"""one compressed scan history per subscription instead of a row per scan

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Moves every stored scan into ``tracking_histories`` (the format of ``shiptrack.store.histories``,
frozen here so later changes to that module cannot change what this migration writes) and drops
``tracking_events``. The downgrade moves them back.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FIELDS = (
    "status_code",
    "occurred_at",
    "carrier_occurred_at",
    "description",
    "city_locality",
    "state_province",
    "postal_code",
    "country_code",
    "company_name",
    "signer",
    "event_code",
    "carrier_detail_code",
    "status_detail_code",
    "carrier_status_code",
    "carrier_status_description",
    "latitude",
    "longitude",
    "proof_of_delivery_url",
)
VERSION = b"\x01"
#: Subscriptions moved per statement, so a large database never sits in memory at once.
CHUNK = 2000

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text where no type was declared to read it
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value.isoformat())


def _encode(rows: list[dict[str, Any]]) -> bytes:
    document = []
    for row in rows:
        item: list[Any] = [bytes(row["identity"]).hex()]
        item.extend(_moment(row[f]) if f == "occurred_at" else row[f] for f in FIELDS)
        while item[-1] is None:
            item.pop()
        document.append(item)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return VERSION + zlib.compress(text.encode("utf-8"))


def _decode(stored: bytes) -> list[dict[str, Any]]:
    assert stored[:1] == VERSION, stored[:1]
    found = []
    for item in json.loads(zlib.decompress(stored[1:])):
        row: dict[str, Any] = dict.fromkeys(FIELDS)
        row.update(zip(FIELDS, item[1:], strict=False))
        row["identity"] = bytes.fromhex(item[0])
        if row["occurred_at"] is not None:
            row["occurred_at"] = datetime.fromisoformat(row["occurred_at"]).replace(tzinfo=UTC)
        found.append(row)
    return found


def _events_by_subscription(bind: sa.Connection) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    events = sa.table(
        "tracking_events",
        sa.column("id"),
        sa.column("subscription_id"),
        sa.column("identity", sa.LargeBinary),
        sa.column("occurred_at", sa.DateTime),
        *(sa.column(f) for f in FIELDS if f != "occurred_at"),
    )
    last = 0
    while True:
        ids = [
            row[0]
            for row in bind.execute(
                sa.select(events.c.subscription_id)
                .where(events.c.subscription_id > last)
                .group_by(events.c.subscription_id)
                .order_by(events.c.subscription_id)
                .limit(CHUNK)
            )
        ]
        if not ids:
            return
        grouped: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for row in bind.execute(
            sa.select(events).where(events.c.subscription_id.in_(ids)).order_by(events.c.id)
        ):
            grouped[row.subscription_id].append(dict(row._mapping))
        yield from grouped.items()
        last = ids[-1]


def upgrade() -> None:
    histories = op.create_table(
        "tracking_histories",
        sa.Column(
            "subscription_id",
            Id,
            sa.ForeignKey(
                "subscriptions.id", name="fk_tracking_histories_subscription_id_subscriptions"
            ),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_tracking_histories"),
    )
    bind = op.get_bind()
    batch: list[dict[str, Any]] = []
    for subscription_id, rows in _events_by_subscription(bind):
        batch.append({"subscription_id": subscription_id, "events": _encode(rows)})
        if len(batch) >= CHUNK:
            bind.execute(histories.insert(), batch)
            batch = []
    if batch:
        bind.execute(histories.insert(), batch)
    op.drop_table("tracking_events")


def downgrade() -> None:
    events = op.create_table(
        "tracking_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "subscription_id",
            Id,
            sa.ForeignKey(
                "subscriptions.id", name="fk_tracking_events_subscription_id_subscriptions"
            ),
            nullable=False,
        ),
        sa.Column("identity", sa.LargeBinary(length=12), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("carrier_occurred_at", sa.String(40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("city_locality", sa.String(200), nullable=True),
        sa.Column("state_province", sa.String(100), nullable=True),
        sa.Column("postal_code", sa.String(40), nullable=True),
        sa.Column("country_code", sa.String(2), nullable=True),
        sa.Column("company_name", sa.String(200), nullable=True),
        sa.Column("signer", sa.String(200), nullable=True),
        sa.Column("event_code", sa.String(64), nullable=True),
        sa.Column("carrier_detail_code", sa.String(64), nullable=True),
        sa.Column("status_code", sa.String(2), nullable=False),
        sa.Column("status_detail_code", sa.String(64), nullable=True),
        sa.Column("carrier_status_code", sa.String(64), nullable=True),
        sa.Column("carrier_status_description", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("proof_of_delivery_url", sa.String(2048), nullable=True),
        sa.UniqueConstraint(
            "subscription_id", "identity", name="uq_tracking_events_subscription_id_identity"
        ),
    )
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    histories = sa.table(
        "tracking_histories", sa.column("subscription_id"), sa.column("events", sa.LargeBinary)
    )
    last = 0
    while True:
        chunk = list(
            bind.execute(
                sa.select(histories)
                .where(histories.c.subscription_id > last)
                .order_by(histories.c.subscription_id)
                .limit(CHUNK)
            )
        )
        if not chunk:
            break
        rows = []
        for subscription_id, stored in chunk:
            for row in _decode(bytes(stored)):
                if sqlite and row["occurred_at"] is not None:
                    row["occurred_at"] = row["occurred_at"].replace(tzinfo=None)
                rows.append({"subscription_id": subscription_id, **row})
        if rows:
            bind.execute(events.insert(), rows)
        last = chunk[-1][0]
    op.drop_table("tracking_histories")
