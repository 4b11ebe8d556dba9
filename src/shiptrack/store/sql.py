"""The SQL implementation of the store port, on SQLite or PostgreSQL (``store.database``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.store import migrate
from shiptrack.store.accounts import SqlAccounts
from shiptrack.store.connections import SqlConnections
from shiptrack.store.database import Database
from shiptrack.store.installation import SqlInstallation
from shiptrack.store.outbox import SqlOutbox
from shiptrack.store.packages import SqlPackages
from shiptrack.store.port import Store, Transaction
from shiptrack.store.signing_keys import SqlSigningKeys
from shiptrack.store.webhooks import SqlWebhooks


class SqlTransaction:
    """Every aggregate's queries on one open database transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.accounts = SqlAccounts(conn)
        self.connections = SqlConnections(conn)
        self.webhooks = SqlWebhooks(conn)
        self.packages = SqlPackages(conn)
        self.outbox = SqlOutbox(conn)
        self.signing_keys = SqlSigningKeys(conn)
        self.installation = SqlInstallation(conn)


class SqlStore:
    """The store on a :class:`~shiptrack.store.database.Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.database.dialect

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """A read-only transaction (one consistent snapshot)."""
        async with self.database.read() as conn:
            yield SqlTransaction(conn)

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[Transaction]:
        """Reads that need no snapshot across statements: no BEGIN and COMMIT round trips."""
        async with self.database.quick_read() as conn:
            yield SqlTransaction(conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """A transaction that commits when the block ends without an exception."""
        async with self.database.write() as conn:
            yield SqlTransaction(conn)

    async def schema_problem(self) -> str | None:
        """Why this database cannot be used by this version (not migrated), or ``None``."""
        return await migrate.schema_problem(self.database)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.database.dispose()


def _conforms(store: SqlStore) -> Store:
    """The type checker proves here that :class:`SqlStore` implements the port."""
    return store
