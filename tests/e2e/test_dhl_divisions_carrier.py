"""DHL Parcel (``dhl_parcel``) and DHL eCommerce (``dhl_ecommerce``) for a production account, end
to end: a real ``shiptrack serve`` process (API and workers, real database) whose connections
point at the fake Unified API (``tests/fakes/dhl_divisions.py``) on 127.0.0.1.

Covers the issue's "done when": a German DHL Paket number tracked through a ``dhl_parcel``
connection walks to ``DE`` with its German-only events mapped and its times in true UTC (across
the change to summer time), one status change and one webhook delivery for each new scan. Also: both
codes connect with the DHL API key (checked with one lookup; a refused key stores nothing), an
eCommerce package is delivered, and a number DHL knows only in another division stays not found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import dhl_divisions as fake_dhl
from tests.fakes.server import FakeServer
from tests.support import get_tracking, recorded, start_tracking, wait_for_tracking

PARCEL = "dhl_parcel"
ECOMMERCE = "dhl_ecommerce"
#: A DHL Paket number (SSCC form) the fake answers with the German journey, step by step.
PAKET = "00340434161094042557"

engine, fake, shipper, _connected = e2e_fixtures(FAKE_CARRIERS[PARCEL])


def shows(wanted: str) -> Callable[[dict[str, Any]], bool]:
    """A check that the package's status or detail is ``wanted``."""
    return lambda body: wanted in (body["status_code"], body["status_detail_code"])


def asked(fake: FakeServer, number: str) -> int:
    return sum(1 for r in fake.requests if r.query.get("trackingNumber") == number)


@pytest.fixture
def connected(shipper: Tenant, fake: FakeServer) -> Tenant:
    """The account with DHL Parcel and DHL eCommerce connected at the fake host, one key."""
    for code in (PARCEL, ECOMMERCE):
        FAKE_CARRIERS[code].connect(shipper, fake)
    fake.requests.clear()
    return shipper


# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [PARCEL, ECOMMERCE])
def test_a_key_dhl_refuses_is_a_verification_failure_and_nothing_is_stored(
    shipper: Tenant, fake: FakeServer, code: str
) -> None:
    body = {"api_key": "not-a-dhl-key", "base_url": fake.url}
    response = shipper.client.post(f"/v1/connections/carriers/{code}", json=body)
    assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="api_key",
        error_source="carrier",
    )
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []
    assert fake.paths() == ["/track/shipments"]


def test_both_codes_connect_with_the_dhl_key(connected: Tenant) -> None:
    codes = sorted(
        c["carrier_code"] for c in connected.client.get("/v1/carriers").json()["carriers"]
    )
    assert codes == [ECOMMERCE, PARCEL]


# --- the "done when" ----------------------------------------------------------------------


def test_a_german_dhl_paket_walks_to_delivered_with_german_events_in_true_utc(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    steps = [
        (fake_dhl.DE_GERMAN_STEPS[0], "NY"),
        (fake_dhl.DE_GERMAN_STEPS[1], "AC"),
        (fake_dhl.DE_GERMAN_STEPS[2], "IT"),
        (fake_dhl.DE_GERMAN_STEPS[3], "OUT_FOR_DELIVERY"),
        (fake_dhl.DE_GERMAN, "DE"),
    ]
    fake.state["as"] = {PAKET: steps[0][0]}
    start_tracking(connected, PARCEL, PAKET)
    for magic, wanted in steps:
        fake.state["as"] = {PAKET: magic}
        wait_for_tracking(
            connected,
            PARCEL,
            PAKET,
            shows(wanted),
            wanted,
        )
    body = get_tracking(connected, PARCEL, PAKET)
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["carrier_code"] == PARCEL
    assert body["active"] is False
    assert body["last_error"] is None
    assert PAKET in body["tracking_url"]
    # Every German event mapped (none left as "not mapped"), with DHL's German text kept.
    assert [
        (e["status_code"], e["status_detail_code"], e["description"][:30]) for e in body["events"]
    ] == [
        ("DE", "DELIVERED", "Die Sendung wurde zugestellt."),
        ("IT", "OUT_FOR_DELIVERY", "Die Sendung wurde in das Zuste"),
        ("IT", "HUB_SCAN_IN", "Die Sendung ist in der Region "),
        ("IT", "HUB_PROCESSING", "Die Sendung wurde von DHL bear"),
        ("AC", "DROPPED_OFF", "Die Sendung wurde vom Absender"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER", "Die Sendung wurde elektronisch"),
    ]
    # German wall times without offset, read in Europe/Berlin: +02:00 from 29 March, +01:00 before.
    assert [(e["occurred_at"], e["carrier_occurred_at"]) for e in body["events"]] == [
        ("2026-03-30T08:47:00Z", "2026-03-30T10:47:00"),
        ("2026-03-30T06:36:00Z", "2026-03-30T08:36:00"),
        ("2026-03-28T22:56:00Z", "2026-03-28T23:56:00"),
        ("2026-03-27T18:16:00Z", "2026-03-27T19:16:00"),
        ("2026-03-27T15:14:00Z", "2026-03-27T16:14:00"),
        ("2026-03-26T15:18:00Z", "2026-03-26T16:18:00"),
    ]
    assert body["ship_date"] == "2026-03-27T15:14:00Z"
    assert body["actual_delivery_date"] == "2026-03-30T08:47:00Z"
    record = recorded(engine, connected.account_id, PARCEL, PAKET)
    assert walk(record) == [
        ("UN", "NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
        ("NY", "AC", "DROPPED_OFF"),
        ("AC", "IT", "HUB_PROCESSING"),
        ("IT", "IT", "HUB_SCAN_IN"),
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "DE", "DELIVERED"),
    ]
    assert all(len(record.deliveries_of(change)) == 1 for change in record.changes)
    # English was asked for; DHL answered in German. Parcel sends no service hint.
    assert {tuple(sorted(r.query.items())) for r in fake.requests if r.query} == {
        (("language", "en"), ("trackingNumber", PAKET))
    }


# --- eCommerce, and other divisions' numbers ------------------------------------------------------


def test_an_ecommerce_package_is_delivered_in_utc(connected: Tenant) -> None:
    start_tracking(connected, ECOMMERCE, fake_dhl.ECOMMERCE)
    body = wait_for_tracking(
        connected, ECOMMERCE, fake_dhl.ECOMMERCE, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["carrier_code"]) == ("DE", ECOMMERCE)
    assert body["events"][0]["occurred_at"] == "2026-08-26T18:04:00Z"
    assert body["events"][0]["carrier_occurred_at"] == "2026-08-26T13:04:00"


def test_a_number_dhl_knows_only_in_another_division_stays_not_found(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    start_tracking(connected, ECOMMERCE, fake_dhl.DE_GERMAN)
    wait_for_tracking(
        connected,
        ECOMMERCE,
        fake_dhl.DE_GERMAN,
        lambda _: asked(fake, fake_dhl.DE_GERMAN) >= 2,
        "a second ask",
    )
    body = get_tracking(connected, ECOMMERCE, fake_dhl.DE_GERMAN)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert walk(recorded(engine, connected.account_id, ECOMMERCE, fake_dhl.DE_GERMAN)) == [
        ("UN", "NY", None)
    ]
