"""The SQL implementation of the store port, on SQLite or PostgreSQL (``store.database``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.store import migrate
from shiptrack.store.accounts import SqlAccounts
from shiptrack.store.connections import SqlConnections
from shiptrack.store.database import Database
from shiptrack.store.installation import SqlInstallation
from shiptrack.store.outbox import SqlOutbox
from shiptrack.store.packages import (
    SqlPackages,
    found_package,
    package_statement,
    public_token_statement,
    read_one_package,
)
from shiptrack.store.port import (
    FoundPackage,
    PackageWritesListener,
    Store,
    Transaction,
    WrittenPackages,
)
from shiptrack.store.signing_keys import SqlSigningKeys
from shiptrack.store.webhooks import SqlWebhooks

T = TypeVar("T")


class SqlTransaction:
    """Every aggregate's queries on one open database transaction."""

    def __init__(self, conn: AsyncConnection, written: WrittenPackages | None = None) -> None:
        self.accounts = SqlAccounts(conn)
        self.connections = SqlConnections(conn)
        self.webhooks = SqlWebhooks(conn)
        self.packages = SqlPackages(conn, written)
        self.outbox = SqlOutbox(conn)
        self.signing_keys = SqlSigningKeys(conn)
        self.installation = SqlInstallation(conn)


class SqlStore:
    """The store on a :class:`~shiptrack.store.database.Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._package_listeners: list[PackageWritesListener] = []

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

    async def read_quickly(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """See :meth:`shiptrack.store.port.Store.read_quickly`."""
        return await self.database.quick_read_once_more(lambda conn: work(SqlTransaction(conn)))

    async def find_package(
        self, *, account_id: int, carrier_code: str, tracking_number: str
    ) -> FoundPackage | None:
        """The account's subscription to a package and its history, read the cheapest way: on
        SQLite in one trip to a reader thread, on PostgreSQL in one quick statement."""
        statement = package_statement(account_id, carrier_code, tracking_number)
        return await self._read_one(statement)

    async def find_by_public_token(self, token: str) -> FoundPackage | None:
        """The package a public page token names, and its history (as :meth:`find_package`)."""
        return await self._read_one(public_token_statement(token))

    async def _read_one(self, statement: sa.Select[tuple[object, ...]]) -> FoundPackage | None:
        if self.database.is_sqlite:
            return await self.database.read_in_thread(read_one_package(statement))

        async def read(conn: AsyncConnection) -> FoundPackage | None:
            return found_package((await conn.execute(statement)).first())

        return await self.database.quick_read_once_more(read)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """A transaction that commits when the block ends without an exception."""
        written = WrittenPackages()
        try:
            async with self.database.write() as conn:
                yield SqlTransaction(conn, written)
        finally:
            if written:
                for listener in self._package_listeners:
                    listener(written)

    def watch_package_writes(self, listener: PackageWritesListener) -> None:
        """See :meth:`shiptrack.store.port.Store.watch_package_writes`."""
        self._package_listeners.append(listener)

    async def schema_problem(self) -> str | None:
        """Why this database cannot be used by this version (not migrated), or ``None``."""
        return await migrate.schema_problem(self.database)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.database.dispose()


def _conforms(store: SqlStore) -> Store:
    """The type checker proves here that :class:`SqlStore` implements the port."""
    return store
