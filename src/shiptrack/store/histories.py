"""A package's scans, stored as one compressed history per subscription.

A row per scan cost about 200 bytes of table and 70 of indexes on PostgreSQL (tuple header, key,
two index entries, the carrier's texts repeated scan after scan). One compact, compressed document
per package is a quarter of that, is read with one primary-key lookup, and is rewritten only when a
check brings new scans. Every writer holds the subscription's row lock first
(:meth:`shiptrack.store.port.Packages.owned`), so two writers never merge into one history at once.

Format: one version byte, then zlib-compressed JSON: a list of scans, each a list of the
identity (hex) followed by :data:`EVENT_FIELDS` in that order, trailing nulls left out.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.changes import StoredEvent
from shiptrack.domain.tracking import TrackEvent
from shiptrack.store.dialect import insert
from shiptrack.store.tables import tracking_histories

#: The scan fields a history keeps, in their stored order. New fields go at the end: a history
#: written before them decodes with ``None``.
EVENT_FIELDS = (
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
_VERSION = b"\x01"


class CorruptHistory(ValueError):
    """A stored history that cannot be read back (unknown version or damaged bytes)."""


def encode(events: Iterable[StoredEvent]) -> bytes:
    """The stored form of a package's scans."""
    rows = []
    for identity, event in events:
        row: list[Any] = [identity.hex()]
        for name in EVENT_FIELDS:
            value = getattr(event, name)
            if isinstance(value, datetime):
                value = value.astimezone(UTC).replace(tzinfo=None).isoformat()
            row.append(value)
        while row[-1] is None:
            row.pop()
        rows.append(row)
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    return _VERSION + zlib.compress(text.encode("utf-8"))


def decode(stored: bytes) -> list[StoredEvent]:
    """The scans of a stored history, in the order they were first stored."""
    if stored[:1] != _VERSION:
        raise CorruptHistory(f"unknown history format {stored[:1]!r}")
    try:
        rows = json.loads(zlib.decompress(stored[1:]))
    except (zlib.error, ValueError) as error:
        raise CorruptHistory(str(error)) from error
    found = []
    for row in rows:
        values = dict(zip(EVENT_FIELDS, row[1:], strict=False))
        moment = values.get("occurred_at")
        if moment is not None:
            values["occurred_at"] = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        found.append((bytes.fromhex(row[0]), TrackEvent(**values)))
    return found


async def load(
    conn: AsyncConnection, subscription_ids: Sequence[int]
) -> dict[int, list[StoredEvent]]:
    """The stored scans of each subscription (an empty list for one with none)."""
    found: dict[int, list[StoredEvent]] = {i: [] for i in subscription_ids}
    if not subscription_ids:
        return found
    rows = await conn.execute(
        sa.select(tracking_histories.c.subscription_id, tracking_histories.c.events).where(
            tracking_histories.c.subscription_id.in_(subscription_ids)
        )
    )
    for subscription_id, stored in rows:
        found[subscription_id] = decode(bytes(stored))
    return found


async def save(conn: AsyncConnection, histories: Mapping[int, Sequence[StoredEvent]]) -> None:
    """Replace the stored scans of each given subscription; the caller holds their row locks."""
    if not histories:
        return
    statement = insert(conn, tracking_histories)
    statement = statement.on_conflict_do_update(
        index_elements=["subscription_id"], set_={"events": statement.excluded.events}
    )
    await conn.execute(
        statement,
        [
            {"subscription_id": subscription_id, "events": encode(events)}
            for subscription_id, events in sorted(histories.items())
        ],
    )


def scans(stored: bytes | None) -> list[TrackEvent]:
    """The scans of a stored history read alongside its subscription (``None``: none yet)."""
    return [] if stored is None else [event for _, event in decode(bytes(stored))]
