"""Migrations keep the data already stored, not only the schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from shiptrack.store import migrate
from shiptrack.store.database import create_database
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
            async with database.write() as conn:
                for statement, values in (
                    (
                        "INSERT INTO accounts (id, name, sandbox, created_at) "
                        "VALUES (1, 'a', false, :now)",
                        {},
                    ),
                    (
                        "INSERT INTO carrier_connections (id, account_id, carrier_code, "
                        "nickname, simulated, failures, created_at) "
                        "VALUES (1, 1, 'ups', 'UPS', true, 0, :now)",
                        {},
                    ),
                    (
                        "INSERT INTO subscriptions (id, account_id, connection_id, carrier_code, "
                        "tracking_number, active, status_code, sequence, announce, created_at, "
                        "updated_at) "
                        "VALUES (1, 1, 1, 'ups', '1Z1', true, 'IT', 1, false, :now, :now)",
                        {},
                    ),
                    (
                        "INSERT INTO tracking_events (subscription_id, identity, status_code, "
                        "created_at) VALUES (1, :identity, 'IT', :now)",
                        {"identity": identity},
                    ),
                ):
                    await conn.execute(sa.text(statement), {"now": NOW, **values})
            await migrate.upgrade(database)
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
