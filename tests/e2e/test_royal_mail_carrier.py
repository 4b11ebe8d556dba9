"""Royal Mail for a production account, end to end: a real ``shiptrack serve`` process (API and
workers, real database) whose Royal Mail connection points at the fake Tracking API v2
(``tests/fakes/royal_mail.py``) on 127.0.0.1.

Covers: connecting checks the client id and secret with Royal Mail (refused ones are ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored; Royal Mail down is
``503``); a started package is polled and shows the mapped status, its events newest first in true
UTC with Royal Mail's wall times, the signer and the Royal Mail tracking page; later checks ask a
number's events again only when its summary shows a newer scan; more than 30 packages are asked in
summaries of at most 30; an unknown number is not yet in the system.

The failures every carrier shares (401, 429, 503 keep the stored status) are tested in
``test_carrier_failures_contract.py``.

The server runs with short schedule intervals and backoffs; connections set
``requests_per_minute`` so that the default budget (one batch every 10 s) does not slow the tests.
"""

from __future__ import annotations

import pytest

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import royal_mail as rm
from tests.fakes.server import FakeServer
from tests.support import (
    get_tracking,
    recorded,
    start_tracking,
    wait_for_tracking,
)

CODE = "royal_mail"
CONNECT = f"/v1/connections/carriers/{CODE}"


def summaries_with(fake: FakeServer, number: str) -> int:
    return sum(
        1
        for r in fake.requests
        if r.path.endswith("/summary") and number in r.query.get("mailPieceId", "").split(",")
    )


KIT = FAKE_CARRIERS["royal_mail"]
engine, fake, shipper, connected = e2e_fixtures(KIT)

# --- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [(rm.CLIENT_ID, "wrong-secret"), (rm.FORBIDDEN_ID, "any-secret")],
    ids=["wrong-secret", "forbidden"],
)
def test_credentials_royal_mail_refuses_are_a_verification_failure(
    shipper: Tenant, fake: FakeServer, client_id: str, secret: str
) -> None:
    response = shipper.client.post(
        CONNECT, json={"client_id": client_id, "client_secret": secret, "base_url": fake.url}
    )
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
    assert fake.paths() == ["/mailpieces/v2/summary"]


def test_royal_mail_down_while_connecting_is_503(shipper: Tenant, fake: FakeServer) -> None:
    fake.state["outage"] = True
    response = shipper.client.post(
        CONNECT,
        json={"client_id": rm.CLIENT_ID, "client_secret": rm.CLIENT_SECRET, "base_url": fake.url},
    )
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_valid_credentials_connect_with_one_summary(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIT.connect(shipper, fake)
    assert fake.paths() == ["/mailpieces/v2/summary"]
    assert fake.requests[0].headers["X-Accept-RMG-Terms"] == "yes"
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"]) == (carrier_id, CODE)


# --- tracking ------------------------------------------------------------------------------------


def test_delivered_package_shows_royal_mails_data_in_utc(engine: Server, connected: Tenant) -> None:
    start_tracking(connected, CODE, rm.CLOCK_CHANGE)
    body = wait_for_tracking(
        connected, CODE, rm.CLOCK_CHANGE, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["status_detail_code"]) == (
        "DE",
        "DELIVERED_SPECIFIED_SAFE_PLACE",
    )
    assert body["carrier_code"] == CODE
    assert body["last_error"] is None
    assert rm.CLOCK_CHANGE in body["tracking_url"]
    assert body["tracking_url"].startswith("https://www.royalmail.com/")
    assert body["actual_delivery_date"] == "2026-10-26T12:00:00Z"
    events = body["events"]
    assert [e["event_code"] for e in events] == ["EVKSF", "EVGPD", "EVODO", "EVOAC", "EVDAC"]
    assert events[0]["signer"] == "Simon"
    times = [(e["occurred_at"], e["carrier_occurred_at"]) for e in events]
    assert times == [
        ("2026-10-26T12:00:00Z", "2026-10-26T12:00:00"),  # no offset, GMT
        ("2026-10-26T07:00:00Z", "2026-10-26T07:00:00"),
        ("2026-10-25T00:30:00Z", "2026-10-25T01:30:00"),  # no offset, the first 01:30 (BST)
        ("2026-10-24T22:30:00Z", "2026-10-24T23:30:00"),
        ("2026-10-24T11:00:00Z", "2026-10-24T12:00:00"),  # no offset, BST
    ]
    assert walk(recorded(engine, connected.account_id, CODE, rm.CLOCK_CHANGE)) == [
        ("UN", "DE", "DELIVERED_SPECIFIED_SAFE_PLACE")
    ]


def test_events_are_asked_again_only_once_the_summary_shows_a_newer_scan(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = rm.IN_TRANSIT
    events_path = f"/mailpieces/v2/{number}/events"
    start_tracking(connected, CODE, number)
    wait_for_tracking(connected, CODE, number, lambda b: b["status_code"] == "IT", "in transit")
    wait_for_tracking(
        connected, CODE, number, lambda _: summaries_with(fake, number) >= 4, "more summaries"
    )
    # The first check fetched the history; the later ones saw nothing newer in the summary.
    assert fake.paths().count(events_path) == 1
    fake.state["as"] = {number: rm.DELIVERED}
    body = wait_for_tracking(
        connected, CODE, number, lambda b: b["status_code"] == "DE", "the delivery"
    )
    assert fake.paths().count(events_path) == 2
    assert [e["event_code"] for e in body["events"]][:2] == ["EVKSP", "EVGPD"]
    changes = walk(recorded(engine, connected.account_id, CODE, number))
    # The delivery's history is all newer than the 2016 scans: each of its steps is a change.
    assert changes[0] == ("UN", "IT", "PARCEL_REDIRECTED_BY_CARRIER")
    assert changes[-1] == ("IT", "DE", "DELIVERED")
    assert len(changes) == 1 + len(rm.EVENTS[rm.DELIVERED])


def test_more_than_30_packages_are_asked_in_summaries_of_at_most_30(
    connected: Tenant, fake: FakeServer
) -> None:
    numbers = [f"ZZ{i:09d}GB" for i in range(34)]
    for number in numbers:
        start_tracking(connected, CODE, number)
    wait_for_tracking(
        connected,
        CODE,
        numbers[-1],
        lambda _: all(summaries_with(fake, n) >= 1 for n in numbers),
        "every number in a summary",
    )
    sizes = [len(r.query["mailPieceId"].split(",")) for r in fake.requests]
    assert max(sizes) <= 30
    assert get_tracking(connected, CODE, numbers[0])["status_code"] == "NY"


def test_an_unknown_number_is_not_yet_in_the_system(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    number = "RB123456785GB"
    start_tracking(connected, CODE, number)
    wait_for_tracking(
        connected, CODE, number, lambda _: summaries_with(fake, number) >= 2, "a second summary"
    )
    body = get_tracking(connected, CODE, number)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    assert body["last_error"] is None
    assert not any(r.path.endswith("/events") for r in fake.requests)
    assert walk(recorded(engine, connected.account_id, CODE, number)) == [("UN", "NY", None)]
