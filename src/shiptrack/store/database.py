"""The connection to SQLite or PostgreSQL, and transactions on it.

Callers open :meth:`Database.read` or :meth:`Database.write` and pass the connection to the query
functions of ``shiptrack.store``. On SQLite, writes go through one connection of their own: the
writers of one process queue on an asyncio lock, and each write transaction starts with
``BEGIN IMMEDIATE``. When another process holds SQLite's write lock, that BEGIN is tried again after
short asyncio sleeps (0.5 ms, doubling up to 5 ms) instead of in SQLite's busy handler, whose sleeps
grow to 100 ms in the driver's thread and so often last long after the lock is free. Reads run
beside the writer thanks to WAL.

The hottest reads on SQLite (``GET /v1/tracking``, the public page) go to
:meth:`Database.read_in_thread` instead: one trip to a reader thread with its own plain
``sqlite3`` connection, where the statement runs, its row is fetched and read, instead of
aiosqlite's trip per driver call (cursor, execute, fetch, close, rollback: five, counted).

SQLite runs with ``synchronous=FULL``: every commit syncs the WAL to disk before it returns, so what
a ``204`` acknowledged survives a power loss or an operating-system crash, not only the death of
the process (``NORMAL`` would lose the last commits before a checkpoint). The cost is one fsync per
commit, which group commit (``engine.batching``) shares among everything written together.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.util import await_only

from shiptrack.domain.errors import ServiceUnavailable

T = TypeVar("T")

#: Longest wait for a free PostgreSQL connection (SQLAlchemy's pool timeout), then ``503``.
CONNECTION_WAIT = 30.0
#: Threads that run :meth:`Database.read_in_thread` on SQLite, each with its own connection.
SQLITE_READER_THREADS = 4
#: How long a write waits for another process to release SQLite's write lock (then: 503).
SQLITE_LOCK_WAIT = 30.0
#: The execution option of :meth:`Database.quick_read` on SQLite: no BEGIN before its statements.
_QUICK = "shiptrack_quick_read"
#: The first and the longest pause between two tries at SQLite's write lock.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0005, 0.005


class Database:
    """One engine per process (two on SQLite: the readers' and the writer's); cheap to share."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        writer: AsyncEngine | None = None,
        thread_readers: sa.Engine | None = None,
        connection_slots: int | None = None,
        connection_wait: float = CONNECTION_WAIT,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = writer or engine
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # PostgreSQL: callers queue here, first come first served, for one of the pool's
        # connections (the pool's own waiting is not fair: under load some requests waited more
        # than a second while most took 35 ms).
        self._slots = asyncio.Semaphore(connection_slots) if connection_slots else None
        self._connection_wait = connection_wait
        # SQLite only: plain sqlite3 connections, one per thread of an executor made on first use
        # (and again after dispose(): engines may be used again once disposed).
        self._thread_readers = thread_readers
        self._reader_threads: ThreadPoolExecutor | None = None

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine of this database: the readers', and on SQLite the writer's too."""
        return (self.engine,) if self._writer is self.engine else (self.engine, self._writer)

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the single-process SQLite store."""
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot on both databases)."""
        async with self._slot(), _unavailable_as_503(), self.engine.connect() as conn:
            if not self.is_sqlite:
                # PostgreSQL's default, READ COMMITTED, gives each statement a snapshot of its
                # own; REPEATABLE READ gives the transaction one (asyncpg says so in its BEGIN, no
                # extra round trip). SQLite's read transactions are snapshots already (WAL).
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def quick_read(self, *, ping: bool = True) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no snapshot across statements (each statement sees
        the latest commit): no BEGIN and COMMIT round trips, which the hot read paths notice.
        ``ping=False``: a pooled connection is not checked first (see
        :meth:`quick_read_once_more`)."""
        async with self._slot(), _unavailable_as_503(), self._connection(ping=ping) as conn:
            if self.is_sqlite:
                # The driver is in autocommit already (see _configure_sqlite): telling the BEGIN
                # listener to stay quiet is enough. Switching the isolation level instead would
                # cost SQLite three more trips to the driver's thread (set, reset, PRAGMA).
                yield await conn.execution_options(**{_QUICK: True})
            else:
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def quick_read_once_more(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` on a :meth:`quick_read` connection and, when that connection is lost under
        it (a database restart, a failover, a killed backend), once more on a fresh one: a read
        is safe to repeat, and the checkout ping cannot see a connection lost after it. A second
        loss, or a database that is down, is the usual ``503``."""
        try:
            # Unchecked: a lost connection costs this read a second try, where the ping would
            # cost every read a round trip. The second try's connection is checked.
            async with self.quick_read(ping=False) as conn:
                return await work(conn)
        except ServiceUnavailable as error:
            if error.__cause__ is None:  # every connection busy: no connection was lost
                raise
        async with self.quick_read() as conn:
            return await work(conn)

    @asynccontextmanager
    async def _connection(self, *, ping: bool) -> AsyncIterator[AsyncConnection]:
        """A pooled connection, checked on checkout unless ``ping`` is false."""
        connection = self.engine.connect()
        unchecked = _UNCHECKED.set(not ping)
        try:
            await connection.start()
        finally:
            _UNCHECKED.reset(unchecked)
        try:
            yield connection
        finally:
            await asyncio.shield(connection.close())

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the connection slots (PostgreSQL), waited for in order of arrival for at most
        the pool's own timeout; nothing to wait for on SQLite."""
        if self._slots is None:
            yield
            return
        try:
            # asyncio.timeout, not wait_for: no task of its own for every caller.
            async with asyncio.timeout(self._connection_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceUnavailable(
                "Every database connection is busy; retry in a few seconds"
            ) from None
        try:
            yield
        finally:
            self._slots.release()

    async def read_in_thread(self, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work`` on a reader thread's own SQLite connection, in one trip (statements need
        no snapshot across them, as in :meth:`quick_read`). SQLite only: PostgreSQL has no
        driver thread to save trips to, and reads through :meth:`quick_read`."""
        if self._thread_readers is None:
            raise TypeError("read_in_thread is for SQLite only")
        engine = self._thread_readers
        if self._reader_threads is None:
            self._reader_threads = ThreadPoolExecutor(
                SQLITE_READER_THREADS, thread_name_prefix="sqlite-reader"
            )
        threads = self._reader_threads

        def run() -> T:
            with engine.connect() as conn:
                return work(conn)

        async with _unavailable_as_503():
            return await asyncio.get_running_loop().run_in_executor(threads, run)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends without an exception."""
        async with _unavailable_as_503():
            if self._write_lock is None:
                async with self._slot(), self.engine.begin() as conn:
                    yield conn
                return
            async with self._write_lock, self._writer.connect() as conn, conn.begin():
                yield conn

    async def dispose(self) -> None:
        """Close every pooled connection."""
        for engine in self.engines:
            await engine.dispose()
        if self._reader_threads is not None and self._thread_readers is not None:
            # No read is under way any more: each thread's connection can be closed from here.
            self._reader_threads.shutdown(wait=True)
            self._reader_threads = None
            self._thread_readers.dispose()


def create_database(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    sqlite_lock_wait: float = SQLITE_LOCK_WAIT,
    sqlite_synchronous: str = "full",
    connection_wait: float = CONNECTION_WAIT,
) -> Database:
    """A :class:`Database` for an async URL (``sqlite+aiosqlite`` or ``postgresql+asyncpg``);
    ``sqlite_lock_wait``: how long a write waits for another process's SQLite write lock;
    ``sqlite_synchronous``: SQLite's ``synchronous`` (``full``, or ``normal``: faster, but a power
    loss can undo the last commits); ``connection_wait``: how long a PostgreSQL caller waits for one
    of the ``2 * pool_size`` connections (each kept open once opened) before a ``503``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Every connection the process may use is kept once opened (no overflow): an overflow
        # connection is closed when it comes back, so each burst of reads opened new ones, and
        # opening one on a busy machine held a read up for 100-500 ms (BENCHMARKS 0i).
        engine = create_async_engine(parsed, echo=echo, pool_size=2 * pool_size, max_overflow=0)
        # A pooled connection is checked before use, so that a database restart or failover is
        # invisible to clients: one round trip (SQLAlchemy's pool_pre_ping costs three on
        # asyncpg: BEGIN, the ping, ROLLBACK).
        event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
        return Database(engine, connection_slots=2 * pool_size, connection_wait=connection_wait)
    if sqlite_synchronous.upper() not in ("FULL", "NORMAL"):
        raise ValueError(f"SQLite synchronous must be full or normal, not {sqlite_synchronous!r}")
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Readers run beside the writer in WAL mode; each connection is a thread of aiosqlite's.
    readers = create_async_engine(
        parsed, echo=echo, pool_size=max(pool_size, 10), connect_args={"timeout": 30}
    )
    _configure_sqlite(readers, busy_timeout_ms=30_000, synchronous=sqlite_synchronous)
    event.listen(readers.sync_engine, "begin", _begin_read)
    writer = create_async_engine(
        parsed, echo=echo, pool_size=1, max_overflow=0, connect_args={"timeout": 0}
    )
    _configure_sqlite(writer, busy_timeout_ms=0, synchronous=sqlite_synchronous)
    begin_write = functools.partial(_begin_write, wait=sqlite_lock_wait)
    event.listen(writer.sync_engine, "begin", begin_write)
    # One plain sqlite3 connection per reader thread (SingletonThreadPool keeps one per thread).
    thread_readers = sa.create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        echo=echo,
        poolclass=SingletonThreadPool,
        pool_size=SQLITE_READER_THREADS,
        # Each connection is used by its own thread only; dispose() closes them all from the
        # closing thread, once no read is under way.
        connect_args={"timeout": 30, "check_same_thread": False},
    )
    _configure_sqlite(thread_readers, busy_timeout_ms=30_000, synchronous=sqlite_synchronous)
    return Database(readers, writer=writer, thread_readers=thread_readers)


#: Set while :meth:`Database.quick_read_once_more` checks a connection out: no ping then. A
#: context variable reaches the pool's checkout hook, which SQLAlchemy runs in a greenlet that
#: shares the caller's context.
_UNCHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("unchecked", default=False)


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Ask the server ``SELECT 1`` in the simple protocol (one round trip, no transaction, no
    prepared statement, so pgbouncer in transaction mode is fine); a connection that fails it is
    replaced by the pool, which tries again with a new one (``DisconnectionError``)."""
    if _UNCHECKED.get():
        return
    try:
        # Not the empty query: asyncpg fails on its answer, which has no command tag.
        await_only(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as error:  # any failure means this connection cannot be used
        raise sa.exc.DisconnectionError(str(error)) from error


def _configure_sqlite(
    engine: AsyncEngine | sa.Engine, *, busy_timeout_ms: int, synchronous: str
) -> None:
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA synchronous={synchronous.upper()}",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={busy_timeout_ms}",
        ):
            cursor.execute(pragma)
        cursor.close()


def _begin_read(conn: sa.Connection) -> None:
    if conn.get_execution_options().get(_QUICK):
        return  # each statement is its own transaction (Database.quick_read)
    conn.exec_driver_sql("BEGIN")


def _begin_write(conn: sa.Connection, *, wait: float) -> None:
    """``BEGIN IMMEDIATE``, tried again after short asyncio sleeps while another process holds
    the write lock (this connection's busy timeout is 0), for at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    pause = _FIRST_PAUSE
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except sa.exc.OperationalError as error:
            if "database is locked" not in str(error.orig) or time.monotonic() >= deadline:
                raise
        await_only(asyncio.sleep(pause))
        pause = min(pause * 2, _LONGEST_PAUSE)


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
