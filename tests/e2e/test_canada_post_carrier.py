"""Canada Post for a production account, end to end: a real ``shiptrack serve`` process (API and
workers, real database) whose Canada Post connection points at the fake Canada Post Tracking web
service (``tests/fakes/canada_post.py``) on 127.0.0.1.

Covers: connecting checks the API user and password with Canada Post (refused ones are ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored; Canada Post being
down is ``503``); detection names ``canada_post`` with the account's connection for a Canada Post
PIN; a started package is polled and shows the mapped status, its scans newest first with UTC times
from the scans' zones and the local wall times, the signer, dates and the Canada Post tracking page,
and the change and notification the engine recorded; a package that moves on records every
transition; unknown PINs are not yet in the system; a live lookup asks Canada Post and stores
nothing.

The failures every carrier shares (401, 429, 503 keep the stored status) are tested in
``test_carrier_failures_contract.py``.

The server runs with short schedule intervals and backoffs so that re-polls happen within a test;
connections set ``requests_per_minute`` so that the default budget does not slow the tests.
"""

from __future__ import annotations

import json

import pytest

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import canada_post as cp
from tests.fakes.server import FakeServer
from tests.support import (
    get_tracking,
    recorded,
    start_tracking,
    wait_for_tracking,
)

CODE = "canada_post"
CONNECT = f"/v1/connections/carriers/{CODE}"
#: A real-format Canada Post PIN with a valid check digit (detection's example).
DETECTABLE = "0073938000549297"

KIT = FAKE_CARRIERS["canada_post"]
engine, fake, shipper, connected = e2e_fixtures(KIT)

# --- helpers -------------------------------------------------------------------------------------


def lookups(fake: FakeServer, number: str) -> int:
    return sum(1 for r in fake.requests if r.path == f"/vis/track/pin/{number}/detail")


# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "password"),
    [(cp.USER, "not-the-password"), (cp.FORBIDDEN_USER, cp.PASSWORD)],
    ids=["401", "403"],
)
def test_credentials_canada_post_refuses_are_a_verification_failure_and_nothing_is_stored(
    shipper: Tenant, fake: FakeServer, user: str, password: str
) -> None:
    body = {"client_id": user, "client_secret": password, "base_url": fake.url}
    response = shipper.client.post(CONNECT, json=body)
    error = assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="client_id",
        error_source="carrier",
    )
    assert password not in str(error["message"])
    assert len(fake.requests) == 1
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_canada_post_down_while_connecting_is_503_and_nothing_is_stored(
    shipper: Tenant, fake: FakeServer
) -> None:
    fake.state["outage"] = True
    body = {"client_id": cp.USER, "client_secret": cp.PASSWORD, "base_url": fake.url}
    response = shipper.client.post(CONNECT, json=body)
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_valid_credentials_connect_with_one_lookup(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIT.connect(shipper, fake)
    assert len(fake.requests) == 1
    assert fake.requests[0].headers["Accept"] == cp.MEDIA_TYPE
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"], carrier["account_number"]) == (
        carrier_id,
        CODE,
        "0008765432",
    )
    assert carrier["friendly_name"] == "Canada Post"


def test_a_canada_post_pin_is_detected_with_the_accounts_connection(
    connected: Tenant,
) -> None:
    carrier_id = connected.client.get("/v1/carriers").json()["carriers"][0]["carrier_id"]
    response = connected.client.get("/v1/tracking/detect", params={"tracking_number": DETECTABLE})
    assert response.status_code == 200, response.text
    (candidate,) = response.json()["candidates"]
    assert (candidate["carrier_code"], candidate["carrier_id"]) == (CODE, carrier_id)
    assert (candidate["checksum_valid"], candidate["confidence"]) == (True, "high")


# --- tracking ------------------------------------------------------------------------------------


def test_delivered_package_shows_canada_posts_data_mapped(
    engine: Server, connected: Tenant
) -> None:
    start_tracking(connected, CODE, cp.DELIVERED)
    body = wait_for_tracking(
        connected, CODE, cp.DELIVERED, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["stop_reason"] == "delivered"
    assert (body["last_error"], body["carrier_code"]) == (None, CODE)
    assert body["tracking_url"] == (
        f"https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={cp.DELIVERED}"
    )
    assert body["ship_date"] == "2026-04-27T23:05:12Z"
    assert body["estimated_delivery_date"] == "2026-04-30T00:00:00"
    assert body["actual_delivery_date"] == "2026-04-30T16:22:05Z"
    events = body["events"]
    assert [(e["status_code"], e["event_code"]) for e in events] == [
        ("UN", "20"),
        ("DE", "1496"),
        ("IT", "0174"),
        ("IT", "1401"),
        ("IT", "0100"),
        ("AC", "0100"),
    ]
    delivered = events[1]
    assert delivered["signer"] == "M LEBLANC"
    assert (delivered["city_locality"], delivered["state_province"]) == ("HALIFAX", "NS")
    assert delivered["country_code"] == "CA"
    # Each scan's UTC time comes from its own zone; the wall time is kept as given.
    assert [(e["occurred_at"], e["carrier_occurred_at"]) for e in events[1:]] == [
        ("2026-04-30T16:22:05Z", "2026-04-30T13:22:05"),
        ("2026-04-30T10:48:30Z", "2026-04-30T07:48:30"),
        ("2026-04-29T05:12:44Z", "2026-04-29T01:12:44"),
        ("2026-04-28T09:40:09Z", "2026-04-28T03:40:09"),
        ("2026-04-27T23:05:12Z", "2026-04-27T16:05:12"),
    ]
    record = recorded(engine, connected.account_id, CODE, cp.DELIVERED)
    assert walk(record) == [("UN", "DE", "DELIVERED")]
    (row,) = record.deliveries
    payload = json.loads(bytes(row.payload))
    assert payload["data"]["events"][1]["signer"] == "M LEBLANC"


def test_a_package_moving_on_to_a_post_office_records_every_transition(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    start_tracking(connected, CODE, cp.IN_TRANSIT)
    body = wait_for_tracking(
        connected, CODE, cp.IN_TRANSIT, lambda b: b["status_code"] == "IT", "in transit"
    )
    assert body["estimated_delivery_date"] == "2026-05-01T00:00:00"
    fake.state["as"] = {cp.IN_TRANSIT: cp.PICKUP_POINT}
    wait_for_tracking(
        connected, CODE, cp.IN_TRANSIT, lambda b: b["status_code"] == "SP", "the post office"
    )
    fake.state["as"] = {cp.IN_TRANSIT: cp.COLLECTED}
    final = wait_for_tracking(
        connected, CODE, cp.IN_TRANSIT, lambda b: b["active"] is False, "the collection"
    )
    assert (final["status_code"], final["events"][0]["signer"]) == ("DE", "J SINGH")
    assert walk(recorded(engine, connected.account_id, CODE, cp.IN_TRANSIT)) == [
        ("UN", "IT", "HUB_PROCESSING"),
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "SP", "COLLECT_AT_LOCAL_PO"),
        ("SP", "DE", "DELIVERED"),
    ]


def test_a_return_to_sender_stops_tracking_as_an_exception(connected: Tenant) -> None:
    start_tracking(connected, CODE, cp.RETURNED)
    body = wait_for_tracking(
        connected, CODE, cp.RETURNED, lambda b: b["active"] is False, "the exception"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("EX", "RETURN_TO_SENDER")
    assert body["exception_description"] == "Item being returned to sender; incorrect address"


def test_a_pin_canada_post_does_not_know_is_not_yet_in_the_system(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = "7023210055555555"
    start_tracking(connected, CODE, number)
    wait_for_tracking(
        connected, CODE, number, lambda _: lookups(fake, number) >= 2, "a second lookup"
    )
    body = get_tracking(connected, CODE, number)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert body["last_error"] is None
    assert walk(recorded(engine, connected.account_id, CODE, number)) == [("UN", "NY", None)]


def test_a_live_lookup_asks_canada_post_and_stores_nothing(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    body = get_tracking(connected, CODE, cp.PARCEL_LOCKER)
    assert (body["status_code"], body["status_detail_code"]) == ("SP", "COLLECT_AT_LOCAL_PO")
    assert lookups(fake, cp.PARCEL_LOCKER) == 1
    record = recorded(engine, connected.account_id, CODE, cp.PARCEL_LOCKER)
    assert (record.changes, record.deliveries) == ([], [])
