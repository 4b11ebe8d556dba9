"""``GET /v1/tracking`` answers kept by each API process (``services.answers``): a change made
through the same process is never served stale, one made through another process within
``SHIPTRACK_CACHE_SECONDS``.

Two server processes share one database: ``writer`` runs the workers and keeps answers for five
minutes (so only its own forgetting can show a change), ``reader`` is an API process without
workers that keeps them for one second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.conftest import DatabaseServer, Server, Tenant, engine_env, make_tenant, start_server
from tests.support import get_tracking, start_tracking, wait_for_tracking

WRITER_CACHE = 300
READER_CACHE = 1.0
#: What a process may add to the bound beyond its cache time: a request under way, scheduling.
SLACK = 1.5

DELIVERED = next(scenario for scenario in SCENARIOS if scenario.name == "delivered")


@pytest.fixture(scope="module")
def servers(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    home = tmp_path_factory.mktemp("answers")
    url = test_database.fresh(home)
    writer = start_server(
        engine_env(url, home / "data", SHIPTRACK_CACHE_SECONDS=str(WRITER_CACHE)),
        home / "writer.log",
    )
    reader = start_server(
        engine_env(
            url,
            home / "data",
            SHIPTRACK_CACHE_SECONDS=str(READER_CACHE),
            SHIPTRACK_RUN_WORKERS="false",
        ),
        home / "reader.log",
        migrate=False,
    )
    try:
        yield writer, reader
    finally:
        reader.stop()
        writer.stop()


@pytest.fixture
def tenants(servers: tuple[Server, Server]) -> Iterator[tuple[Tenant, Tenant]]:
    """One account, with a client of each process."""
    writer, reader = servers
    through_writer = make_tenant(writer)
    through_writer.add_track_webhook()
    client = httpx.Client(base_url=reader.url, headers={"API-Key": through_writer.key}, timeout=30)
    through_reader = Tenant(through_writer.account_id, through_writer.key, client, sandbox=True)
    yield through_writer, through_reader
    through_writer.client.close()
    client.close()


def _stop(tenant: Tenant, number: str) -> None:
    response = tenant.client.post(
        "/v1/tracking/stop", params={"carrier_code": "ups", "tracking_number": number}
    )
    assert response.status_code == 204, response.text


def test_the_workers_changes_are_never_served_stale_by_their_own_process(
    tenants: tuple[Tenant, Tenant],
) -> None:
    writer, _ = tenants
    number = sandbox_number("ups", DELIVERED)
    start_tracking(writer, "ups", number)
    first = get_tracking(writer, "ups", number)
    # Kept for five minutes, yet the journey's every step shows as soon as it is recorded.
    seen: list[str] = [first["status_code"]]

    def note(body: dict[str, Any]) -> bool:
        if body["status_code"] != seen[-1]:
            seen.append(body["status_code"])
        return bool(body["status_code"] == "DE")

    delivered = wait_for_tracking(writer, "ups", number, note, "the package to be delivered")
    assert seen[-1] == "DE" and len(seen) >= 3, seen
    assert delivered["events"] and delivered["events"][0]["status_code"] == "DE"
    # Delivery stopped the tracking, and the answer says so at once too.
    assert delivered["active"] is False or wait_for_tracking(
        writer, "ups", number, lambda body: body["active"] is False, "tracking to stop"
    )


def test_a_stop_and_a_restart_show_at_once_on_the_process_that_made_them(
    tenants: tuple[Tenant, Tenant],
) -> None:
    writer, _ = tenants
    number = "1ZKEPT0000000001"
    start_tracking(writer, "ups", number)
    assert get_tracking(writer, "ups", number)["active"] is True

    _stop(writer, number)
    stopped = get_tracking(writer, "ups", number)
    assert (stopped["active"], stopped["stop_reason"]) == (False, "stopped_by_user")

    start_tracking(writer, "ups", number)
    restarted = get_tracking(writer, "ups", number)
    assert (restarted["active"], restarted["stop_reason"]) == (True, None)


def test_another_process_shows_a_change_within_its_cache_time(
    tenants: tuple[Tenant, Tenant],
) -> None:
    writer, reader = tenants
    number = "1ZKEPT0000000002"
    start_tracking(writer, "ups", number)
    assert get_tracking(reader, "ups", number)["active"] is True  # now kept by the reader

    _stop(writer, number)
    stopped_at = time.monotonic()
    answers: list[tuple[float, bool]] = []
    while time.monotonic() - stopped_at < READER_CACHE + SLACK + 1:
        answers.append(
            (time.monotonic() - stopped_at, get_tracking(reader, "ups", number)["active"])
        )
        time.sleep(0.05)

    changed = [after for after, active in answers if active is False]
    assert changed, answers
    # Seen within the bound, and never the old answer again after that.
    assert changed[0] <= READER_CACHE + SLACK, answers
    assert all(active is False for after, active in answers if after >= changed[0]), answers
