"""The FedEx adapter over real HTTP against the fake FedEx host (``tests/fakes/fedex.py``).

Covers each kind of package (delivered, in transit, out for delivery, exception, failed attempt,
pickup point, customs hold, label created, not found), timestamps (UTC only where FedEx gives an
offset, local wall time always), ship / estimated / actual delivery dates, signer and places,
several shipments for one number (which one is followed, with and without a subscription time,
including FedEx's re-delivery leg), the request FedEx receives (batches of at most 30, detailed
scans, bearer token), OAuth (token cached, fetched again when it expires or on a 401, retried
once), credentials checked on verify, and transport errors for the batch: 401 twice, 429 with
``Retry-After`` or the daily quota, 5xx, timeouts, unreadable bodies, gzip bodies; then the
FedEx webhook push: its ``fdx-signature`` and body checks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shiptrack.carriers.base import ConnectionContext, PushRefused, TrackRequest, TransportError
from shiptrack.carriers.fedex import FedexCarrier
from shiptrack.carriers.http import CarrierHttp, CredentialsRejected
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, InvalidNumber, Known, observe
from shiptrack.domain.statuses import StatusCode
from tests.fakes import fedex
from tests.fakes.dial import FAKES_ALLOWED
from tests.fakes.server import FakeServer, serve

#: When the subscriptions of these tests were made (after every shipment of the fake).
SUBSCRIBED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WEBHOOK_SECRET = "fedex-security-token"
TRACK = "/track/v1/trackingnumbers"
TOKEN = "/oauth/token"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with serve(fedex.app()) as server:
        yield server


@pytest.fixture
async def carrier() -> AsyncIterator[FedexCarrier]:
    adapter = FedexCarrier(
        CarrierHttp("FedEx", policy=FAKES_ALLOWED, timeout=0.5, connect_timeout=0.5)
    )
    try:
        yield adapter
    finally:
        await adapter.close()


def _connection(
    fake: FakeServer, *, secret: str = fedex.CLIENT_SECRET, **credentials: str
) -> ConnectionContext:
    return ConnectionContext(
        connection_id=1,
        carrier_code="fedex",
        simulated=False,
        base_url=fake.url,
        credentials={"client_id": fedex.CLIENT_ID, "client_secret": secret, **credentials},
    )


@pytest.fixture
def connection(fake: FakeServer) -> ConnectionContext:
    return _connection(fake, webhook_secret=WEBHOOK_SECRET)


async def _report(
    carrier: FedexCarrier,
    connection: ConnectionContext,
    number: str,
    since: datetime | None = SUBSCRIBED,
) -> CarrierReport:
    results = await carrier.track(connection, [TrackRequest(number, since=since)])
    report = results[number]
    assert isinstance(report, CarrierReport), report
    return report


def _status(report: CarrierReport) -> tuple[str, str | None]:
    """The package status the engine derives from the report on a first check."""
    observation = observe(
        Known(StatusCode.UN, None, sequence=0, settled=False, newest_event_at=None), report
    )
    return observation.status_code, observation.status_detail_code


def _paths(fake: FakeServer) -> list[str]:
    return fake.paths()


def _track_bodies(fake: FakeServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in fake.requests if r.path == TRACK]


# --- what a package looks like ------------------------------------------------------------------


async def test_delivered_package_reports_every_scan_newest_first(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.DELIVERED)
    assert [(e.event_code, e.status_code, e.status_detail_code) for e in report.events] == [
        ("DL", "DE", "DELIVERED"),
        ("OD", "IT", "OUT_FOR_DELIVERY"),
        ("AR", "IT", "HUB_SCAN_IN"),
        ("DP", "IT", "HUB_SCAN_OUT"),
        ("IT", "IT", "IN_TRANSIT"),
        ("AR", "IT", "HUB_SCAN_IN"),
        ("OC", "NY", "SHIPMENT_CREATED"),
        ("PU", "AC", "PICKED_UP"),
    ]
    assert _status(report) == ("DE", "DELIVERED")
    delivered = report.events[0]
    assert delivered.description == "Delivered"
    assert delivered.carrier_status_code == "DL"
    assert delivered.carrier_status_description == "Delivered"
    assert delivered.carrier_detail_code is None


async def test_scan_times_are_utc_only_where_fedex_gives_an_offset(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.DELIVERED)
    times = {e.carrier_occurred_at: e.occurred_at for e in report.events}
    # "2024-08-20T12:41:57-04:00": the wall time, and its instant in UTC.
    assert times["2024-08-20T12:41:57"] == datetime(2024, 8, 20, 16, 41, 57, tzinfo=UTC)
    # "2024-08-19T09:13:51 -0400" (a space, no colon) is read the same way.
    assert times["2024-08-19T09:13:51"] == datetime(2024, 8, 19, 13, 13, 51, tzinfo=UTC)
    # "2024-08-15T00:00:00" has no offset: local time only, never labelled UTC.
    assert times["2024-08-15T00:00:00"] is None
    assert all(e.carrier_occurred_at is not None for e in report.events)


async def test_dates_signer_and_places_of_a_delivered_package(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.DELIVERED)
    # SHIP "2024-08-15T00:00:00-06:00" is a date: reported without a made-up UTC time.
    assert report.ship_date == "2024-08-15T00:00:00"
    assert report.actual_delivery_date == "2024-08-20T16:41:57Z"
    # No estimate: FedEx's standard transit window end is the best estimate it gives.
    assert report.estimated_delivery_date == "2024-08-21T00:00:00"
    delivered, out = report.events[0], report.events[1]
    assert delivered.signer == "CREILLY"
    assert [e.signer for e in report.events[1:]] == [None] * 7
    assert (delivered.city_locality, delivered.state_province) == ("Blue Point", "NY")
    assert (delivered.postal_code, delivered.country_code) == ("11715", "US")
    assert (out.city_locality, out.postal_code) == ("HOLBROOK", "11741")
    label = report.events[6]
    assert (label.city_locality, label.postal_code) == (None, "56003")
    # FedEx only says a signature proof of delivery exists (fetched as a document, not a link):
    # no URL is invented.
    assert all(e.proof_of_delivery_url is None for e in report.events)


async def test_in_transit_estimate_is_the_end_of_fedex_delivery_window(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.IN_TRANSIT)
    assert _status(report) == ("IT", "HUB_SCAN_OUT")
    assert report.estimated_delivery_date == "2024-04-27T03:00:00Z"
    assert report.ship_date == "2024-04-24T00:00:00"
    assert report.actual_delivery_date is None


@pytest.mark.parametrize(
    ("number", "status", "description", "detail_code"),
    [
        (fedex.OUT_FOR_DELIVERY, ("IT", "OUT_FOR_DELIVERY"), "On FedEx vehicle for delivery", None),
        (
            fedex.EXCEPTION,
            ("EX", "UNSPECIFIED_EXCEPTION"),
            "Delivery exception: Incorrect address",
            "03",
        ),
        (
            fedex.FAILED_ATTEMPT,
            ("AT", "ATTEMPTED_DELIVERY"),
            "Delivery exception: Customer not available or business closed",
            "08",
        ),
        (
            fedex.PICKUP_POINT,
            ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
            "Ready for recipient pickup: Package available for pickup at: 2420 N BLACKSTONE AVE",
            None,
        ),
        (
            fedex.CUSTOMS_HOLD,
            ("EX", "HELD_BY_CUSTOMS"),
            "Clearance delay: Package available for clearance",
            "A25",
        ),
    ],
)
async def test_package_status_of_each_kind_of_journey(
    carrier: FedexCarrier,
    connection: ConnectionContext,
    number: str,
    status: tuple[str, str],
    description: str,
    detail_code: str | None,
) -> None:
    report = await _report(carrier, connection, number)
    assert _status(report) == status
    newest = report.events[0]
    assert newest.description == description
    assert newest.carrier_detail_code == detail_code


async def test_redirect_to_a_pickup_point_is_reported_on_the_way(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.PICKUP_POINT)
    redirected = report.events[1]
    assert (redirected.status_code, redirected.status_detail_code) == (
        "IT",
        "PARCEL_REDIRECTED_BY_CARRIER",
    )
    assert (redirected.event_code, redirected.carrier_detail_code) == ("DE", "A47")


async def test_label_without_scans_is_not_yet_in_system(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.LABEL_CREATED)
    assert _status(report) == ("NY", "SHIPMENT_CREATED")
    (label,) = report.events
    assert (label.event_code, label.carrier_status_code) == ("OC", "IN")
    assert label.description == "Label created"
    assert (label.occurred_at, label.carrier_occurred_at) == (None, None)
    assert report.ship_date is None


async def test_unknown_number_is_not_found_not_an_error(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    results = await carrier.track(
        connection, [TrackRequest(fedex.UNKNOWN), TrackRequest(fedex.IN_TRANSIT)]
    )
    assert results[fedex.UNKNOWN] is NOT_FOUND
    assert isinstance(results[fedex.IN_TRANSIT], CarrierReport)


async def test_an_invalid_number_is_invalid_not_merely_not_found(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    results = await carrier.track(
        connection,
        [TrackRequest(fedex.INVALID), TrackRequest(fedex.UNKNOWN), TrackRequest(fedex.IN_TRANSIT)],
    )
    assert results[fedex.INVALID] == InvalidNumber(
        "FedEx", "TRACKING.TRACKINGNUMBER.INVALID", "Invalid tracking number."
    )
    assert results[fedex.UNKNOWN] is NOT_FOUND
    assert isinstance(results[fedex.IN_TRANSIT], CarrierReport)
    assert _paths(fake).count(TRACK) == 1


# --- several shipments for one number -----------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "followed"),
    [
        # A one-off lookup, or a subscription made after both: the newer shipment.
        (None, "IT"),
        (SUBSCRIBED, "IT"),
        # Subscribed a few days before the newer shipment started: it may be the subscribed
        # parcel's next leg, so it is followed.
        (datetime(2024, 4, 20, tzinfo=UTC), "IT"),
        # Subscribed while the old shipment was travelling: the number given to someone else
        # a year later is not followed.
        (datetime(2023, 3, 1, 22, 0, tzinfo=UTC), "DE"),
        (datetime(2023, 6, 1, tzinfo=UTC), "DE"),
        # Subscribed before either existed: the first one to start after the subscription.
        (datetime(2022, 1, 1, tzinfo=UTC), "DE"),
    ],
)
async def test_one_number_with_several_shipments_follows_the_subscribed_one(
    carrier: FedexCarrier, connection: ConnectionContext, since: datetime | None, followed: str
) -> None:
    report = await _report(carrier, connection, fedex.SEVERAL, since=since)
    assert _status(report)[0] == followed
    years = {e.carrier_occurred_at[:4] for e in report.events if e.carrier_occurred_at}
    assert years == ({"2024"} if followed == "IT" else {"2023"})


async def test_naive_subscription_time_is_taken_as_utc(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    report = await _report(carrier, connection, fedex.SEVERAL, since=datetime(2023, 6, 1))
    assert _status(report) == ("DE", "DELIVERED")


async def test_a_held_parcel_is_followed_onto_its_redelivery_leg(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    # FedEx answers a parcel held at its facility ("running late") and its re-delivery the next
    # day as two shipments of one number; the subscription made the evening it shipped must see
    # the delivery, not stay on the held leg.
    since = datetime(2024, 4, 24, 21, 0, tzinfo=UTC)
    report = await _report(carrier, connection, fedex.FOLLOW_ON, since=since)
    assert _status(report) == ("DE", "DELIVERED")
    assert report.events[0].signer == "D.HERRERA"
    assert report.ship_date == "2024-04-25T00:00:00"
    assert report.actual_delivery_date == "2024-04-26T16:26:00Z"


async def test_error_entries_beside_a_shipment_are_ignored(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    number = "770055555555"
    shipment = fedex.journeys()[fedex.OUT_FOR_DELIVERY][0]
    fake.state["shipments"] = {number: [fedex.not_found(number), shipment]}
    report = await _report(carrier, connection, number)
    assert _status(report) == ("IT", "OUT_FOR_DELIVERY")


# --- the request FedEx receives -----------------------------------------------------------------


async def test_request_is_the_documented_track_by_tracking_number_call(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    await carrier.track(connection, [TrackRequest(fedex.DELIVERED), TrackRequest(fedex.UNKNOWN)])
    token_call, track_call = fake.requests
    assert (token_call.method, token_call.path) == ("POST", TOKEN)
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(pair.split("=", 1) for pair in token_call.body.decode().split("&"))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": fedex.CLIENT_ID,
        "client_secret": fedex.CLIENT_SECRET,
    }
    assert (track_call.method, track_call.path) == ("POST", TRACK)
    assert track_call.headers["Authorization"] == f"Bearer {fake.state['tokens'][0]}"
    assert track_call.headers["Content-Type"].startswith("application/json")
    assert track_call.headers["X-locale"] == "en_US"
    assert json.loads(track_call.body) == {
        "includeDetailedScans": True,
        "trackingInfo": [
            {"trackingNumberInfo": {"trackingNumber": fedex.DELIVERED}},
            {"trackingNumberInfo": {"trackingNumber": fedex.UNKNOWN}},
        ],
    }


async def test_numbers_are_asked_thirty_at_a_time(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    numbers = [f"7711{index:08d}" for index in range(65)]
    results = await carrier.track(connection, [TrackRequest(n) for n in numbers])
    assert set(results) == set(numbers)
    assert all(result is NOT_FOUND for result in results.values())
    sizes = [len(body["trackingInfo"]) for body in _track_bodies(fake)]
    assert sizes == [30, 30, 5]
    asked = [
        item["trackingNumberInfo"]["trackingNumber"]
        for body in _track_bodies(fake)
        for item in body["trackingInfo"]
    ]
    assert asked == numbers
    assert carrier.batch_size == 30


def test_default_budget_stays_within_fedex_published_limits() -> None:
    budget = FedexCarrier.budget
    # 1,400 transactions per 10 seconds per project, bursts included.
    assert budget.requests_per_second * 10 + budget.burst <= 1400
    # 100,000 tracking requests per day per project.
    assert budget.requests_per_second * 86400 <= 100_000


# --- OAuth --------------------------------------------------------------------------------------


async def test_token_is_fetched_once_for_many_calls(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    for number in (fedex.DELIVERED, fedex.IN_TRANSIT, fedex.UNKNOWN):
        await carrier.track(connection, [TrackRequest(number)])
    assert _paths(fake) == [TOKEN, TRACK, TRACK, TRACK]


async def test_token_is_fetched_again_once_it_expires(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["token_lifetime"] = 0
    for number in (fedex.DELIVERED, fedex.IN_TRANSIT):
        await carrier.track(connection, [TrackRequest(number)])
    assert _paths(fake) == [TOKEN, TRACK, TOKEN, TRACK]
    first, second = (r.headers["Authorization"] for r in fake.requests if r.path == TRACK)
    assert first != second


async def test_expired_token_is_replaced_and_the_call_retried_once(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    await carrier.track(connection, [TrackRequest(fedex.IN_TRANSIT)])
    fedex.expire_tokens(fake.state)
    report = await _report(carrier, connection, fedex.DELIVERED)
    assert _status(report) == ("DE", "DELIVERED")
    assert _paths(fake) == [TOKEN, TRACK, TRACK, TOKEN, TRACK]


async def test_second_401_is_a_transport_error_without_a_third_try(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["track_always"] = "401"
    with pytest.raises(TransportError) as caught:
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])
    assert not isinstance(caught.value, CredentialsRejected)
    assert "401" in caught.value.message
    # FedEx's own error text goes to the log, never to clients: the base URL is the user's.
    assert "NOT.AUTHORIZED.ERROR" not in caught.value.message
    assert _paths(fake) == [TOKEN, TRACK, TOKEN, TRACK]


async def test_403_is_a_transport_error(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["track_always"] = "403"
    with pytest.raises(TransportError, match="403") as caught:
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])
    assert "FORBIDDEN.ERROR" not in caught.value.message


async def test_verify_accepts_good_credentials(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    await carrier.verify(connection)
    assert _paths(fake) == [TOKEN]


async def test_verify_rejects_wrong_credentials(carrier: FedexCarrier, fake: FakeServer) -> None:
    with pytest.raises(CredentialsRejected, match="401"):
        await carrier.verify(_connection(fake, secret="not-the-secret"))


async def test_verify_during_a_fedex_outage_is_not_a_credentials_problem(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["token_script"] = ["503"]
    with pytest.raises(TransportError) as caught:
        await carrier.verify(connection)
    assert not isinstance(caught.value, CredentialsRejected)


async def test_tracking_with_wrong_credentials_is_a_transport_error(
    carrier: FedexCarrier, fake: FakeServer
) -> None:
    with pytest.raises(TransportError):
        await carrier.track(_connection(fake, secret="revoked"), [TrackRequest(fedex.DELIVERED)])
    assert TRACK not in _paths(fake)


# --- transport errors ---------------------------------------------------------------------------


async def test_429_passes_on_fedex_retry_after(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["track_script"] = ["429"]
    with pytest.raises(TransportError, match="429") as caught:
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])
    assert caught.value.retry_after == 7
    # The next call goes through.
    assert _status(await _report(carrier, connection, fedex.DELIVERED))[0] == "DE"


async def test_daily_quota_429_waits_for_midnight_gmt(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["track_script"] = ["quota"]
    with pytest.raises(TransportError, match="quota") as caught:
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    assert caught.value.retry_after is not None
    assert abs(caught.value.retry_after - (midnight - now).total_seconds()) < 60


@pytest.mark.parametrize(
    ("directive", "code"),
    [("500", "INTERNAL.SERVER.ERROR"), ("503", "SERVICE.UNAVAILABLE.ERROR")],
)
async def test_server_errors_are_transport_errors(
    carrier: FedexCarrier,
    connection: ConnectionContext,
    fake: FakeServer,
    directive: str,
    code: str,
) -> None:
    fake.state["track_script"] = [directive]
    with pytest.raises(TransportError, match=f"HTTP {directive}") as caught:
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])
    assert code not in caught.value.message


async def test_timeout_is_a_transport_error(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state.update(track_script=["timeout"], timeout_seconds=1.5)
    with pytest.raises(TransportError, match="in time"):
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])


@pytest.mark.parametrize("directive", ["malformed", "no_output"])
async def test_unreadable_answer_is_a_transport_error(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer, directive: str
) -> None:
    fake.state["track_script"] = [directive]
    with pytest.raises(TransportError) as caught:
        await carrier.track(connection, [TrackRequest(fedex.DELIVERED)])
    assert "gateway" not in caught.value.message


async def test_wrongly_shaped_shipment_is_a_transport_error(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    broken = fedex.journeys()[fedex.IN_TRANSIT][0]
    broken["scanEvents"] = {"date": "2024-04-25T02:15:00-07:00"}
    fake.state["shipments"] = {fedex.IN_TRANSIT: [broken]}
    with pytest.raises(TransportError, match="unreadable"):
        await carrier.track(connection, [TrackRequest(fedex.IN_TRANSIT)])


async def test_gzip_body_without_content_encoding_is_read(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    fake.state["track_script"] = ["gzip"]
    report = await _report(carrier, connection, fedex.DELIVERED)
    assert _status(report) == ("DE", "DELIVERED")


# --- pushes -------------------------------------------------------------------------------------


async def test_signed_push_is_read_as_a_report(
    carrier: FedexCarrier, connection: ConnectionContext, fake: FakeServer
) -> None:
    body = fedex.push_body(fedex.IN_TRANSIT, journey=fedex.DELIVERED)
    reports = await carrier.read_push(
        connection, {"fdx-signature": fedex.sign(WEBHOOK_SECRET, body)}, body
    )
    assert list(reports) == [fedex.IN_TRANSIT]
    assert _status(reports[fedex.IN_TRANSIT]) == ("DE", "DELIVERED")
    assert reports[fedex.IN_TRANSIT].events[0].signer == "CREILLY"
    assert fake.requests == []


async def test_push_header_name_is_case_insensitive(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    body = fedex.push_body(fedex.IN_TRANSIT)
    reports = await carrier.read_push(
        connection, {"FDX-Signature": fedex.sign(WEBHOOK_SECRET, body)}, body
    )
    assert fedex.IN_TRANSIT in reports


async def test_push_with_several_shipments_follows_the_newest(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    body = fedex.push_body(fedex.SEVERAL, journey=fedex.SEVERAL)
    reports = await carrier.read_push(
        connection, {"fdx-signature": fedex.sign(WEBHOOK_SECRET, body)}, body
    )
    assert _status(reports[fedex.SEVERAL]) == ("IT", "HUB_SCAN_OUT")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"fdx-signature": ""},
        {"fdx-signature": "not a signature"},
        # Signed with another token.
        {"fdx-signature": fedex.sign("another-token", fedex.push_body(fedex.IN_TRANSIT))},
        # A hex digest instead of base64.
        {
            "fdx-signature": hmac.new(
                WEBHOOK_SECRET.encode(), fedex.push_body(fedex.IN_TRANSIT), hashlib.sha256
            ).hexdigest()
        },
    ],
)
async def test_push_without_a_valid_signature_is_refused_401(
    carrier: FedexCarrier, connection: ConnectionContext, headers: dict[str, str]
) -> None:
    with pytest.raises(PushRefused) as caught:
        await carrier.read_push(connection, headers, fedex.push_body(fedex.IN_TRANSIT))
    assert caught.value.status_code == 401


async def test_push_signed_for_another_body_is_refused_401(
    carrier: FedexCarrier, connection: ConnectionContext
) -> None:
    signed = fedex.push_body(fedex.IN_TRANSIT, journey=fedex.IN_TRANSIT)
    sent = fedex.push_body(fedex.IN_TRANSIT, journey=fedex.DELIVERED)
    with pytest.raises(PushRefused) as caught:
        await carrier.read_push(
            connection, {"fdx-signature": fedex.sign(WEBHOOK_SECRET, signed)}, sent
        )
    assert caught.value.status_code == 401


async def test_push_to_a_connection_without_webhook_secret_is_refused_401(
    carrier: FedexCarrier, fake: FakeServer
) -> None:
    body = fedex.push_body(fedex.IN_TRANSIT)
    # Whatever the sender signs with: there is no token to check it against.
    with pytest.raises(PushRefused, match="webhook_secret") as caught:
        await carrier.read_push(_connection(fake), {"fdx-signature": fedex.sign("", body)}, body)
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"output": {}}).encode(),
        json.dumps({"output": {"completeTrackResults": [{"trackResults": "none"}]}}).encode(),
        # Only a per-number error: nothing to record.
        json.dumps(
            fedex.track_output({"770000000002": [fedex.not_found("770000000002")]})
        ).encode(),
    ],
)
async def test_signed_push_that_is_not_tracking_data_is_refused_400(
    carrier: FedexCarrier, connection: ConnectionContext, body: bytes
) -> None:
    with pytest.raises(PushRefused) as caught:
        await carrier.read_push(
            connection, {"fdx-signature": fedex.sign(WEBHOOK_SECRET, body)}, body
        )
    assert caught.value.status_code == 400
