"""The migrations build exactly the schema the code is written against."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shiptrack.store import migrate
from shiptrack.store.database import create_database
from shiptrack.store.tables import metadata
from tests.conftest import DatabaseServer


def _diff_after_upgrade(url: str) -> tuple[list[object], str | None, list[str]]:
    async def go() -> tuple[list[object], str | None, list[str]]:
        database = create_database(url)
        try:
            await migrate.upgrade(database)
            await migrate.upgrade(database)  # a second run finds nothing to do

            def compare(connection: sa.Connection) -> tuple[list[object], list[str]]:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                return compare_metadata(context, metadata), sa.inspect(connection).get_table_names()

            async with database.read() as conn:
                diff, tables = await conn.run_sync(compare)
            return diff, await migrate.current_revision(database), tables
        finally:
            await database.dispose()

    return asyncio.run(go())


def test_all_migrations_give_the_schema_the_code_expects(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    diff, revision, tables = _diff_after_upgrade(test_database.fresh(tmp_path))
    assert diff == []
    assert revision == migrate.head_revision()
    assert set(metadata.tables) <= set(tables)


def test_an_unmigrated_database_is_reported_with_the_command_that_fixes_it(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = test_database.fresh(tmp_path)

    async def go() -> str | None:
        database = create_database(url)
        try:
            return await migrate.schema_problem(database)
        finally:
            await database.dispose()

    problem = asyncio.run(go())
    assert problem is not None
    assert "shiptrack db upgrade" in problem
