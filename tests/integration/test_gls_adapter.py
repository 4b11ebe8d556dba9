"""The GLS adapter (``shiptrack.carriers.gls.GlsCarrier``) over real HTTP against the fake GLS Group
API (``tests/fakes/gls.py``) on 127.0.0.1.

Covers: the token (Authentication API v2, fetched once and reused, fetched again when GLS says it
expired); the tracking request (up to 10 ids comma-separated in the path, bearer token, English);
the spec's samples (ParcelShop delivery SP, pre-advice NY, UTC from GLS's ``+0200`` offsets); a
multi-id answer with unknown ids (``E_404_01``, an id left out) next to known ones; two parcels for
one id; a failed attempt (AT), a locker (SP), a return (EX), a delivery in French time; true UTC
from the event's country across the March 2026 change; unmapped codes; GLS taking fewer ids than
sent (one at a time); a per-id ``E_500_01`` and the daily quota (``QuotaViolation``), which fail
the batch. Also ``verify()``. The transport failures every carrier shares (5xx, outages,
unreachable, revoked credentials, slow answers) are the contract suites'.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest

from shiptrack.carriers.base import ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.gls import GlsCarrier
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, Known, observe
from shiptrack.domain.tracking import TrackEvent
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import gls
from tests.fakes.server import FakeServer

TRACK = gls.TRACK_PREFIX


running, fake, carrier = adapter_fixtures(FAKE_CARRIERS["gls"])


def context(
    url: str, client_id: str = gls.CLIENT_ID, secret: str = gls.CLIENT_SECRET, connection: int = 7
) -> ConnectionContext:
    return ConnectionContext(
        connection_id=connection,
        carrier_code="gls",
        simulated=False,
        base_url=url,
        credentials={"client_id": client_id, "client_secret": secret},
    )


async def report(carrier: GlsCarrier, fake: FakeServer, number: str) -> CarrierReport:
    results = await carrier.track(context(fake.url), [TrackRequest(number)])
    assert set(results) == {number}
    result = results[number]
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
    assert found, [e.event_code for e in events]
    return found[0]


def track_paths(fake: FakeServer) -> list[str]:
    return [p for p in fake.paths() if p.startswith(TRACK)]


def token_requests(fake: FakeServer) -> int:
    return fake.paths().count(gls.TOKEN_PATH)


# --- token and requests ---------------------------------------------------------------------------


async def test_ids_go_ten_at_a_time_with_one_token_from_the_v2_endpoint(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    numbers = [f"8{i:010d}" for i in range(23)]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results == dict.fromkeys(numbers, NOT_FOUND)
    assert [len(p.removeprefix(TRACK).split(",")) for p in track_paths(fake)] == [10, 10, 3]
    assert track_paths(fake)[0] == TRACK + ",".join(numbers[:10])
    # One token for the three calls, asked of the Authentication API v2 with the credentials in
    # the form body.
    assert token_requests(fake) == 1
    token_request = fake.requests[0]
    assert token_request.path == "/oauth2/v2/token"
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [gls.CLIENT_ID],
        "client_secret": [gls.CLIENT_SECRET],
    }
    tracking = fake.requests[1]
    assert tracking.headers["Authorization"].startswith("Bearer gls-token-")
    assert tracking.headers["Accept-Language"] == "EN"
    assert GlsCarrier.batch_size == 10
    # The documented default of 500 requests a day, one at a time.
    assert GlsCarrier.budget.requests_per_second * 86400 == pytest.approx(500)
    assert GlsCarrier.budget.burst == 1


async def test_the_token_is_kept_across_batches_and_per_connection(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    await carrier.track(context(fake.url), [TrackRequest(gls.IN_TRANSIT)])
    await carrier.track(context(fake.url), [TrackRequest(gls.DELIVERED)])
    assert token_requests(fake) == 1
    await carrier.track(context(fake.url, connection=8), [TrackRequest(gls.DELIVERED)])
    assert token_requests(fake) == 2


async def test_an_expired_token_is_fetched_again_and_the_call_retried_once(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    await report(carrier, fake, gls.IN_TRANSIT)
    fake.state["expire_tokens"] = True
    result = await report(carrier, fake, gls.DELIVERED)
    assert package_status(result) == ("DE", "DELIVERED")
    assert token_requests(fake) == 2
    assert len(track_paths(fake)) == 3


# --- what a subscriber sees -----------------------------------------------------------------------


async def test_the_parcelshop_sample_waits_at_the_shop_with_utc_from_its_offsets(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.DELIVERED_PS)
    assert package_status(result) == ("SP", "DELIVERED_TO_PICKUP_POINT")
    shop = result.events[0]
    assert shop.event_code == "DELIVD.PARCELSHOP"
    assert shop.occurred_at == datetime(2025, 2, 10, 14, 13, 46, tzinfo=UTC)
    assert shop.carrier_occurred_at == "2025-02-10T15:13:46"
    handed = by_code(result.events, "INTIAL.NORMAL")
    assert (handed.status_code, handed.country_code) == ("AC", "DE")
    assert result.ship_date == "2025-02-10T14:11:12Z"
    assert by_code(result.events, "INTIAL.PREADVICE").status_code == "NY"


async def test_the_preadvice_sample_is_not_yet_in_the_system(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.PREADVICE)
    assert package_status(result) == ("NY", "AWAITING_PICKUP_DROP_OFF")
    assert result.ship_date is None


async def test_one_call_answers_known_and_unknown_ids(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    numbers = [gls.IN_TRANSIT, "80000000001", gls.DELIVERED, gls.ATTEMPTED]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert len(track_paths(fake)) == 1
    assert results["80000000001"] is NOT_FOUND
    assert package_status(results[gls.IN_TRANSIT]) == ("IT", "HUB_SCAN_IN")
    assert package_status(results[gls.DELIVERED]) == ("DE", "DELIVERED")
    assert package_status(results[gls.ATTEMPTED]) == ("AT", "ATTEMPTED_DELIVERY")


async def test_an_id_left_out_of_the_answer_is_not_found(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    numbers = [gls.LEFT_OUT, gls.IN_TRANSIT]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results[gls.LEFT_OUT] is NOT_FOUND
    assert isinstance(results[gls.IN_TRANSIT], CarrierReport)


async def test_two_parcels_for_one_id_read_the_one_with_that_unitno(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.TWO_PARCELS)
    # The other parcel was delivered later; the one asked for is still in transit.
    assert package_status(result) == ("IT", "HUB_SCAN_IN")


async def test_a_consignee_not_at_home_is_a_failed_attempt_in_vienna_time(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.ATTEMPTED)
    attempt = result.events[0]
    assert (attempt.status_code, attempt.event_code) == ("AT", "NOTDEL.NOTATHOME")
    assert attempt.occurred_at == datetime(2026, 7, 16, 10, 15, tzinfo=UTC)  # CEST
    assert (attempt.city_locality, attempt.country_code) == ("Wien", "AT")


async def test_a_parcel_locker_is_a_pickup_point(carrier: GlsCarrier, fake: FakeServer) -> None:
    result = await report(carrier, fake, gls.LOCKER)
    assert package_status(result) == ("SP", "DELIVERED_TO_PICKUP_POINT")


async def test_a_return_to_the_sender_is_an_exception(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.RETURNED)
    assert package_status(result) == ("EX", "RETURN_TO_SENDER")
    assert result.events[0].occurred_at == datetime(2026, 7, 20, 8, 0, tzinfo=UTC)  # Rome, CEST


async def test_a_delivery_in_france_is_in_utc_with_its_dates(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.DELIVERED)
    assert [e.status_code for e in result.events] == ["DE", "IT", "AC"]
    assert result.events[1].status_detail_code == "OUT_FOR_DELIVERY"
    assert result.actual_delivery_date == "2026-07-16T09:02:00Z"
    assert result.ship_date == "2026-07-14T16:00:00Z"


async def test_offsetless_times_follow_the_country_across_the_daylight_saving_start(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.DST)
    left, arrived = result.events
    # 01:30 CET and 03:30 CEST on 29 March 2026 are one hour apart, not two.
    assert arrived.occurred_at == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert left.occurred_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (left.carrier_occurred_at, arrived.carrier_occurred_at) == (
        "2026-03-29T03:30:00",
        "2026-03-29T01:30:00",
    )


async def test_unmapped_codes_are_kept_and_the_parcel_status_reads_the_newest(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, gls.UNMAPPED)
    newest, older = result.events
    assert (newest.status_code, newest.status_detail_code) == ("IT", "OUT_FOR_DELIVERY")
    assert (older.status_code, older.status_detail_code) == ("UN", "CARRIER_STATUS_NOT_MAPPED")
    assert older.event_code == "YYYYYY.OTHER"


# --- refusals and failures ------------------------------------------------------------------------


async def test_fewer_ids_than_sent_are_asked_one_at_a_time(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    fake.state["max_ids"] = 1
    numbers = [gls.IN_TRANSIT, gls.DELIVERED, "80000000002"]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert package_status(results[gls.DELIVERED]) == ("DE", "DELIVERED")
    assert results["80000000002"] is NOT_FOUND
    assert [len(p.removeprefix(TRACK).split(",")) for p in track_paths(fake)] == [3, 1, 1, 1]


async def test_an_id_gls_refuses_is_not_found_and_spares_the_others(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    numbers = [gls.REFUSED, gls.IN_TRANSIT]
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert results[gls.REFUSED] is NOT_FOUND
    assert package_status(results[gls.IN_TRANSIT]) == ("IT", "HUB_SCAN_IN")
    assert [len(p.removeprefix(TRACK).split(",")) for p in track_paths(fake)] == [2, 1, 1]


async def test_a_parcel_gls_failed_to_read_fails_the_batch(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="E_500_01"):
        await carrier.track(
            context(fake.url), [TrackRequest(gls.IN_TRANSIT), TrackRequest(gls.PARCEL_FAILED)]
        )


async def test_the_daily_quota_fails_the_batch_and_says_so(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError) as failure:
        await carrier.track(context(fake.url), [TrackRequest(gls.RATE_LIMITED)])
    assert failure.value.message == "GLS daily quota reached (HTTP 429)"
    assert failure.value.retry_after == 7


async def test_a_wrong_base_url_is_a_failure_not_a_not_found(
    carrier: GlsCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError, match="HTTP 404"):
        await carrier.track(context(fake.url + "/elsewhere"), [TrackRequest(gls.IN_TRANSIT)])


# --- verify ---------------------------------------------------------------------------------------


async def test_verify_fetches_a_token(carrier: GlsCarrier, fake: FakeServer) -> None:
    await carrier.verify(context(fake.url))
    assert fake.paths() == ["/oauth2/v2/token"]


async def test_verify_rejects_a_wrong_secret(carrier: GlsCarrier, fake: FakeServer) -> None:
    with pytest.raises(CredentialsRejected):
        await carrier.verify(context(fake.url, secret="wrong"))
    assert fake.paths() == ["/oauth2/v2/token"]
