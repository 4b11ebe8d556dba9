"""PostNL for a production account, end to end: a real ``shiptrack serve`` process (API and
workers, real database) whose PostNL connection points at the fake ShippingStatus API
(``tests/fakes/postnl.py``) on 127.0.0.1.

Covers: connecting checks the API key with one PostNL lookup (a refused key is ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored); a started
package is polled and shows the mapped status, its events in true UTC with PostNL's Dutch wall
times, its expected delivery and the PostNL tracking page; times across the October 2026
daylight-saving change; a failed attempt that ends collected from a PostNL outlet; an unknown
barcode ("No shipment found") is not yet in the system. Failures (401, 429, 503) keeping the
stored status are covered for every carrier by ``test_carrier_failures_contract.py``.
"""

from __future__ import annotations

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import postnl as pn
from tests.fakes.server import FakeServer
from tests.support import get_tracking, recorded, start_tracking, wait_for_tracking

CODE = "postnl"
CONNECT = f"/v1/connections/carriers/{CODE}"
KIND = FAKE_CARRIERS[CODE]
engine, fake, shipper, connected = e2e_fixtures(KIND)


def asked(fake: FakeServer, number: str) -> int:
    return sum(1 for r in fake.requests if r.path.endswith(f"/{number}"))


# --- connecting ----------------------------------------------------------------------------------


def test_a_key_postnl_refuses_is_a_verification_failure(shipper: Tenant, fake: FakeServer) -> None:
    response = shipper.client.post(CONNECT, json={"api_key": "wrong-key", "base_url": fake.url})
    assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="api_key",
        error_source="carrier",
    )
    assert "wrong-key" not in response.text
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []
    assert fake.paths() == ["/shipment/v2/status/barcode/3SXXXX000000000"]


def test_a_valid_key_connects_with_one_lookup(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIND.connect(shipper, fake)
    assert fake.paths() == ["/shipment/v2/status/barcode/3SXXXX000000000"]
    assert fake.requests[0].headers["apikey"] == pn.API_KEY
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"]) == (carrier_id, CODE)


# --- tracking ------------------------------------------------------------------------------------


def test_a_delivered_package_shows_postnls_data_in_utc(engine: Server, connected: Tenant) -> None:
    start_tracking(connected, CODE, pn.DELIVERED)
    body = wait_for_tracking(
        connected, CODE, pn.DELIVERED, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["carrier_code"] == CODE
    assert body["last_error"] is None
    assert body["tracking_url"] == f"https://postnl.nl/tracktrace/?B={pn.DELIVERED}&D=NL&T=C"
    assert body["actual_delivery_date"] == "2021-03-26T14:06:53Z"
    assert body["ship_date"] == "2021-03-26T00:15:18Z"
    newest = body["events"][0]
    assert (newest["occurred_at"], newest["carrier_occurred_at"]) == (
        "2021-03-26T14:06:53Z",
        "2021-03-26T15:06:53",
    )
    assert (newest["event_code"], newest["description"]) == ("01B", "Zending is bezorgd")
    assert [e["event_code"] for e in body["events"]] == ["01B", "J05", "B01", "A01", "J01"]
    assert walk(recorded(engine, connected.account_id, CODE, pn.DELIVERED)) == [
        ("UN", "DE", "DELIVERED")
    ]


def test_out_for_delivery_shows_the_expected_window_start_in_utc(connected: Tenant) -> None:
    start_tracking(connected, CODE, pn.OUT_FOR_DELIVERY)
    body = wait_for_tracking(
        connected, CODE, pn.OUT_FOR_DELIVERY, lambda b: b["status_code"] == "IT", "IT"
    )
    assert body["status_detail_code"] == "OUT_FOR_DELIVERY"
    assert body["estimated_delivery_date"] == "2022-11-08T13:50:00Z"
    assert body["events"][0]["description"] == "Driver is en route"


def test_dutch_wall_times_become_utc_across_the_october_change(connected: Tenant) -> None:
    start_tracking(connected, CODE, pn.DST)
    body = wait_for_tracking(connected, CODE, pn.DST, lambda b: b["status_code"] == "IT", "IT")
    times = [(e["occurred_at"], e["carrier_occurred_at"]) for e in body["events"]]
    assert times == [
        ("2026-10-25T02:30:00Z", "2026-10-25T03:30:00"),  # CET, after the change
        ("2026-10-25T00:30:00Z", "2026-10-25T02:30:00"),  # the repeated hour, first (CEST) pass
        ("2026-10-24T20:00:00Z", "2026-10-24T22:00:00"),  # CEST
    ]


def test_a_failed_attempt_then_collected_from_an_outlet(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    start_tracking(connected, CODE, pn.ATTEMPTED)
    attempted = wait_for_tracking(
        connected, CODE, pn.ATTEMPTED, lambda b: b["status_code"] == "AT", "AT"
    )
    assert attempted["status_detail_code"] == "ATTEMPTED_DELIVERY"
    assert attempted["active"] is True
    fake.state["as"] = {pn.ATTEMPTED: pn.OUTLET}
    collected = wait_for_tracking(
        connected, CODE, pn.ATTEMPTED, lambda b: b["status_code"] == "DE", "DE"
    )
    assert collected["status_detail_code"] == "PARCEL_COLLECTED_FROM_PICKUP_POINT"
    # Newest first; the scans seen before stay in the history.
    assert [e["event_code"] for e in collected["events"][:2]] == ["I02", "I08"]
    assert walk(recorded(engine, connected.account_id, CODE, pn.ATTEMPTED)) == [
        ("UN", "AT", "ATTEMPTED_DELIVERY"),
        ("AT", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("SP", "DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
    ]


def test_an_unknown_barcode_is_not_yet_in_the_system(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = "3SXXXX000000123"
    start_tracking(connected, CODE, number)
    wait_for_tracking(connected, CODE, number, lambda _: asked(fake, number) >= 2, "a second ask")
    body = get_tracking(connected, CODE, number)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert body["last_error"] is None
    assert walk(recorded(engine, connected.account_id, CODE, number)) == [("UN", "NY", None)]
