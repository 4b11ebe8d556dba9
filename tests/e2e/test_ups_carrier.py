"""UPS end to end: a production account connects UPS at the fake UPS of ``tests/fakes/ups.py``
(``base_url``), the engine server polls it, and UPS Track Alert pushes arrive at
``POST /v1/carriers/push/ups/{carrier_id}``; plus direct reads of ``status_changes`` and
``deliveries`` (the outbox).

Covers: wrong credentials refused at connect (400 ``verification_failure`` from the carrier) and
UPS down at connect (503), nothing stored either way; a polled delivered package (mapped status,
events newest first with UTC and local times, signer, dates, tracking URL, one change and one
outbox row); a number UPS does not know (NY); a UPS outage and a 429 (``last_error``, no status
change, back-off honouring Retry-After); the Track Alert flow (token from ``/token`` with the
client id and webhook secret, pushed events that change the status through the same change
detection and outbox, an update that changes nothing but the estimate); pushes refused with 401
(bad or missing token, wrong ``x-api-key``, a connection without webhook secret) or 404 (a number
the account does not track), all storing nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import Server, Tenant, assert_error, make_tenant
from tests.fakes import ups
from tests.fakes.server import FakeServer, serve
from tests.support import (
    connect_carrier,
    get_tracking,
    production_account,
    recorded,
    start_tracking,
    wait_for_tracking,
)

WEBHOOK_SECRET = "track-alert-webhook-secret"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with serve(ups.app()) as running:
        yield running


@pytest.fixture
def account(engine_server: Server) -> Iterator[Tenant]:
    """A fresh production account on the engine server, with a ``track`` webhook."""
    with production_account(engine_server, "ups-e2e") as tenant:
        yield tenant


def connect(tenant: Tenant, base_url: str, **extra: str) -> str:
    return connect_carrier(
        tenant,
        "ups",
        client_id=ups.CLIENT_ID,
        client_secret=ups.CLIENT_SECRET,
        base_url=base_url,
        **extra,
    )


def start_and_wait(tenant: Tenant, number: str) -> dict[str, Any]:
    """Start tracking and wait for the engine's first check (or failed attempt); the package."""
    start_tracking(tenant, "ups", number)
    return wait_for_tracking(
        tenant,
        "ups",
        number,
        lambda body: body["last_checked_at"] is not None or body["last_error"] is not None,
        f"the first check of {number}",
    )


def stored(server: Server, tenant: Tenant, number: str) -> tuple[list[int], list[int], int]:
    """What is stored for the package: the ids of its changes and outbox rows, and how many
    events ``GET /v1/tracking`` lists."""
    changes, outbox = recorded(server, tenant.account_id, "ups", number).ids()
    return changes, outbox, len(get_tracking(tenant, "ups", number)["events"])


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def push_token(server: Server, carrier_id: str, secret: str = WEBHOOK_SECRET) -> httpx.Response:
    """What UPS Track Alert does before pushing: client credentials in HTTP Basic."""
    return httpx.post(
        f"{server.url}/v1/carriers/push/ups/{carrier_id}/token",
        headers={
            "Authorization": _basic(ups.CLIENT_ID, secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        content=b"grant_type=client_credentials",
        timeout=30,
    )


def token_for(server: Server, carrier_id: str) -> str:
    response = push_token(server, carrier_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    token: str = body["access_token"]
    return token


def push(
    server: Server,
    carrier_id: str,
    event: dict[str, Any],
    token: str | None,
    *,
    api_key: str | None = ups.CLIENT_ID,
) -> httpx.Response:
    """A Track Alert POST as UPS sends it."""
    headers = {"User-Agent": "UPSPubSubTrackingService", "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if api_key is not None:
        headers["x-api-key"] = api_key
    return httpx.post(
        f"{server.url}/v1/carriers/push/ups/{carrier_id}",
        headers=headers,
        content=json.dumps(event).encode(),
        timeout=30,
    )


# --- connecting -----------------------------------------------------------------------------------


def test_wrong_credentials_are_refused_and_nothing_is_connected(
    account: Tenant, fake: FakeServer
) -> None:
    response = account.client.post(
        "/v1/connections/carriers/ups",
        json={"client_id": ups.CLIENT_ID, "client_secret": "wrong", "base_url": fake.url},
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


def test_ups_down_at_connect_is_503_and_nothing_is_connected(account: Tenant) -> None:
    with serve(ups.app()) as down:
        down.state["token_status"] = 500
        response = account.client.post(
            "/v1/connections/carriers/ups",
            json={"client_id": ups.CLIENT_ID, "client_secret": "s", "base_url": down.url},
        )
    assert_error(response, 503, "unspecified", error_source="carrier")
    assert account.client.get("/v1/carriers").json()["carriers"] == []


# --- polling --------------------------------------------------------------------------------------


def test_a_polled_delivered_package_shows_the_mapped_journey_and_notifies(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url)
    start_and_wait(account, ups.DELIVERED)
    body = wait_for_tracking(
        account, "ups", ups.DELIVERED, lambda b: b["status_code"] == "DE", "the delivery"
    )
    assert body["status_detail_code"] == "DELIVERED"
    assert (body["carrier_status_code"], body["carrier_detail_code"]) == ("D", "FS")
    assert body["carrier_id"] == int(carrier_id.removeprefix("se-"))  # an integer, as ShipEngine
    assert body["tracking_url"] == f"https://www.ups.com/track?tracknum={ups.DELIVERED}"
    assert body["actual_delivery_date"] == "2024-04-22T18:30:00Z"
    assert body["ship_date"] == "2024-04-21T22:00:00Z"
    assert body["estimated_delivery_date"] == "2024-04-22T00:00:00"
    assert (body["active"], body["stop_reason"], body["last_error"]) == (
        False,
        "delivered",
        None,
    )
    events = body["events"]
    assert [(e["status_code"], e["carrier_detail_code"]) for e in events] == [
        ("DE", "FS"),
        ("IT", "OT"),
        ("IT", "AR"),
        ("IT", "DP"),
        ("AC", "PU"),
        ("NY", "MP"),
    ]
    assert [(e["occurred_at"], e["carrier_occurred_at"]) for e in events][::3] == [
        ("2024-04-22T18:30:00Z", "2024-04-22T14:30:00"),
        ("2024-04-22T02:00:00Z", "2024-04-21T22:00:00"),
    ]
    assert (events[-1]["occurred_at"], events[-1]["carrier_occurred_at"]) == (
        None,
        "2024-04-20T09:30:00",
    )
    assert events[0]["signer"] == ups.SIGNER
    assert (events[0]["city_locality"], events[0]["country_code"]) == ("ATLANTA", "US")
    rows = recorded(engine_server, account.account_id, "ups", ups.DELIVERED)
    assert [(c.previous_status, c.status_code) for c in rows.changes] == [("UN", "DE")]
    assert len(rows.deliveries) == 1
    assert json.loads(bytes(rows.deliveries[0].payload))["data"]["status_code"] == "DE"
    asked = [r for r in fake.requests if r.path.endswith(f"/details/{ups.DELIVERED}")]
    assert asked and all(r.headers["transactionSrc"] == "shiptrack" for r in asked)


def test_a_number_ups_does_not_know_is_not_yet_in_system(account: Tenant, fake: FakeServer) -> None:
    connect(account, fake.url)
    body = start_and_wait(account, ups.NOT_FOUND)
    assert (body["status_code"], body["events"], body["last_error"]) == ("NY", [], None)
    assert body["active"] is True


@pytest.mark.parametrize(("number", "words"), [(ups.UNAVAILABLE, "503"), (ups.RATE_LIMITED, "429")])
def test_a_ups_failure_shows_last_error_and_changes_nothing(
    engine_server: Server, account: Tenant, fake: FakeServer, number: str, words: str
) -> None:
    connect(account, fake.url)
    asked_at = datetime.now(UTC)
    body = start_and_wait(account, number)
    assert body["last_error"] is not None and words in body["last_error"]
    assert (body["status_code"], body["events"], body["active"]) == ("UN", [], True)
    rows = recorded(engine_server, account.account_id, "ups", number)
    assert (rows.changes, rows.deliveries) == ([], [])
    if number == ups.RATE_LIMITED:  # the next try waits at least what UPS asked
        waited = datetime.fromisoformat(body["next_check_at"].replace("Z", "+00:00"))
        assert (waited - asked_at).total_seconds() >= ups.RETRY_AFTER - 1


# --- Track Alert ----------------------------------------------------------------------------------


def test_track_alert_pushes_update_the_package_like_a_poll(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url, webhook_secret=WEBHOOK_SECRET)
    polled = start_and_wait(account, ups.IN_TRANSIT)
    assert (polled["status_code"], len(polled["events"])) == ("IT", 4)
    token = token_for(engine_server, carrier_id)

    response = push(engine_server, carrier_id, ups.out_for_delivery_push(ups.IN_TRANSIT), token)
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 1}
    body = get_tracking(account, "ups", ups.IN_TRANSIT)
    assert (body["status_code"], body["status_detail_code"]) == ("IT", "OUT_FOR_DELIVERY")
    newest = body["events"][0]
    assert (newest["occurred_at"], newest["carrier_occurred_at"]) == (
        "2024-04-23T13:15:19Z",
        "2024-04-23T09:15:19",
    )
    assert (newest["carrier_status_code"], newest["carrier_detail_code"]) == ("I", "OT")

    response = push(engine_server, carrier_id, ups.delivered_push(ups.IN_TRANSIT), token)
    assert response.status_code == 200, response.text
    body = get_tracking(account, "ups", ups.IN_TRANSIT)
    assert (body["status_code"], body["stop_reason"]) == ("DE", "delivered")
    assert body["events"][0]["signer"] == "John"
    assert body["actual_delivery_date"] == "2024-04-23T13:50:04Z"
    rows = recorded(engine_server, account.account_id, "ups", ups.IN_TRANSIT)
    assert [(c.previous_status, c.status_code, c.status_detail_code) for c in rows.changes] == [
        ("UN", "IT", "IN_TRANSIT"),
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "DE", "DELIVERED"),
    ]
    assert [row.sequence for row in rows.deliveries] == [1, 2, 3]
    assert len(get_tracking(account, "ups", ups.IN_TRANSIT)["events"]) == 6


def test_an_update_push_moves_the_estimate_but_not_the_status(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url, webhook_secret=WEBHOOK_SECRET)
    polled = start_and_wait(account, ups.ATTEMPT)
    assert (polled["status_code"], polled["status_detail_code"]) == ("AT", "ATTEMPTED_DELIVERY")
    changes_before, outbox_before, events_before = stored(engine_server, account, ups.ATTEMPT)

    response = push(
        engine_server,
        carrier_id,
        ups.update_push(ups.ATTEMPT),
        token_for(engine_server, carrier_id),
    )
    assert response.status_code == 200, response.text
    body = get_tracking(account, "ups", ups.ATTEMPT)
    assert (body["status_code"], body["status_detail_code"]) == ("AT", "ATTEMPTED_DELIVERY")
    assert body["estimated_delivery_date"] == "2024-04-26T00:00:00"
    assert (body["events"][0]["status_detail_code"], body["events"][0]["event_code"]) == (
        "INFORMATION",
        "154",
    )
    changes_after, outbox_after, events_after = stored(engine_server, account, ups.ATTEMPT)
    assert (len(changes_after), len(outbox_after)) == (len(changes_before), len(outbox_before))
    assert events_after == events_before + 1


def test_pushes_with_a_bad_token_or_api_key_are_401_and_store_nothing(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url, webhook_secret=WEBHOOK_SECRET)
    start_and_wait(account, ups.IN_TRANSIT)
    before = stored(engine_server, account, ups.IN_TRANSIT)
    token = token_for(engine_server, carrier_id)
    event = ups.delivered_push(ups.IN_TRANSIT)
    for response in (
        push(engine_server, carrier_id, event, None),
        push(engine_server, carrier_id, event, "0.0.0.forged"),
        push(engine_server, carrier_id, event, token + "x"),
        push(engine_server, carrier_id, event, token, api_key="another-client"),
    ):
        assert_error(response, 401, "unauthorized")
    assert_error(push_token(engine_server, carrier_id, secret="wrong"), 401, "unauthorized")
    assert stored(engine_server, account, ups.IN_TRANSIT) == before
    assert get_tracking(account, "ups", ups.IN_TRANSIT)["status_code"] == "IT"


def test_a_token_of_another_connection_is_refused(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url, webhook_secret=WEBHOOK_SECRET)
    start_and_wait(account, ups.IN_TRANSIT)
    other = make_tenant(engine_server, sandbox=False, name="ups-other")
    try:
        foreign = token_for(engine_server, connect(other, fake.url, webhook_secret=WEBHOOK_SECRET))
    finally:
        other.client.close()
    response = push(engine_server, carrier_id, ups.delivered_push(ups.IN_TRANSIT), foreign)
    assert_error(response, 401, "unauthorized")
    assert get_tracking(account, "ups", ups.IN_TRANSIT)["status_code"] == "IT"


def test_a_push_for_a_number_the_account_does_not_track_is_404(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url, webhook_secret=WEBHOOK_SECRET)
    token = token_for(engine_server, carrier_id)
    response = push(engine_server, carrier_id, ups.delivered_push("1ZNOTTRACKED000001"), token)
    assert_error(response, 404, "invalid_identifier")


def test_a_connection_without_webhook_secret_refuses_pushes(
    engine_server: Server, account: Tenant, fake: FakeServer
) -> None:
    carrier_id = connect(account, fake.url)
    start_and_wait(account, ups.IN_TRANSIT)
    assert_error(push_token(engine_server, carrier_id), 401, "unauthorized")
    response = push(engine_server, carrier_id, ups.delivered_push(ups.IN_TRANSIT), "0.1.2.3")
    assert_error(response, 401, "unauthorized")
    assert get_tracking(account, "ups", ups.IN_TRANSIT)["status_code"] == "IT"
