"""The Australia Post adapter (``shiptrack.carriers.australia_post.AustraliaPostCarrier``) over real
HTTP against the fake Track items API (``tests/fakes/australia_post.py``) on 127.0.0.1.

Covers: the request Australia Post documents (up to 10 ids, Basic auth, ``account-number``); the
documentation sample (delivered, times from its offsets); a failed attempt (AT), a parcel locker and
a Post Office collection (SP, then collected DE), a return to sender (EX), unmapped wording; true
UTC from each state's zone across the October 2026 daylight-saving change; not found (ESB-10001, an
id left out); 51101 answered by asking one id at a time; and failures failing the whole batch: 401,
429 API_002, 500, not JSON. Also ``verify()``.

The transport errors every carrier shares (429 with ``Retry-After``, 500, a 503 outage, timeout,
unreachable, revoked credentials, ``verify()`` during an outage) are tested in
``test_carrier_transport_contract.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shiptrack.carriers.australia_post import AustraliaPostCarrier
from shiptrack.carriers.base import ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, Known, observe
from shiptrack.domain.tracking import TrackEvent
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import australia_post as ap
from tests.fakes.server import FakeServer

running, fake, carrier = adapter_fixtures(FAKE_CARRIERS["australia_post"])


def context(
    url: str,
    key: str = ap.API_KEY,
    password: str = ap.PASSWORD,
    account: str | None = ap.ACCOUNT,
) -> ConnectionContext:
    return ConnectionContext(
        connection_id=7,
        carrier_code="australia_post",
        simulated=False,
        base_url=url,
        account_number=account,
        credentials={"api_key": key, "client_secret": password},
    )


async def track(carrier: AustraliaPostCarrier, fake: FakeServer, number: str) -> Result:
    results = await carrier.track(context(fake.url), [TrackRequest(number)])
    assert set(results) == {number}
    return results[number]


async def report(carrier: AustraliaPostCarrier, fake: FakeServer, number: str) -> CarrierReport:
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


def by_text(events: tuple[TrackEvent, ...], description: str) -> TrackEvent:
    found = [e for e in events if e.description == description]
    assert found, [e.description for e in events]
    return found[0]


# --- the requests ---------------------------------------------------------------------------------


async def test_ids_go_ten_at_a_time_with_basic_auth_and_the_account_number(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    numbers = [f"7ZZ{i:013d}" for i in range(23)]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results == dict.fromkeys(numbers, NOT_FOUND)
    assert fake.paths() == ["/shipping/v1/track"] * 3
    assert [len(r.query["tracking_ids"].split(",")) for r in fake.requests] == [10, 10, 3]
    request = fake.requests[0]
    assert request.query["tracking_ids"] == ",".join(numbers[:10])
    assert request.headers["Authorization"] == "Basic YXAta2V5LTAwMDE6YXAtcGFzc3dvcmQtMDAwMQ=="
    assert request.headers["account-number"] == ap.ACCOUNT
    assert AustraliaPostCarrier.batch_size == 10
    # The documented 10 requests a minute.
    assert AustraliaPostCarrier.budget.requests_per_second * 60 == pytest.approx(10)


async def test_the_test_base_url_path_is_used_as_given(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    results = await carrier.track(context(f"{fake.url}/test"), [TrackRequest(ap.DELIVERED)])
    assert isinstance(results[ap.DELIVERED], CarrierReport)
    assert fake.paths() == ["/test/shipping/v1/track"]


# --- what a subscriber sees -----------------------------------------------------------------------


async def test_the_documentation_sample_is_delivered_with_utc_from_its_offsets(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.DELIVERED)
    assert package_status(result) == ("DE", "DELIVERED")
    delivered = result.events[0]
    assert delivered.description == "Delivered"
    assert delivered.occurred_at == datetime(2014, 5, 30, 4, 43, 9, tzinfo=UTC)
    assert delivered.carrier_occurred_at == "2014-05-30T14:43:09"
    assert (delivered.city_locality, delivered.state_province, delivered.country_code) == (
        "ALEXANDRIA",
        "NSW",
        "AU",
    )
    assert result.actual_delivery_date == "2014-05-30T04:43:09Z"
    today = by_text(result.events, "With Australia Post for delivery today")
    assert (today.status_code, today.status_detail_code) == ("IT", "OUT_FOR_DELIVERY")
    abroad = by_text(result.events, "Departed facility")
    assert (abroad.city_locality, abroad.country_code) == ("JOHN F. KENNEDY APT/NEW YORK", "US")
    approved = by_text(result.events, "Shipping information approved by Australia Post")
    assert approved.status_code == "NY"
    assert approved.occurred_at == datetime(2014, 5, 23, 4, 27, 15, tzinfo=UTC)


async def test_a_card_left_is_a_failed_attempt_in_melbourne_time(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.ATTEMPTED)
    assert package_status(result) == ("AT", "CUSTOMER_CARDED")
    attempt = result.events[0]
    # No offset: VIC in July is AEST (+10).
    assert attempt.occurred_at == datetime(2026, 7, 14, 1, 20, tzinfo=UTC)
    assert attempt.carrier_occurred_at == "2026-07-14T11:20:00"
    assert result.ship_date == "2026-07-13T06:00:00Z"


async def test_a_parcel_locker_waits_for_collection_in_perth_time(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.LOCKER)
    assert package_status(result) == ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT")
    assert result.events[0].occurred_at == datetime(2026, 7, 15, 1, 30, tzinfo=UTC)  # +8


async def test_a_post_office_collection_is_sp_then_collected_is_delivered(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.COLLECTED)
    assert package_status(result) == ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT")
    waiting = by_text(result.events, "Awaiting collection at Post Office")
    assert waiting.status_code == "SP"
    # Queensland keeps +10 all year.
    assert waiting.occurred_at == datetime(2026, 7, 14, 22, 0, tzinfo=UTC)


async def test_returned_to_sender_is_an_exception_in_adelaide_time(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.RETURNED)
    assert package_status(result) == ("EX", "RETURN_TO_SENDER")
    returned = result.events[0]
    assert returned.occurred_at == datetime(2026, 7, 20, 5, 30, tzinfo=UTC)  # ACST +9:30
    assert (returned.city_locality, returned.state_province) == ("ADELAIDE", "SA")


async def test_offsetless_times_follow_the_state_across_the_daylight_saving_start(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.DST)
    after, before, darwin = result.events
    # NSW clocks went from 02:00 AEST to 03:00 AEDT on Sunday 4 October 2026.
    assert before.occurred_at == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    assert after.occurred_at == datetime(2026, 10, 3, 16, 30, tzinfo=UTC)
    assert after.carrier_occurred_at == "2026-10-04T03:30:00"
    # The Northern Territory has no daylight saving: +9:30.
    assert darwin.occurred_at == datetime(2026, 10, 3, 12, 30, tzinfo=UTC)
    assert package_status(result)[0] == "IT"


async def test_unmapped_wording_is_kept_and_the_item_status_reads_the_newest(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, ap.UNMAPPED)
    newest, older = result.events
    assert (older.status_code, older.status_detail_code) == ("UN", "CARRIER_STATUS_NOT_MAPPED")
    assert older.description == "Item scanned in an unusual way"
    assert (newest.status_code, newest.status_detail_code) == ("EX", "CARRIER_DELAYS")


# --- not found --------------------------------------------------------------------------------


async def test_esb_10001_is_not_found_next_to_a_known_id(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    results = await carrier.track(
        context(fake.url), [TrackRequest("7XX1000"), TrackRequest(ap.DELIVERED)]
    )
    assert results["7XX1000"] is NOT_FOUND
    assert package_status(results["7XX1000"])[0] == "NY"
    assert isinstance(results[ap.DELIVERED], CarrierReport)


async def test_51101_asks_the_ids_one_at_a_time(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    fake.state["max_ids"] = 1
    numbers = [ap.DELIVERED, ap.LOCKER, "7XX1000"]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results["7XX1000"] is NOT_FOUND
    assert package_status(results[ap.LOCKER])[0] == "SP"
    assert [r.query["tracking_ids"] for r in fake.requests] == [",".join(numbers), *numbers]


# --- failures never change a stored status --------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        (ap.RATE_LIMITED, "HTTP 429"),
        (ap.SERVER_ERROR, "HTTP 500"),
        (ap.NOT_JSON, "not the JSON"),
    ],
    ids=["429-api-002", "500", "not-json"],
)
async def test_failures_fail_the_batch(
    carrier: AustraliaPostCarrier, fake: FakeServer, number: str, fragment: str
) -> None:
    with pytest.raises(TransportError) as caught:
        await carrier.track(context(fake.url), [TrackRequest(ap.DELIVERED), TrackRequest(number)])
    assert fragment in caught.value.message
    if number == ap.RATE_LIMITED:
        assert caught.value.retry_after == 7


async def test_refused_credentials_fail_the_batch(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="401"):
        await carrier.track(context(fake.url, password="wrong"), [TrackRequest(ap.DELIVERED)])


# --- verify ---------------------------------------------------------------------------------------


async def test_verify_accepts_good_credentials(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    await carrier.verify(context(fake.url))
    assert fake.requests[0].headers["account-number"] == ap.ACCOUNT


@pytest.mark.parametrize(
    ("key", "account"),
    [("wrong-key", ap.ACCOUNT), (ap.API_KEY, "0000000000")],
    ids=["wrong-key", "wrong-account"],
)
async def test_verify_rejects_refused_credentials(
    carrier: AustraliaPostCarrier, fake: FakeServer, key: str, account: str
) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, key=key, account=account))


async def test_verify_without_an_account_number_is_rejected_before_calling(
    carrier: AustraliaPostCarrier, fake: FakeServer
) -> None:
    with pytest.raises(CredentialsRejected, match="account_number"):
        await carrier.verify(context(fake.url, account=None))
    assert fake.requests == []
