"""FedEx for a production account, end to end: a real ``shiptrack serve`` process (API and
workers, real database) whose FedEx connection points at the fake FedEx API (``tests/fakes/
fedex.py``) on 127.0.0.1.

Covers: connecting checks the credentials with FedEx (wrong ones are ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored; FedEx being down
is ``503``); a started package is polled and shows the mapped status, its events newest first with
FedEx's wall times (UTC only where FedEx gave an offset), signer and dates, the FedEx tracking page,
and the change and outbox rows the engine recorded; a number with several shipments shows the
subscribed one; an unknown number is not yet in the system; a FedEx outage shows ``last_error``,
changes no status, and clears when FedEx is back; a live lookup of a never-started number asks
FedEx and stores nothing; FedEx webhook pushes: a signed push updates the package at once and feeds
the same change detection and outbox, a bad or missing signature is ``401`` and stores nothing, a
push for a number the account does not track is ``404``, a connection without ``webhook_secret``
refuses every push, a signed body that is not tracking output is ``400``, and the push token
route (UPS only) is ``404``.

The server runs with short schedule intervals and backoffs so that re-polls happen within a test;
tests wait for the engine with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shiptrack.store.database import create_database
from shiptrack.store.tables import subscriptions
from tests.conftest import DatabaseServer, Server, Tenant, assert_error
from tests.fakes import fedex
from tests.fakes.server import FakeServer, serve
from tests.support import (
    QUICK_SCHEDULE,
    connect_carrier,
    get_tracking,
    own_engine_server,
    production_account,
    recorded,
    start_tracking,
    wait_for_tracking,
    wait_until_stopped,
)

CONNECT = "/v1/connections/carriers/fedex"
PUSH = "/v1/carriers/push/fedex"
WEBHOOK_SECRET = "fedex-webhook-security-token"


@pytest.fixture(scope="module")
def fedex_server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with workers that re-polls and retries within half a second."""
    yield from own_engine_server(test_database, tmp_path_factory, "fedex-engine", **QUICK_SCHEDULE)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with serve(fedex.app()) as server:
        yield server


@pytest.fixture
def account(fedex_server: Server) -> Iterator[Tenant]:
    """A production account with a ``track`` webhook and no carrier yet."""
    with production_account(fedex_server, "fedex shipper") as tenant:
        yield tenant


@pytest.fixture
def pusher(fedex_server: Server) -> Iterator[httpx.Client]:
    """A client without an API key, as FedEx posts its webhooks."""
    with httpx.Client(base_url=fedex_server.url, timeout=30) as client:
        yield client


# --- helpers ------------------------------------------------------------------------------------


def connect(account: Tenant, fake: FakeServer, **extra: str) -> str:
    return connect_carrier(
        account,
        "fedex",
        client_id=fedex.CLIENT_ID,
        client_secret=fedex.CLIENT_SECRET,
        base_url=fake.url,
        **extra,
    )


def checked(account: Tenant, number: str) -> dict[str, Any]:
    """The package once the engine has checked it successfully at least once."""
    return wait_for_tracking(
        account,
        "fedex",
        number,
        lambda body: body["last_checked_at"] is not None and body["last_error"] is None,
        f"a first check of {number}",
    )


def push(
    client: httpx.Client, carrier_id: str, body: bytes, signature: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["fdx-signature"] = signature
    return client.post(f"{PUSH}/{carrier_id}", content=body, headers=headers)


def subscription_count(server: Server, account: Tenant) -> int:
    async def read() -> int:
        database = create_database(server.settings().resolved_database_url)
        try:
            async with database.read() as conn:
                query = sa.select(sa.func.count()).where(
                    subscriptions.c.account_id == int(account.account_id[3:])
                )
                count: int = (await conn.execute(query)).scalar_one()
                return count
        finally:
            await database.dispose()

    return asyncio.run(read())


# --- connecting ---------------------------------------------------------------------------------


def test_wrong_credentials_are_refused_by_fedex_and_nothing_is_stored(
    account: Tenant, fake: FakeServer
) -> None:
    response = account.client.post(
        CONNECT,
        json={"client_id": fedex.CLIENT_ID, "client_secret": "wrong", "base_url": fake.url},
    )
    assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="client_id",
        error_source="carrier",
    )
    assert "wrong" not in response.text
    assert account.client.get("/v1/carriers").json()["carriers"] == []
    assert fake.paths() == ["/oauth/token"]


def test_connecting_while_fedex_is_down_is_503_and_stores_nothing(
    account: Tenant, fake: FakeServer
) -> None:
    fake.state["token_always"] = "503"
    response = account.client.post(
        CONNECT,
        json={
            "client_id": fedex.CLIENT_ID,
            "client_secret": fedex.CLIENT_SECRET,
            "base_url": fake.url,
        },
    )
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert account.client.get("/v1/carriers").json()["carriers"] == []


# --- polling ------------------------------------------------------------------------------------


def test_polled_package_shows_fedex_status_events_and_dates(
    fedex_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake)
    start_tracking(account, "fedex", fedex.DELIVERED)
    body = wait_until_stopped(account, "fedex", fedex.DELIVERED)
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["stop_reason"] == "delivered"
    assert body["last_error"] is None
    assert body["carrier_code"] == "fedex"
    # ShipEngine's tracking_information gives the carrier account id as an integer.
    assert body["carrier_id"] == int(carrier_id.removeprefix("se-"))
    assert (body["carrier_status_code"], body["carrier_status_description"]) == ("DL", "Delivered")
    assert body["tracking_url"] == "https://www.fedex.com/fedextrack/?trknbr=770000000001"
    assert body["ship_date"] == "2024-08-15T00:00:00"
    assert body["estimated_delivery_date"] == "2024-08-21T00:00:00"
    assert body["actual_delivery_date"] == "2024-08-20T16:41:57Z"

    events = body["events"]
    assert [e["event_code"] for e in events] == ["DL", "OD", "AR", "DP", "IT", "AR", "OC", "PU"]
    assert [e["status_code"] for e in events] == ["DE", "IT", "IT", "IT", "IT", "IT", "NY", "AC"]
    delivered = events[0]
    assert delivered["occurred_at"] == "2024-08-20T16:41:57Z"
    assert delivered["carrier_occurred_at"] == "2024-08-20T12:41:57"
    assert delivered["signer"] == "CREILLY"
    assert (delivered["city_locality"], delivered["state_province"]) == ("Blue Point", "NY")
    assert (delivered["postal_code"], delivered["country_code"]) == ("11715", "US")
    assert delivered["status_detail_description"] == "Your parcel has been successfully delivered."
    out = events[1]
    assert (out["status_detail_code"], out["occurred_at"]) == (
        "OUT_FOR_DELIVERY",
        "2024-08-20T10:47:00Z",
    )
    picked_up = events[-1]
    assert (picked_up["occurred_at"], picked_up["carrier_occurred_at"]) == (
        None,
        "2024-08-15T00:00:00",
    )

    record = recorded(fedex_server, account.account_id, "fedex", fedex.DELIVERED)
    assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", "DE")]
    (delivery,) = record.deliveries
    assert delivery.status_change_id == record.changes[0].id
    assert b'"status_code":"DE"' in bytes(delivery.payload).replace(b" ", b"")


def test_number_with_several_shipments_shows_the_subscribed_one(
    account: Tenant, fake: FakeServer
) -> None:
    connect(account, fake)
    start_tracking(account, "fedex", fedex.SEVERAL)
    body = checked(account, fedex.SEVERAL)
    # The old, delivered shipment FedEx lists first belongs to an earlier owner of the number.
    assert (body["status_code"], body["status_detail_code"]) == ("IT", "HUB_SCAN_OUT")
    assert body["actual_delivery_date"] is None
    assert body["active"] is True
    assert all(e["carrier_occurred_at"].startswith("2024-") for e in body["events"])
    assert all(e["signer"] is None for e in body["events"])


def test_unknown_number_is_not_yet_in_system(
    fedex_server: Server, account: Tenant, fake: FakeServer
) -> None:
    connect(account, fake)
    start_tracking(account, "fedex", fedex.UNKNOWN)
    body = checked(account, fedex.UNKNOWN)
    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], True)
    record = recorded(fedex_server, account.account_id, "fedex", fedex.UNKNOWN)
    assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", "NY")]


def test_fedex_outage_keeps_the_status_and_shows_why(
    fedex_server: Server, account: Tenant, fake: FakeServer
) -> None:
    connect(account, fake)
    start_tracking(account, "fedex", fedex.IN_TRANSIT)
    before = checked(account, fedex.IN_TRANSIT)
    assert before["status_code"] == "IT"
    changes_before = recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT).changes

    fake.state["track_always"] = "503"
    during = wait_for_tracking(
        account, "fedex", fedex.IN_TRANSIT, lambda b: b["last_error"] is not None, "the outage"
    )
    assert "503" in during["last_error"]
    # FedEx's own error text is logged for the operator, never shown: the base URL is the user's.
    assert "SERVICE.UNAVAILABLE.ERROR" not in during["last_error"]
    assert (during["status_code"], during["status_detail_code"]) == ("IT", "HUB_SCAN_OUT")
    assert during["events"] == before["events"]
    assert during["active"] is True
    assert (
        recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT).changes
        == changes_before
    )

    del fake.state["track_always"]
    after = checked(account, fedex.IN_TRANSIT)
    assert (after["status_code"], after["events"]) == ("IT", before["events"])
    assert (
        recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT).changes
        == changes_before
    )


def test_live_lookup_of_a_never_started_number_asks_fedex_and_stores_nothing(
    fedex_server: Server, account: Tenant, fake: FakeServer
) -> None:
    connect(account, fake)
    body = get_tracking(account, "fedex", fedex.SEVERAL)
    # Without a subscription time the newest shipment is shown.
    assert (body["status_code"], body["active"]) == ("IT", False)
    assert len(body["events"]) == 4
    assert "/track/v1/trackingnumbers" in fake.paths()
    assert subscription_count(fedex_server, account) == 0


# --- pushes -------------------------------------------------------------------------------------


def test_signed_push_updates_the_package_at_once(
    fedex_server: Server, account: Tenant, fake: FakeServer, pusher: httpx.Client
) -> None:
    carrier_id = connect(account, fake, webhook_secret=WEBHOOK_SECRET)
    start_tracking(account, "fedex", fedex.IN_TRANSIT)
    before = checked(account, fedex.IN_TRANSIT)
    polled = recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT).changes

    later = fedex.in_transit_then_delivered()
    body = fedex.push_body(fedex.IN_TRANSIT, shipments=later)
    response = push(pusher, carrier_id, body, fedex.sign(WEBHOOK_SECRET, body))
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 1}

    after = get_tracking(account, "fedex", fedex.IN_TRANSIT)
    assert (after["status_code"], after["active"], after["stop_reason"]) == (
        "DE",
        False,
        "delivered",
    )
    assert len(after["events"]) == len(before["events"]) + 2
    assert after["events"][0]["signer"] == "M.GARCIA"
    assert after["actual_delivery_date"] == "2024-04-26T17:02:00Z"
    # The push went through the same change detection as a poll: each step is a change with
    # its outbox row.
    record = recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT)
    pushed = record.changes[len(polled) :]
    assert [(c.status_code, c.status_detail_code) for c in pushed] == [
        ("IT", "OUT_FOR_DELIVERY"),
        ("DE", "DELIVERED"),
    ]
    assert {row.status_change_id for row in record.deliveries} >= {c.id for c in pushed}


@pytest.mark.parametrize(
    "signature",
    [None, "", "c2lnbmVk", fedex.sign("another-token", fedex.push_body(fedex.IN_TRANSIT))],
    # Named: the last signature covers a body with the time in it, and parallel runs need the
    # same test ids in every worker.
    ids=["missing", "empty", "not-an-hmac", "another-token"],
)
def test_push_without_a_valid_signature_is_401_and_stores_nothing(
    fedex_server: Server,
    account: Tenant,
    fake: FakeServer,
    pusher: httpx.Client,
    signature: str | None,
) -> None:
    carrier_id = connect(account, fake, webhook_secret=WEBHOOK_SECRET)
    start_tracking(account, "fedex", fedex.IN_TRANSIT)
    before = checked(account, fedex.IN_TRANSIT)
    changes_before = recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT).changes

    body = fedex.push_body(fedex.IN_TRANSIT, journey=fedex.DELIVERED)
    response = push(pusher, carrier_id, body, signature)
    assert_error(response, 401, "unauthorized", error_type="security")

    after = get_tracking(account, "fedex", fedex.IN_TRANSIT)
    assert (after["status_code"], after["events"]) == ("IT", before["events"])
    assert (
        recorded(fedex_server, account.account_id, "fedex", fedex.IN_TRANSIT).changes
        == changes_before
    )


def test_push_for_a_number_the_account_does_not_track_is_404(
    fedex_server: Server, account: Tenant, fake: FakeServer, pusher: httpx.Client
) -> None:
    carrier_id = connect(account, fake, webhook_secret=WEBHOOK_SECRET)
    body = fedex.push_body(fedex.IN_TRANSIT)
    response = push(pusher, carrier_id, body, fedex.sign(WEBHOOK_SECRET, body))
    assert_error(response, 404, "invalid_identifier")
    assert subscription_count(fedex_server, account) == 0


def test_connection_without_webhook_secret_refuses_every_push(
    account: Tenant, fake: FakeServer, pusher: httpx.Client
) -> None:
    carrier_id = connect(account, fake)
    start_tracking(account, "fedex", fedex.IN_TRANSIT)
    before = checked(account, fedex.IN_TRANSIT)
    body = fedex.push_body(fedex.IN_TRANSIT, journey=fedex.DELIVERED)
    for secret in ("", WEBHOOK_SECRET):
        response = push(pusher, carrier_id, body, fedex.sign(secret, body))
        assert_error(response, 401, "unauthorized", error_type="security")
    assert get_tracking(account, "fedex", fedex.IN_TRANSIT)["events"] == before["events"]


def test_signed_push_that_is_not_tracking_output_is_400(
    account: Tenant, fake: FakeServer, pusher: httpx.Client
) -> None:
    carrier_id = connect(account, fake, webhook_secret=WEBHOOK_SECRET)
    start_tracking(account, "fedex", fedex.IN_TRANSIT)
    body = b'{"events": []}'
    response = push(pusher, carrier_id, body, fedex.sign(WEBHOOK_SECRET, body))
    assert_error(response, 400, "invalid_field_value", error_type="validation")


def test_the_push_token_route_is_404_for_fedex_which_fetches_no_token(
    account: Tenant, fake: FakeServer, pusher: httpx.Client
) -> None:
    # Only UPS Track Alert fetches a token before pushing; FedEx signs each push instead, so even
    # well-formed client credentials get no token.
    carrier_id = connect(account, fake, webhook_secret=WEBHOOK_SECRET)
    credentials = base64.b64encode(f"{fedex.CLIENT_ID}:{WEBHOOK_SECRET}".encode()).decode()
    response = pusher.post(
        f"{PUSH}/{carrier_id}/token",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        content=b"grant_type=client_credentials",
    )
    error = assert_error(response, 404, "invalid_identifier", field_name="carrier_name")
    assert error["message"] == "fedex pushes need no token"
