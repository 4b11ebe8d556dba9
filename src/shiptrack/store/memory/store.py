"""The in-memory store: the port's behaviour on plain Python data, for fast tests.

Write transactions run one at a time (an ``asyncio.Lock``) on copies of the tables they change,
and replace the committed state when their block ends without an exception: a block that raises
leaves nothing behind. A read sees the state committed when it began, whatever commits meanwhile.
A read transaction cannot write, and a transaction cannot be used to write once its block has ended
(:class:`~shiptrack.store.memory.tables.ReadOnlyTransaction`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from shiptrack.store.memory.accounts import MemoryAccounts
from shiptrack.store.memory.connections import MemoryConnections
from shiptrack.store.memory.installation import MemoryInstallation
from shiptrack.store.memory.outbox import MemoryOutbox
from shiptrack.store.memory.packages import MemoryPackages
from shiptrack.store.memory.signing_keys import MemorySigningKeys
from shiptrack.store.memory.tables import Ids, Tables
from shiptrack.store.memory.webhooks import MemoryWebhooks
from shiptrack.store.port import (
    FoundPackage,
    PackageWritesListener,
    Store,
    Transaction,
    WrittenPackages,
)

T = TypeVar("T")


class MemoryTransaction:
    """Every aggregate's interface on one state of the tables."""

    def __init__(self, tables: Tables, written: WrittenPackages | None = None) -> None:
        self.accounts = MemoryAccounts(tables)
        self.connections = MemoryConnections(tables)
        self.webhooks = MemoryWebhooks(tables)
        self.packages = MemoryPackages(tables, written)
        self.outbox = MemoryOutbox(tables)
        self.signing_keys = MemorySigningKeys(tables)
        self.installation = MemoryInstallation(tables)


class MemoryStore:
    """A store that keeps everything in this process's memory (nothing survives it)."""

    def __init__(self) -> None:
        self._committed = Tables.empty(Ids())
        self._write_lock = asyncio.Lock()
        self._package_listeners: list[PackageWritesListener] = []

    @property
    def kind(self) -> str:
        """``memory``."""
        return "memory"

    @property
    def committed(self) -> Tables:
        """What is committed now, for tests that look at rows the port never reads back (the
        outbox's payloads, the status changes themselves), as SQL tests read the tables."""
        return self._committed

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """A read-only transaction (one consistent snapshot)."""
        yield MemoryTransaction(self._committed)

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[Transaction]:
        """Reads that need no snapshot across statements (here: a snapshot all the same)."""
        yield MemoryTransaction(self._committed)

    async def read_quickly(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """``work`` on the committed state (nothing here is ever lost)."""
        return await work(MemoryTransaction(self._committed))

    async def find_package(
        self, *, account_id: int, carrier_code: str, tracking_number: str
    ) -> FoundPackage | None:
        """The account's subscription to a package and its history."""
        return MemoryTransaction(self._committed).packages.found(
            account_id=account_id, carrier_code=carrier_code, tracking_number=tracking_number
        )

    async def find_by_public_token(self, token: str) -> FoundPackage | None:
        """The package a public page token names, and its history."""
        return MemoryTransaction(self._committed).packages.found_by_token(token)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """A transaction that commits when the block ends without an exception."""
        written = WrittenPackages()
        try:
            async with self._write_lock:
                working = self._committed.for_writing()
                try:
                    yield MemoryTransaction(working, written)
                finally:
                    working.freeze()
                self._committed = working
        finally:
            if written:
                for listener in self._package_listeners:
                    listener(written)

    def watch_package_writes(self, listener: PackageWritesListener) -> None:
        """See :meth:`shiptrack.store.port.Store.watch_package_writes`."""
        self._package_listeners.append(listener)

    async def schema_problem(self) -> str | None:
        """Nothing to migrate: ``None``."""
        return None

    async def close(self) -> None:
        """Nothing to release."""


def _conforms(store: MemoryStore) -> Store:
    """The type checker proves here that :class:`MemoryStore` implements the port."""
    return store
