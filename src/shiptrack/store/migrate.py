"""Schema migrations (Alembic), run in-process on the database shiptrack is configured with."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shiptrack.store.database import Database

_MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(database: Database) -> str | None:
    """The migration the database is at, ``None`` when it was never migrated."""

    def _read(connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.read() as conn:
        return await conn.run_sync(_read)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every migration up to ``revision``."""

    def _upgrade(connection: sa.Connection) -> None:
        command.upgrade(_config(connection), revision)

    async with database.write() as conn:
        await conn.run_sync(_upgrade)


async def downgrade(database: Database, revision: str) -> None:
    """Undo every migration after ``revision``."""

    def _downgrade(connection: sa.Connection) -> None:
        command.downgrade(_config(connection), revision)

    async with database.write() as conn:
        await conn.run_sync(_downgrade)


async def schema_problem(database: Database) -> str | None:
    """Why the database cannot be served by this code, or ``None`` when it is current."""
    current = await current_revision(database)
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "the database has not been migrated; run `shiptrack db upgrade` first"
    return (
        f"the database is at migration {current} but this version of shiptrack needs {head}; "
        "run `shiptrack db upgrade`"
    )
