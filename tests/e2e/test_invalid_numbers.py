"""A number the carrier calls invalid, end to end: a production account connects UPS at the fake UPS
of ``tests/fakes/ups.py`` on a server of its own whose not-found schedule is fast (a check every
half second), starts a number UPS answers with HTTP 400 ``TV1002`` "Invalid inquiry number", and the
engine walks it to ``UN`` / ``TRACKING_EXPIRED`` and stops (``invalid_number``) after three such
answers, with one status change and one webhook outbox row; ``GET /v1/tracking`` shows the carrier's
code and text and, in ``last_error``, that UPS says the number is invalid. A number UPS merely does
not know stays ``NY`` and tracked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shiptrack.domain.schedule import INVALID_NUMBER_CONFIRMATIONS
from tests.conftest import DatabaseServer, Server, Tenant
from tests.fakes import ups
from tests.fakes.server import FakeServer, serve
from tests.support import (
    connect_carrier,
    get_tracking,
    own_engine_server,
    production_account,
    recorded,
    start_tracking,
    wait_for_tracking,
    wait_until_stopped,
)

VERDICT = "UPS says the tracking number is invalid (TV1002 Invalid inquiry number)"


@pytest.fixture(scope="module")
def server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Workers whose numbers not found (and invalid) are asked again every half second."""
    yield from own_engine_server(
        test_database,
        tmp_path_factory,
        "invalid-numbers",
        SHIPTRACK_SCHEDULE_NOT_FOUND_MIN="0.5",
        SHIPTRACK_SCHEDULE_NOT_FOUND_MAX="0.5",
    )


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with serve(ups.app()) as running:
        yield running


@pytest.fixture
def account(server: Server, fake: FakeServer) -> Iterator[Tenant]:
    with production_account(server, "invalid-numbers") as tenant:
        connect_carrier(
            tenant,
            "ups",
            client_id=ups.CLIENT_ID,
            client_secret=ups.CLIENT_SECRET,
            base_url=fake.url,
        )
        yield tenant


def test_an_invalid_number_walks_to_unknown_and_stops_after_three_confirmations(
    server: Server, account: Tenant, fake: FakeServer
) -> None:
    live = get_tracking(account, "ups", ups.INVALID)  # not tracked: asked live, nothing stored
    assert (live["status_code"], live["status_detail_code"]) == ("UN", "TRACKING_EXPIRED")
    assert (live["carrier_status_code"], live["active"], live["stop_reason"]) == (
        "TV1002",
        False,
        None,
    )
    assert live["last_error"] == VERDICT
    asked_before = ups.track_requests(fake).count(ups.INVALID)

    start_tracking(account, "ups", ups.INVALID)
    body = wait_until_stopped(account, "ups", ups.INVALID)

    assert (body["status_code"], body["status_detail_code"]) == ("UN", "TRACKING_EXPIRED")
    assert body["status_description"] == "Unknown"
    assert body["status_detail_description"].startswith("Tracking for this parcel has expired")
    assert body["stop_reason"] == "invalid_number"
    assert body["last_error"] == VERDICT
    assert body["carrier_status_code"] == "TV1002"
    assert body["carrier_status_description"] == "Invalid inquiry number"
    assert (body["events"], body["next_check_at"]) == ([], None)
    asked = ups.track_requests(fake).count(ups.INVALID) - asked_before
    assert asked == INVALID_NUMBER_CONFIRMATIONS
    rows = recorded(server, account.account_id, "ups", ups.INVALID)
    assert [(c.previous_status, c.status_code, c.status_detail_code) for c in rows.changes] == [
        ("UN", "UN", "TRACKING_EXPIRED")
    ]
    assert len(rows.deliveries) == 1

    # Started again, the number is asked from zero confirmations and stops again.
    start_tracking(account, "ups", ups.INVALID)
    wait_for_tracking(
        account, "ups", ups.INVALID, lambda b: b["active"] is True, "the restart to take effect"
    )
    again = wait_until_stopped(account, "ups", ups.INVALID)
    assert again["stop_reason"] == "invalid_number"
    asked = ups.track_requests(fake).count(ups.INVALID) - asked_before
    assert asked == 2 * INVALID_NUMBER_CONFIRMATIONS


def test_a_number_ups_does_not_know_stays_not_yet_in_system_and_tracked(
    account: Tenant, fake: FakeServer
) -> None:
    start_tracking(account, "ups", ups.NOT_FOUND)
    body = wait_for_tracking(
        account,
        "ups",
        ups.NOT_FOUND,
        lambda b: ups.track_requests(fake).count(ups.NOT_FOUND) > INVALID_NUMBER_CONFIRMATIONS,
        "more checks of a number not found than an invalid one gets",
    )
    assert (body["status_code"], body["active"], body["stop_reason"]) == ("NY", True, None)
    assert body["last_error"] is None
