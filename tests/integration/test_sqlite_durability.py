"""SQLite's durability setting (``SHIPTRACK_SQLITE_SYNCHRONOUS``): every connection, the writer's
and the readers', runs with ``synchronous=FULL`` unless the operator chose ``normal``, and any
other value is refused instead of silently running with SQLite's default."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict, Unpack

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from shiptrack.settings import Settings
from shiptrack.store.database import create_database

#: What ``PRAGMA synchronous`` reads back.
NORMAL, FULL = 1, 2


class _Options(TypedDict, total=False):
    """The options of ``create_database`` these tests vary."""

    sqlite_synchronous: str


async def _synchronous(url: str, **options: Unpack[_Options]) -> tuple[int, int]:
    database = create_database(url, **options)
    try:
        async with database.write() as conn:
            written = (await conn.execute(sa.text("PRAGMA synchronous"))).scalar_one()
        async with database.read() as conn:
            read = (await conn.execute(sa.text("PRAGMA synchronous"))).scalar_one()
        return int(written), int(read)
    finally:
        await database.dispose()


async def test_commits_are_synced_to_disk_by_default(tmp_path: Path) -> None:
    assert await _synchronous(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") == (FULL, FULL)


async def test_the_operator_can_trade_power_loss_safety_for_fewer_fsyncs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    assert await _synchronous(url, sqlite_synchronous="normal") == (NORMAL, NORMAL)


def test_an_unknown_setting_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        Settings(sqlite_synchronous="off")
    with pytest.raises(ValueError, match="full or normal"):
        create_database("sqlite+aiosqlite:///:memory:", sqlite_synchronous="off")
