"""The Canada Post adapter (``shiptrack.carriers.canada_post.CanadaPostCarrier``) over real HTTP
against the fake Canada Post Tracking web service (``tests/fakes/canada_post.py``) on 127.0.0.1.

Covers: the request Canada Post documents (one ``GET /vis/track/pin/{pin}/detail`` per number, the
``vnd.cpc.track-v2+xml`` media type, ``Accept-Language: en-CA``, HTTP Basic of the API user and
password); what a subscriber would see for a delivered package (every scan mapped, newest first
although Canada Post lists them out of order, the signer from the signature scan, ship / expected /
actual dates), in transit, out for delivery with a changed expected date, pickup at a post office
and at a parcel locker (``SP``), collected (``DE``), failed attempt (``AT``), returned to the sender
and refused (``EX``), an unknown identifier, no scans yet (``NY``), the ``track-v2`` namespace;
times in every zone (BC, AB, ON, NS, NL's half hour), with and without ``event-time-zone``, across
the spring and autumn DST changes, and none made up for a scan abroad; not found (``404`` "No Pin
History", ``400`` for a refused PIN); and Canada Post's own transport errors: refused credentials
(401/403), bodies that are not Canada Post's XML (HTML, another root, a DOCTYPE), a ``404`` that is
not Canada Post's, one failure failing the batch. Also ``verify()``, refused pushes and the default
budget.

The transport errors every carrier shares (429 with ``Retry-After``, 500, a 503 outage, timeout,
unreachable, revoked credentials, ``verify()`` during an outage) are tested in
``test_carrier_transport_contract.py``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from aiohttp import web

from shiptrack.carriers.base import (
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.canada_post import CanadaPostCarrier
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, Known, observe
from shiptrack.domain.tracking import TrackEvent
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import canada_post as cp
from tests.fakes.server import FakeServer, serve

running, fake, carrier = adapter_fixtures(FAKE_CARRIERS["canada_post"])


def context(
    url: str, user: str | None = cp.USER, password: str | None = cp.PASSWORD
) -> ConnectionContext:
    credentials = {}
    if user:
        credentials["client_id"] = user
    if password:
        credentials["client_secret"] = password
    return ConnectionContext(
        connection_id=11,
        carrier_code="canada_post",
        simulated=False,
        base_url=url,
        credentials=credentials,
    )


async def track(carrier: CanadaPostCarrier, fake: FakeServer, number: str) -> Result:
    results = await carrier.track(context(fake.url), [TrackRequest(number)])
    assert set(results) == {number}
    return results[number]


async def report(carrier: CanadaPostCarrier, fake: FakeServer, number: str) -> CarrierReport:
    result = await track(carrier, fake, number)
    assert isinstance(result, CarrierReport), result
    return result


def package_status(result: Result) -> tuple[str, str | None]:
    """The status a subscriber sees after a first check with this answer."""
    first = Known(
        status_code="UN", status_detail_code=None, sequence=0, settled=False, newest_event_at=None
    )
    observation = observe(first, result)
    return observation.status_code, observation.status_detail_code


def walk(events: tuple[TrackEvent, ...]) -> list[tuple[str, str | None, str | None]]:
    return [(e.status_code, e.status_detail_code, e.event_code) for e in events]


def times(events: tuple[TrackEvent, ...]) -> list[tuple[str | None, datetime | None]]:
    return [(e.carrier_occurred_at, e.occurred_at) for e in events]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the request ----------------------------------------------------------------------------------


async def test_each_number_is_one_get_with_basic_auth_and_the_track_media_type(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    numbers = [cp.DELIVERED, cp.IN_TRANSIT, "7023210099999999"]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results["7023210099999999"] is NOT_FOUND
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/vis/track/pin/{n}/detail") for n in numbers
    ]
    expected = "Basic " + base64.b64encode(f"{cp.USER}:{cp.PASSWORD}".encode()).decode()
    assert {r.headers["Authorization"] for r in fake.requests} == {expected}
    assert {r.headers["Accept"] for r in fake.requests} == {"application/vnd.cpc.track-v2+xml"}
    assert {r.headers["Accept-Language"] for r in fake.requests} == {"en-CA"}


def test_canada_post_answers_one_number_per_call_and_never_pushes() -> None:
    assert CanadaPostCarrier.batch_size == 1
    assert CanadaPostCarrier.accepts_push is False


async def test_a_base_url_with_a_trailing_slash_is_the_same_host(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    results = await carrier.track(context(fake.url + "/"), [TrackRequest(cp.IN_TRANSIT)])
    assert isinstance(results[cp.IN_TRANSIT], CarrierReport)
    assert fake.paths() == [f"/vis/track/pin/{cp.IN_TRANSIT}/detail"]


# --- what the packages look like ------------------------------------------------------------------


async def test_delivered_package_lists_every_scan_newest_first(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.DELIVERED)
    assert walk(result.events) == [
        ("UN", "INFORMATION", "20"),
        ("DE", "DELIVERED", "1496"),
        ("IT", "OUT_FOR_DELIVERY", "0174"),
        ("IT", "HUB_PROCESSING", "1401"),
        ("IT", "HUB_PROCESSING", "0100"),
        ("AC", "RECEIVED_BY_CARRIER", "0100"),
    ]
    assert package_status(result) == ("DE", "DELIVERED")


async def test_delivery_carries_the_signer_of_the_signature_scan_and_the_place(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    delivered = (await report(carrier, fake, cp.DELIVERED)).events[1]
    assert delivered.signer == "M LEBLANC"
    assert delivered.description == "Item successfully delivered"
    assert (delivered.city_locality, delivered.state_province, delivered.country_code) == (
        "HALIFAX",
        "NS",
        "CA",
    )
    assert (delivered.carrier_status_code, delivered.carrier_status_description) == (
        "1496",
        "Item successfully delivered",
    )


async def test_delivered_package_has_ship_expected_and_actual_dates(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.DELIVERED)
    # Accepted 16:05:12 PDT; delivered 13:22:05 ADT; expected is a date without time.
    assert result.ship_date == "2026-04-27T23:05:12Z"
    assert result.actual_delivery_date == "2026-04-30T16:22:05Z"
    assert result.estimated_delivery_date == "2026-04-30T00:00:00"


async def test_times_across_the_zones_of_a_journey(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, cp.DELIVERED)).events
    assert times(events)[1:] == [
        ("2026-04-30T13:22:05", utc("2026-04-30T16:22:05")),  # Halifax, ADT
        ("2026-04-30T07:48:30", utc("2026-04-30T10:48:30")),  # Halifax, ADT
        ("2026-04-29T01:12:44", utc("2026-04-29T05:12:44")),  # Toronto, EDT
        ("2026-04-28T03:40:09", utc("2026-04-28T09:40:09")),  # Calgary, MDT
        ("2026-04-27T16:05:12", utc("2026-04-27T23:05:12")),  # Vancouver, PDT
    ]


async def test_newfoundland_is_half_an_hour_off(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, cp.ST_JOHNS)).events
    assert times(events) == [
        ("2026-05-04T08:15:00", utc("2026-05-04T10:45:00")),
        ("2026-05-02T09:00:00", utc("2026-05-02T11:30:00")),
    ]


async def test_without_a_zone_the_province_decides(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, cp.ZONE_FROM_PROVINCE)).events
    assert [(e.state_province, e.occurred_at) for e in events] == [
        ("NL", utc("2026-01-18T13:30:00")),
        ("NS", utc("2026-01-17T14:00:00")),
        ("AB", utc("2026-01-16T17:00:00")),
        ("BC", utc("2026-01-15T18:00:00")),
    ]


async def test_scans_across_the_spring_change_keep_their_true_order(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, cp.DST_SPRING)).events
    assert times(events) == [
        ("2026-03-08T03:30:00", utc("2026-03-08T07:30:00")),  # no zone: EDT from the province
        ("2026-03-08T03:00:00", utc("2026-03-08T07:00:00")),  # EDT
        ("2026-03-08T01:59:00", utc("2026-03-08T06:59:00")),  # EST, one minute earlier
        ("2026-03-08T01:30:00", utc("2026-03-08T06:30:00")),  # no zone: EST from the province
    ]


async def test_a_scan_in_the_repeated_autumn_hour_reads_as_daylight_time(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    (event,) = (await report(carrier, fake, cp.DST_AUTUMN)).events
    assert (event.carrier_occurred_at, event.occurred_at) == (
        "2026-11-01T01:30:00",
        utc("2026-11-01T05:30:00"),
    )


async def test_a_scan_abroad_without_zone_or_province_gets_no_made_up_utc_time(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.NO_ZONE)
    abroad = result.events[0]
    assert (abroad.city_locality, abroad.state_province, abroad.country_code) == (
        "UNITED STATES",
        None,
        None,
    )
    assert (abroad.carrier_occurred_at, abroad.occurred_at) == ("2026-04-29T22:10:00", None)
    assert package_status(result) == ("IT", "HUB_PROCESSING")


async def test_in_transit_package(carrier: CanadaPostCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, cp.IN_TRANSIT)
    assert package_status(result) == ("IT", "HUB_PROCESSING")
    assert result.estimated_delivery_date == "2026-05-01T00:00:00"
    assert result.actual_delivery_date is None


async def test_out_for_delivery_with_a_changed_expected_date(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.OUT_FOR_DELIVERY)
    assert package_status(result) == ("IT", "OUT_FOR_DELIVERY")
    assert result.estimated_delivery_date == "2026-04-30T00:00:00"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (cp.PICKUP_POINT, ("SP", "COLLECT_AT_LOCAL_PO")),
        (cp.PARCEL_LOCKER, ("SP", "COLLECT_AT_LOCAL_PO")),
        (cp.COLLECTED, ("DE", "DELIVERED")),
        (cp.FAILED_ATTEMPT, ("AT", "ATTEMPTED_DELIVERY")),
        (cp.RETURNED, ("EX", "RETURN_TO_SENDER")),
        (cp.REFUSED, ("EX", "REFUSED_BY_CUSTOMER")),
    ],
    ids=["post-office", "parcel-locker", "collected", "attempt", "returned", "refused"],
)
async def test_journeys_end_as_shipengine_would_say(
    carrier: CanadaPostCarrier, fake: FakeServer, number: str, expected: tuple[str, str]
) -> None:
    assert package_status(await report(carrier, fake, number)) == expected


async def test_the_post_office_is_named(carrier: CanadaPostCarrier, fake: FakeServer) -> None:
    ready = (await report(carrier, fake, cp.PICKUP_POINT)).events[0]
    assert ready.company_name == "SHOPPERS DRUG MART #192"
    assert ready.city_locality == "DARTMOUTH"


async def test_collected_at_the_post_office_is_delivered_with_its_signer(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.COLLECTED)
    assert result.events[0].signer == "J SINGH"
    assert result.actual_delivery_date == "2026-05-02T18:31:00Z"


async def test_an_unknown_identifier_is_kept_and_decides_nothing(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.UNMAPPED)
    unknown = result.events[0]
    assert (unknown.status_code, unknown.status_detail_code, unknown.event_code) == (
        "UN",
        "CARRIER_STATUS_NOT_MAPPED",
        "9876",
    )
    assert package_status(result) == ("IT", "HUB_PROCESSING")


async def test_a_pin_without_scans_is_not_yet_in_the_system(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, cp.NO_EVENTS)
    assert result.events == ()
    assert package_status(result) == ("NY", None)


async def test_the_track_v2_namespace_reads_the_same(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    v2 = await report(carrier, fake, cp.V2_NAMESPACE)
    plain = await report(carrier, fake, cp.IN_TRANSIT)
    assert v2 == plain


# --- not found ------------------------------------------------------------------------------------


async def test_no_pin_history_is_not_found(carrier: CanadaPostCarrier, fake: FakeServer) -> None:
    assert await track(carrier, fake, "7023210011111111") is NOT_FOUND
    assert package_status(NOT_FOUND) == ("NY", None)


async def test_a_pin_canada_post_refuses_is_not_found(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    assert await track(carrier, fake, cp.BAD_PIN) is NOT_FOUND


async def test_a_404_that_is_not_canada_posts_is_a_transport_error(
    carrier: CanadaPostCarrier,
) -> None:
    # A wrong base_url answers 404 for every path: that must not make every package "not found".
    with serve(web.Application()) as elsewhere, pytest.raises(TransportError, match="XML"):
        await carrier.track(context(elsewhere.url), [TrackRequest(cp.DELIVERED)])


# --- transport errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "password", "status"),
    [
        ("someone-else", cp.PASSWORD, "401"),
        (cp.USER, "wrong-password", "401"),
        (cp.FORBIDDEN_USER, cp.PASSWORD, "403"),
    ],
    ids=["user", "password", "forbidden"],
)
async def test_refused_credentials_are_a_transport_error(
    carrier: CanadaPostCarrier, fake: FakeServer, user: str, password: str, status: str
) -> None:
    with pytest.raises(TransportError, match=status):
        await carrier.track(context(fake.url, user, password), [TrackRequest(cp.DELIVERED)])


@pytest.mark.parametrize(
    "number", [cp.NOT_XML, cp.WRONG_ROOT, cp.WITH_DOCTYPE], ids=["html", "root", "doctype"]
)
async def test_a_body_that_is_not_canada_posts_xml_is_a_transport_error(
    carrier: CanadaPostCarrier, fake: FakeServer, number: str
) -> None:
    with pytest.raises(TransportError, match="not the XML it documents") as caught:
        await track(carrier, fake, number)
    assert "Gateway" not in caught.value.message  # what was answered is never repeated


async def test_one_failing_number_fails_the_batch(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    requests = [TrackRequest(cp.IN_TRANSIT), TrackRequest(cp.RATE_LIMITED)]
    with pytest.raises(TransportError):
        await carrier.track(context(fake.url), requests)


async def test_a_connection_without_credentials_asks_nothing(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="client_id"):
        await carrier.track(context(fake.url, None, None), [TrackRequest(cp.DELIVERED)])
    assert fake.requests == []


# --- verify ---------------------------------------------------------------------------------------


async def test_verify_accepts_valid_credentials_with_one_lookup(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    await carrier.verify(context(fake.url))
    (request,) = fake.requests
    assert request.path.startswith("/vis/track/pin/")
    assert request.headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("user", "password"),
    [("someone-else", cp.PASSWORD), (cp.FORBIDDEN_USER, cp.PASSWORD)],
    ids=["401", "403"],
)
async def test_verify_rejects_credentials_canada_post_refuses(
    carrier: CanadaPostCarrier, fake: FakeServer, user: str, password: str
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, user, password))


async def test_verify_rejects_missing_credentials_without_asking(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, cp.USER, None))
    assert fake.requests == []


async def test_verify_against_a_host_that_is_not_canada_post_is_not_an_acceptance(
    carrier: CanadaPostCarrier,
) -> None:
    with serve(web.Application()) as elsewhere, pytest.raises(TransportError) as caught:
        await carrier.verify(context(elsewhere.url))
    assert not isinstance(caught.value, CredentialsRejected)


# --- push and budget ------------------------------------------------------------------------------


async def test_pushes_are_refused_as_not_found(
    carrier: CanadaPostCarrier, fake: FakeServer
) -> None:
    with pytest.raises(PushRefused) as caught:
        await carrier.read_push(context(fake.url), {"content-type": "application/xml"}, b"<a/>")
    assert caught.value.status_code == 404
    assert fake.requests == []


def test_default_budget_is_one_request_per_second_never_two_at_once() -> None:
    budget = CanadaPostCarrier.budget
    assert (budget.requests_per_second, budget.burst) == (1.0, 1)
