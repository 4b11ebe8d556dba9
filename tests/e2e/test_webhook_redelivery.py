"""Seeing and replaying webhook deliveries (shiptrack's extension endpoints), end to end.

Covers ``GET …/deliveries`` (newest first, cursors, the ``state`` filter, every attempt with its
status, latency and error, as the server's own retries made them) and its validation,
``POST …/deliveries/{id}/redeliver`` (the same message again, same ``webhook-id``),
``POST …/redeliver?since=&until=`` (every delivery created in the range, as the listing's own
timestamps name it), ``POST …/test`` (a signed ``track`` event marked ``"test": true``), and
isolation: another account's webhooks and deliveries are ``404``, and nothing is changed through
them. What a replay or a retry does to order and state is tested in-process
(``tests/engine/test_delivery_redelivery.py``, ``test_delivery_retries.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import DatabaseServer, Server, Tenant, assert_error, make_tenant
from tests.e2e.webhook_support import (
    WEBHOOKS,
    Receiver,
    all_deliveries,
    all_settled,
    create_webhook,
    deliveries_page,
    fail_first,
    jwks,
    module_server,
    receiving,
    send_test_event,
    settled,
    verify_shipengine,
    verify_standard,
)

DELIVERY_FIELDS = {
    "delivery_id",
    "event_id",
    "webhook_message_id",
    "carrier_code",
    "tracking_number",
    "status_code",
    "sequence",
    "state",
    "created_at",
    "delivered_at",
    "next_attempt_at",
    "last_error",
    "attempts",
}


@pytest.fixture(scope="module")
def hub(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from module_server(test_database, tmp_path_factory)


@pytest.fixture
def account(hub: Server) -> Iterator[Tenant]:
    made = make_tenant(hub)
    yield made
    made.client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as made:
        yield made


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def delivered_test_events(tenant: Tenant, webhook_id: str, count: int) -> list[str]:
    """Send ``count`` test events one after the other, each delivered; their delivery ids."""
    ids = []
    for _ in range(count):
        ids.append(send_test_event(tenant, webhook_id))
        assert settled(tenant, webhook_id, ids[-1])["state"] == "delivered"
    return ids


# --- redelivering one -----------------------------------------------------------------------------


def test_redelivering_a_delivery_sends_the_same_message_again(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    webhook = create_webhook(account, receiver.url)
    webhook_id = webhook["webhook_id"]
    [delivery_id] = delivered_test_events(account, webhook_id, 1)

    response = account.client.post(f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery_id}/redeliver")

    assert response.status_code == 202, response.text
    assert response.json() == {"redelivered": 1}
    first, again = receiver.wait_for_requests(2, "the redelivery")
    assert again.webhook_id == first.webhook_id
    assert again.body == first.body
    verify_shipengine(jwks(hub), again.headers, again.body)
    verify_standard(webhook["secret"], again.headers, again.body)

    entry = settled(account, webhook_id, delivery_id)
    assert entry["state"] == "delivered"
    assert [a["response_status"] for a in entry["attempts"]] == [204, 204]


def test_redelivering_an_unknown_delivery_is_404_naming_delivery_id(
    account: Tenant, receiver: Receiver
) -> None:
    webhook = create_webhook(account, receiver.url)
    webhook_id = webhook["webhook_id"]
    other = create_webhook(account, receiver.url + "/other")
    [foreign] = delivered_test_events(account, other["webhook_id"], 1)

    # A delivery of another webhook of the same account is not this webhook's.
    for delivery_id in ("se-999999999", foreign):
        response = account.client.post(
            f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery_id}/redeliver"
        )
        assert_error(response, 404, "invalid_identifier", field_name="delivery_id")
    assert len(receiver.requests) == 1


# --- redelivering a range -------------------------------------------------------------------------


def test_redelivering_a_range_resends_the_deliveries_created_in_it(
    account: Tenant, receiver: Receiver
) -> None:
    webhook = create_webhook(account, receiver.url)
    webhook_id = webhook["webhook_id"]
    delivered_test_events(account, webhook_id, 4)
    listed = list(reversed(all_deliveries(account, webhook_id)))
    first_round = {r.webhook_id: r for r in receiver.requests}
    # From the first delivery's creation up to (not including) the last one's, as listed.
    since, until = listed[0]["created_at"], listed[-1]["created_at"]
    expected = [
        d["webhook_message_id"]
        for d in listed
        if moment(since) <= moment(d["created_at"]) < moment(until)
    ]
    assert len(expected) == 3

    response = account.client.post(
        f"{WEBHOOKS}/{webhook_id}/redeliver", params={"since": since, "until": until}
    )

    assert response.status_code == 202, response.text
    assert response.json() == {"redelivered": len(expected)}
    replayed = receiver.wait_for_requests(len(listed) + len(expected), "the replay")[len(listed) :]
    assert sorted(r.webhook_id for r in replayed) == sorted(expected)
    for request in replayed:
        assert request.body == first_round[request.webhook_id].body
    all_settled(account, webhook_id)

    # Without until: everything from since on.
    response = account.client.post(f"{WEBHOOKS}/{webhook_id}/redeliver", params={"since": since})
    assert response.status_code == 202, response.text
    assert response.json() == {"redelivered": len(listed)}
    again = receiver.wait_for_requests(2 * len(listed) + len(expected), "the second replay")
    assert {r.webhook_id for r in again[len(listed) + len(expected) :]} == set(first_round)


def test_a_range_with_nothing_in_it_redelivers_nothing(account: Tenant, receiver: Receiver) -> None:
    webhook = create_webhook(account, receiver.url)
    delivered_test_events(account, webhook["webhook_id"], 1)

    response = account.client.post(
        f"{WEBHOOKS}/{webhook['webhook_id']}/redeliver", params={"since": "2099-01-01T00:00:00Z"}
    )

    assert response.status_code == 202, response.text
    assert response.json() == {"redelivered": 0}


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({}, "field_value_required", "since"),
        ({"since": "yesterday"}, "invalid_field_value", "since"),
        ({"since": "2026-01-01T00:00:00"}, "invalid_field_value", "since"),
        (
            {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00"},
            "invalid_field_value",
            "until",
        ),
        (
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            "invalid_field_value",
            "until",
        ),
        (
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-02T00:00:00Z"},
            "invalid_field_value",
            "until",
        ),
        ({"since": "2026-01-01T00:00:00Z", "from": "x"}, "invalid_field_value", "from"),
    ],
)
def test_a_bad_range_is_400_naming_the_field(
    account: Tenant, params: dict[str, str], code: str, field: str
) -> None:
    webhook = create_webhook(account, "http://127.0.0.1:9/never")
    response = account.client.post(f"{WEBHOOKS}/{webhook['webhook_id']}/redeliver", params=params)
    assert_error(response, 400, code, error_type="validation", field_name=field)


# --- retries, as the listing shows them -----------------------------------------------------------


def test_a_refused_delivery_is_retried_and_every_attempt_listed(account: Tenant) -> None:
    with receiving(fail_first(1)) as receiver:
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])
        entry = settled(account, webhook["webhook_id"], delivery_id)
        requests = receiver.requests

    # The server retried by itself, with the same webhook-id.
    assert [r.reply.status for r in requests] == [500, 204]
    assert len({r.webhook_id for r in requests}) == 1
    assert entry["state"] == "delivered"
    assert entry["delivered_at"] is not None
    assert entry["next_attempt_at"] is None
    assert entry["last_error"] is None
    assert [a["response_status"] for a in entry["attempts"]] == [500, 204]
    assert [a["error"] for a in entry["attempts"]] == ["HTTP 500", None]
    for attempt in entry["attempts"]:
        assert isinstance(attempt["latency_ms"], int) and attempt["latency_ms"] >= 0
    moments = [moment(a["attempted_at"]) for a in entry["attempts"]]
    assert moments == sorted(moments)


# --- test events ----------------------------------------------------------------------------------


def test_a_test_event_is_a_signed_track_event_marked_test(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    webhook = create_webhook(account, receiver.url)
    response = account.client.post(f"{WEBHOOKS}/{webhook['webhook_id']}/test")
    assert response.status_code == 202, response.text
    assert set(response.json()) == {"delivery_id"}
    delivery_id = response.json()["delivery_id"]
    assert re.fullmatch(r"se-[0-9]+", delivery_id)

    [request] = receiver.wait_for_requests(1, "the test event")

    verify_shipengine(jwks(hub), request.headers, request.body)
    verify_standard(webhook["secret"], request.headers, request.body)
    assert request.headers["x-shiptrack-test-event"] == "true"
    body = request.json
    assert body["test_event"] is True
    assert body["resource_type"] == "API_TRACK"
    assert body["data"]["status_code"] == "DE"
    assert body["data"]["label_url"] is None
    # About a package no account can have: following resource_url finds no package.
    assert body["data"]["tracking_number"] == "SHIPTRACK_TEST_EVENT"
    prefix = "https://shiptrack.example"
    assert (
        body["resource_url"]
        == f"{prefix}/v1/tracking?carrier_code=ups&tracking_number=SHIPTRACK_TEST_EVENT"
    )
    assert_error(
        account.client.get(body["resource_url"].removeprefix(prefix)),
        400,
        "invalid_field_value",
        field_name="tracking_number",
    )
    assert_error(
        account.client.post(
            "/v1/tracking/start",
            params={"carrier_code": "ups", "tracking_number": "SHIPTRACK_TEST_EVENT"},
        ),
        400,
        "invalid_field_value",
        field_name="tracking_number",
    )
    entry = settled(account, webhook["webhook_id"], delivery_id)
    assert entry["state"] == "delivered"
    assert entry["webhook_message_id"] == request.webhook_id
    # Not a change of any package of the account.
    assert (entry["carrier_code"], entry["tracking_number"]) == (None, None)


# --- the listing ----------------------------------------------------------------------------------


def test_deliveries_are_listed_newest_first_page_by_page(
    account: Tenant, receiver: Receiver
) -> None:
    webhook = create_webhook(account, receiver.url)
    webhook_id = webhook["webhook_id"]
    sent = delivered_test_events(account, webhook_id, 5)

    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"page_size": 2}
        if cursor:
            params["cursor"] = cursor
        page = deliveries_page(account, webhook_id, **params)
        assert set(page) == {
            "webhook_id",
            "failing_since",
            "disabled_at",
            "deliveries",
            "next_cursor",
        }
        assert page["webhook_id"] == webhook_id
        assert (page["failing_since"], page["disabled_at"]) == (None, None)
        pages.append([d["delivery_id"] for d in page["deliveries"]])
        for entry in page["deliveries"]:
            assert set(entry) == DELIVERY_FIELDS
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d for p in pages for d in p] == list(reversed(sent))
    everything = deliveries_page(account, webhook_id, page_size=500)
    assert [d["delivery_id"] for d in everything["deliveries"]] == list(reversed(sent))
    assert everything["next_cursor"] is None
    delivered = deliveries_page(account, webhook_id, state="delivered")["deliveries"]
    assert len(delivered) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "two"}, "page_size"),
        ({"state": "lost"}, "state"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "5"}, "limit"),
    ],
)
def test_bad_listing_parameters_are_400_naming_them(
    account: Tenant, params: dict[str, str], field: str
) -> None:
    webhook = create_webhook(account, "http://127.0.0.1:9/never")
    response = account.client.get(f"{WEBHOOKS}/{webhook['webhook_id']}/deliveries", params=params)
    assert_error(response, 400, "invalid_field_value", field_name=field)


# --- isolation ------------------------------------------------------------------------------------


def test_another_accounts_webhooks_and_deliveries_are_404(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    intruder = make_tenant(hub, name="intruder")
    webhook = create_webhook(account, receiver.url)
    webhook_id = webhook["webhook_id"]
    [delivery_id] = delivered_test_events(account, webhook_id, 1)
    own = create_webhook(intruder, receiver.url + "/intruder")

    for method, path, params in [
        ("GET", f"{WEBHOOKS}/{webhook_id}/deliveries", {}),
        ("GET", f"{WEBHOOKS}/{webhook_id}/secret", {}),
        ("POST", f"{WEBHOOKS}/{webhook_id}/secret/rotate", {}),
        ("POST", f"{WEBHOOKS}/{webhook_id}/test", {}),
        ("POST", f"{WEBHOOKS}/{webhook_id}/redeliver", {"since": "2000-01-01T00:00:00Z"}),
        ("POST", f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery_id}/redeliver", {}),
    ]:
        response = intruder.client.request(method, path, params=params)
        assert_error(response, 404, "invalid_identifier", field_name="webhook_id")
    # Through its own webhook, the other account's delivery is not found either.
    response = intruder.client.post(
        f"{WEBHOOKS}/{own['webhook_id']}/deliveries/{delivery_id}/redeliver"
    )
    assert_error(response, 404, "invalid_identifier", field_name="delivery_id")

    # Nothing happened: no resend, no test event, the secret unchanged.
    assert len(receiver.requests) == 1
    assert account.client.get(f"{WEBHOOKS}/{webhook_id}/secret").json() == {
        "secret": webhook["secret"]
    }
    assert [d["delivery_id"] for d in all_deliveries(account, webhook_id)] == [delivery_id]
    intruder.client.close()


def test_a_deleted_webhook_has_no_deliveries_to_show(account: Tenant, receiver: Receiver) -> None:
    webhook = create_webhook(account, receiver.url)
    webhook_id = webhook["webhook_id"]
    [delivery_id] = delivered_test_events(account, webhook_id, 1)
    response = account.client.delete(f"{WEBHOOKS}/{webhook_id}")
    assert response.status_code == 204, response.text

    for method, path in [
        ("GET", f"{WEBHOOKS}/{webhook_id}/deliveries"),
        ("GET", f"{WEBHOOKS}/{webhook_id}/secret"),
        ("POST", f"{WEBHOOKS}/{webhook_id}/test"),
        ("POST", f"{WEBHOOKS}/{webhook_id}/deliveries/{delivery_id}/redeliver"),
    ]:
        assert_error(
            account.client.request(method, path), 404, "invalid_identifier", field_name="webhook_id"
        )
    assert len(receiver.requests) == 1
