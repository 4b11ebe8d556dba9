"""DHL Express for a production account, end to end: a real ``shiptrack serve`` process (API and
workers, real database) whose DHL Express connection points at the fake DHL Shipment Tracking -
Unified API (``tests/fakes/dhl.py``) on 127.0.0.1.

Covers: connecting checks the key with DHL (a refused or forbidden key is ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored; DHL being down is
``503``); a started package is polled and shows the mapped status, its events newest first with
DHL's wall times (UTC only where DHL gave an offset), signer, proof of delivery and dates, the DHL
tracking page, and the changes and outbox rows the engine recorded; a package that moves on between
polls records every transition; exceptions stop tracking; unknown numbers are not yet in the system;
a live lookup of a never-started number asks DHL and stores nothing; DHL pushes are refused
(``404``) and store nothing.

The failures every carrier shares (401, 429, 503 keep the stored status) are tested in
``test_carrier_failures_contract.py``.

The server runs with short schedule intervals and backoffs so that re-polls happen within a test;
connections set ``requests_per_minute`` so that DHL's default Starter budget (one call every
345.6 s) does not slow the tests. Tests wait for the engine with a deadline.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import dhl
from tests.fakes.server import FakeServer
from tests.support import (
    get_tracking,
    recorded,
    start_tracking,
    wait_for_tracking,
)

CONNECT = "/v1/connections/carriers/dhl_express"

KIT = FAKE_CARRIERS["dhl_express"]
engine, fake, shipper, connected = e2e_fixtures(KIT)

# --- helpers -------------------------------------------------------------------------------------


def lookups(fake: FakeServer, number: str) -> int:
    return sum(1 for r in fake.requests if r.query.get("trackingNumber") == number)


# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["not-a-dhl-key", dhl.FORBIDDEN_KEY])
def test_a_key_dhl_refuses_is_a_verification_failure_and_nothing_is_stored(
    shipper: Tenant, fake: FakeServer, key: str
) -> None:
    response = shipper.client.post(CONNECT, json={"api_key": key, "base_url": fake.url})
    error = assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="api_key",
        error_source="carrier",
    )
    assert key not in str(error["message"])
    assert [r.headers["DHL-API-Key"] for r in fake.requests] == [key]
    listed = shipper.client.get("/v1/carriers")
    assert listed.status_code == 200, listed.text
    assert listed.json()["carriers"] == []


def test_dhl_down_while_connecting_is_503_and_nothing_is_stored(
    shipper: Tenant, fake: FakeServer
) -> None:
    fake.state["outage"] = True
    response = shipper.client.post(CONNECT, json={"api_key": dhl.VALID_KEY, "base_url": fake.url})
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_a_valid_key_connects_with_one_lookup(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIT.connect(shipper, fake)
    assert len(fake.requests) == 1
    assert fake.requests[0].query["service"] == "express"
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"]) == (carrier_id, "dhl_express")


# --- tracking ------------------------------------------------------------------------------------


def test_delivered_package_shows_dhls_data_mapped(engine: Server, connected: Tenant) -> None:
    start_tracking(connected, "dhl_express", dhl.DELIVERED)
    body = wait_for_tracking(
        connected, "dhl_express", dhl.DELIVERED, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["stop_reason"] == "delivered"
    assert body["last_error"] is None
    assert body["carrier_code"] == "dhl_express"
    assert body["carrier_status_code"] == "delivered"
    assert body["tracking_url"] == (
        f"https://www.dhl.com/global-en/home/tracking.html?tracking-id={dhl.DELIVERED}"
    )
    assert body["ship_date"] == "2026-04-28T23:30:00Z"
    assert body["estimated_delivery_date"] == "2026-04-30T16:00:00Z"
    assert body["actual_delivery_date"] == "2026-04-30T12:05:00Z"
    events = body["events"]
    assert [(e["status_code"], e["status_detail_code"]) for e in events] == [
        ("DE", "DELIVERED"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
        ("IT", "CUSTOMS_CLEARED"),
        ("IT", "HUB_SCAN_OUT"),
        ("IT", "HUB_PROCESSING"),
        ("AC", "PICKED_UP"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    ]
    delivered = events[0]
    assert delivered["signer"] == "Jane Doe"
    assert delivered["proof_of_delivery_url"] == dhl.POD_DOCUMENT
    assert (delivered["occurred_at"], delivered["carrier_occurred_at"]) == (
        "2026-04-30T12:05:00Z",
        "2026-04-30T14:05:00",
    )
    assert (delivered["city_locality"], delivered["postal_code"], delivered["country_code"]) == (
        "AMSTERDAM",
        "1043 AG",
        "NL",
    )
    # DHL gave this checkpoint without an offset: no UTC time is made up for it.
    arrived = events[2]
    assert (arrived["occurred_at"], arrived["carrier_occurred_at"]) == (None, "2026-04-29T22:40:00")


def test_delivered_package_records_one_change_and_its_notification(
    engine: Server, connected: Tenant
) -> None:
    start_tracking(connected, "dhl_express", dhl.DELIVERED)
    wait_for_tracking(
        connected, "dhl_express", dhl.DELIVERED, lambda b: b["active"] is False, "delivery"
    )
    record = recorded(engine, connected.account_id, "dhl_express", dhl.DELIVERED)
    assert walk(record) == [("UN", "DE", "DELIVERED")]
    (row,) = record.deliveries
    assert row.status_change_id == record.changes[0].id
    payload = json.loads(bytes(row.payload))
    assert payload["data"]["status_code"] == "DE"
    assert payload["data"]["tracking_number"] == dhl.DELIVERED
    assert payload["data"]["events"][0]["signer"] == "Jane Doe"


def test_a_package_moving_on_records_every_transition(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    start_tracking(connected, "dhl_express", dhl.IN_TRANSIT)
    body = wait_for_tracking(
        connected, "dhl_express", dhl.IN_TRANSIT, lambda b: b["status_code"] == "IT", "in transit"
    )
    assert body["status_detail_code"] == "HUB_SCAN_OUT"
    assert body["active"] is True
    assert body["estimated_delivery_date"] == "2026-04-30T18:00:00"
    fake.state["as"] = {dhl.IN_TRANSIT: dhl.DELIVERED}
    final = wait_for_tracking(
        connected, "dhl_express", dhl.IN_TRANSIT, lambda b: b["active"] is False, "delivery"
    )
    assert final["status_code"] == "DE"
    assert len(final["events"]) == 8
    assert walk(recorded(engine, connected.account_id, "dhl_express", dhl.IN_TRANSIT)) == [
        ("UN", "IT", "HUB_SCAN_OUT"),
        ("IT", "IT", "CUSTOMS_CLEARED"),
        ("IT", "IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "DE", "DELIVERED"),
    ]


def test_an_exception_stops_tracking_with_its_description(connected: Tenant) -> None:
    start_tracking(connected, "dhl_express", dhl.EXCEPTION)
    body = wait_for_tracking(
        connected, "dhl_express", dhl.EXCEPTION, lambda b: b["active"] is False, "the exception"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("EX", "ADDRESS_QUERY")
    assert body["stop_reason"] == "exception"
    assert body["exception_description"] == (
        "Incorrect address - the street is unknown at the destination"
    )


def test_a_number_dhl_does_not_know_is_not_yet_in_the_system(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = "5551234567"
    start_tracking(connected, "dhl_express", number)
    wait_for_tracking(
        connected, "dhl_express", number, lambda _: lookups(fake, number) >= 2, "a second lookup"
    )
    body = get_tracking(connected, "dhl_express", number)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert body["last_error"] is None
    assert walk(recorded(engine, connected.account_id, "dhl_express", number)) == [
        ("UN", "NY", None)
    ]


def test_a_live_lookup_asks_dhl_and_stores_nothing(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    body = get_tracking(connected, "dhl_express", dhl.FAILED_ATTEMPT)
    assert (body["status_code"], body["status_detail_code"]) == ("AT", "ATTEMPTED_DELIVERY")
    assert body["active"] is False
    assert len(body["events"]) == 6
    assert lookups(fake, dhl.FAILED_ATTEMPT) == 1
    record = recorded(engine, connected.account_id, "dhl_express", dhl.FAILED_ATTEMPT)
    assert (record.changes, record.deliveries) == ([], [])
    listed = connected.client.get("/v1/tracking/subscriptions")
    assert listed.json()["subscriptions"] == []


def test_dhl_pushes_are_refused_and_store_nothing(
    engine: Server, shipper: Tenant, fake: FakeServer
) -> None:
    carrier_id = KIT.connect(shipper, fake)
    start_tracking(shipper, "dhl_express", dhl.IN_TRANSIT)
    wait_for_tracking(
        shipper, "dhl_express", dhl.IN_TRANSIT, lambda b: b["status_code"] == "IT", "in transit"
    )
    before = recorded(engine, shipper.account_id, "dhl_express", dhl.IN_TRANSIT)
    with httpx.Client(base_url=engine.url, timeout=30) as carrier_side:
        response = carrier_side.post(
            f"/v1/carriers/push/dhl_express/{carrier_id}",
            json={"shipments": [{"id": dhl.IN_TRANSIT, "service": "express"}]},
        )
    assert_error(response, 404, "invalid_identifier")
    assert (
        recorded(engine, shipper.account_id, "dhl_express", dhl.IN_TRANSIT).changes
        == before.changes
    )
