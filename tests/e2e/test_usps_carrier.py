"""USPS (and Stamps.com) end to end: a production account connects USPS at the fake USPS API's URL
(``tests.fakes.usps``) and a real ``shiptrack serve`` with its workers polls it over HTTP.

Covers: wrong credentials refused at connect time with ShipEngine's ``verification_failure``
(``error_source: carrier``) and nothing stored; USPS down at connect time is a 503; the engine
tracking USPS packages on Tracking v3r2 to their mapped status (delivered, out for delivery,
attempt, pickup point, exception, label created, not found), with the scans, signer, places,
dates and public tracking URL in ``GET /v1/tracking``, one status change and one outbox row per
change; a Stamps.com connection polling the same API and reporting the package as ``usps``; a
connection on Tracking v3 asking one number per GET; a USPS outage (503) shown in ``last_error``
without any status change, and the package catching up once USPS answers again; and a live lookup
of a number never started, answered from USPS and stored nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server, Tenant, assert_error
from tests.fakes import usps
from tests.fakes.server import FakeServer, serve
from tests.support import (
    connect_carrier,
    get_tracking,
    production_account,
    recorded,
    start_tracking,
    wait_for_tracking,
)

CONNECT = "/v1/connections/carriers"
USPS_TRACKING_URL = "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """The fake USPS API, fresh for each test."""
    with serve(usps.app()) as running:
        yield running


@pytest.fixture
def account(engine_server: Server) -> Iterator[Tenant]:
    """A production account on the server that runs the tracking workers, with a ``track``
    webhook (so it may start tracking, and every status change gets an outbox row)."""
    with production_account(engine_server, "usps-e2e") as made:
        yield made


# --- helpers ------------------------------------------------------------------------------------


def credentials(fake: FakeServer, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": usps.CLIENT_ID,
        "client_secret": usps.CLIENT_SECRET,
        "base_url": fake.url,
        **extra,
    }


def connect(
    tenant: Tenant, fake: FakeServer, carrier: str = "usps", **extra: Any
) -> httpx.Response:
    return tenant.client.post(f"{CONNECT}/{carrier}", json=credentials(fake, **extra))


def connected(tenant: Tenant, fake: FakeServer, carrier: str = "usps", **extra: Any) -> str:
    return connect_carrier(tenant, carrier, **credentials(fake, **extra))


def checked(tenant: Tenant, carrier_code: str, number: str) -> dict[str, Any]:
    """The package once the engine has asked USPS about it successfully."""
    return wait_for_tracking(
        tenant,
        carrier_code,
        number,
        lambda body: body["last_checked_at"] is not None,
        f"the first check of {number}",
    )


# --- connecting ---------------------------------------------------------------------------------


def test_wrong_credentials_are_refused_with_verification_failure(
    production_tenant: Tenant, fake: FakeServer
) -> None:
    response = connect(production_tenant, fake, client_secret="not-the-secret")
    error = assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="client_id",
        error_source="carrier",
    )
    assert "USPS" in str(error["message"])
    assert production_tenant.client.get("/v1/carriers").json()["carriers"] == []
    (token_request,) = fake.requests
    assert token_request.path == "/oauth2/v3/token"
    assert json.loads(token_request.body)["client_secret"] == "not-the-secret"


def test_stamps_com_with_wrong_credentials_is_refused_too(
    production_tenant: Tenant, fake: FakeServer
) -> None:
    response = connect(production_tenant, fake, "stamps_com", client_id="someone-else")
    assert_error(
        response, 400, "verification_failure", error_type="integrations", error_source="carrier"
    )


def test_usps_down_while_connecting_is_a_503_and_connects_nothing(
    production_tenant: Tenant, fake: FakeServer
) -> None:
    fake.state["token_outage"] = 503
    response = connect(production_tenant, fake)
    error = assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert "try again" in str(error["message"])
    assert production_tenant.client.get("/v1/carriers").json()["carriers"] == []


def test_api_version_is_validated(production_tenant: Tenant, fake: FakeServer) -> None:
    response = connect(production_tenant, fake, api_version="v4")
    assert_error(response, 400, "invalid_field_value", field_name="api_version")
    assert fake.requests == []


# --- the engine polling USPS --------------------------------------------------------------------

EXPECTED = {
    usps.DELIVERED: ("DE", "DELIVERED"),
    usps.OUT_FOR_DELIVERY: ("IT", "OUT_FOR_DELIVERY"),
    usps.ATTEMPT: ("AT", "CUSTOMER_CARDED"),
    usps.PICKUP_POINT: ("SP", "COLLECT_AT_LOCAL_PO"),
    usps.EXCEPTION: ("EX", "REFUSED_BY_CUSTOMER"),
    usps.LABEL_CREATED: ("NY", "SHIPMENT_CREATED"),
    usps.UNKNOWN: ("NY", None),
}


def test_the_engine_tracks_usps_packages_to_their_mapped_status(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connected(account, fake, requests_per_minute=6000)
    for number in EXPECTED:
        start_tracking(account, "usps", number)

    seen = {number: checked(account, "usps", number) for number in EXPECTED}

    for number, (status, detail) in EXPECTED.items():
        body = seen[number]
        assert (body["status_code"], body["status_detail_code"]) == (status, detail), number
        assert body["carrier_code"] == "usps"
        assert body["carrier_id"] == int(carrier_id.removeprefix("se-"))
        assert body["tracking_url"] == USPS_TRACKING_URL.format(number)
        assert body["last_error"] is None
        record = recorded(engine_server, account.account_id, "usps", number)
        assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", status)]
        assert [row.status_change_id for row in record.deliveries] == [record.changes[0].id]

    delivered = seen[usps.DELIVERED]
    assert (delivered["active"], delivered["stop_reason"]) == (False, "delivered")
    assert delivered["ship_date"] == "2026-04-28T00:00:00"
    assert delivered["estimated_delivery_date"] == "2026-04-30T00:00:00"
    assert delivered["actual_delivery_date"] == "2026-04-30T18:05:00Z"
    assert delivered["carrier_status_code"] == "01"
    assert delivered["carrier_status_description"] == "Delivered, Left with Individual"
    newest = delivered["events"][0]
    assert newest["occurred_at"] == "2026-04-30T18:05:00Z"
    assert newest["carrier_occurred_at"] == "2026-04-30T14:05:00"
    assert (newest["signer"], newest["company_name"]) == ("J SMITH", "ACME CORP")
    place = (newest["city_locality"], newest["state_province"], newest["postal_code"])
    assert place == ("NEW YORK", "NY", "10001")
    assert newest["country_code"] == "US"
    assert [e["event_code"] for e in delivered["events"]] == [
        "01", "OF", "07", "A1", "TL", "T1", "10", "03", "GX",
    ]  # fmt: skip
    assert [e["status_code"] for e in delivered["events"]] == [
        "DE", "IT", "IT", "IT", "IT", "IT", "IT", "AC", "NY",
    ]  # fmt: skip

    exception = seen[usps.EXCEPTION]
    assert exception["exception_description"] == "Refused"
    assert exception["stop_reason"] == "exception"
    not_found = seen[usps.UNKNOWN]
    assert (not_found["events"], not_found["active"]) == ([], True)

    posts = [r for r in fake.requests if r.path == "/tracking/v3r2/tracking"]
    asked = {item["trackingNumber"] for r in posts for item in json.loads(r.body)}
    assert asked == set(EXPECTED)
    assert all(1 <= len(json.loads(r.body)) <= 35 for r in posts)


def test_packages_answered_in_several_calls_each_keep_their_own_answer(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    # Four calls' worth of packages on one connection (the scripted ones spread among numbers
    # USPS does not know), all due at once: started during an outage, they all wait for the
    # connection's back-off to end. Calls answered while another is being recorded are then
    # recorded together.
    unknown = [f"9400111899223344{n:06d}" for n in range(120)]
    numbers = [*unknown[:40], *EXPECTED, *unknown[40:]]
    connected(account, fake, requests_per_minute=6000)
    fake.state["outage"] = {"status": 503, "retry_after": "2"}
    start_tracking(account, "usps", numbers[0])
    wait_for_tracking(
        account, "usps", numbers[0], lambda b: b["last_error"] is not None, "the outage to show"
    )
    for number in numbers[1:]:
        start_tracking(account, "usps", number)
    del fake.state["outage"]

    seen = {number: checked(account, "usps", number) for number in numbers}

    for number, (status, detail) in EXPECTED.items():
        assert (seen[number]["status_code"], seen[number]["status_detail_code"]) == (
            status,
            detail,
        ), number
    for number in unknown:
        assert (seen[number]["status_code"], seen[number]["events"]) == ("NY", []), number
    posts = [r for r in fake.requests if r.path == "/tracking/v3r2/tracking"]
    assert len(posts) >= 4  # at most 35 numbers a call


def test_a_stamps_com_connection_polls_usps_and_reports_the_package_as_usps(
    account: Tenant, fake: FakeServer
) -> None:
    connected(account, fake, "stamps_com")
    start_tracking(account, "stamps_com", usps.PICKUP_POINT)
    by_stamps = checked(account, "stamps_com", usps.PICKUP_POINT)
    by_usps = get_tracking(account, "usps", usps.PICKUP_POINT)
    assert by_stamps["carrier_code"] == by_usps["carrier_code"] == "usps"
    assert (by_stamps["status_code"], by_stamps["status_detail_code"]) == (
        "SP",
        "COLLECT_AT_LOCAL_PO",
    )
    assert by_usps["status_code"] == "SP"
    assert by_stamps["events"][0]["company_name"] == "JAMES A FARLEY POST OFFICE"
    assert any(r.path == "/tracking/v3r2/tracking" for r in fake.requests)


def test_a_v3_connection_asks_one_number_per_get(account: Tenant, fake: FakeServer) -> None:
    connected(account, fake, api_version="v3")
    start_tracking(account, "usps", usps.ATTEMPT)
    body = checked(account, "usps", usps.ATTEMPT)
    assert (body["status_code"], body["status_detail_code"]) == ("AT", "CUSTOMER_CARDED")
    # v3 gives the mail piece intake time instead of the mailing date.
    assert body["ship_date"] == "2026-04-28T09:12:19"
    calls = [r for r in fake.requests if r.path.startswith("/tracking/")]
    assert calls, "USPS was never asked"
    assert {(r.method, r.path) for r in calls} == {("GET", f"/tracking/v3/tracking/{usps.ATTEMPT}")}
    assert all(r.query == {"expand": "DETAIL"} for r in calls)


def test_a_usps_outage_shows_in_last_error_and_changes_no_status(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    connected(account, fake)
    fake.state["outage"] = {"status": 503, "retry_after": "1"}
    start_tracking(account, "usps", usps.IN_TRANSIT)
    during = wait_for_tracking(
        account,
        "usps",
        usps.IN_TRANSIT,
        lambda b: b["last_error"] is not None,
        "the outage to show in last_error",
    )
    assert "503" in during["last_error"]
    assert (during["status_code"], during["events"], during["active"]) == ("UN", [], True)
    record = recorded(engine_server, account.account_id, "usps", usps.IN_TRANSIT)
    assert (record.changes, record.deliveries) == ([], [])

    del fake.state["outage"]
    after = wait_for_tracking(
        account,
        "usps",
        usps.IN_TRANSIT,
        lambda b: b["status_code"] != "UN",
        "the package to catch up after the outage",
    )
    assert (after["status_code"], after["status_detail_code"]) == ("IT", "HUB_SCAN_OUT")
    assert after["last_error"] is None
    record = recorded(engine_server, account.account_id, "usps", usps.IN_TRANSIT)
    assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", "IT")]
    assert len(record.deliveries) == 1


def test_a_number_never_started_is_asked_live_and_not_stored(
    account: Tenant, fake: FakeServer
) -> None:
    connected(account, fake)
    body = get_tracking(account, "usps", usps.OUT_FOR_DELIVERY)
    assert (body["status_code"], body["status_detail_code"]) == ("IT", "OUT_FOR_DELIVERY")
    assert body["active"] is False
    assert body["events"][0]["carrier_occurred_at"] == "2026-04-30T08:10:00"
    listed = account.client.get("/v1/tracking/subscriptions").json()["subscriptions"]
    assert listed == []
