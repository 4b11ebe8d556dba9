"""The ceilings shiptrack's API is compared with, served the same way (uvicorn, uvloop, httptools).

``bare``: FastAPI answering ``POST /v1/tracking/start`` with 204 and nothing else (the framework
ceiling). ``composite``: the same endpoint validating its query and upserting one row through
the same driver and connection settings as shiptrack (the composite ceiling: what any
implementation of this endpoint on this stack must at least pay).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import FastAPI, Query
from starlette.responses import Response

from shiptrack.store.database import create_database
from shiptrack.store.dialect import insert

metadata = sa.MetaData()
rows = sa.Table(
    "ceiling_subscriptions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("account_id", sa.Integer(), nullable=False),
    sa.Column("carrier_code", sa.String(40), nullable=False),
    sa.Column("tracking_number", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("account_id", "carrier_code", "tracking_number"),
)


async def create_table(url: str) -> None:
    """Create the composite ceiling's table (once, before its server processes start)."""
    database = create_database(url)
    try:
        async with database.write() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await database.dispose()


def bare() -> FastAPI:
    """The framework ceiling."""
    app = FastAPI()

    @app.post("/v1/tracking/start", status_code=204)
    async def start() -> Response:
        return Response(status_code=204)

    return app


def composite() -> FastAPI:
    """The composite ceiling: validate the query, upsert one row."""
    database = create_database(os.environ["CEILING_DATABASE_URL"], pool_size=10)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await database.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/tracking/start", status_code=204)
    async def start(
        carrier_code: Annotated[str, Query(min_length=1, max_length=40)],
        tracking_number: Annotated[
            str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
        ],
    ) -> Response:
        async with database.write() as conn:
            await conn.execute(
                insert(conn, rows)
                .values(
                    account_id=1,
                    carrier_code=carrier_code,
                    tracking_number=tracking_number.upper(),
                    created_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing(
                    index_elements=["account_id", "carrier_code", "tracking_number"]
                )
            )
        return Response(status_code=204)

    return app
