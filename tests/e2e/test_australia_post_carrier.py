"""Australia Post for a production account, end to end: a real ``shiptrack serve`` process (API
and workers, real database) whose Australia Post connection points at the fake Track items API
(``tests/fakes/australia_post.py``) on 127.0.0.1.

Covers: connecting checks the API key, password and account number with Australia Post (refused ones
are ``400`` ``integrations``/``verification_failure`` from the carrier and nothing is stored;
Australia Post down is ``503``); a started package is polled and shows the mapped status, its events
in true UTC with Australia Post's wall times and the Australia Post tracking page; more than 10
packages are asked 10 at a time; an unknown id (ESB-10001) is not yet in the system.

The failures every carrier shares (401, 429, 503 keep the stored status) are tested in
``test_carrier_failures_contract.py``.
"""

from __future__ import annotations

import pytest

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import australia_post as ap
from tests.fakes.server import FakeServer
from tests.support import (
    get_tracking,
    recorded,
    start_tracking,
    wait_for_tracking,
)

CODE = "australia_post"
CONNECT = f"/v1/connections/carriers/{CODE}"


def asked(fake: FakeServer, number: str) -> int:
    return sum(1 for r in fake.requests if number in r.query.get("tracking_ids", "").split(","))


KIT = FAKE_CARRIERS["australia_post"]
engine, fake, shipper, connected = e2e_fixtures(KIT)

# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "account"),
    [("wrong-password", ap.ACCOUNT), (ap.PASSWORD, "0000000000")],
    ids=["wrong-password", "wrong-account"],
)
def test_credentials_australia_post_refuses_are_a_verification_failure(
    shipper: Tenant, fake: FakeServer, secret: str, account: str
) -> None:
    body = {
        "api_key": ap.API_KEY,
        "client_secret": secret,
        "account_number": account,
        "base_url": fake.url,
    }
    response = shipper.client.post(CONNECT, json=body)
    assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="api_key",
        error_source="carrier",
    )
    assert secret not in response.text
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []
    assert fake.paths() == ["/shipping/v1/track"]


def test_australia_post_down_while_connecting_is_503(shipper: Tenant, fake: FakeServer) -> None:
    fake.state["outage"] = True
    body = {
        "api_key": ap.API_KEY,
        "client_secret": ap.PASSWORD,
        "account_number": ap.ACCOUNT,
        "base_url": fake.url,
    }
    response = shipper.client.post(CONNECT, json=body)
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_valid_credentials_connect_with_one_lookup(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIT.connect(shipper, fake)
    assert fake.paths() == ["/shipping/v1/track"]
    assert fake.requests[0].headers["account-number"] == ap.ACCOUNT
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"]) == (carrier_id, CODE)
    assert carrier["account_number"] == ap.ACCOUNT


# --- tracking ------------------------------------------------------------------------------------


def test_delivered_package_shows_australia_posts_data_in_utc(
    engine: Server, connected: Tenant
) -> None:
    start_tracking(connected, CODE, ap.DELIVERED)
    body = wait_for_tracking(
        connected, CODE, ap.DELIVERED, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["carrier_code"] == CODE
    assert body["last_error"] is None
    assert body["tracking_url"].startswith("https://auspost.com.au/")
    assert ap.DELIVERED in body["tracking_url"]
    assert body["actual_delivery_date"] == "2014-05-30T04:43:09Z"
    newest = body["events"][0]
    assert (newest["occurred_at"], newest["carrier_occurred_at"]) == (
        "2014-05-30T04:43:09Z",
        "2014-05-30T14:43:09",
    )
    assert (newest["city_locality"], newest["state_province"]) == ("ALEXANDRIA", "NSW")
    assert walk(recorded(engine, connected.account_id, CODE, ap.DELIVERED)) == [
        ("UN", "DE", "DELIVERED")
    ]


def test_offsetless_times_use_the_states_zone_across_daylight_saving(connected: Tenant) -> None:
    start_tracking(connected, CODE, ap.DST)
    body = wait_for_tracking(connected, CODE, ap.DST, lambda b: b["status_code"] == "IT", "IT")
    times = [(e["occurred_at"], e["carrier_occurred_at"]) for e in body["events"]]
    assert times == [
        ("2026-10-03T16:30:00Z", "2026-10-04T03:30:00"),  # NSW, AEDT
        ("2026-10-03T15:30:00Z", "2026-10-04T01:30:00"),  # NSW, AEST
        ("2026-10-03T12:30:00Z", "2026-10-03T22:00:00"),  # NT, +9:30
    ]


def test_more_than_10_packages_are_asked_10_at_a_time(connected: Tenant, fake: FakeServer) -> None:
    numbers = [f"7ZZ{i:013d}" for i in range(13)]
    for number in numbers:
        start_tracking(connected, CODE, number)
    wait_for_tracking(
        connected,
        CODE,
        numbers[-1],
        lambda _: all(asked(fake, n) >= 1 for n in numbers),
        "every number asked",
    )
    sizes = [len(r.query["tracking_ids"].split(",")) for r in fake.requests]
    assert max(sizes) <= 10
    assert get_tracking(connected, CODE, numbers[0])["status_code"] == "NY"


def test_an_unknown_id_is_not_yet_in_the_system(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = "7XX1000"
    start_tracking(connected, CODE, number)
    wait_for_tracking(connected, CODE, number, lambda _: asked(fake, number) >= 2, "a second ask")
    body = get_tracking(connected, CODE, number)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert body["last_error"] is None
    assert walk(recorded(engine, connected.account_id, CODE, number)) == [("UN", "NY", None)]
