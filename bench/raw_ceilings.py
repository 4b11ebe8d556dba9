"""The raw-driver ceilings of the API: what this hardware and driver allow, with none of shiptrack's
stack (no SQLAlchemy, no pool pre-ping, no services). Served like shiptrack (uvicorn, uvloop,
httptools); ``CEILING_DATABASE_URL`` says which database (``sqlite+aiosqlite:///…`` or
``postgresql+asyncpg://…``), ``CEILING_KEY`` the API key the read checks.

``read``: ``GET /v1/tracking`` checks the ``API-Key`` header, reads one row by primary key and
returns its stored body (about 2 KB of JSON, as a package with a dozen scans). ``write``: ``POST
/v1/tracking/start`` validates its query as shiptrack does and upserts one row, one commit per
request (SQLite in WAL with ``synchronous=FULL``, as shiptrack's default).

PostgreSQL goes through asyncpg directly (a pool of 10). SQLite goes through ``sqlite3`` in one
dedicated thread per process and connection (reads and writes each their own), since that is the
cheapest way to keep SQLite's blocking calls off the event loop.

:func:`seed` creates the table and the rows the read asks for.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import FastAPI, Header, Query
from starlette.responses import Response

T = TypeVar("T")

TABLE = "raw_ceiling_packages"
#: The rows the read ceiling serves: ``{prefix}000000001`` … (as ``bench/get_tracking.lua`` asks).
PREFIX, COUNT = "R", 200


def _body(number: str) -> str:
    """About 2 KB of tracking JSON for ``number`` (a dozen scans)."""
    events = [
        {
            "occurred_at": f"2026-05-0{1 + i % 9}T1{i % 10}:00:00Z",
            "carrier_occurred_at": f"2026-05-0{1 + i % 9}T0{i % 10}:00:00",
            "description": "Arrived at facility",
            "city_locality": "LOUISVILLE",
            "state_province": "KY",
            "postal_code": "40201",
            "country_code": "US",
            "status_code": "IT",
        }
        for i in range(12)
    ]
    return json.dumps(
        {"tracking_number": number, "status_code": "IT", "carrier_code": "ups", "events": events}
    )


def _postgres_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def seed(url: str) -> None:
    """Create the ceilings' table and the rows the read asks for (once, before serving)."""
    rows = [(f"{PREFIX}{i:09d}", _body(f"{PREFIX}{i:09d}")) for i in range(1, COUNT + 1)]
    create = f"CREATE TABLE IF NOT EXISTS {TABLE} (number TEXT PRIMARY KEY, body TEXT NOT NULL)"
    if url.startswith("sqlite"):
        with sqlite3.connect(_sqlite_path(url)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(create)
            conn.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?)", rows)
        return

    async def fill() -> None:
        conn = await asyncpg.connect(_postgres_dsn(url))
        try:
            await conn.execute(create)
            await conn.executemany(
                f"INSERT INTO {TABLE} VALUES ($1, $2) ON CONFLICT DO NOTHING", rows
            )
        finally:
            await conn.close()

    asyncio.run(fill())


class _SqliteThread:
    """One ``sqlite3`` connection used from one thread of its own."""

    def __init__(self, path: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._conn: sqlite3.Connection | None = None
        self._path = path

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=30000")
        return self._conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(self._connection()))


class _Driver:
    """The raw driver calls both ceilings make, on either database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool: asyncpg.Pool | None = None
        self.reader: _SqliteThread | None = None
        self.writer: _SqliteThread | None = None

    async def open(self) -> None:
        if self.url.startswith("sqlite"):
            self.reader = _SqliteThread(_sqlite_path(self.url))
            self.writer = _SqliteThread(_sqlite_path(self.url))
        else:
            self.pool = await asyncpg.create_pool(_postgres_dsn(self.url), min_size=10, max_size=10)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def read(self, number: str) -> str | None:
        if self.reader is not None:
            row = await self.reader.run(
                lambda c: c.execute(
                    f"SELECT body FROM {TABLE} WHERE number = ?", (number,)
                ).fetchone()
            )
            return row[0] if row else None
        assert self.pool is not None
        value: Any = await self.pool.fetchval(f"SELECT body FROM {TABLE} WHERE number = $1", number)
        return value if isinstance(value, str) else None

    async def upsert(self, number: str) -> None:
        created = datetime.now(UTC).isoformat()
        if self.writer is not None:

            def write(conn: sqlite3.Connection) -> None:
                conn.execute(
                    f"INSERT INTO {TABLE} VALUES (?, ?) ON CONFLICT DO NOTHING", (number, created)
                )

            await self.writer.run(write)  # autocommit: one commit (and fsync) per request
            return
        assert self.pool is not None
        await self.pool.execute(
            f"INSERT INTO {TABLE} VALUES ($1, $2) ON CONFLICT DO NOTHING", number, created
        )


def app() -> FastAPI:
    """Both ceilings in one app: ``GET /v1/tracking`` (read) and ``POST /v1/tracking/start``."""
    driver = _Driver(os.environ["CEILING_DATABASE_URL"])
    key = os.environ.get("CEILING_KEY", "")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await driver.open()
        yield
        await driver.close()

    application = FastAPI(lifespan=lifespan)

    @application.get("/v1/tracking")
    async def read(
        carrier_code: Annotated[str, Query(min_length=1, max_length=40)],
        tracking_number: Annotated[str, Query(min_length=1, max_length=64)],
        api_key: Annotated[str | None, Header(alias="API-Key")] = None,
    ) -> Response:
        if api_key != key:
            return Response(status_code=401)
        body = await driver.read(tracking_number)
        if body is None:
            return Response(status_code=404)
        return Response(body, media_type="application/json")

    @application.post("/v1/tracking/start", status_code=204)
    async def start(
        carrier_code: Annotated[str, Query(min_length=1, max_length=40)],
        tracking_number: Annotated[
            str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
        ],
    ) -> Response:
        await driver.upsert(tracking_number.upper())
        return Response(status_code=204)

    return application
