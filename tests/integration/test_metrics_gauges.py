"""The database gauges on a real database that cannot be read yet: left out of the scrape (not a
stale or made-up number, and not an error), logged once, and back once the database can be read."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shiptrack.metrics.store_gauges import StoreGauges
from shiptrack.store import migrate
from shiptrack.store.database import create_database
from shiptrack.store.sql import SqlStore
from tests.conftest import DatabaseServer


@pytest.fixture
def empty_database(test_database: DatabaseServer, tmp_path: Path) -> str:
    """A database of the session's kind with no table at all."""
    return test_database.fresh(tmp_path)


async def test_gauges_are_left_out_while_the_database_cannot_be_read(
    empty_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = create_database(empty_database)
    gauges = StoreGauges(SqlStore(database), refresh=1)
    try:
        with caplog.at_level(logging.WARNING, logger="shiptrack.metrics"):
            await gauges.read()  # not migrated: there is no table to count
            await gauges.read()
        assert list(gauges.collect()) == []
        warnings = [r for r in caplog.records if "cannot read the database gauges" in r.message]
        assert len(warnings) == 1  # once per outage, not once per scrape

        await migrate.upgrade(database)
        await gauges.read()

        names = {family.name for family in gauges.collect()}
        assert names == {
            "shiptrack_tracked_packages",
            "shiptrack_outbox_pending",
            "shiptrack_outbox_oldest_pending_age_seconds",
            "shiptrack_webhooks_disabled",
        }
    finally:
        await database.dispose()
