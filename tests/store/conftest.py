"""The stores the contract suite runs against: in memory, SQLite, and PostgreSQL.

Every test of ``tests/store`` that takes ``store`` runs once per store. SQLite is always there;
PostgreSQL only when ``SHIPTRACK_TEST_DATABASE_URL`` names a server (otherwise those runs are
skipped), so each CI run covers the in-memory store and its database. Each SQL store is migrated
once per session and emptied before every test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shiptrack.store import migrate
from shiptrack.store.database import Database, create_database
from shiptrack.store.memory import MemoryStore
from shiptrack.store.port import Store
from shiptrack.store.sql import SqlStore
from shiptrack.store.tables import metadata
from tests.conftest import PG_ENV, DatabaseServer


def _migrated(url: str) -> str:
    async def upgrade() -> None:
        database = create_database(url)
        try:
            await migrate.upgrade(database)
        finally:
            await database.dispose()

    asyncio.run(upgrade())
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database for this session."""
    path: Path = tmp_path_factory.mktemp("store") / "store.db"
    return _migrated(f"sqlite+aiosqlite:///{path}")


@pytest.fixture(scope="session")
def postgresql_url(test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated PostgreSQL database for this session (skips without a server)."""
    if test_database.dialect != "postgresql":
        pytest.skip(f"PostgreSQL runs when {PG_ENV} is set")
    return _migrated(test_database.fresh(tmp_path_factory.mktemp("store")))


async def _empty(database: Database) -> None:
    """Delete every row (ids start again at 1), so each test starts from an empty store."""
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with database.write() as conn:
        if database.is_sqlite:
            for name in tables:
                await conn.execute(sa.text(f'DELETE FROM "{name}"'))
        else:
            names = ", ".join(f'"{name}"' for name in tables)
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Which store a test runs against: ``None`` for the in-memory one, else a database URL."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def _sql_store(url: str) -> AsyncIterator[SqlStore]:
    database = create_database(url)
    try:
        await _empty(database)
        yield SqlStore(database)
    finally:
        await database.dispose()


@pytest.fixture
async def store(store_url: str | None) -> AsyncIterator[Store]:
    """An empty store of each kind."""
    if store_url is None:
        yield MemoryStore()
        return
    async for sql_store in _sql_store(store_url):
        yield sql_store


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest) -> str:
    """A database URL of each kind (for what only a SQL store has)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def sql_store(sql_url: str) -> AsyncIterator[SqlStore]:
    """An empty SQL store of each kind."""
    async for made in _sql_store(sql_url):
        yield made
