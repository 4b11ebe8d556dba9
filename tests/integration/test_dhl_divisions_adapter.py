"""The DHL Parcel (``dhl_parcel``) and DHL eCommerce (``dhl_ecommerce``) adapters over real HTTP
against the fake Unified API (``tests/fakes/dhl_divisions.py``, which keeps the Express fake's
numbers and failures) on 127.0.0.1.

Covers: the requests (one GET per number, ``language=en``, Parcel without a ``service`` hint,
eCommerce with ``service=ecommerce``, the same ``DHL-API-Key``); a Parcel Germany package answered
in German only (every event mapped from the phrase table, times in true UTC across the change to
summer time, ship and delivery dates); Packstation (SP, not before it is there), collection (DE),
recipient not met (AT), return (EX); Parcel Germany in English; a Deutsche Post letter; parcel-nl
event codes with offsets (AT, SP, EX); parcel-pl in Polish; eCommerce (the newer of two shipments,
a post office that is no pickup point, an offset-less US time left without UTC, ecommerce-europe);
each division picking its own shipment and saying not found for another division's; the key check
and a failure naming the division. Transport failures (429, 500, 503, timeouts, revoked keys) are
tested for both codes by ``tests/integration/test_carrier_transport_contract.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from shiptrack.carriers.base import ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.dhl import DhlCarrier
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, Known, observe
from shiptrack.domain.tracking import TrackEvent
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import dhl
from tests.fakes import dhl_divisions as fake_dhl
from tests.fakes.server import FakeServer

#: The three DHL codes: Express's kit entry makes an Express adapter; the fake serves all three.
CODES = ("dhl_express", "dhl_parcel", "dhl_ecommerce")
running, fake, _adapter = adapter_fixtures(FAKE_CARRIERS["dhl_parcel"])


@pytest.fixture
async def adapters() -> AsyncIterator[dict[str, DhlCarrier]]:
    made: dict[str, DhlCarrier] = {}
    for code in CODES:
        adapter = FAKE_CARRIERS[code].make()
        assert isinstance(adapter, DhlCarrier)
        made[code] = adapter
    yield made
    for adapter in made.values():
        await adapter.close()


def context(code: str, url: str, key: str = dhl.VALID_KEY) -> ConnectionContext:
    return ConnectionContext(
        connection_id=7,
        carrier_code=code,
        simulated=False,
        base_url=url,
        credentials={"api_key": key},
    )


async def track(
    adapters: dict[str, DhlCarrier], fake: FakeServer, code: str, number: str
) -> Result:
    results = await adapters[code].track(context(code, fake.url), [TrackRequest(number)])
    return results[number]


async def report(
    adapters: dict[str, DhlCarrier], fake: FakeServer, code: str, number: str
) -> CarrierReport:
    result = await track(adapters, fake, code, number)
    assert isinstance(result, CarrierReport), result
    return result


def status(result: Result) -> tuple[str, str | None]:
    """The status a subscriber sees after a first check with this answer."""
    first = Known("UN", None, sequence=0, settled=False, newest_event_at=None)
    seen = observe(first, result)
    return seen.status_code, seen.status_detail_code


def walk(events: tuple[TrackEvent, ...]) -> list[tuple[str, str | None]]:
    return [(e.status_code, e.status_detail_code) for e in events]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the requests ---------------------------------------------------------------------------------


async def test_parcel_asks_without_a_service_hint_and_ecommerce_asks_for_ecommerce(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    await track(adapters, fake, "dhl_parcel", fake_dhl.DE_GERMAN)
    await track(adapters, fake, "dhl_ecommerce", fake_dhl.ECOMMERCE)
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/track/shipments")] * 2
    assert [r.query for r in fake.requests] == [
        {"trackingNumber": fake_dhl.DE_GERMAN, "language": "en"},
        {"trackingNumber": fake_dhl.ECOMMERCE, "service": "ecommerce", "language": "en"},
    ]
    assert {r.headers["DHL-API-Key"] for r in fake.requests} == {dhl.VALID_KEY}


def test_both_divisions_ask_one_number_per_call_within_dhls_starter_plan(
    adapters: dict[str, DhlCarrier],
) -> None:
    for code in ("dhl_parcel", "dhl_ecommerce"):
        assert adapters[code].batch_size == 1
        assert adapters[code].budget == adapters["dhl_express"].budget
        assert 1 / adapters[code].budget.requests_per_second == pytest.approx(345.6)


# --- Parcel Germany in German ---------------------------------------------------------------------


async def test_a_german_only_paket_is_mapped_event_by_event_in_true_utc(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    result = await report(adapters, fake, "dhl_parcel", fake_dhl.DE_GERMAN)
    assert walk(result.events) == [
        ("DE", "DELIVERED"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("IT", "HUB_SCAN_IN"),
        ("IT", "HUB_PROCESSING"),
        ("AC", "DROPPED_OFF"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    ]
    assert status(result) == ("DE", "DELIVERED")
    delivered, loaded = result.events[0], result.events[1]
    assert delivered.description == "Die Sendung wurde zugestellt."
    assert loaded.carrier_status_code == "transit"  # DHL's own category; the text says more
    # German wall times: summer time from 2026-03-29, winter time before it.
    assert delivered.carrier_occurred_at == "2026-03-30T10:47:00"
    assert delivered.occurred_at == utc("2026-03-30T08:47:00")
    posted = result.events[4]
    assert posted.carrier_occurred_at == "2026-03-27T16:14:00"
    assert posted.occurred_at == utc("2026-03-27T15:14:00")
    assert result.ship_date == "2026-03-27T15:14:00Z"
    assert result.actual_delivery_date == "2026-03-30T08:47:00Z"


async def test_a_packstation_is_a_pickup_point_only_once_the_parcel_is_there(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    waiting = await report(adapters, fake, "dhl_parcel", fake_dhl.DE_PACKSTATION)
    assert walk(waiting.events)[:2] == [
        ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("IT", "IN_TRANSIT"),  # "auf dem Weg zur PACKSTATION": not there yet
    ]
    assert status(waiting) == ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT")
    collected = await report(adapters, fake, "dhl_parcel", fake_dhl.DE_COLLECTED)
    assert status(collected) == ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT")
    assert collected.events[0].occurred_at == utc("2026-07-14T21:14:00")  # CEST, +02:00


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (fake_dhl.DE_NOT_MET, ("AT", "ATTEMPTED_DELIVERY")),
        (fake_dhl.DE_RETURNING, ("EX", "RETURN_TO_SENDER")),
        (fake_dhl.DE_ENGLISH, ("DE", "DELIVERED")),
        (fake_dhl.POST_DE_LETTER, ("DE", "DELIVERED")),
    ],
)
async def test_parcel_germany_attempts_returns_english_answers_and_letters(
    adapters: dict[str, DhlCarrier],
    fake: FakeServer,
    number: str,
    expected: tuple[str, str],
) -> None:
    assert status(await report(adapters, fake, "dhl_parcel", number)) == expected


async def test_parcel_germany_in_english_is_read_in_german_time_too(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    result = await report(adapters, fake, "dhl_parcel", fake_dhl.DE_ENGLISH)
    assert walk(result.events) == [
        ("DE", "DELIVERED"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("IT", "HUB_PROCESSING"),
        ("AC", "RECEIVED_BY_CARRIER"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    ]
    origin = result.events[3]
    assert (origin.city_locality, origin.country_code) == ("Feucht, Germany", None)
    assert origin.occurred_at == utc("2026-01-29T17:57:00")  # CET, +01:00
    assert result.ship_date == "2026-01-29T17:57:00Z"


# --- Parcel Netherlands and Poland ----------------------------------------------------------------


async def test_parcel_nl_event_codes_attempt_parcelshop_and_return(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    not_home = await report(adapters, fake, "dhl_parcel", fake_dhl.NL_NOT_HOME)
    assert status(not_home) == ("AT", "ATTEMPTED_DELIVERY")
    assert walk(not_home.events)[2:4] == [("IT", "OUT_FOR_DELIVERY"), ("IT", "OUT_FOR_DELIVERY")]
    assert not_home.events[0].occurred_at == utc("2026-09-03T09:33:05")
    assert not_home.events[0].carrier_occurred_at == "2026-09-03T11:33:05"

    shop = await report(adapters, fake, "dhl_parcel", fake_dhl.NL_AT_PARCELSHOP)
    # The signature logged beside the ParcelShop scan only informs: the package is at the shop.
    assert walk(shop.events)[:2] == [
        ("UN", "INFORMATION"),
        ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
    ]
    assert status(shop)[0] == "SP"

    back = await report(adapters, fake, "dhl_parcel", fake_dhl.NL_RETURNED)
    assert status(back) == ("EX", "RETURN_TO_SENDER")
    assert walk(back.events)[2] == ("EX", "NOT_COLLECTED_FROM_PICKUP_POINT")


async def test_parcel_pl_in_polish(adapters: dict[str, DhlCarrier], fake: FakeServer) -> None:
    result = await report(adapters, fake, "dhl_parcel", fake_dhl.PL_DELIVERED)
    assert walk(result.events) == [
        ("DE", "DELIVERED"),
        ("AT", "CUSTOMER_TO_COLLECT_FROM_CARRIER"),
        ("AT", "ATTEMPTED_DELIVERY"),
    ]
    assert result.events[0].occurred_at == utc("2026-04-13T13:23:14")


# --- eCommerce ------------------------------------------------------------------------------------


async def test_ecommerce_reads_the_newer_shipment_of_a_reused_number(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    result = await report(adapters, fake, "dhl_ecommerce", fake_dhl.ECOMMERCE)
    assert walk(result.events) == [
        ("DE", "DELIVERED"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),  # a post office delivering it, no pickup point
        ("AC", "RECEIVED_BY_CARRIER"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    ]
    assert result.events[0].occurred_at == utc("2026-08-26T18:04:00")
    assert result.events[0].country_code == "US"
    # No offset and no single zone for the US: the wall time only, never labelled as UTC.
    assert result.events[4].occurred_at is None
    assert result.events[4].carrier_occurred_at == "2026-08-19T14:24:01"


async def test_ecommerce_europe_shipments_are_ecommerces(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    result = await report(adapters, fake, "dhl_ecommerce", fake_dhl.ECOMMERCE_EUROPE)
    assert status(result) == ("IT", "OUT_FOR_DELIVERY")


# --- one division's shipment, never another's -----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "number", "found"),
    [
        ("dhl_parcel", fake_dhl.EXPRESS_AND_PARCEL, "parcel-de"),
        ("dhl_express", fake_dhl.EXPRESS_AND_PARCEL, "express"),
        ("dhl_ecommerce", fake_dhl.EXPRESS_AND_PARCEL, None),
        ("dhl_parcel", dhl.OTHER_DIVISION, "parcel-de"),
        ("dhl_ecommerce", dhl.OTHER_DIVISION, None),
        ("dhl_parcel", dhl.DELIVERED, None),
        ("dhl_express", fake_dhl.DE_GERMAN, None),
        ("dhl_parcel", fake_dhl.ECOMMERCE, None),
        ("dhl_ecommerce", fake_dhl.DE_GERMAN, None),
    ],
)
async def test_each_division_tracks_its_own_shipment_and_not_anothers(
    adapters: dict[str, DhlCarrier],
    fake: FakeServer,
    code: str,
    number: str,
    found: str | None,
) -> None:
    result = await track(adapters, fake, code, number)
    if found is None:
        assert result is NOT_FOUND
        return
    assert isinstance(result, CarrierReport)
    descriptions = {e.description for e in result.events}
    if found == "express":
        assert "Shipment picked up" in descriptions
    else:
        assert "Shipment picked up" not in descriptions
        assert result.events


# --- the key, failures ----------------------------------------------------------------------------


async def test_the_key_check_names_the_division(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    await adapters["dhl_parcel"].verify(context("dhl_parcel", fake.url))
    with pytest.raises(CredentialsRejected, match="DHL eCommerce refused the API key"):
        await adapters["dhl_ecommerce"].verify(context("dhl_ecommerce", fake.url, "wrong"))


async def test_a_failure_names_the_division_in_last_error(
    adapters: dict[str, DhlCarrier], fake: FakeServer
) -> None:
    # The failures themselves are the contract suites'; what the user reads names the division.
    with pytest.raises(TransportError, match=r"^DHL eCommerce "):
        await track(adapters, fake, "dhl_ecommerce", dhl.SERVER_ERROR)
