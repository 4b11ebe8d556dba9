"""The PostNL adapter (``shiptrack.carriers.postnl.PostNLCarrier``) over real HTTP against the fake
ShippingStatus API (``tests/fakes/postnl.py``) on 127.0.0.1.

Covers: the request PostNL documents (one barcode per call, ``apikey``, ``detail=true``,
``language=EN``); PostNL's own examples and captured answers (delivered through an undocumented
event code, out for delivery with its expected window, a status without events, a multi-parcel
shipment asked by either barcode); a failed attempt (AT), a parcel locker and a PostNL outlet (SP,
then collected DE), a return (EX), an undocumented code; Dutch local times to UTC across the
October 2026 change; "No shipment found" and a refused barcode (400) as not found; the failures
that are PostNL's own (401 "Invalid apikey", a 404 from a wrong base URL, a 400 that is not
PostNL's, a body that is not JSON). 429, 5xx, outages, timeouts and unreachable hosts are tested
for every carrier by the carrier contract suites. Also ``verify()``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shiptrack.carriers.base import (
    CarrierAdapter,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.carriers.postnl import PostNLCarrier
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, Known, observe
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import postnl as pn
from tests.fakes.server import FakeServer

KIND = FAKE_CARRIERS["postnl"]
running, fake, carrier = adapter_fixtures(KIND)


def context(url: str, key: str | None = pn.API_KEY) -> ConnectionContext:
    return KIND.context(url, api_key=key)


async def report(carrier: CarrierAdapter, fake: FakeServer, number: str) -> CarrierReport:
    results = await carrier.track(context(fake.url), [TrackRequest(number)])
    assert set(results) == {number}
    assert isinstance(results[number], CarrierReport), results[number]
    return results[number]  # type: ignore[return-value]


def package_status(result: Result) -> tuple[str, str | None]:
    """The status a subscriber sees after a first check with this answer."""
    first = Known("UN", None, sequence=0, settled=False, newest_event_at=None)
    observation = observe(first, result)
    return observation.status_code, observation.status_detail_code


def codes(result: CarrierReport) -> list[tuple[str | None, str]]:
    return [(e.event_code, e.status_code) for e in result.events]


# --- the requests ---------------------------------------------------------------------------------


async def test_one_call_per_barcode_with_the_apikey_in_english_with_details(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    numbers = ["3SXYZ0000001", "3SXYZ0000002", "3SXYZ0000003"]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results == dict.fromkeys(numbers, NOT_FOUND)
    assert fake.paths() == [f"/shipment/v2/status/barcode/{n}" for n in numbers]
    request = fake.requests[0]
    assert request.query == {"detail": "true", "language": "EN"}
    assert request.headers["apikey"] == pn.API_KEY
    assert PostNLCarrier.batch_size == 1
    assert (PostNLCarrier.budget.requests_per_second, PostNLCarrier.budget.burst) == (1.0, 1)


# --- what PostNL answers --------------------------------------------------------------------------


async def test_the_captured_delivery_reads_its_undocumented_codes_through_the_statuses(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    result = await report(carrier, fake, pn.DELIVERED)
    # Newest first: "01B" is not in PostNL's code list; the status 11 recorded with it says
    # delivered. The sample lists J01 before B01 though it happened earlier: order is by time.
    assert codes(result) == [
        ("01B", "DE"),
        ("J05", "IT"),
        ("B01", "AC"),
        ("A01", "NY"),
        ("J01", "IT"),
    ]
    delivered = result.events[0]
    assert delivered.description == "Zending is bezorgd"
    # March 2021, before the spring change: CET, one hour ahead of UTC.
    assert delivered.occurred_at == datetime(2021, 3, 26, 14, 6, 53, tzinfo=UTC)
    assert delivered.carrier_occurred_at == "2021-03-26T15:06:53"
    assert result.actual_delivery_date == "2021-03-26T14:06:53Z"
    assert result.ship_date == "2021-03-26T00:15:18Z"
    assert result.estimated_delivery_date == "2021-03-26T13:05:00Z"
    assert package_status(result) == ("DE", "DELIVERED")


async def test_postnls_own_example_is_out_for_delivery_with_its_window_in_utc(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    result = await report(carrier, fake, pn.OUT_FOR_DELIVERY)
    assert codes(result) == [("J05", "IT"), ("J01", "IT"), ("B01", "AC"), ("A01", "NY")]
    assert result.events[0].description == "Driver is en route"
    assert result.estimated_delivery_date == "2022-11-08T13:50:00Z"
    assert result.ship_date == "2022-11-07T23:08:39Z"  # 00:08:39 CET
    assert package_status(result) == ("IT", "OUT_FOR_DELIVERY")


async def test_a_status_without_events_is_reported_as_one_event(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    result = await report(carrier, fake, pn.CURRENT_ONLY)
    (only,) = result.events
    assert (only.event_code, only.status_code, only.description) == (
        "2",
        "AC",
        "Zending in ontvangst genomen",
    )
    assert only.carrier_occurred_at == "2018-03-07T23:20:05"
    assert package_status(result) == ("AC", "RECEIVED_BY_CARRIER")


@pytest.mark.parametrize(
    ("number", "first_scan"),
    [(pn.MAIN_BARCODE, "2022-11-07T11:35:44Z"), (pn.SECOND_PARCEL, "2022-11-07T11:36:41Z")],
    ids=["main-barcode", "second-parcel"],
)
async def test_a_multi_parcel_shipment_reports_the_parcel_asked_for(
    carrier: CarrierAdapter, fake: FakeServer, number: str, first_scan: str
) -> None:
    result = await report(carrier, fake, number)
    (event,) = result.events
    assert event.event_code == "A01"
    assert event.occurred_at is not None
    assert event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ") == first_scan
    assert package_status(result) == ("NY", "ELEC_ADVICE_RECD_BY_CARRIER")


@pytest.mark.parametrize(
    ("number", "walked", "status"),
    [
        (pn.ATTEMPTED, ["AT", "IT", "IT", "AC"], ("AT", "ATTEMPTED_DELIVERY")),
        (pn.LOCKER, ["SP", "IT", "IT", "AC"], ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT")),
        (pn.OUTLET, ["DE", "SP", "AT", "IT", "AC"], ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT")),
        (pn.RETURNED, ["EX", "IT", "AC"], ("EX", "RETURN_TO_SENDER")),
    ],
    ids=["failed-attempt", "parcel-locker", "outlet-then-collected", "returned"],
)
async def test_journeys_map_to_the_policy(
    carrier: CarrierAdapter,
    fake: FakeServer,
    number: str,
    walked: list[str],
    status: tuple[str, str],
) -> None:
    result = await report(carrier, fake, number)
    assert [e.status_code for e in result.events] == walked
    assert package_status(result) == status


async def test_times_are_dutch_local_time_across_the_october_change(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    result = await report(carrier, fake, pn.DST)
    assert [(e.occurred_at, e.carrier_occurred_at) for e in result.events] == [
        (datetime(2026, 10, 25, 2, 30, tzinfo=UTC), "2026-10-25T03:30:00"),  # CET
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25T02:30:00"),  # first pass, CEST
        (datetime(2026, 10, 24, 20, 0, tzinfo=UTC), "2026-10-24T22:00:00"),  # CEST
    ]


async def test_an_undocumented_code_with_no_status_is_kept_unmapped(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    result = await report(carrier, fake, pn.UNMAPPED)
    unknown = result.events[1]
    assert (unknown.event_code, unknown.status_code, unknown.status_detail_code) == (
        "ZZ9",
        "UN",
        "CARRIER_STATUS_NOT_MAPPED",
    )
    assert unknown.carrier_status_description == "Something PostNL has not documented"
    assert package_status(result) == ("IT", "HUB_PROCESSING")


async def test_no_shipment_found_and_a_refused_barcode_are_not_found(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    numbers = ["3SXYZ0000009", pn.REFUSED, pn.DELIVERED]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results["3SXYZ0000009"] is NOT_FOUND
    assert results[pn.REFUSED] is NOT_FOUND
    assert isinstance(results[pn.DELIVERED], CarrierReport)


# --- PostNL's own failures -----------------------------------------------------------------------


async def test_a_refused_apikey_fails_the_batch(carrier: CarrierAdapter, fake: FakeServer) -> None:
    with pytest.raises(TransportError, match=r"PostNL refused the credentials \(HTTP 401\)"):
        await carrier.track(context(fake.url, key="wrong"), [TrackRequest(pn.DELIVERED)])


@pytest.mark.parametrize(
    ("path", "number", "message"),
    [
        ("/elsewhere", pn.DELIVERED, "PostNL answered HTTP 404"),
        ("", pn.NOT_JSON, "body that is not the JSON"),
    ],
    ids=["wrong-base-url-404", "not-json"],
)
async def test_answers_that_are_not_postnls_fail_the_batch(
    carrier: CarrierAdapter, fake: FakeServer, path: str, number: str, message: str
) -> None:
    with pytest.raises(TransportError, match=message):
        await carrier.track(context(fake.url + path), [TrackRequest(number)])


async def test_a_connection_without_a_key_fails_without_calling(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="no api_key"):
        await carrier.track(context(fake.url, key=None), [TrackRequest(pn.DELIVERED)])
    assert fake.requests == []


# --- verify ---------------------------------------------------------------------------------------


async def test_verify_accepts_the_key_with_one_lookup(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    await carrier.verify(context(fake.url))
    assert fake.paths() == ["/shipment/v2/status/barcode/3SXXXX000000000"]


@pytest.mark.parametrize("key", ["wrong", None], ids=["refused", "missing"])
async def test_verify_rejects_a_key_postnl_refuses_or_none(
    carrier: CarrierAdapter, fake: FakeServer, key: str | None
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, key=key))


async def test_verify_refuses_a_host_that_does_not_answer_like_postnl(
    carrier: CarrierAdapter, fake: FakeServer
) -> None:
    fake.state["as"] = {"3SXXXX000000000": pn.NOT_JSON}
    with pytest.raises(TransportError) as raised:
        await carrier.verify(context(fake.url))
    assert not isinstance(raised.value, CredentialsRejected)
