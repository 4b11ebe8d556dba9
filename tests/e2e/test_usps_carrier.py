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

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa

from shiptrack.store.database import create_database
from shiptrack.store.tables import deliveries, status_changes, subscriptions
from tests.conftest import Server, Tenant, assert_error, make_tenant
from tests.fakes import usps
from tests.fakes.server import FakeServer, serve

CONNECT = "/v1/connections/carriers"
DEADLINE = 30.0
USPS_TRACKING_URL = "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"
T = TypeVar("T")


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """The fake USPS API, fresh for each test."""
    with serve(usps.app()) as running:
        yield running


@pytest.fixture
def account(engine_server: Server) -> Iterator[Tenant]:
    """A production account on the server that runs the tracking workers, with a ``track``
    webhook (so it may start tracking, and every status change gets an outbox row)."""
    made = make_tenant(engine_server, sandbox=False, name="usps-e2e")
    made.add_track_webhook()
    yield made
    made.client.close()


# --- helpers ------------------------------------------------------------------------------------


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll ``probe`` until it returns something other than ``None``."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DEADLINE:.0f}s waiting for {what}")
        time.sleep(0.1)


def connect(
    tenant: Tenant, fake: FakeServer, carrier: str = "usps", **extra: Any
) -> httpx.Response:
    body = {
        "client_id": usps.CLIENT_ID,
        "client_secret": usps.CLIENT_SECRET,
        "base_url": fake.url,
        **extra,
    }
    return tenant.client.post(f"{CONNECT}/{carrier}", json=body)


def connected(tenant: Tenant, fake: FakeServer, carrier: str = "usps", **extra: Any) -> str:
    response = connect(tenant, fake, carrier, **extra)
    assert response.status_code == 200, response.text
    carrier_id: str = response.json()["carrier_id"]
    return carrier_id


def started(tenant: Tenant, carrier_code: str, number: str) -> None:
    response = tenant.start(carrier_code, number)
    assert response.status_code == 204, response.text


def tracking(tenant: Tenant, carrier_code: str, number: str) -> dict[str, Any]:
    response = tenant.client.get(
        "/v1/tracking", params={"carrier_code": carrier_code, "tracking_number": number}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def checked(tenant: Tenant, carrier_code: str, number: str) -> dict[str, Any]:
    """The package once the engine has asked USPS about it successfully."""

    def probe() -> dict[str, Any] | None:
        body = tracking(tenant, carrier_code, number)
        return body if body["last_checked_at"] is not None else None

    return eventually(probe, f"the first check of {number}")


def assert_carrier_error(
    response: httpx.Response, status: int, error_type: str, error_code: str
) -> dict[str, Any]:
    """A ShipEngine-format error raised because of the carrier (``error_source: carrier``);
    conftest's ``assert_error`` expects ``shipengine`` as the source, so its checks are repeated
    here with the carrier as the source."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"request_id", "errors"}, body
    uuid.UUID(body["request_id"])
    assert response.headers["x-request-id"] == body["request_id"]
    first: dict[str, Any] = body["errors"][0]
    assert first["error_source"] == "carrier", first
    assert (first["error_type"], first["error_code"]) == (error_type, error_code), first
    assert first["message"], first
    return first


@dataclass(frozen=True)
class Recorded:
    """What the engine wrote for one package: status changes (by sequence) and outbox rows."""

    changes: list[sa.Row[Any]]
    outbox: list[sa.Row[Any]]


def recorded(server: Server, tenant: Tenant, number: str) -> Recorded:
    account_id = int(tenant.account_id.removeprefix("se-"))

    async def read() -> Recorded:
        database = create_database(server.settings().resolved_database_url)
        try:
            async with database.read() as conn:
                subscription_id = (
                    await conn.execute(
                        sa.select(subscriptions.c.id).where(
                            subscriptions.c.account_id == account_id,
                            subscriptions.c.tracking_number == number,
                        )
                    )
                ).scalar_one()
                changes = (
                    await conn.execute(
                        sa.select(status_changes)
                        .where(status_changes.c.subscription_id == subscription_id)
                        .order_by(status_changes.c.sequence)
                    )
                ).all()
                outbox = (
                    await conn.execute(
                        sa.select(deliveries).where(deliveries.c.subscription_id == subscription_id)
                    )
                ).all()
                return Recorded(list(changes), list(outbox))
        finally:
            await database.dispose()

    return asyncio.run(read())


# --- connecting ---------------------------------------------------------------------------------


def test_wrong_credentials_are_refused_with_verification_failure(
    production_tenant: Tenant, fake: FakeServer
) -> None:
    response = connect(production_tenant, fake, client_secret="not-the-secret")
    error = assert_carrier_error(response, 400, "integrations", "verification_failure")
    assert error["field_name"] == "client_id"
    assert "USPS" in error["message"]
    assert production_tenant.client.get("/v1/carriers").json()["carriers"] == []
    (token_request,) = fake.requests
    assert token_request.path == "/oauth2/v3/token"
    assert json.loads(token_request.body)["client_secret"] == "not-the-secret"


def test_stamps_com_with_wrong_credentials_is_refused_too(
    production_tenant: Tenant, fake: FakeServer
) -> None:
    response = connect(production_tenant, fake, "stamps_com", client_id="someone-else")
    assert_carrier_error(response, 400, "integrations", "verification_failure")


def test_usps_down_while_connecting_is_a_503_and_connects_nothing(
    production_tenant: Tenant, fake: FakeServer
) -> None:
    fake.state["token_outage"] = 503
    response = connect(production_tenant, fake)
    error = assert_carrier_error(response, 503, "system", "unspecified")
    assert "try again" in error["message"]
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
        started(account, "usps", number)

    seen = {number: checked(account, "usps", number) for number in EXPECTED}

    for number, (status, detail) in EXPECTED.items():
        body = seen[number]
        assert (body["status_code"], body["status_detail_code"]) == (status, detail), number
        assert body["carrier_code"] == "usps"
        assert body["carrier_id"] == int(carrier_id.removeprefix("se-"))
        assert body["tracking_url"] == USPS_TRACKING_URL.format(number)
        assert body["last_error"] is None
        record = recorded(engine_server, account, number)
        assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", status)]
        assert [row.status_change_id for row in record.outbox] == [record.changes[0].id]

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


def test_a_stamps_com_connection_polls_usps_and_reports_the_package_as_usps(
    account: Tenant, fake: FakeServer
) -> None:
    connected(account, fake, "stamps_com")
    started(account, "stamps_com", usps.PICKUP_POINT)
    by_stamps = checked(account, "stamps_com", usps.PICKUP_POINT)
    by_usps = tracking(account, "usps", usps.PICKUP_POINT)
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
    started(account, "usps", usps.ATTEMPT)
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
    started(account, "usps", usps.IN_TRANSIT)

    def failing() -> dict[str, Any] | None:
        body = tracking(account, "usps", usps.IN_TRANSIT)
        return body if body["last_error"] is not None else None

    during = eventually(failing, "the outage to show in last_error")
    assert "503" in during["last_error"]
    assert (during["status_code"], during["events"], during["active"]) == ("UN", [], True)
    assert recorded(engine_server, account, usps.IN_TRANSIT) == Recorded([], [])

    del fake.state["outage"]

    def recovered() -> dict[str, Any] | None:
        body = tracking(account, "usps", usps.IN_TRANSIT)
        return body if body["status_code"] != "UN" else None

    after = eventually(recovered, "the package to catch up after the outage")
    assert (after["status_code"], after["status_detail_code"]) == ("IT", "HUB_SCAN_OUT")
    assert after["last_error"] is None
    record = recorded(engine_server, account, usps.IN_TRANSIT)
    assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", "IT")]
    assert len(record.outbox) == 1


def test_a_number_never_started_is_asked_live_and_not_stored(
    account: Tenant, fake: FakeServer
) -> None:
    connected(account, fake)
    body = tracking(account, "usps", usps.OUT_FOR_DELIVERY)
    assert (body["status_code"], body["status_detail_code"]) == ("IT", "OUT_FOR_DELIVERY")
    assert body["active"] is False
    assert body["events"][0]["carrier_occurred_at"] == "2026-04-30T08:10:00"
    listed = account.client.get("/v1/tracking/subscriptions").json()["subscriptions"]
    assert listed == []
