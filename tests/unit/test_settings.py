"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiptrack.settings import Settings


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_pasted_database_urls_get_the_async_driver(given: str, used: str) -> None:
    assert Settings(database_url=given).resolved_database_url == used


def test_the_default_database_is_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPTRACK_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHIPTRACK_DATA_DIR", "/srv/st")
    settings = Settings()
    assert settings.data_dir == Path("/srv/st")
    assert settings.resolved_database_url == "sqlite+aiosqlite:////srv/st/shiptrack.db"
