"""The connection to SQLite or PostgreSQL, and transactions on it.

Callers open :meth:`Database.read` or :meth:`Database.write` and pass the connection to the query
functions of ``shiptrack.store``. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` and
writers of one process queue on an asyncio lock, so they never fail with "database is locked" and
never spin in SQLite's busy handler; reads run beside them thanks to WAL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shiptrack.domain.errors import ServiceUnavailable

_WRITE = "shiptrack_write"


class Database:
    """One engine per process; cheap to share."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the single-process SQLite store."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot on both databases)."""
        async with _unavailable_as_503(), self.engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no snapshot across statements (each statement sees
        the latest commit): no BEGIN and COMMIT round trips, which the hot read paths notice."""
        async with _unavailable_as_503(), self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends without an exception."""
        async with _unavailable_as_503():
            if self._write_lock is None:
                async with self.engine.begin() as conn:
                    yield conn
                return
            async with self._write_lock, self.engine.connect() as conn:
                conn = await conn.execution_options(**{_WRITE: True})
                async with conn.begin():
                    yield conn

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def create_database(url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
    """A :class:`Database` for an async URL (``sqlite+aiosqlite`` or ``postgresql+asyncpg``)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        # Readers run beside the writer in WAL mode; each connection is a thread of aiosqlite's.
        kwargs["pool_size"] = max(pool_size, 10)
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return Database(engine)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement is its own transaction (Database.quick_read)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE, False) else "BEGIN")


@asynccontextmanager
async def _unavailable_as_503() -> AsyncIterator[None]:
    """Turn "the database cannot be reached" into a 503 the client can retry."""
    try:
        yield
    except DBAPIError as exc:
        if _is_unreachable(exc):
            raise ServiceUnavailable(
                "The database is unavailable right now; retry in a few seconds"
            ) from exc
        raise
    except (OSError, ConnectionError) as exc:
        raise ServiceUnavailable(
            "The database is unavailable right now; retry in a few seconds"
        ) from exc


# PostgreSQL SQLSTATEs meaning "this database cannot be used right now": connection exceptions
# (class 08), the database does not exist (dropped, or not created yet), too many connections, and
# the server shutting down or starting up.
_UNAVAILABLE_SQLSTATES = ("08", "3D000", "53300", "57P01", "57P02", "57P03")


def _is_unreachable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in (
            "connection refused",
            "connection was closed",
            "connection is closed",
            "could not connect",
            "unable to open database",
            "database is locked",
            "too many connections",
            "the database system is",
        )
    )
