"""SQLite's write lock held by another process (a second ``shiptrack`` process on the same file,
or someone's ``sqlite3`` shell): a write waits for it without stalling the event loop, goes through
once it is free, and gives up with a clear "unavailable" after the configured wait, storing
nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.store.database import Database, create_database
from tests.conftest import DatabaseServer

#: Takes SQLite's write lock on a file, says so, holds it for a while, then commits.
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO notes (text) VALUES ('from the other process')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


@pytest.fixture
async def database(test_database: DatabaseServer, tmp_path: Path) -> AsyncIterator[Database]:
    if test_database.dialect != "sqlite":
        pytest.skip("SQLite's file lock; PostgreSQL writers lock rows, not the database")
    opened = create_database(test_database.fresh(tmp_path), sqlite_lock_wait=5.0)
    async with opened.write() as conn:
        await conn.execute(sa.text("CREATE TABLE notes (text TEXT NOT NULL)"))
    yield opened
    await opened.dispose()


def _path(database: Database) -> str:
    path = database.engine.url.database
    assert path
    return path


@contextmanager
def other_process_holding_the_lock(path: str, seconds: float) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, str(seconds)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield holder
        assert holder.wait(timeout=30) == 0


async def _notes(database: Database) -> list[str]:
    async with database.read() as conn:
        return [row.text for row in await conn.execute(sa.text("SELECT text FROM notes"))]


async def _ticks_while(work: asyncio.Task[None]) -> int:
    """How many 10-ms sleeps the event loop ran while ``work`` was under way."""
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    await work
    return ticks


async def test_a_write_waits_for_another_process_and_then_goes_through(database: Database) -> None:
    async def write() -> None:
        async with database.write() as conn:
            await conn.execute(sa.text("INSERT INTO notes (text) VALUES ('ours')"))

    with other_process_holding_the_lock(_path(database), 0.6):
        began = time.monotonic()
        ticks = await _ticks_while(asyncio.create_task(write()))
        waited = time.monotonic() - began

    assert waited >= 0.3  # it could not go before the other process committed
    assert ticks >= 10  # and the event loop kept running while it waited
    assert sorted(await _notes(database)) == ["from the other process", "ours"]


async def test_a_write_that_cannot_get_the_lock_in_time_is_unavailable_and_stores_nothing(
    database: Database,
) -> None:
    impatient = create_database(f"sqlite+aiosqlite:///{_path(database)}", sqlite_lock_wait=0.3)
    try:
        with (
            other_process_holding_the_lock(_path(database), 2.0),
            pytest.raises(ServiceUnavailable),
        ):
            async with impatient.write() as conn:
                await conn.execute(sa.text("INSERT INTO notes (text) VALUES ('too late')"))
        # The other process's write is kept; the one that gave up stored nothing, and the
        # database takes writes again.
        assert await _notes(database) == ["from the other process"]
        async with impatient.write() as conn:
            await conn.execute(sa.text("INSERT INTO notes (text) VALUES ('later')"))
        assert sorted(await _notes(database)) == ["from the other process", "later"]
    finally:
        await impatient.dispose()
