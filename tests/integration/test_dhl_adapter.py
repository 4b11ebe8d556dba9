"""The DHL Express adapter (``shiptrack.carriers.dhl.DhlCarrier``) over real HTTP against the fake
DHL Shipment Tracking - Unified API (``tests/fakes/dhl.py``) on 127.0.0.1.

Covers: the request DHL documents (one GET per number, ``service=express``, ``language=en``, the
``DHL-API-Key`` header) and the batch size of one; what a subscriber would see for a delivered
package (every checkpoint mapped, signer, proof of delivery, ship / estimated / actual dates), in
transit, out for delivery, exception, failed attempt, pickup point, returned to the sender, a
shipment with only a ``status``, old checkpoints without ``statusCode``; the timestamps rule (UTC
only where DHL gave an offset, wall time always, never an offset-less time labelled UTC); not found
(404, 400, a number only another DHL division knows); several shipments for one number (the Express
one, the one whose id is the number, the most recent one); and DHL's own transport errors: bad key
(401/403), bodies that are not DHL's JSON, one failure failing the batch. Also ``verify()`` (one
lookup proves the key), refused pushes, and the default request budget (DHL Starter: 1 call/s, 250
calls/day).

The transport errors every carrier shares (429 with ``Retry-After``, 500, a 503 outage, timeout,
unreachable, revoked credentials, ``verify()`` during an outage) are tested in
``test_carrier_transport_contract.py``.
"""

from __future__ import annotations

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
from shiptrack.carriers.dhl import DhlCarrier
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, Known, observe
from shiptrack.domain.tracking import TrackEvent
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import dhl
from tests.fakes.server import FakeServer, serve

running, fake, carrier = adapter_fixtures(FAKE_CARRIERS["dhl_express"])


def context(url: str, key: str | None = dhl.VALID_KEY) -> ConnectionContext:
    return ConnectionContext(
        connection_id=7,
        carrier_code="dhl_express",
        simulated=False,
        base_url=url,
        credentials={"api_key": key} if key else {},
    )


async def track(carrier: DhlCarrier, fake: FakeServer, number: str) -> Result:
    results = await carrier.track(context(fake.url), [TrackRequest(number)])
    assert set(results) == {number}
    return results[number]


async def report(carrier: DhlCarrier, fake: FakeServer, number: str) -> CarrierReport:
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
    return [(e.status_code, e.status_detail_code, e.description) for e in events]


def by_description(events: tuple[TrackEvent, ...], start: str) -> TrackEvent:
    found = [e for e in events if (e.description or "").startswith(start)]
    assert len(found) == 1, [e.description for e in events]
    return found[0]


# --- the request ----------------------------------------------------------------------------------


async def test_each_number_is_one_get_for_the_express_service_with_the_key(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    numbers = [dhl.DELIVERED, dhl.IN_TRANSIT, "5550000000"]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert set(results) == set(numbers)
    assert results["5550000000"] is NOT_FOUND
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/track/shipments")] * 3
    assert [r.query for r in fake.requests] == [
        {"trackingNumber": n, "service": "express", "language": "en"} for n in numbers
    ]
    assert {r.headers["DHL-API-Key"] for r in fake.requests} == {dhl.VALID_KEY}
    assert {r.headers["Accept"] for r in fake.requests} == {"application/json"}


def test_dhl_answers_one_number_per_call() -> None:
    assert DhlCarrier.batch_size == 1
    assert DhlCarrier.accepts_push is False


async def test_a_base_url_with_a_trailing_slash_is_the_same_host(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    results = await carrier.track(context(fake.url + "/"), [TrackRequest(dhl.IN_TRANSIT)])
    assert isinstance(results[dhl.IN_TRANSIT], CarrierReport)
    assert fake.paths() == ["/track/shipments"]


# --- what the packages look like ------------------------------------------------------------------


async def test_delivered_package_has_every_checkpoint_mapped(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.DELIVERED)
    assert walk(result.events) == [
        ("DE", "DELIVERED", "Delivered - Signed for by: J DOE"),
        ("IT", "OUT_FOR_DELIVERY", "With delivery courier"),
        (
            "IT",
            "RECEIVED_LOCAL_DELIVERY_DEPOT",
            "Arrived at DHL Delivery Facility AMSTERDAM - NETHERLANDS",
        ),
        ("IT", "CUSTOMS_CLEARED", "Clearance processing complete at LEIPZIG - GERMANY"),
        ("IT", "HUB_SCAN_OUT", "Departed Facility in LEIPZIG - GERMANY"),
        ("IT", "HUB_PROCESSING", "Processed at CINCINNATI HUB - USA"),
        ("AC", "PICKED_UP", "Shipment picked up"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER", "Shipment information received"),
    ]
    assert package_status(result) == ("DE", "DELIVERED")
    delivered = result.events[0]
    assert delivered.carrier_status_code == "delivered"
    assert delivered.event_code == "delivered"
    assert delivered.carrier_status_description == "delivered"


async def test_delivery_carries_the_signer_and_proof_of_delivery(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.DELIVERED)
    delivered = result.events[0]
    assert delivered.signer == "Jane Doe"
    assert delivered.proof_of_delivery_url == dhl.POD_DOCUMENT
    others = result.events[1:]
    assert {e.signer for e in others} == {None}
    assert {e.proof_of_delivery_url for e in others} == {None}


async def test_delivered_package_has_ship_estimated_and_actual_dates(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.DELIVERED)
    # Picked up 19:30 at -04:00; estimated 18:00 at +02:00; proof of delivery 14:05 at +02:00.
    assert result.ship_date == "2026-04-28T23:30:00Z"
    assert result.estimated_delivery_date == "2026-04-30T16:00:00Z"
    assert result.actual_delivery_date == "2026-04-30T12:05:00Z"


async def test_times_with_an_offset_give_utc_and_the_wall_time(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, dhl.DELIVERED)).events
    picked_up = by_description(events, "Shipment picked up")
    assert picked_up.occurred_at == datetime(2026, 4, 28, 23, 30, tzinfo=UTC)
    assert picked_up.carrier_occurred_at == "2026-04-28T19:30:00"
    cleared = by_description(events, "Clearance processing complete")
    assert cleared.occurred_at == datetime(2026, 4, 29, 18, 3, tzinfo=UTC)
    assert cleared.carrier_occurred_at == "2026-04-29T18:03:00"


async def test_times_without_an_offset_are_never_labelled_utc(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, dhl.DELIVERED)).events
    arrived = by_description(events, "Arrived at DHL Delivery Facility")
    assert arrived.occurred_at is None
    assert arrived.carrier_occurred_at == "2026-04-29T22:40:00"
    info = by_description(events, "Shipment information received")
    assert info.occurred_at is None
    assert info.carrier_occurred_at == "2026-04-28T11:02:00"


async def test_locations_keep_what_dhl_gives_with_the_country_code(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, dhl.DELIVERED)).events
    delivered = events[0]
    assert (delivered.city_locality, delivered.postal_code, delivered.country_code) == (
        "AMSTERDAM",
        "1043 AG",
        "NL",
    )
    assert delivered.state_province is None
    # Express checkpoints often name the country only inside addressLocality: kept as given.
    arrived = by_description(events, "Arrived at DHL Delivery Facility")
    assert (arrived.city_locality, arrived.country_code) == ("AMSTERDAM - NETHERLANDS", None)


async def test_in_transit_package_with_an_estimated_window(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.IN_TRANSIT)
    assert package_status(result) == ("IT", "HUB_SCAN_OUT")
    assert result.ship_date == "2026-04-28T23:30:00Z"
    # The window's end, as DHL wrote it: no offset, so no Z.
    assert result.estimated_delivery_date == "2026-04-30T18:00:00"
    assert result.actual_delivery_date is None


async def test_out_for_delivery_package(carrier: DhlCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, dhl.OUT_FOR_DELIVERY)
    assert package_status(result) == ("IT", "OUT_FOR_DELIVERY")
    # A date without time stays a local date.
    assert result.estimated_delivery_date == "2026-04-30T00:00:00"
    assert result.actual_delivery_date is None


async def test_exception_package(carrier: DhlCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, dhl.EXCEPTION)
    assert package_status(result) == ("EX", "ADDRESS_QUERY")
    assert result.events[0].description == (
        "Incorrect address - the street is unknown at the destination"
    )
    assert result.events[0].carrier_status_code == "failure"


async def test_failed_attempt_package(carrier: DhlCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, dhl.FAILED_ATTEMPT)
    assert package_status(result) == ("AT", "ATTEMPTED_DELIVERY")
    assert result.events[0].occurred_at == datetime(2026, 4, 30, 9, 47, tzinfo=UTC)


async def test_pickup_point_package(carrier: DhlCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, dhl.PICKUP_POINT)
    assert package_status(result) == ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT")
    assert result.actual_delivery_date is None


async def test_shipment_returned_to_the_sender_is_an_exception_not_a_delivery(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.RETURNED)
    assert walk(result.events)[:3] == [
        ("EX", "UNDELIVERABLE_RETURNED_TO_SENDER", "Delivered"),
        ("EX", "RETURN_TO_SENDER", "Shipment is being returned to the shipper"),
        ("AT", "ATTEMPTED_DELIVERY", "Delivery attempted; recipient not home"),
    ]
    assert package_status(result) == ("EX", "UNDELIVERABLE_RETURNED_TO_SENDER")
    assert result.actual_delivery_date is None
    assert result.events[0].signer is None


async def test_shipment_with_only_a_status_reports_it_as_its_event(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.STATUS_ONLY)
    assert walk(result.events) == [("IT", "OUT_FOR_DELIVERY", "With delivery courier")]
    assert result.events[0].carrier_occurred_at == "2026-04-30T08:12:00"


async def test_checkpoints_without_status_code_are_read_by_their_text(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.NO_STATUS_CODE)
    assert walk(result.events) == [
        ("UN", "CARRIER_STATUS_NOT_MAPPED", "Please contact DHL"),
        (
            "NY",
            "SHIPMENT_CREATED",
            "Shipper has generated a shipment label, but the shipment has not yet been "
            "handed over to DHL",
        ),
    ]
    assert [e.carrier_status_code for e in result.events] == [None, None]
    # The unmapped checkpoint is kept but does not decide the status.
    assert package_status(result) == ("NY", "SHIPMENT_CREATED")


# --- not found ------------------------------------------------------------------------------------


async def test_unknown_number_is_not_found(carrier: DhlCarrier, fake: FakeServer) -> None:
    result = await track(carrier, fake, "1234567890")
    assert result is NOT_FOUND
    assert package_status(result) == ("NY", None)


async def test_number_dhl_refuses_to_look_up_is_not_found(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    assert await track(carrier, fake, dhl.BAD_NUMBER) is NOT_FOUND


async def test_number_only_another_dhl_division_knows_is_not_found(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    assert await track(carrier, fake, dhl.OTHER_DIVISION) is NOT_FOUND


# --- several shipments for one number -------------------------------------------------------------


async def test_of_several_divisions_the_express_shipment_is_reported(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    # DHL lists a newer, delivered Parcel Germany shipment first: another parcel.
    result = await report(carrier, fake, dhl.SEVERAL_DIVISIONS)
    assert package_status(result) == ("IT", "HUB_SCAN_OUT")
    assert "The shipment has been successfully delivered" not in {
        e.description for e in result.events
    }


async def test_of_several_express_shipments_the_one_whose_id_is_the_number_wins(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    # The first, newer shipment only holds the number as a piece id or reference.
    result = await report(carrier, fake, dhl.SEVERAL_EXPRESS)
    assert package_status(result) == ("IT", "OUT_FOR_DELIVERY")
    assert "BERLIN" not in {e.city_locality for e in result.events}


async def test_of_a_reused_number_the_most_recent_shipment_wins(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, dhl.REUSED_NUMBER)
    assert package_status(result) == ("AC", "PICKED_UP")
    assert walk(result.events) == [
        ("AC", "PICKED_UP", "Shipment picked up"),
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER", "Shipment information received"),
    ]


# --- transport errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["not-a-dhl-key", None])
async def test_a_refused_key_is_a_transport_error(
    carrier: DhlCarrier, fake: FakeServer, key: str | None
) -> None:
    with pytest.raises(TransportError):
        await carrier.track(context(fake.url, key), [TrackRequest(dhl.DELIVERED)])


async def test_401_from_dhl_is_a_transport_error(carrier: DhlCarrier, fake: FakeServer) -> None:
    with pytest.raises(TransportError, match="401"):
        await carrier.track(context(fake.url, "not-a-dhl-key"), [TrackRequest(dhl.DELIVERED)])
    assert fake.requests[0].headers["DHL-API-Key"] == "not-a-dhl-key"


async def test_403_from_dhl_is_a_transport_error(carrier: DhlCarrier, fake: FakeServer) -> None:
    with pytest.raises(TransportError, match="403"):
        await carrier.track(context(fake.url, dhl.FORBIDDEN_KEY), [TrackRequest(dhl.DELIVERED)])


async def test_a_body_that_is_not_json_is_a_transport_error(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="not the JSON it documents") as caught:
        await track(carrier, fake, dhl.NOT_JSON)
    assert "Gateway" not in caught.value.message  # what was answered is never repeated


async def test_json_without_shipments_is_a_transport_error(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="shipments"):
        await track(carrier, fake, dhl.WRONG_SHAPE)


async def test_one_failing_number_fails_the_batch(carrier: DhlCarrier, fake: FakeServer) -> None:
    requests = [TrackRequest(dhl.IN_TRANSIT), TrackRequest(dhl.RATE_LIMITED)]
    with pytest.raises(TransportError):
        await carrier.track(context(fake.url), requests)


async def test_a_connection_without_a_key_asks_nothing(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="api_key"):
        await carrier.track(context(fake.url, None), [TrackRequest(dhl.DELIVERED)])
    assert fake.requests == []


# --- verify ---------------------------------------------------------------------------------------


async def test_verify_accepts_a_valid_key_with_one_lookup(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    await carrier.verify(context(fake.url))
    assert len(fake.requests) == 1
    assert fake.requests[0].path == "/track/shipments"
    assert fake.requests[0].headers["DHL-API-Key"] == dhl.VALID_KEY


@pytest.mark.parametrize("key", ["not-a-dhl-key", dhl.FORBIDDEN_KEY])
async def test_verify_rejects_a_key_dhl_refuses(
    carrier: DhlCarrier, fake: FakeServer, key: str
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, key))


async def test_verify_rejects_a_missing_key_without_asking(
    carrier: DhlCarrier, fake: FakeServer
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, None))
    assert fake.requests == []


async def test_verify_against_a_host_that_is_not_dhl_is_not_an_acceptance(
    carrier: DhlCarrier,
) -> None:
    with serve(web.Application()) as elsewhere, pytest.raises(TransportError) as caught:
        await carrier.verify(context(elsewhere.url))
    assert not isinstance(caught.value, CredentialsRejected)


# --- push and budget ------------------------------------------------------------------------------


async def test_pushes_are_refused_as_not_found(carrier: DhlCarrier, fake: FakeServer) -> None:
    with pytest.raises(PushRefused) as caught:
        await carrier.read_push(context(fake.url), {"content-type": "application/json"}, b"{}")
    assert caught.value.status_code == 404
    assert fake.requests == []


def test_default_budget_stays_within_the_starter_plan() -> None:
    budget = DhlCarrier.budget
    # A token bucket of `burst` calls refilled at the rate: the most calls any 24 hours can see.
    most_per_day = budget.requests_per_second * 86400 + budget.burst - 1
    assert most_per_day <= 250
    assert budget.requests_per_second <= 1
    assert budget.burst == 1  # never two calls within the same second
    # ...and it does not leave most of the quota unused.
    assert most_per_day >= 240
