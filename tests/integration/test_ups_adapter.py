"""The UPS adapter (``shiptrack.carriers.ups``) over real HTTP against the fake UPS of
``tests/fakes/ups.py`` on 127.0.0.1, and its Track Alert push endpoint logic.

Covers every case of the issue's "Done when" list: delivered, in transit, out for delivery,
exception, customs in progress, failed attempt, pickup point, label only, not found (200 TW0001,
404, 400 TV1002), several shipments and several packages for one number (the right one is
picked), auth failure, expired token, 429 with Retry-After, 5xx, 403, timeout, malformed bodies,
an unreachable host; the token cache (one token for many calls, refreshed when it expires, a 401
fetches a new one once and retries once); one number per request with UPS's headers; the
timestamps rule (UTC only where UPS gives GMT or an offset, the local wall time always); ship,
estimated and actual delivery dates; the signer. Then Track Alert: the token endpoint
(client_secret_basic with the connection's client id and webhook secret), bearer tokens bound to
a connection and expiring, ``x-api-key``, unreadable bodies, and each pushed event's
normalisation, including an update that must not change the status.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from shiptrack.carriers.base import ConnectionContext, PushRefused, TrackRequest, TransportError
from shiptrack.carriers.http import CarrierHttp, CredentialsRejected
from shiptrack.carriers.ups import UpsCarrier
from shiptrack.domain.changes import (
    NOT_FOUND,
    CarrierReport,
    InvalidNumber,
    Known,
    event_identity,
    observe,
)
from shiptrack.domain.timefmt import format_utc
from tests.conftest import free_port
from tests.fakes import ups
from tests.fakes.dial import FAKES_ALLOWED
from tests.fakes.server import FakeServer, serve

_ids = itertools.count(1)
WEBHOOK_SECRET = "track-alert-secret"
#: The adapters' HTTP timeout here: generous, so that a loaded machine never fails a test by it.
TIMEOUT = 10.0


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with serve(ups.app()) as running:
        yield running


@pytest.fixture
async def adapter() -> AsyncIterator[UpsCarrier]:
    carrier = UpsCarrier(
        CarrierHttp("UPS", policy=FAKES_ALLOWED, timeout=TIMEOUT, connect_timeout=TIMEOUT)
    )
    yield carrier
    await carrier.close()


def connection(
    base_url: str, *, secret: str = ups.CLIENT_SECRET, **extra: str
) -> ConnectionContext:
    """A UPS connection with the fake's credentials (and a webhook secret unless told)."""
    credentials = {"client_id": ups.CLIENT_ID, "client_secret": secret}
    credentials["webhook_secret"] = extra.pop("webhook_secret", WEBHOOK_SECRET)
    if not credentials["webhook_secret"]:
        del credentials["webhook_secret"]
    return ConnectionContext(
        connection_id=next(_ids),
        carrier_code="ups",
        simulated=False,
        base_url=base_url,
        account_number=extra.pop("account_number", None),
        credentials=credentials,
    )


async def report(adapter: UpsCarrier, fake: FakeServer, number: str) -> CarrierReport:
    """The adapter's report of a number the fake knows."""
    result = (await adapter.track(connection(fake.url), [TrackRequest(number)]))[number]
    assert isinstance(result, CarrierReport), result
    return result


def first_check(result: CarrierReport) -> tuple[str, str | None]:
    """The status a new subscriber sees after the first check."""
    known = Known("UN", None, 0, settled=False, newest_event_at=None)
    observation = observe(known, result)
    return observation.status_code, observation.status_detail_code


# --- what UPS says, normalised --------------------------------------------------------------------


async def test_delivered_package_lists_every_scan_mapped(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.DELIVERED)
    assert first_check(result) == ("DE", "DELIVERED")
    assert [(e.status_code, e.status_detail_code) for e in result.events] == [
        ("DE", "DELIVERED"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("IT", "IN_TRANSIT"),
        ("IT", "IN_TRANSIT"),
        ("AC", "PICKED_UP"),
        ("NY", "SHIPMENT_CREATED"),
    ]
    delivered = result.events[0]
    assert (delivered.carrier_status_code, delivered.carrier_detail_code) == ("D", "FS")
    assert delivered.event_code == "011"
    assert delivered.description == "DELIVERED"
    assert delivered.carrier_status_description == "Delivered"
    assert (delivered.city_locality, delivered.state_province) == ("ATLANTA", "GA")
    assert (delivered.postal_code, delivered.country_code) == ("30301", "US")
    label = result.events[-1]
    assert (label.carrier_status_code, label.carrier_detail_code) == ("M", "MP")
    assert label.city_locality is None and label.country_code is None


async def test_scan_times_are_utc_only_where_ups_gives_gmt_or_an_offset(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.DELIVERED)
    times = [(format_utc(e.occurred_at), e.carrier_occurred_at) for e in result.events]
    assert times == [
        ("2024-04-22T18:30:00Z", "2024-04-22T14:30:00"),  # gmtTime "18:30:00"
        ("2024-04-22T12:05:00Z", "2024-04-22T08:05:00"),
        ("2024-04-22T08:30:00Z", "2024-04-22T04:30:00"),  # gmtTime "83000": leading zero dropped
        ("2024-04-22T02:00:00Z", "2024-04-21T22:00:00"),  # no GMT: local time minus -04:00
        ("2024-04-21T22:00:00Z", "2024-04-21T17:00:00"),
        (None, "2024-04-20T09:30:00"),  # neither: local wall time only, never called UTC
    ]


async def test_delivery_dates_and_signer(adapter: UpsCarrier, fake: FakeServer) -> None:
    result = await report(adapter, fake, ups.DELIVERED)
    assert result.actual_delivery_date == "2024-04-22T18:30:00Z"
    assert result.estimated_delivery_date == "2024-04-22T00:00:00"
    # No pickupDate: the ship date is the first acceptance scan.
    assert result.ship_date == "2024-04-21T22:00:00Z"
    assert [e.signer for e in result.events] == [ups.SIGNER, None, None, None, None, None]
    # UPS gives proof of delivery only as a base64 document, never as a link.
    assert all(e.proof_of_delivery_url is None for e in result.events)


async def test_in_transit_package_with_its_pickup_date_and_delivery_window(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.IN_TRANSIT)
    assert first_check(result) == ("IT", "IN_TRANSIT")
    assert result.ship_date == "2024-04-19T00:00:00"
    assert result.estimated_delivery_date == "2024-04-23T16:00:00"
    assert result.actual_delivery_date is None
    arrival = result.events[1]
    assert (arrival.occurred_at, arrival.carrier_occurred_at) == (None, "2024-04-20T01:00:00")
    assert [e.status_code for e in result.events] == ["IT", "IT", "AC", "NY"]


@pytest.mark.parametrize(
    ("number", "status"),
    [
        (ups.OUT_FOR_DELIVERY, ("IT", "OUT_FOR_DELIVERY")),
        (ups.EXCEPTION, ("EX", "ADDRESS_QUERY")),
        (ups.CUSTOMS, ("IT", "CUSTOMS_PROCESSING")),
        (ups.ATTEMPT, ("AT", "ATTEMPTED_DELIVERY")),
        (ups.ATTEMPT_AS_EXCEPTION, ("AT", "ATTEMPTED_DELIVERY")),
        (ups.ATTEMPT_BY_WORDING, ("AT", "ATTEMPTED_DELIVERY_FINAL")),
        (ups.PICKUP_POINT, ("SP", "DELIVERED_TO_PICKUP_POINT")),
        (ups.LABEL_ONLY, ("NY", "SHIPMENT_CREATED")),
    ],
)
async def test_each_journey_state_maps_to_its_shipengine_status(
    adapter: UpsCarrier, fake: FakeServer, number: str, status: tuple[str, str]
) -> None:
    assert first_check(await report(adapter, fake, number)) == status


async def test_a_delivery_date_update_keeps_the_status_and_moves_the_estimate(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.UPDATE)
    newest = result.events[0]
    assert (newest.status_code, newest.status_detail_code) == ("UN", "INFORMATION")
    assert newest.event_code == "154"
    assert first_check(result) == ("AT", "ATTEMPTED_DELIVERY")
    assert result.estimated_delivery_date == "2024-04-24T00:00:00"  # the rescheduled date


@pytest.mark.parametrize(
    "number", [ups.NOT_FOUND, ups.NOT_FOUND_404, ups.NO_INFORMATION, "1ZNEVERHEARDOF0001"]
)
async def test_numbers_ups_does_not_know_are_not_found(
    adapter: UpsCarrier, fake: FakeServer, number: str
) -> None:
    results = await adapter.track(connection(fake.url), [TrackRequest(number)])
    assert results == {number: NOT_FOUND}


async def test_an_invalid_inquiry_number_is_invalid_not_merely_not_found(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    results = await adapter.track(connection(fake.url), [TrackRequest(ups.INVALID)])
    assert results == {ups.INVALID: InvalidNumber("UPS", "TV1002", "Invalid inquiry number")}


async def test_of_several_shipments_the_current_one_is_picked(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.SEVERAL)
    assert first_check(result) == ("IT", "IN_TRANSIT")
    assert {(e.carrier_occurred_at or "")[:4] for e in result.events} == {"2024"}
    assert result.actual_delivery_date is None


async def test_the_package_asked_for_is_picked_over_a_newer_one_of_the_shipment(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.MULTI_PIECE)
    assert first_check(result) == ("IT", "IN_TRANSIT")
    assert all(e.status_code != "DE" for e in result.events)


async def test_a_number_ups_lists_as_an_alternate_finds_its_package(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    result = await report(adapter, fake, ups.ALTERNATE)
    assert first_check(result) == ("IT", "SUB_CONTRACTOR_RECEIVED")


# --- how UPS is called ----------------------------------------------------------------------------


async def test_one_request_per_number_with_ups_headers_and_one_cached_token(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    numbers = [ups.DELIVERED, ups.IN_TRANSIT, ups.NOT_FOUND]
    context = connection(fake.url)
    results = await adapter.track(context, [TrackRequest(n) for n in numbers])
    results.update(await adapter.track(context, [TrackRequest(ups.LABEL_ONLY)]))
    assert set(results) == {*numbers, ups.LABEL_ONLY}
    assert adapter.batch_size == 1
    assert ups.track_requests(fake) == [*numbers, ups.LABEL_ONLY]
    assert ups.tokens_issued(fake) == 1
    calls = [r for r in fake.requests if r.path.startswith("/api/track/")]
    assert len({r.headers["transId"] for r in calls}) == len(calls)
    for call in calls:
        assert call.headers["transactionSrc"] == "shiptrack"
        assert call.headers["Authorization"].startswith("Bearer ups-token-")
        assert call.query == {
            "locale": "en_US",
            "returnSignature": "false",
            "returnMilestones": "false",
            "returnPOD": "false",
        }


async def test_token_request_is_client_credentials_in_http_basic(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    await adapter.verify(connection(fake.url, account_number="A1B2C3"))
    (request,) = fake.requests
    assert request.method == "POST" and request.path == "/security/v1/oauth/token"
    expected = base64.b64encode(f"{ups.CLIENT_ID}:{ups.CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.body == b"grant_type=client_credentials"
    assert request.headers["x-merchant-id"] == "A1B2C3"


async def test_wrong_credentials_are_rejected_before_any_tracking_call(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    wrong = connection(fake.url, secret="not-the-secret")
    with pytest.raises(CredentialsRejected):
        await adapter.verify(wrong)
    with pytest.raises(CredentialsRejected):
        await adapter.track(wrong, [TrackRequest(ups.DELIVERED)])
    assert ups.track_requests(fake) == []


async def test_an_expired_token_is_replaced_once_and_the_call_retried(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    context = connection(fake.url)
    await adapter.track(context, [TrackRequest(ups.LABEL_ONLY)])
    ups.expire_tokens(fake)
    results = await adapter.track(context, [TrackRequest(ups.DELIVERED)])
    assert isinstance(results[ups.DELIVERED], CarrierReport)
    assert ups.tokens_issued(fake) == 2
    assert ups.track_requests(fake)[-2:] == [ups.DELIVERED, ups.DELIVERED]


async def test_a_token_refused_again_after_refresh_is_a_transport_error(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    fake.state["expire_on_use"] = True
    with pytest.raises(TransportError) as raised:
        await adapter.track(connection(fake.url), [TrackRequest(ups.DELIVERED)])
    assert not isinstance(raised.value, CredentialsRejected)
    assert "401" in raised.value.message
    assert ups.track_requests(fake) == [ups.DELIVERED, ups.DELIVERED]
    assert ups.tokens_issued(fake) == 2


async def test_a_token_is_refreshed_when_ups_says_it_has_expired(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    fake.state["expires_in"] = "0"
    context = connection(fake.url)
    for _ in range(3):
        await adapter.track(context, [TrackRequest(ups.LABEL_ONLY)])
    assert ups.tokens_issued(fake) == 3
    assert len(ups.track_requests(fake)) == 3  # a fresh token each time, never a 401


async def test_429_is_a_transport_error_carrying_retry_after(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError) as raised:
        await adapter.track(connection(fake.url), [TrackRequest(ups.RATE_LIMITED)])
    assert raised.value.retry_after == ups.RETRY_AFTER


async def test_token_quota_429_is_a_transport_error_not_a_credentials_refusal(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    fake.state["token_status"] = 429
    with pytest.raises(TransportError) as raised:
        await adapter.verify(connection(fake.url))
    assert not isinstance(raised.value, CredentialsRejected)
    assert raised.value.retry_after == ups.RETRY_AFTER


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (ups.SERVER_ERROR, "HTTP 500"),
        (ups.UNAVAILABLE, "HTTP 503"),
        (ups.BLOCKED, "HTTP 403"),
        (ups.MALFORMED, "not the JSON it documents"),
        (ups.WRONG_SHAPE, "not a TrackApiResponse"),
    ],
)
async def test_failures_and_unreadable_answers_are_transport_errors(
    adapter: UpsCarrier, fake: FakeServer, number: str, words: str
) -> None:
    with pytest.raises(TransportError) as raised:
        await adapter.track(connection(fake.url), [TrackRequest(number)])
    assert words in raised.value.message
    assert "Unavailable" not in raised.value.message  # the body is never repeated
    assert not isinstance(raised.value, CredentialsRejected)


async def test_a_transport_error_fails_the_whole_batch(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError):
        await adapter.track(
            connection(fake.url), [TrackRequest(ups.DELIVERED), TrackRequest(ups.UNAVAILABLE)]
        )


async def test_a_timeout_is_a_transport_error(fake: FakeServer) -> None:
    impatient = UpsCarrier(
        CarrierHttp("UPS", policy=FAKES_ALLOWED, timeout=1.0, connect_timeout=1.0)
    )
    context = connection(fake.url)
    fake.state["slow_seconds"] = 2.5
    try:
        with pytest.raises(TransportError) as raised:
            await impatient.track(context, [TrackRequest(ups.SLOW)])
    finally:
        await impatient.close()
    assert "in time" in raised.value.message
    assert ups.track_requests(fake) == [ups.SLOW]  # the track call, not the token, timed out


async def test_a_404_without_ups_error_body_is_a_transport_error_not_not_found(
    adapter: UpsCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError) as raised:
        await adapter.track(connection(fake.url), [TrackRequest(ups.PLAIN_404)])
    assert "404" in raised.value.message


async def test_an_unreachable_host_is_a_transport_error(adapter: UpsCarrier) -> None:
    with pytest.raises(TransportError) as raised:
        await adapter.verify(connection(f"http://127.0.0.1:{free_port()}"))
    assert not isinstance(raised.value, CredentialsRejected)


# --- Track Alert ----------------------------------------------------------------------------------


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


FORM = b"grant_type=client_credentials"


def issue(adapter: UpsCarrier, context: ConnectionContext) -> str:
    """A push token, fetched as UPS does (client_secret_basic)."""
    answer = adapter.issue_push_token(
        context, {"Authorization": _basic(ups.CLIENT_ID, WEBHOOK_SECRET)}, FORM
    )
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] > 0
    token: str = answer["access_token"]
    return token


def push_headers(token: str, api_key: str | None = ups.CLIENT_ID) -> dict[str, str]:
    headers = {"authorization": f"Bearer {token}", "user-agent": "UPSPubSubTrackingService"}
    if api_key is not None:
        headers["x-api-key"] = api_key
    return headers


async def test_an_out_for_delivery_push_becomes_one_event(adapter: UpsCarrier) -> None:
    context = connection("http://unused.invalid")
    body = json.dumps(ups.out_for_delivery_push(ups.IN_TRANSIT)).encode()
    reports = await adapter.read_push(context, push_headers(issue(adapter, context)), body)
    assert list(reports) == [ups.IN_TRANSIT]
    (event,) = reports[ups.IN_TRANSIT].events
    assert (event.status_code, event.status_detail_code) == ("IT", "OUT_FOR_DELIVERY")
    assert (event.carrier_status_code, event.carrier_detail_code) == ("I", "OT")
    assert event.event_code == "021"
    assert format_utc(event.occurred_at) == "2024-04-23T13:15:19Z"
    assert event.carrier_occurred_at == "2024-04-23T09:15:19"
    assert (event.city_locality, event.state_province, event.country_code) == (
        "Charlotte",
        "NC",
        "US",
    )
    assert reports[ups.IN_TRANSIT].estimated_delivery_date == "2024-04-23T00:00:00"


async def test_a_delivered_push_carries_signer_and_delivery_time(adapter: UpsCarrier) -> None:
    context = connection("http://unused.invalid")
    body = json.dumps(ups.delivered_push(ups.IN_TRANSIT)).encode()
    reports = await adapter.read_push(context, push_headers(issue(adapter, context)), body)
    result = reports[ups.IN_TRANSIT]
    (event,) = result.events
    assert (event.status_code, event.signer) == ("DE", "John")
    assert result.actual_delivery_date == "2024-04-23T13:50:04Z"


@pytest.mark.parametrize(
    ("fields", "utc", "local"),
    [
        # gmtOffset "-04.00" (with a dot) and no GMT date/time: UTC from local time and offset.
        (
            {"localActivityDate": "20240423", "localActivityTime": "091519", "gmtOffset": "-04.00"},
            "2024-04-23T13:15:19Z",
            "2024-04-23T09:15:19",
        ),
        # A half-hour offset.
        (
            {"localActivityDate": "20240423", "localActivityTime": "091519", "gmtOffset": "+05.30"},
            "2024-04-23T03:45:19Z",
            "2024-04-23T09:15:19",
        ),
        # Local time only: never labelled UTC.
        (
            {"localActivityDate": "20240423", "localActivityTime": "091519"},
            None,
            "2024-04-23T09:15:19",
        ),
        # GMT and offset only: the local wall time is derived.
        (
            {"gmtActivityDate": "20240423", "gmtActivityTime": "131519", "gmtOffset": "-04.00"},
            "2024-04-23T13:15:19Z",
            "2024-04-23T09:15:19",
        ),
    ],
)
async def test_pushed_times_follow_the_timestamp_rule(
    adapter: UpsCarrier, fields: dict[str, str], utc: str | None, local: str
) -> None:
    context = connection("http://unused.invalid")
    payload = {
        "trackingNumber": ups.IN_TRANSIT,
        "activityStatus": {"type": "I", "code": "AR", "descriptionCode": "005"},
        **fields,
    }
    reports = await adapter.read_push(
        context, push_headers(issue(adapter, context)), json.dumps(payload).encode()
    )
    (event,) = reports[ups.IN_TRANSIT].events
    assert (format_utc(event.occurred_at), event.carrier_occurred_at) == (utc, local)


async def test_a_numeric_description_code_is_read_as_ups_three_digit_code(
    adapter: UpsCarrier,
) -> None:
    context = connection("http://unused.invalid")
    payload = ups.out_for_delivery_push(ups.IN_TRANSIT)
    payload["activityStatus"] = {"type": "I", "code": "XX", "descriptionCode": 21}
    reports = await adapter.read_push(
        context, push_headers(issue(adapter, context)), json.dumps(payload).encode()
    )
    (event,) = reports[ups.IN_TRANSIT].events
    assert (event.event_code, event.status_detail_code) == ("021", "OUT_FOR_DELIVERY")


@pytest.mark.parametrize(
    ("status", "detail"), [("AT", "ATTEMPTED_DELIVERY"), ("EX", "ADDRESS_QUERY")]
)
async def test_an_update_push_changes_no_status_only_the_estimate(
    adapter: UpsCarrier, status: str, detail: str
) -> None:
    context = connection("http://unused.invalid")
    body = json.dumps(ups.update_push(ups.IN_TRANSIT)).encode()
    result = (await adapter.read_push(context, push_headers(issue(adapter, context)), body))[
        ups.IN_TRANSIT
    ]
    (event,) = result.events
    assert (event.status_code, event.status_detail_code) == ("UN", "INFORMATION")
    known = Known(
        status, detail, 4, settled=True, newest_event_at=datetime(2024, 4, 23, 12, tzinfo=UTC)
    )
    observation = observe(known, result)
    assert observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == (status, detail)
    assert [key for key, _ in observation.new_events] == [event_identity(event)]
    assert observation.estimated_delivery_date == "2024-04-26T00:00:00"


async def test_push_token_needs_the_connection_client_id_and_webhook_secret(
    adapter: UpsCarrier,
) -> None:
    context = connection("http://unused.invalid")
    for authorization in (
        _basic(ups.CLIENT_ID, "wrong"),
        _basic("someone-else", WEBHOOK_SECRET),
        _basic(ups.CLIENT_ID, ups.CLIENT_SECRET),  # the API secret is not the webhook secret
        f"Bearer {WEBHOOK_SECRET}",
        "Basic !!!not-base64",
    ):
        with pytest.raises(PushRefused) as raised:
            adapter.issue_push_token(context, {"Authorization": authorization}, FORM)
        assert raised.value.status_code == 401
    with pytest.raises(PushRefused) as raised:
        adapter.issue_push_token(context, {}, FORM)
    assert raised.value.status_code == 401


async def test_push_token_needs_the_client_credentials_grant(adapter: UpsCarrier) -> None:
    context = connection("http://unused.invalid")
    headers = {"Authorization": _basic(ups.CLIENT_ID, WEBHOOK_SECRET)}
    for body in (b"", b"grant_type=password"):
        with pytest.raises(PushRefused) as raised:
            adapter.issue_push_token(context, headers, body)
        assert raised.value.status_code == 400


async def test_a_connection_without_webhook_secret_accepts_no_push(adapter: UpsCarrier) -> None:
    context = connection("http://unused.invalid", webhook_secret="")
    with pytest.raises(PushRefused) as raised:
        adapter.issue_push_token(context, {"Authorization": _basic(ups.CLIENT_ID, "")}, FORM)
    assert raised.value.status_code == 401
    body = json.dumps(ups.delivered_push(ups.IN_TRANSIT)).encode()
    with pytest.raises(PushRefused) as raised:
        await adapter.read_push(context, push_headers("anything"), body)
    assert raised.value.status_code == 401


async def test_push_tokens_expire() -> None:
    now = [1_000_000.0]
    carrier = UpsCarrier(clock=lambda: now[0], push_token_lifetime=600)
    context = connection("http://unused.invalid")
    token = issue(carrier, context)
    body = json.dumps(ups.delivered_push(ups.IN_TRANSIT)).encode()
    now[0] += 599
    assert await carrier.read_push(context, push_headers(token), body)
    now[0] += 2
    with pytest.raises(PushRefused) as raised:
        await carrier.read_push(context, push_headers(token), body)
    assert (raised.value.status_code, raised.value.message) == (401, "the bearer token has expired")
    await carrier.close()


async def test_a_push_token_is_worthless_on_another_connection_or_altered(
    adapter: UpsCarrier,
) -> None:
    mine = connection("http://unused.invalid")
    other = connection("http://unused.invalid")  # same client id and webhook secret, other id
    token = issue(adapter, mine)
    body = json.dumps(ups.delivered_push(ups.IN_TRANSIT)).encode()
    connection_id, expires, nonce, signature = token.split(".")
    forged = [
        token.replace(f"{connection_id}.", f"{other.connection_id}.", 1),
        f"{connection_id}.{int(expires) + 3600}.{nonce}.{signature}",
        f"{connection_id}.{expires}.{nonce}.{signature[:-2]}AA",
        f"{connection_id}.\u00b2{expires}.{nonce}.{signature}",  # a digit that int() refuses
        "not-a-token",
    ]
    for candidate, context in [(token, other), *((f, mine) for f in forged)]:
        with pytest.raises(PushRefused) as raised:
            await adapter.read_push(context, push_headers(candidate), body)
        assert raised.value.status_code == 401, candidate


async def test_a_push_needs_a_bearer_token_and_the_right_api_key(adapter: UpsCarrier) -> None:
    context = connection("http://unused.invalid")
    token = issue(adapter, context)
    body = json.dumps(ups.delivered_push(ups.IN_TRANSIT)).encode()
    for headers in (
        push_headers(token, api_key="someone-else"),
        {"x-api-key": ups.CLIENT_ID},
        {"authorization": _basic(ups.CLIENT_ID, WEBHOOK_SECRET)},
    ):
        with pytest.raises(PushRefused) as raised:
            await adapter.read_push(context, headers, body)
        assert raised.value.status_code == 401
    # x-api-key is optional (UPS sends it for OAuth clients).
    assert await adapter.read_push(context, push_headers(token, api_key=None), body)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"trackingNumber": ups.IN_TRANSIT}).encode(),
        json.dumps({"activityStatus": {"type": "D"}}).encode(),
        json.dumps({"trackingNumber": ups.IN_TRANSIT, "activityStatus": "D"}).encode(),
    ],
)
async def test_an_unreadable_push_is_refused_as_a_bad_request(
    adapter: UpsCarrier, body: bytes
) -> None:
    context = connection("http://unused.invalid")
    with pytest.raises(PushRefused) as raised:
        await adapter.read_push(context, push_headers(issue(adapter, context)), body)
    assert raised.value.status_code == 400


async def test_a_bad_token_is_refused_before_the_body_is_read(adapter: UpsCarrier) -> None:
    context = connection("http://unused.invalid")
    with pytest.raises(PushRefused) as raised:
        await adapter.read_push(context, push_headers("0.0.0.forged"), b"{not json")
    assert raised.value.status_code == 401
