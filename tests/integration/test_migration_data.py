"""Migrations keep the data already stored, not only the schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from shiptrack.domain.changes import StoredEvent
from shiptrack.domain.tracking import TrackEvent
from shiptrack.store import histories, migrate
from shiptrack.store.database import Database, create_database
from shiptrack.store.sql import SqlStore
from tests.conftest import DatabaseServer

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_event_identities_survive_the_move_to_binary(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = test_database.fresh(tmp_path)
    identity = "0123456789abcdef01234567"

    async def go() -> tuple[bytes, int]:
        database = create_database(url)
        try:
            await migrate.upgrade(database, "0004")
            await _account_connection_and_packages(database, 1)
            async with database.write() as conn:
                await conn.execute(
                    sa.text(
                        "INSERT INTO tracking_events (subscription_id, identity, status_code, "
                        "created_at) VALUES (1, :identity, 'IT', :now)"
                    ),
                    {"identity": identity, "now": NOW},
                )
            await migrate.upgrade(database, "0005")
            async with database.read() as conn:
                stored = (
                    await conn.execute(sa.text("SELECT identity FROM tracking_events"))
                ).scalar_one()
                columns = await conn.run_sync(
                    lambda sync: {
                        c["name"] for c in sa.inspect(sync).get_columns("tracking_events")
                    }
                )
            return bytes(stored), len(columns & {"created_at"})
        finally:
            await database.dispose()

    stored, leftover = asyncio.run(go())
    assert stored == bytes.fromhex(identity)
    assert leftover == 0


async def _account_connection_and_packages(database: Database, count: int) -> None:
    async with database.write() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO accounts (id, name, sandbox, created_at) VALUES (1, 'a', false, :now)"
            ),
            {"now": NOW},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO carrier_connections (id, account_id, carrier_code, nickname, "
                "simulated, failures, created_at) VALUES (1, 1, 'ups', 'UPS', true, 0, :now)"
            ),
            {"now": NOW},
        )
        for number in range(1, count + 1):
            await conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (id, account_id, connection_id, carrier_code, "
                    "tracking_number, active, status_code, sequence, announce, created_at, "
                    "updated_at) VALUES (:id, 1, 1, 'ups', :number, true, 'IT', 1, false, "
                    ":now, :now)"
                ),
                {"id": number, "number": f"1Z{number}", "now": NOW},
            )


#: Two scans of package 1 (one with every field, one nearly empty) and one of package 3; package 2
#: has none.
SCANS = {
    1: [
        (
            bytes.fromhex("00112233445566778899aabb"),
            TrackEvent(
                status_code="DE",
                occurred_at=NOW + timedelta(hours=5, microseconds=123000),
                carrier_occurred_at="2026-11-27T00:00:00.123",
                description="Delivered, front porch \u2014 signed",
                city_locality="Zürich",
                state_province="ZH",
                postal_code="8001",
                country_code="CH",
                company_name="ACME",
                signer="J. DOE",
                event_code="KB",
                carrier_detail_code="KB",
                status_detail_code="DELIVERED",
                carrier_status_code="D",
                carrier_status_description="Delivered",
                latitude=47.3769,
                longitude=8.5417,
                proof_of_delivery_url="https://example.com/pod/1",
            ),
        ),
        (bytes.fromhex("ffeeddccbbaa998877665544"), TrackEvent(status_code="UN")),
    ],
    3: [
        (
            bytes.fromhex("0102030405060708090a0b0c"),
            TrackEvent(status_code="IT", carrier_occurred_at="2026-11-26T08:00:00"),
        )
    ],
}


def test_stored_scans_move_into_histories_and_back(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = test_database.fresh(tmp_path)
    fields = ("identity", *histories.EVENT_FIELDS)

    def as_row(number: int, identity: bytes, event: TrackEvent) -> tuple[object, ...]:
        return (number, identity, *(getattr(event, name) for name in histories.EVENT_FIELDS))

    async def rows_at_0005(database: Database) -> set[tuple[object, ...]]:
        async with database.read() as conn:
            result = await conn.execute(
                sa.text(f"SELECT subscription_id, {', '.join(fields)} FROM tracking_events")
            )
            found = set()
            for row in result:
                values = list(row)
                values[1] = bytes(values[1])
                moment = values[3]
                if isinstance(moment, str):  # SQLite: naive UTC text
                    moment = datetime.fromisoformat(moment)
                if moment is not None:
                    values[3] = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
                found.add(tuple(values))
            return found

    insert_scan = sa.text(
        f"INSERT INTO tracking_events (subscription_id, {', '.join(fields)}) "
        f"VALUES (:subscription_id, {', '.join(':' + f for f in fields)})"
    )

    async def go() -> tuple[dict[int, list[StoredEvent]], set[tuple[object, ...]]]:
        database = create_database(url)
        try:
            await migrate.upgrade(database, "0005")
            await _account_connection_and_packages(database, 3)
            async with database.write() as conn:
                for number, scans in SCANS.items():
                    for identity, event in scans:
                        await conn.execute(
                            insert_scan,
                            {
                                "subscription_id": number,
                                "identity": identity,
                                **{name: getattr(event, name) for name in histories.EVENT_FIELDS},
                            },
                        )
            await migrate.upgrade(database)
            async with SqlStore(database).read() as tx:
                moved = await tx.packages.histories([1, 2, 3])
            await migrate.downgrade(database, "0005")
            return moved, await rows_at_0005(database)
        finally:
            await database.dispose()

    moved, back = asyncio.run(go())
    assert moved == {1: SCANS[1], 2: [], 3: SCANS[3]}
    assert back == {as_row(n, i, e) for n, scans in SCANS.items() for i, e in scans}
