"""The USPS adapter (``shiptrack.carriers.usps``) over real HTTP against the fake USPS API
(``tests.fakes.usps``) on 127.0.0.1.

Covers, on Tracking v3r2 (the default) and v3 (``api_version: v3``) alike: delivered, in transit,
out for delivery, exception, failed attempt, pickup point, collected from a pickup point, label
created, an unknown scan code, a customs hold, not found, several mail pieces under one number (the
latest mailing wins, then the newest scan); what the package's status becomes when the engine
reads the answer; auth failure, expired token (one refresh and one retry, not more), tokens cached
and renewed before they expire, 429 with ``Retry-After``, 5xx, a per-number failure inside a 207,
timeout, malformed bodies and a wrong base URL (transport errors, never "not found"); batches of
at most 35 numbers per v3r2 call and one GET with ``expand=DETAIL`` per number on v3; the timestamp
rule (UTC only where an offset is known); ship, estimated and actual delivery dates; signer,
company and locations with their country; numbers written with dashes or that USPS cannot track;
credential checks; and that USPS pushes are refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shiptrack.carriers.base import ConnectionContext, PushRefused, TrackRequest, TransportError
from shiptrack.carriers.http import CarrierHttp, CredentialsRejected
from shiptrack.carriers.usps import UspsCarrier
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, InvalidNumber, Known, observe
from shiptrack.domain.tracking import TrackEvent
from tests.fakes import usps
from tests.fakes.dial import FAKES_ALLOWED
from tests.fakes.server import FakeServer, serve

VERSIONS = ("v3r2", "v3")
TRACK_V3R2 = "/tracking/v3r2/tracking"
TOKEN = "/oauth2/v3/token"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    """The fake USPS API, fresh for each test."""
    with serve(usps.app()) as running:
        yield running


@pytest.fixture
async def adapter() -> AsyncIterator[UspsCarrier]:
    """The adapter with short timeouts, closed after the test."""
    carrier = UspsCarrier(
        http=CarrierHttp("USPS", policy=FAKES_ALLOWED, timeout=0.5, connect_timeout=0.5)
    )
    try:
        yield carrier
    finally:
        await carrier.close()


def connection(
    fake: FakeServer,
    version: str = "v3r2",
    *,
    secret: str = usps.CLIENT_SECRET,
    base_url: str | None = None,
    connection_id: int = 1,
) -> ConnectionContext:
    options = {"api_version": version} if version == "v3" else {}
    return ConnectionContext(
        connection_id=connection_id,
        carrier_code="usps",
        simulated=False,
        base_url=base_url or fake.url,
        credentials={"client_id": usps.CLIENT_ID, "client_secret": secret},
        options=options,
    )


async def track(
    adapter: UspsCarrier, context: ConnectionContext, *numbers: str
) -> dict[str, CarrierReport | Any]:
    return await adapter.track(context, [TrackRequest(number) for number in numbers])


async def report_of(adapter: UspsCarrier, context: ConnectionContext, number: str) -> CarrierReport:
    result = (await track(adapter, context, number))[number]
    assert isinstance(result, CarrierReport), result
    return result


def status_after_first_check(result: Any) -> tuple[str, str | None]:
    """The package's status once the engine has read this answer (first check)."""
    first = Known(
        status_code="UN",
        status_detail_code=None,
        sequence=0,
        settled=False,
        newest_event_at=None,
    )
    seen = observe(first, result)
    return seen.status_code, seen.status_detail_code


def tracking_calls(fake: FakeServer) -> list[str]:
    return [r.path for r in fake.requests if r.path != TOKEN]


def token_calls(fake: FakeServer) -> int:
    return sum(1 for r in fake.requests if r.path == TOKEN)


# --- what each kind of package becomes --------------------------------------------------------

SCENARIOS: dict[str, tuple[str, tuple[str, str | None]]] = {
    "delivered": (usps.DELIVERED, ("DE", "DELIVERED")),
    "in transit": (usps.IN_TRANSIT, ("IT", "HUB_SCAN_OUT")),
    "out for delivery": (usps.OUT_FOR_DELIVERY, ("IT", "OUT_FOR_DELIVERY")),
    "exception": (usps.EXCEPTION, ("EX", "REFUSED_BY_CUSTOMER")),
    "failed attempt": (usps.ATTEMPT, ("AT", "CUSTOMER_CARDED")),
    "pickup point": (usps.PICKUP_POINT, ("SP", "COLLECT_AT_LOCAL_PO")),
    "collected": (usps.COLLECTED, ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT")),
    "label created": (usps.LABEL_CREATED, ("NY", "SHIPMENT_CREATED")),
    "unknown scan code": (usps.UNMAPPED, ("IT", "IN_TRANSIT")),
    "customs hold": (usps.CUSTOMS, ("EX", "HELD_BY_CUSTOMS")),
    "several mail pieces": (usps.SEVERAL, ("IT", "HUB_SCAN_OUT")),
    "not found": (usps.UNKNOWN, ("NY", None)),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_each_kind_of_package_gets_its_status(
    fake: FakeServer, adapter: UspsCarrier, version: str, scenario: str
) -> None:
    number, expected = SCENARIOS[scenario]
    results = await track(adapter, connection(fake, version), number)
    assert set(results) == {number}
    assert status_after_first_check(results[number]) == expected


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_unknown_number_is_not_found_rather_than_an_error(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    results = await track(adapter, connection(fake, version), usps.UNKNOWN)
    assert results == {usps.UNKNOWN: NOT_FOUND}


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_delivered_package_has_its_scans_signer_place_and_dates(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    report = await report_of(adapter, connection(fake, version), usps.DELIVERED)
    delivered = report.events[0]
    assert (delivered.event_code, delivered.description) == (
        "01",
        "Delivered, Left with Individual",
    )
    assert (delivered.carrier_status_code, delivered.carrier_status_description) == (
        "01",
        "Delivered, Left with Individual",
    )
    assert delivered.signer == "J SMITH"
    assert delivered.company_name == "ACME CORP"
    place = (
        delivered.city_locality,
        delivered.state_province,
        delivered.postal_code,
        delivered.country_code,
    )
    assert place == ("NEW YORK", "NY", "10001", "US")
    # 14:05 New York wall time at GMT-4 is 18:05 UTC.
    assert delivered.carrier_occurred_at == "2026-04-30T14:05:00"
    assert delivered.occurred_at == datetime(2026, 4, 30, 18, 5, tzinfo=UTC)
    assert delivered.proof_of_delivery_url is None  # USPS tracking gives no POD link
    assert report.actual_delivery_date == "2026-04-30T18:05:00Z"
    assert report.estimated_delivery_date == "2026-04-30T00:00:00"
    # The mailing date (v3r2) or the mail piece intake time (v3), as USPS gives it.
    assert report.ship_date == (
        "2026-04-28T00:00:00" if version == "v3r2" else "2026-04-28T09:12:19"
    )
    assert [e.event_code for e in report.events] == [
        "01", "OF", "07", "A1", "TL", "T1", "10", "03", "GX",
    ]  # fmt: skip
    label = report.events[-1]
    assert (label.status_code, label.status_detail_code) == ("NY", "SHIPMENT_CREATED")


async def test_a_package_not_delivered_has_no_actual_delivery_date(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    report = await report_of(adapter, connection(fake), usps.IN_TRANSIT)
    assert report.actual_delivery_date is None
    assert report.estimated_delivery_date == "2026-05-02T00:00:00"


async def test_a_label_without_mailing_date_has_no_ship_date(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    report = await report_of(adapter, connection(fake), usps.LABEL_CREATED)
    assert report.ship_date is None


async def test_without_a_mailing_date_the_acceptance_scan_is_the_ship_date(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    piece = usps.detail(usps.IN_TRANSIT, usps._origin(), category="In Transit", mailed=None)
    fake.state["details"] = {usps.IN_TRANSIT: [piece]}
    report = await report_of(adapter, connection(fake), usps.IN_TRANSIT)
    # "USPS in possession of item", 11:10 Chicago time at GMT-5.
    assert report.ship_date == "2026-04-28T16:10:00Z"


async def test_an_unknown_scan_code_is_kept_and_the_newest_one_falls_back_to_the_category(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    piece = usps.detail(
        usps.UNMAPPED,
        [
            usps.scan("Z9", "Awaiting Delivery Scan", "2026-04-29T15:00:00"),
            usps.scan("Z8", "Some Older Scan", "2026-04-29T12:00:00"),
            *usps._origin(),
        ],
        category="In Transit",
    )
    fake.state["details"] = {usps.UNMAPPED: [piece]}
    report = await report_of(adapter, connection(fake), usps.UNMAPPED)
    newest, older = report.events[0], report.events[1]
    assert (newest.status_code, newest.status_detail_code) == ("IT", "IN_TRANSIT")
    assert newest.carrier_status_code == "Z9"
    # Only the newest scan is what statusCategory describes; an older unknown scan stays unmapped.
    assert (older.status_code, older.status_detail_code) == ("UN", "CARRIER_STATUS_NOT_MAPPED")
    assert older.description == "Some Older Scan"


async def test_picked_up_is_an_acceptance_unless_the_item_was_held_for_pickup(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    sender_pickup = usps.detail(
        usps.IN_TRANSIT,
        [usps.scan("43", "Picked Up", "2026-04-28T10:00:00"), *usps._origin()[-1:]],
        category="Accepted",
    )
    fake.state["details"] = {usps.IN_TRANSIT: [sender_pickup]}
    picked = await report_of(adapter, connection(fake), usps.IN_TRANSIT)
    assert (picked.events[0].status_code, picked.events[0].status_detail_code) == (
        "AC",
        "PICKED_UP",
    )
    collected = await report_of(adapter, connection(fake), usps.COLLECTED)
    assert collected.events[0].status_code == "DE"
    assert collected.actual_delivery_date == "2026-05-01T21:20:00Z"


async def test_customs_scans_and_foreign_places(fake: FakeServer, adapter: UspsCarrier) -> None:
    report = await report_of(adapter, connection(fake), usps.CUSTOMS)
    held, into, departed, preparing = report.events
    assert (held.status_code, held.status_detail_code) == ("EX", "HELD_BY_CUSTOMS")
    assert (into.status_code, into.status_detail_code) == ("IT", "CUSTOMS_PROCESSING")
    assert held.country_code == "US"  # a US state and no country: a domestic scan
    assert (departed.city_locality, departed.country_code) == ("SHANGHAI", "CN")
    # 03:10 Shanghai time at +08:00 (written into eventTimestamp) is 19:10 UTC the day before.
    assert departed.carrier_occurred_at == "2026-04-22T03:10:00"
    assert departed.occurred_at == datetime(2026, 4, 21, 19, 10, tzinfo=UTC)
    # A country given by name is not guessed into a code; no offset, so no UTC time either.
    assert preparing.country_code is None
    assert (preparing.occurred_at, preparing.carrier_occurred_at) == (None, "2026-04-21T12:00:00")
    assert (preparing.status_code, preparing.status_detail_code) == (
        "UN",
        "CARRIER_STATUS_NOT_MAPPED",
    )


# --- several mail pieces under one number -------------------------------------------------------


async def test_of_several_mail_pieces_the_latest_mailing_is_the_package(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    report = await report_of(adapter, connection(fake), usps.SEVERAL)
    # USPS lists the 2025 piece (delivered) first; the number now means the 2026 piece.
    assert report.ship_date == "2026-04-28T00:00:00"
    assert report.events[0].event_code == "T1"
    assert all(event.event_code != "01" for event in report.events)
    assert report.actual_delivery_date is None


async def test_pieces_mailed_the_same_day_are_told_apart_by_their_newest_scan(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    older = usps.detail(
        usps.SEVERAL,
        [usps.scan("01", "Delivered, In/At Mailbox", "2026-04-29T13:00:00")],
        category="Delivered",
    )
    newer = usps.detail(
        usps.SEVERAL,
        [usps.scan("OF", "Out for Delivery", "2026-04-30T08:00:00")],
        category="Out for Delivery",
    )
    undated = usps.detail(
        usps.SEVERAL,
        [usps.scan("TL", "In Transit to Next Facility", "2026-05-01T08:00:00")],
        category="In Transit",
        mailed=None,
    )
    fake.state["details"] = {usps.SEVERAL: [older, newer, undated]}
    results = await track(adapter, connection(fake), usps.SEVERAL)
    assert status_after_first_check(results[usps.SEVERAL]) == ("IT", "OUT_FOR_DELIVERY")


# --- timestamps ---------------------------------------------------------------------------------


def timing_piece(events: list[dict[str, Any]]) -> dict[str, Any]:
    return usps.detail(usps.IN_TRANSIT, events, category="In Transit")


async def times_of(
    fake: FakeServer, adapter: UspsCarrier, event: dict[str, Any]
) -> tuple[datetime | None, str | None]:
    fake.state["details"] = {usps.IN_TRANSIT: [timing_piece([event])]}
    scanned: TrackEvent = (await report_of(adapter, connection(fake), usps.IN_TRANSIT)).events[0]
    return scanned.occurred_at, scanned.carrier_occurred_at


async def test_local_time_with_gmt_offset_gives_utc(fake: FakeServer, adapter: UspsCarrier) -> None:
    event = {"eventCode": "TL", "eventTimestamp": "2026-04-29T22:13:00", "GMTOffset": "-7:00"}
    assert await times_of(fake, adapter, event) == (
        datetime(2026, 4, 30, 5, 13, tzinfo=UTC),
        "2026-04-29T22:13:00",
    )


async def test_an_offset_inside_the_event_timestamp_is_used_and_kept_out_of_the_local_time(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    event = {"eventCode": "TL", "eventTimestamp": "2024-04-04T14:03:12-07:00"}
    assert await times_of(fake, adapter, event) == (
        datetime(2024, 4, 4, 21, 3, 12, tzinfo=UTC),
        "2024-04-04T14:03:12",
    )


async def test_a_local_time_without_any_offset_is_never_taken_for_utc(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    event = {"eventCode": "TL", "eventTimestamp": "2026-04-29T22:13:00"}
    assert await times_of(fake, adapter, event) == (None, "2026-04-29T22:13:00")


async def test_a_gmt_time_that_agrees_with_the_local_time_gives_utc(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    # Local minutes, GMT seconds: 13:58 local and 18:58:40 GMT is GMT-5.
    event = {
        "eventCode": "TL",
        "eventTimestamp": "2024-11-22T13:58:00",
        "GMTTimestamp": "2024-11-22T18:58:40Z",
    }
    assert await times_of(fake, adapter, event) == (
        datetime(2024, 11, 22, 18, 58, tzinfo=UTC),
        "2024-11-22T13:58:00",
    )


async def test_a_gmt_time_with_a_wrong_date_is_ignored(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    event = {
        "eventCode": "TL",
        "eventTimestamp": "2024-11-22T13:58:00",
        "GMTTimestamp": "2024-11-24T18:58:40Z",
    }
    assert await times_of(fake, adapter, event) == (None, "2024-11-22T13:58:00")


async def test_a_scan_dated_without_time_keeps_its_date_as_local_midnight(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    event = {"eventCode": "TL", "eventTimestamp": "2024-04-04", "GMTOffset": "-7:00"}
    assert await times_of(fake, adapter, event) == (None, "2024-04-04T00:00:00")


async def test_a_delivery_without_offset_reports_its_local_delivery_time(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    event = usps.scan("01", "Delivered, Front Door/Porch", "2026-04-30T14:05:00", offset=None)
    fake.state["details"] = {usps.IN_TRANSIT: [timing_piece([event])]}
    report = await report_of(adapter, connection(fake), usps.IN_TRANSIT)
    assert report.actual_delivery_date == "2026-04-30T14:05:00"


# --- batches and API versions -------------------------------------------------------------------


async def test_v3r2_asks_up_to_35_numbers_per_call(fake: FakeServer, adapter: UspsCarrier) -> None:
    numbers = [f"9400111899000000000{i:03d}" for i in range(36)]
    results = await track(adapter, connection(fake), *numbers)
    assert set(results) == set(numbers)
    posts = [r for r in fake.requests if r.path == TRACK_V3R2]
    bodies = [json.loads(r.body) for r in posts]
    assert [len(body) for body in bodies] == [35, 1]
    asked = [item["trackingNumber"] for body in bodies for item in body]
    assert asked == numbers
    assert all(set(item) == {"trackingNumber"} for body in bodies for item in body)
    assert all(r.headers["Content-Type"].startswith("application/json") for r in posts)
    assert adapter.batch_size == 35


async def test_a_multi_status_answer_mixes_reports_and_not_found(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    results = await track(
        adapter, connection(fake), usps.DELIVERED, usps.UNKNOWN, usps.PICKUP_POINT
    )
    assert len([r for r in fake.requests if r.path == TRACK_V3R2]) == 1
    assert results[usps.UNKNOWN] is NOT_FOUND
    assert status_after_first_check(results[usps.DELIVERED]) == ("DE", "DELIVERED")
    assert status_after_first_check(results[usps.PICKUP_POINT]) == ("SP", "COLLECT_AT_LOCAL_PO")


async def test_v3_asks_one_number_per_get_with_detail(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    context = connection(fake, "v3")
    results = await track(adapter, context, usps.DELIVERED, usps.UNKNOWN, usps.ATTEMPT)
    assert results[usps.UNKNOWN] is NOT_FOUND
    gets = [r for r in fake.requests if r.path != TOKEN]
    assert [(r.method, r.path) for r in gets] == [
        ("GET", f"/tracking/v3/tracking/{usps.DELIVERED}"),
        ("GET", f"/tracking/v3/tracking/{usps.UNKNOWN}"),
        ("GET", f"/tracking/v3/tracking/{usps.ATTEMPT}"),
    ]
    assert all(r.query == {"expand": "DETAIL"} for r in gets)
    assert adapter.batch_size_for(context) == 1
    assert adapter.batch_size_for(connection(fake)) == 35


@pytest.mark.parametrize("version", ["v3r2", "v3"])
async def test_a_400_about_the_tracking_number_makes_it_invalid_not_merely_not_found(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    alone = await track(adapter, connection(fake, version), usps.INVALID)
    assert alone == {usps.INVALID: InvalidNumber("USPS", "400", usps.INVALID_TEXT)}
    # Among other numbers (v3r2: one 207 answer), only that number is invalid.
    mixed = await track(
        adapter, connection(fake, version), usps.INVALID, usps.UNKNOWN, usps.DELIVERED
    )
    assert mixed[usps.INVALID] == InvalidNumber("USPS", "400", usps.INVALID_TEXT)
    assert mixed[usps.UNKNOWN] is NOT_FOUND
    assert isinstance(mixed[usps.DELIVERED], CarrierReport)


async def test_a_number_with_dashes_is_asked_without_them_and_answered_under_its_own_name(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    dashed = f"{usps.DELIVERED[:4]}-{usps.DELIVERED[4:12]}-{usps.DELIVERED[12:]}"
    results = await track(adapter, connection(fake), dashed)
    assert status_after_first_check(results[dashed]) == ("DE", "DELIVERED")
    (post,) = [r for r in fake.requests if r.path == TRACK_V3R2]
    assert json.loads(post.body) == [{"trackingNumber": usps.DELIVERED}]


async def test_a_number_usps_cannot_track_is_not_found_without_asking(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    too_short = "AB1"
    too_long = "9" * 35
    results = await track(adapter, connection(fake), too_short, too_long)
    assert results == {too_short: NOT_FOUND, too_long: NOT_FOUND}
    assert fake.requests == []


# --- tokens -------------------------------------------------------------------------------------


async def test_the_token_is_fetched_once_with_the_client_credentials_and_then_reused(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    context = connection(fake)
    await track(adapter, context, usps.DELIVERED)
    await track(adapter, context, usps.IN_TRANSIT)
    assert token_calls(fake) == 1
    (token_request,) = [r for r in fake.requests if r.path == TOKEN]
    assert json.loads(token_request.body) == {
        "client_id": usps.CLIENT_ID,
        "client_secret": usps.CLIENT_SECRET,
        "grant_type": "client_credentials",
    }
    posts = [r for r in fake.requests if r.path == TRACK_V3R2]
    assert {r.headers["Authorization"] for r in posts} == {"Bearer usps-access-token-1"}


async def test_tokens_are_kept_per_connection(fake: FakeServer, adapter: UspsCarrier) -> None:
    await track(adapter, connection(fake, connection_id=1), usps.DELIVERED)
    await track(adapter, connection(fake, connection_id=2), usps.DELIVERED)
    await track(adapter, connection(fake, connection_id=1), usps.DELIVERED)
    assert token_calls(fake) == 2


async def test_a_token_is_renewed_before_it_expires(fake: FakeServer, adapter: UspsCarrier) -> None:
    fake.state["expires_in"] = "1"
    context = connection(fake)
    await track(adapter, context, usps.DELIVERED)
    await asyncio.sleep(1.0)
    await track(adapter, context, usps.DELIVERED)
    # A new token before the second call, not after a refusal: no call was answered 401.
    assert [r.path for r in fake.requests] == [TOKEN, TRACK_V3R2, TOKEN, TRACK_V3R2]
    second = fake.requests[-1]
    assert second.headers["Authorization"] == "Bearer usps-access-token-2"


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    context = connection(fake, version)
    await track(adapter, context, usps.DELIVERED)
    fake.state["valid"].clear()  # USPS no longer accepts the cached token
    results = await track(adapter, context, usps.DELIVERED)
    assert status_after_first_check(results[usps.DELIVERED]) == ("DE", "DELIVERED")
    calls = [r.path for r in fake.requests]
    assert calls[2:] == [calls[1], TOKEN, calls[1]]


async def test_a_token_refused_twice_is_a_transport_error_after_one_refresh(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    fake.state["reject_tokens"] = True
    with pytest.raises(TransportError, match="401") as raised:
        await track(adapter, connection(fake), usps.DELIVERED)
    assert not isinstance(raised.value, CredentialsRejected)
    assert [r.path for r in fake.requests] == [TOKEN, TRACK_V3R2, TOKEN, TRACK_V3R2]


async def test_wrong_credentials_on_a_poll_are_a_transport_error(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    with pytest.raises(CredentialsRejected, match="HTTP 401"):
        await track(adapter, connection(fake, secret="wrong"), usps.DELIVERED)
    assert tracking_calls(fake) == []


# --- verifying credentials ----------------------------------------------------------------------


async def test_verify_accepts_good_credentials(fake: FakeServer, adapter: UspsCarrier) -> None:
    await adapter.verify(connection(fake, connection_id=0))
    assert [r.path for r in fake.requests] == [TOKEN]


async def test_verify_rejects_wrong_credentials(fake: FakeServer, adapter: UspsCarrier) -> None:
    with pytest.raises(CredentialsRejected):
        await adapter.verify(connection(fake, secret="not-the-secret"))


async def test_verify_fetches_a_fresh_token_each_time(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    context = connection(fake, connection_id=0)
    await adapter.verify(context)
    fake.state["clients"] = {}  # the credentials were revoked since
    with pytest.raises(CredentialsRejected):
        await adapter.verify(context)


async def test_verify_while_usps_is_down_is_not_a_credentials_problem(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    fake.state["token_outage"] = 503
    with pytest.raises(TransportError) as raised:
        await adapter.verify(connection(fake))
    assert not isinstance(raised.value, CredentialsRejected)
    assert raised.value.retry_after == 1


# --- USPS not answering -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_429_is_a_transport_error_with_retry_after(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    fake.state["outage"] = {"status": 429, "retry_after": "7"}
    with pytest.raises(TransportError, match="429") as raised:
        await track(adapter, connection(fake, version), usps.DELIVERED)
    assert raised.value.retry_after == 7


@pytest.mark.parametrize("version", VERSIONS)
async def test_503_is_a_transport_error_with_retry_after(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    fake.state["outage"] = {"status": 503, "retry_after": "30"}
    with pytest.raises(TransportError, match="503") as raised:
        await track(adapter, connection(fake, version), usps.DELIVERED)
    assert raised.value.retry_after == 30


async def test_500_is_a_transport_error(fake: FakeServer, adapter: UspsCarrier) -> None:
    fake.state["outage"] = {"status": 500}
    with pytest.raises(TransportError, match="500") as raised:
        await track(adapter, connection(fake), usps.DELIVERED, usps.IN_TRANSIT)
    assert raised.value.retry_after is None


async def test_a_per_number_5xx_inside_a_multi_status_fails_the_batch(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    fake.state["item_status"] = {usps.IN_TRANSIT: "503"}
    with pytest.raises(TransportError, match=usps.IN_TRANSIT):
        await track(adapter, connection(fake), usps.DELIVERED, usps.IN_TRANSIT)


async def test_a_v3_bad_request_that_is_not_a_tracking_error_is_a_transport_error(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    fake.state["item_status"] = {usps.DELIVERED: "400"}
    with pytest.raises(TransportError, match="HTTP 400"):
        await track(adapter, connection(fake, "v3"), usps.DELIVERED)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_timeout_is_a_transport_error(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    context = connection(fake, version)
    await adapter.verify(context)  # the token comes quickly; the tracking call does not
    fake.state["slow"] = 1.5
    with pytest.raises(TransportError, match="in time"):
        await track(adapter, context, usps.DELIVERED)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["truncated", "shape"])
async def test_a_malformed_body_is_a_transport_error(
    fake: FakeServer, adapter: UspsCarrier, version: str, kind: str
) -> None:
    fake.state["malformed"] = kind
    with pytest.raises(TransportError):
        await track(adapter, connection(fake, version), usps.DELIVERED)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_404_that_is_not_from_usps_is_a_transport_error_not_a_missing_package(
    fake: FakeServer, adapter: UspsCarrier, version: str
) -> None:
    fake.state["not_usps"] = True
    with pytest.raises(TransportError, match="not a USPS answer"):
        await track(adapter, connection(fake, version), usps.DELIVERED)


async def test_a_wrong_base_url_is_a_transport_error(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    context = connection(fake, base_url=f"{fake.url}/not-usps")
    with pytest.raises(TransportError, match="404"):
        await track(adapter, context, usps.DELIVERED)


async def test_an_unreachable_host_is_a_transport_error(adapter: UspsCarrier) -> None:
    context = ConnectionContext(
        connection_id=1,
        carrier_code="usps",
        simulated=False,
        base_url="http://127.0.0.1:9",
        credentials={"client_id": usps.CLIENT_ID, "client_secret": usps.CLIENT_SECRET},
    )
    with pytest.raises(TransportError, match="could not be reached"):
        await track(adapter, context, usps.DELIVERED)


# --- Stamps.com and pushes ----------------------------------------------------------------------


async def test_a_stamps_com_connection_tracks_through_usps(
    fake: FakeServer, adapter: UspsCarrier
) -> None:
    context = ConnectionContext(
        connection_id=7,
        carrier_code="stamps_com",
        simulated=False,
        base_url=fake.url,
        credentials={"client_id": usps.CLIENT_ID, "client_secret": usps.CLIENT_SECRET},
    )
    results = await track(adapter, context, usps.OUT_FOR_DELIVERY)
    assert status_after_first_check(results[usps.OUT_FOR_DELIVERY]) == ("IT", "OUT_FOR_DELIVERY")


async def test_usps_pushes_are_refused(fake: FakeServer, adapter: UspsCarrier) -> None:
    with pytest.raises(PushRefused) as raised:
        await adapter.read_push(connection(fake), {}, b"{}")
    assert raised.value.status_code == 404
    assert adapter.accepts_push is False
    assert fake.requests == []


async def test_at_debug_every_call_is_logged_without_its_query_or_credentials(
    fake: FakeServer, adapter: UspsCarrier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="shiptrack.carriers")
    await track(adapter, connection(fake), usps.DELIVERED, usps.IN_TRANSIT)
    lines = [r.getMessage() for r in caplog.records if r.name == "shiptrack.carriers"]
    call = re.compile(
        rf"USPS (GET|POST) {re.escape(fake.url)}(/\S*): HTTP (\d{{3}}), \d+ bytes in \d+ ms"
    )
    logged = [call.fullmatch(line) for line in lines]
    assert all(logged), lines
    assert [m.group(2) for m in logged if m] == fake.paths()
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "shiptrack.carriers")
    for line in lines:
        assert "?" not in line
        assert usps.CLIENT_SECRET not in line
