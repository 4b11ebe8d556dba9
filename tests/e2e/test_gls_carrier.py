"""GLS for a production account, end to end: a real ``shiptrack serve`` process (API and workers,
real database) whose GLS connection points at the fake GLS Group API (``tests/fakes/gls.py``) on
127.0.0.1.

Covers: connecting fetches a token from the Authentication API v2 (refused credentials are ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored; GLS down is
``503``); a started package is polled and walks through GLS's own statuses (in transit, a failed
attempt, a return) in true UTC from the event's country, with the GLS tracking page; a locker is a
pickup point; more than 10 packages are asked 10 at a time under one token; an unknown id
(``E_404_01``) is not yet in the system; an expired token is renewed without an error. Revoked
credentials, the daily quota (429) and outages are the failure contract suite's
(``test_carrier_failures_contract.py``).
"""

from __future__ import annotations

import pytest

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import gls
from tests.fakes.server import FakeServer
from tests.support import get_tracking, recorded, start_tracking, wait_for_tracking

CODE = "gls"
CONNECT = f"/v1/connections/carriers/{CODE}"
KIT = FAKE_CARRIERS[CODE]
engine, fake, shipper, connected = e2e_fixtures(KIT)


def asked(fake: FakeServer, number: str) -> int:
    return sum(
        1
        for r in fake.requests
        if r.path.startswith(gls.TRACK_PREFIX)
        and number in r.path.removeprefix(gls.TRACK_PREFIX).split(",")
    )


# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("revoked", [False, True], ids=["wrong-secret", "revoked"])
def test_credentials_gls_refuses_are_a_verification_failure(
    shipper: Tenant, fake: FakeServer, revoked: bool
) -> None:
    fake.state["revoked"] = revoked
    secret = gls.CLIENT_SECRET if revoked else "wrong-secret-123"
    body = {"client_id": gls.CLIENT_ID, "client_secret": secret, "base_url": fake.url}
    response = shipper.client.post(CONNECT, json=body)
    assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="client_id",
        error_source="carrier",
    )
    assert secret not in response.text
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []
    assert fake.paths() == [gls.TOKEN_PATH]


def test_gls_down_while_connecting_is_503(shipper: Tenant, fake: FakeServer) -> None:
    fake.state["outage"] = True
    body = {"client_id": gls.CLIENT_ID, "client_secret": gls.CLIENT_SECRET, "base_url": fake.url}
    response = shipper.client.post(CONNECT, json=body)
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_valid_credentials_connect_with_one_token_fetch(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIT.connect(shipper, fake)
    assert fake.paths() == [gls.TOKEN_PATH]
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"]) == (carrier_id, CODE)
    assert carrier["friendly_name"] == "GLS"


# --- tracking ------------------------------------------------------------------------------------


def test_a_parcel_walks_through_an_attempt_to_a_return_in_utc(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    start_tracking(connected, CODE, gls.IN_TRANSIT)
    body = wait_for_tracking(
        connected, CODE, gls.IN_TRANSIT, lambda b: b["status_code"] == "IT", "in transit"
    )
    assert body["carrier_code"] == CODE
    assert body["tracking_url"] == (
        f"https://gls-group.com/GROUP/en/parcel-tracking?match={gls.IN_TRANSIT}"
    )
    newest = body["events"][0]
    assert (newest["occurred_at"], newest["carrier_occurred_at"]) == (
        "2026-07-14T03:10:00Z",  # Neuenstein, CEST
        "2026-07-14T05:10:00",
    )
    assert (newest["city_locality"], newest["country_code"]) == ("Neuenstein", "DE")
    assert newest["event_code"] == "INBOUD.NORMAL"
    assert body["ship_date"] == "2026-07-13T15:45:00Z"

    fake.state["as"] = {gls.IN_TRANSIT: gls.ATTEMPTED}
    wait_for_tracking(connected, CODE, gls.IN_TRANSIT, lambda b: b["status_code"] == "AT", "AT")
    fake.state["as"] = {gls.IN_TRANSIT: gls.RETURNED}
    done = wait_for_tracking(
        connected, CODE, gls.IN_TRANSIT, lambda b: b["status_code"] == "EX", "the return"
    )
    assert done["status_detail_code"] == "RETURN_TO_SENDER"
    assert walk(recorded(engine, connected.account_id, CODE, gls.IN_TRANSIT)) == [
        ("UN", "IT", "HUB_SCAN_IN"),
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "AT", "ATTEMPTED_DELIVERY"),
        ("AT", "EX", "RETURN_TO_SENDER"),
    ]
    # Every call went out under the one token fetched for the connection.
    assert fake.paths().count(gls.TOKEN_PATH) == 1


def test_a_parcel_locker_is_a_pickup_point(connected: Tenant) -> None:
    start_tracking(connected, CODE, gls.LOCKER)
    body = wait_for_tracking(connected, CODE, gls.LOCKER, lambda b: b["status_code"] == "SP", "SP")
    assert body["status_detail_code"] == "DELIVERED_TO_PICKUP_POINT"
    assert body["events"][0]["occurred_at"] == "2026-07-17T07:40:00Z"


def test_offsetless_times_use_the_countrys_zone_across_daylight_saving(connected: Tenant) -> None:
    start_tracking(connected, CODE, gls.DST)
    body = wait_for_tracking(connected, CODE, gls.DST, lambda b: b["status_code"] == "IT", "IT")
    times = [(e["occurred_at"], e["carrier_occurred_at"]) for e in body["events"]]
    assert times == [
        ("2026-03-29T01:30:00Z", "2026-03-29T03:30:00"),  # CEST
        ("2026-03-29T00:30:00Z", "2026-03-29T01:30:00"),  # CET
    ]


def test_more_than_10_packages_are_asked_10_at_a_time(connected: Tenant, fake: FakeServer) -> None:
    numbers = [f"8{i:010d}" for i in range(13)]
    for number in numbers:
        start_tracking(connected, CODE, number)
    wait_for_tracking(
        connected,
        CODE,
        numbers[-1],
        lambda _: all(asked(fake, n) >= 1 for n in numbers),
        "every number asked",
    )
    tracked = [p for p in fake.paths() if p.startswith(gls.TRACK_PREFIX)]
    assert max(len(p.removeprefix(gls.TRACK_PREFIX).split(",")) for p in tracked) <= 10
    assert get_tracking(connected, CODE, numbers[0])["status_code"] == "NY"


def test_an_unknown_id_is_not_yet_in_the_system(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = "80000000099"
    start_tracking(connected, CODE, number)
    wait_for_tracking(connected, CODE, number, lambda _: asked(fake, number) >= 2, "a second ask")
    body = get_tracking(connected, CODE, number)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert body["last_error"] is None
    assert walk(recorded(engine, connected.account_id, CODE, number)) == [("UN", "NY", None)]


def test_an_expired_token_is_renewed_without_an_error(connected: Tenant, fake: FakeServer) -> None:
    start_tracking(connected, CODE, gls.IN_TRANSIT)
    wait_for_tracking(connected, CODE, gls.IN_TRANSIT, lambda b: b["status_code"] == "IT", "IT")
    tokens = fake.paths().count(gls.TOKEN_PATH)
    fake.state["expire_tokens"] = True
    fake.state["as"] = {gls.IN_TRANSIT: gls.ATTEMPTED}
    body = wait_for_tracking(
        connected, CODE, gls.IN_TRANSIT, lambda b: b["status_code"] == "AT", "AT"
    )
    assert body["last_error"] is None
    assert fake.paths().count(gls.TOKEN_PATH) == tokens + 1
