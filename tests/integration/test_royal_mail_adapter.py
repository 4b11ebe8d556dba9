"""The Royal Mail adapter (``shiptrack.carriers.royal_mail.RoyalMailCarrier``) over real HTTP
against the fake Tracking API v2 (``tests/fakes/royal_mail.py``) on 127.0.0.1.

Covers: the requests Royal Mail documents (a summary per 30 numbers, then ``/events`` only for the
numbers the summary knows and whose last event is newer than the newest stored scan, the ``X-IBM-
Client-Id`` / ``X-IBM-Client-Secret`` / ``X-Accept-RMG-Terms: yes`` headers); what a subscriber sees
for delivered (signer, dates), in transit (the Swagger's own example, the estimated window), a
failed attempt, a Post Office collection (SP), a return to sender (EX), unmapped scans; true UTC
across the BST/GMT change, with and without offsets; not found (E1142, the all-unknown 404, a
refused barcode); and Royal Mail's own transport errors: 401, 403 E0016, E0004, not JSON, one
failing history failing the batch. Also ``verify()``.

The transport errors every carrier shares (429 with ``Retry-After``, 500, a 503 outage, timeout,
unreachable, revoked credentials, ``verify()`` during an outage) are tested in
``test_carrier_transport_contract.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import web

from shiptrack.carriers.base import ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.carriers.royal_mail import RoyalMailCarrier
from shiptrack.domain.changes import (
    NOT_FOUND,
    UNCHANGED,
    CarrierReport,
    Known,
    newest_moment,
    observe,
)
from shiptrack.domain.tracking import TrackEvent
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import royal_mail as rm
from tests.fakes.server import FakeServer, serve

running, fake, carrier = adapter_fixtures(FAKE_CARRIERS["royal_mail"])


def context(
    url: str, client_id: str | None = rm.CLIENT_ID, secret: str | None = rm.CLIENT_SECRET
) -> ConnectionContext:
    credentials = {}
    if client_id:
        credentials["client_id"] = client_id
    if secret:
        credentials["client_secret"] = secret
    return ConnectionContext(
        connection_id=9,
        carrier_code="royal_mail",
        simulated=False,
        base_url=url,
        credentials=credentials,
    )


async def track(carrier: RoyalMailCarrier, fake: FakeServer, number: str) -> Result:
    results = await carrier.track(context(fake.url), [TrackRequest(number)])
    assert set(results) == {number}
    return results[number]


async def report(carrier: RoyalMailCarrier, fake: FakeServer, number: str) -> CarrierReport:
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


def by_code(events: tuple[TrackEvent, ...], code: str) -> TrackEvent:
    found = [e for e in events if e.event_code == code]
    assert len(found) == 1, [e.event_code for e in events]
    return found[0]


# --- the requests ---------------------------------------------------------------------------------


async def test_a_summary_then_events_only_for_the_numbers_royal_mail_knows(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    numbers = [rm.DELIVERED, "ZZ999999999GB", rm.IN_TRANSIT]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results["ZZ999999999GB"] is NOT_FOUND
    assert isinstance(results[rm.DELIVERED], CarrierReport)
    assert isinstance(results[rm.IN_TRANSIT], CarrierReport)
    assert fake.paths() == [
        "/mailpieces/v2/summary",
        f"/mailpieces/v2/{rm.DELIVERED}/events",
        f"/mailpieces/v2/{rm.IN_TRANSIT}/events",
    ]
    assert fake.requests[0].query == {"mailPieceId": ",".join(numbers)}
    for request in fake.requests:
        assert request.headers["X-IBM-Client-Id"] == rm.CLIENT_ID
        assert request.headers["X-IBM-Client-Secret"] == rm.CLIENT_SECRET
        assert request.headers["X-Accept-RMG-Terms"] == "yes"


async def test_a_summary_showing_nothing_newer_than_what_is_stored_asks_no_events(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    stored = newest_moment((await report(carrier, fake, rm.IN_TRANSIT)).events)
    fake.requests.clear()
    results = await carrier.track(
        context(fake.url), [TrackRequest(rm.IN_TRANSIT, newest_event_at=stored)]
    )
    assert results == {rm.IN_TRANSIT: UNCHANGED}
    assert fake.paths() == ["/mailpieces/v2/summary"]


async def test_only_the_numbers_whose_summary_moved_on_get_their_events_asked(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    numbers = (rm.IN_TRANSIT, rm.ATTEMPTED, rm.DELIVERED)
    stored = {n: newest_moment((await report(carrier, fake, n)).events) for n in numbers}
    fake.state["as"] = {rm.IN_TRANSIT: rm.DELIVERED}  # its newest scan is now from 2026
    fake.requests.clear()
    results = await carrier.track(
        context(fake.url),
        [TrackRequest(n, newest_event_at=at) for n, at in stored.items()]
        + [TrackRequest(rm.PICKUP_POINT)],  # nothing stored yet
    )
    assert (results[rm.ATTEMPTED], results[rm.DELIVERED]) == (UNCHANGED, UNCHANGED)
    assert package_status(results[rm.IN_TRANSIT]) == ("DE", "DELIVERED")
    assert isinstance(results[rm.PICKUP_POINT], CarrierReport)
    assert fake.paths() == [
        "/mailpieces/v2/summary",
        f"/mailpieces/v2/{rm.IN_TRANSIT}/events",
        f"/mailpieces/v2/{rm.PICKUP_POINT}/events",
    ]


async def test_more_than_30_numbers_are_split_into_summaries_of_30(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    numbers = [f"ZZ{i:09d}GB" for i in range(65)]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results == dict.fromkeys(numbers, NOT_FOUND)
    sizes = [len(r.query["mailPieceId"].split(",")) for r in fake.requests]
    assert sizes == [30, 30, 5]
    assert RoyalMailCarrier.batch_size == 30


async def test_a_base_url_with_a_trailing_slash_is_the_same_host(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    results = await carrier.track(context(fake.url + "/"), [TrackRequest(rm.IN_TRANSIT)])
    assert isinstance(results[rm.IN_TRANSIT], CarrierReport)
    assert fake.paths()[0] == "/mailpieces/v2/summary"


# --- what the packages look like ------------------------------------------------------------------


async def test_delivered_package(carrier: RoyalMailCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, rm.DELIVERED)
    walk = [(e.event_code, e.status_code, e.status_detail_code) for e in result.events]
    assert walk == [
        ("EVKSP", "DE", "DELIVERED"),
        ("EVGPD", "IT", "OUT_FOR_DELIVERY"),
        ("EVODO", "IT", "HUB_SCAN_OUT"),
        ("EVOAC", "IT", "HUB_SCAN_IN"),
        ("EVDAC", "AC", "RECEIVED_BY_CARRIER"),
        ("EVAIP", "NY", "AWAITING_PICKUP_DROP_OFF"),
    ]
    delivered = by_code(result.events, "EVKSP")
    assert delivered.signer == "Simon"
    assert delivered.city_locality == "Stafford DO"
    assert delivered.description == "Delivered and signed for"
    assert by_code(result.events, "EVGPD").signer is None
    assert result.actual_delivery_date == "2026-06-12T10:42:00Z"
    assert result.ship_date == "2026-06-11T14:02:00Z"
    assert package_status(result) == ("DE", "DELIVERED")


async def test_in_transit_package_is_the_swaggers_example(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, rm.IN_TRANSIT)
    forwarded = by_code(result.events, "EVNMI")
    assert (forwarded.status_code, forwarded.status_detail_code) == (
        "IT",
        "PARCEL_REDIRECTED_BY_CARRIER",
    )
    assert forwarded.occurred_at == datetime(2016, 10, 20, 9, 4, tzinfo=UTC)
    assert forwarded.carrier_occurred_at == "2016-10-20T10:04:00"
    assert result.estimated_delivery_date == "2016-10-21T07:00:00Z"
    assert result.actual_delivery_date is None
    assert package_status(result) == ("IT", "PARCEL_REDIRECTED_BY_CARRIER")


async def test_failed_attempt_is_at(carrier: RoyalMailCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, rm.ATTEMPTED)
    assert by_code(result.events, "EVKNA").status_code == "AT"
    assert package_status(result) == ("AT", "CUSTOMER_TO_COLLECT_FROM_CARRIER")


async def test_waiting_at_a_post_office_for_collection_is_sp(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, rm.PICKUP_POINT)
    assert package_status(result) == ("SP", "DELIVERED_TO_PICKUP_POINT")
    assert by_code(result.events, "EVPOR").carrier_status_code == "EVPOR"


async def test_returned_to_sender_is_ex(carrier: RoyalMailCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, rm.RETURNED)
    assert package_status(result) == ("EX", "RETURN_TO_SENDER")
    assert result.actual_delivery_date is None


async def test_an_unmapped_scan_is_kept_and_decides_nothing(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, rm.UNMAPPED)
    unknown = by_code(result.events, "EVZZZ")
    assert (unknown.status_code, unknown.status_detail_code) == ("UN", "CARRIER_STATUS_NOT_MAPPED")
    assert unknown.description == "Item scanned"
    assert package_status(result) == ("IT", "HUB_SCAN_OUT")


async def test_an_unknown_newest_scan_is_read_by_the_summarys_category(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, rm.LAST_UNKNOWN)
    assert (result.events[0].status_code, result.events[0].status_detail_code) == (
        "IT",
        "IN_TRANSIT",
    )


async def test_times_are_utc_across_the_bst_gmt_change(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    events = (await report(carrier, fake, rm.CLOCK_CHANGE)).events
    moments = {e.event_code: (e.occurred_at, e.carrier_occurred_at) for e in events}
    # With an offset: as given.
    assert moments["EVOAC"] == (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "2026-10-24T23:30:00")
    assert moments["EVGPD"] == (datetime(2026, 10, 26, 7, 0, tzinfo=UTC), "2026-10-26T07:00:00")
    # Without: UK time, BST before the change and GMT after it; the wall time is kept as given.
    assert moments["EVDAC"] == (datetime(2026, 10, 24, 11, 0, tzinfo=UTC), "2026-10-24T12:00:00")
    assert moments["EVKSF"] == (datetime(2026, 10, 26, 12, 0, tzinfo=UTC), "2026-10-26T12:00:00")
    # 01:30 happens twice that night: the first (BST) one is taken.
    assert moments["EVODO"] == (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25T01:30:00")


# --- not found ------------------------------------------------------------------------------------


async def test_an_unknown_number_is_not_found_without_asking_its_events(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    assert await track(carrier, fake, "ZZ123456789GB") is NOT_FOUND
    assert fake.paths() == ["/mailpieces/v2/summary"]


async def test_a_barcode_royal_mail_refuses_is_not_found(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    results = await carrier.track(
        context(fake.url), [TrackRequest(rm.INVALID), TrackRequest(rm.IN_TRANSIT)]
    )
    assert results[rm.INVALID] is NOT_FOUND
    assert isinstance(results[rm.IN_TRANSIT], CarrierReport)


async def test_a_number_that_moves_on_is_reported_anew(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    number = "RB123456785GB"
    assert await track(carrier, fake, number) is NOT_FOUND
    fake.state["as"] = {number: rm.DELIVERED}
    assert package_status(await track(carrier, fake, number)) == ("DE", "DELIVERED")


async def test_a_summary_refusal_naming_no_number_asks_each_number_on_its_own(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    fake.state["summary_400"] = True
    numbers = [rm.DELIVERED, "ZZ123456789GB"]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert package_status(results[rm.DELIVERED]) == ("DE", "DELIVERED")
    assert results["ZZ123456789GB"] is NOT_FOUND
    assert fake.paths() == [
        "/mailpieces/v2/summary",
        f"/mailpieces/v2/{rm.DELIVERED}/events",
        "/mailpieces/v2/ZZ123456789GB/events",
    ]


async def test_a_request_refused_for_its_headers_e0004_is_a_transport_error(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    fake.state["terms_refused"] = True
    with pytest.raises(TransportError, match="E0004"):
        await track(carrier, fake, rm.DELIVERED)
    with pytest.raises(TransportError, match="E0004") as caught:
        await carrier.verify(context(fake.url))
    assert not isinstance(caught.value, CredentialsRejected)


# --- transport errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["wrong", "missing"])
async def test_refused_credentials_are_a_transport_error(
    carrier: RoyalMailCarrier, fake: FakeServer, secret: str | None
) -> None:
    with pytest.raises(TransportError):
        await carrier.track(context(fake.url, secret=secret), [TrackRequest(rm.DELIVERED)])


async def test_401_is_a_transport_error(carrier: RoyalMailCarrier, fake: FakeServer) -> None:
    with pytest.raises(TransportError, match="401"):
        await carrier.track(context(fake.url, secret="wrong"), [TrackRequest(rm.DELIVERED)])


async def test_403_e0016_is_a_transport_error(carrier: RoyalMailCarrier, fake: FakeServer) -> None:
    with pytest.raises(TransportError, match="403"):
        await carrier.track(context(fake.url, rm.FORBIDDEN_ID), [TrackRequest(rm.DELIVERED)])


async def test_a_failing_history_fails_the_batch(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    requests = [TrackRequest(rm.DELIVERED), TrackRequest(rm.EVENTS_FAIL)]
    with pytest.raises(TransportError, match="500"):
        await carrier.track(context(fake.url), requests)


async def test_a_body_that_is_not_json_is_a_transport_error(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="not the JSON") as caught:
        await track(carrier, fake, rm.NOT_JSON)
    assert "Gateway" not in caught.value.message


async def test_a_connection_without_credentials_asks_nothing(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="client_id"):
        await carrier.track(context(fake.url, None, None), [TrackRequest(rm.DELIVERED)])
    assert fake.requests == []


# --- verify ---------------------------------------------------------------------------------------


async def test_verify_accepts_valid_credentials_with_one_summary(
    carrier: RoyalMailCarrier, fake: FakeServer
) -> None:
    await carrier.verify(context(fake.url))
    assert fake.paths() == ["/mailpieces/v2/summary"]


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("someone-else", rm.CLIENT_SECRET), (rm.CLIENT_ID, "wrong"), (rm.FORBIDDEN_ID, "any")],
    ids=["unknown-id", "wrong-secret", "forbidden"],
)
async def test_verify_rejects_credentials_royal_mail_refuses(
    carrier: RoyalMailCarrier, fake: FakeServer, client_id: str, secret: str
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, client_id, secret))


async def test_verify_against_a_host_that_is_not_royal_mail_is_not_an_acceptance(
    carrier: RoyalMailCarrier,
) -> None:
    with serve(web.Application()) as elsewhere, pytest.raises(TransportError) as caught:
        await carrier.verify(context(elsewhere.url))
    assert not isinstance(caught.value, CredentialsRejected)


def test_default_budget_is_a_summary_and_its_histories_every_ten_seconds() -> None:
    budget = RoyalMailCarrier.budget
    assert budget.requests_per_second == pytest.approx(0.1)
    assert budget.burst == 1
