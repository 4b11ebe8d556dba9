"""Accounts are isolated: nothing of one account can be seen or changed from another.

Covers webhooks (list, get, update, delete), carriers (list, get, disconnect through both routes),
tracking (packages, and connections named by ``carrier_id``), and that a ``404`` for another
account's id cannot be told apart from the ``404`` for an id that does not exist at all.

A package another account started is, for this account, a package it never started: ``GET
/v1/tracking`` answers with this account's own live carrier lookup (stored nowhere, ``active``
false), which reads the same whether or not anybody else tracks the number, and ``stop`` is ``404``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa

from shiptrack.store.database import create_database
from shiptrack.store.tables import subscriptions
from tests.conftest import Server, Tenant, assert_error

WEBHOOKS = "/v1/environment/webhooks"
TRACKING_NUMBER = "1Z999AA10123456784"


def _carriers(tenant: Tenant) -> list[dict[str, Any]]:
    response = tenant.client.get("/v1/carriers")
    assert response.status_code == 200, response.text
    carriers: list[dict[str, Any]] = response.json()["carriers"]
    return carriers


def _carrier_id(tenant: Tenant, carrier_code: str) -> str:
    """The id of the tenant's (only) connection of ``carrier_code``."""
    found = [c["carrier_id"] for c in _carriers(tenant) if c["carrier_code"] == carrier_code]
    assert len(found) == 1, found
    carrier_id: str = found[0]
    return carrier_id


def _comparable(response: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    """A response as a client sees it, without the per-request ``request_id``."""
    body = response.json()
    assert body.pop("request_id")
    return response.status_code, response.headers["content-type"], body


#: Fields of a live lookup that depend on the moment it is made: when it was checked, and the
#: sandbox journey's timestamps (a number that is no scenario is a delivery completed a year ago).
_MOMENT_FIELDS = frozenset(
    {"last_checked_at", "ship_date", "estimated_delivery_date", "actual_delivery_date"}
)
_EVENT_MOMENT_FIELDS = frozenset({"occurred_at", "carrier_occurred_at"})


def _timeless(response: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    """A live ``GET /v1/tracking`` answer without what depends on the moment it was asked."""
    assert response.status_code == 200, response.text
    body = {k: v for k, v in response.json().items() if k not in _MOMENT_FIELDS}
    body["events"] = [
        {k: v for k, v in event.items() if k not in _EVENT_MOMENT_FIELDS}
        for event in body["events"]
    ]
    return response.status_code, response.headers["content-type"], body


def _subscriptions(tenant: Tenant) -> list[dict[str, Any]]:
    response = tenant.client.get("/v1/tracking/subscriptions")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["subscriptions"]
    return found


def _assert_own_live_lookup(response: httpx.Response, tenant: Tenant, carrier_code: str) -> None:
    """The answer is the tenant's live carrier lookup through its own connection, not a
    subscription of anybody: inactive, never scheduled, no stop reason."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert f"se-{body['carrier_id']}" == _carrier_id(tenant, carrier_code)
    assert body["active"] is False
    assert body["stop_reason"] is None
    assert body["next_check_at"] is None
    assert body["last_checked_at"] is not None
    # The sandbox carrier's answer for a number that is no scenario: a completed delivery.
    assert body["status_code"] == "DE"


def _subscription_active(server: Server, tenant: Tenant, tracking_number: str) -> bool:
    """Whether the tenant's subscription to the package is active, read from the database.

    The API does not expose whether a subscription is active (a stopped package still answers
    ``GET /v1/tracking``), so this reads the server's database directly.
    """
    account_id = int(tenant.account_id.removeprefix("se-"))

    async def read() -> bool:
        database = create_database(server.settings().resolved_database_url)
        try:
            async with database.read() as conn:
                result = await conn.execute(
                    sa.select(subscriptions.c.active).where(
                        subscriptions.c.account_id == account_id,
                        subscriptions.c.tracking_number == tracking_number,
                    )
                )
                return bool(result.scalar_one())
        finally:
            await database.dispose()

    return asyncio.run(read())


# Webhooks


def test_webhook_of_another_account_is_404_on_get_put_and_delete(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    created = tenant.client.post(
        WEBHOOKS,
        json={
            "event": "track",
            "url": "https://example.invalid/hooks/mine",
            "name": "mine",
            "headers": [{"key": "X-Mine", "value": "secret"}],
        },
    )
    assert created.status_code == 200, created.text
    mine = created.json()
    webhook_id = mine["webhook_id"]
    secret = mine.pop("secret")  # shown at creation only

    for response in (
        other_tenant.client.get(f"{WEBHOOKS}/{webhook_id}"),
        other_tenant.client.put(
            f"{WEBHOOKS}/{webhook_id}", json={"url": "https://attacker.invalid/steal"}
        ),
        other_tenant.client.delete(f"{WEBHOOKS}/{webhook_id}"),
    ):
        assert_error(
            response, 404, "invalid_identifier", error_type="validation", field_name="webhook_id"
        )

    after = tenant.client.get(f"{WEBHOOKS}/{webhook_id}")
    assert after.status_code == 200, after.text
    assert after.json() == mine
    assert tenant.client.get(WEBHOOKS).json() == [mine]
    assert tenant.client.get(f"{WEBHOOKS}/{webhook_id}/secret").json() == {"secret": secret}


def test_webhook_list_shows_only_the_accounts_own(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = tenant.add_track_webhook("https://example.invalid/hooks/a")
    theirs = other_tenant.add_track_webhook("https://example.invalid/hooks/b")
    # The creation answer also has the signing secret, which the list never shows.
    assert mine.pop("secret") != theirs.pop("secret")

    assert tenant.client.get(WEBHOOKS).json() == [mine]
    assert other_tenant.client.get(WEBHOOKS).json() == [theirs]


def test_two_accounts_may_register_the_same_event_and_url(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    body = {"event": "track", "url": "https://example.invalid/hooks/shared"}
    first = tenant.client.post(WEBHOOKS, json=body)
    second = other_tenant.client.post(WEBHOOKS, json=body)

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert first.json()["webhook_id"] != second.json()["webhook_id"]
    # Within one account the same registration is still a conflict.
    assert_error(tenant.client.post(WEBHOOKS, json=body), 409, "webhook_event_type_conflict")


def test_webhook_404_for_another_account_is_the_same_as_for_a_deleted_one(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    webhook_id = tenant.add_track_webhook()["webhook_id"]
    path = f"{WEBHOOKS}/{webhook_id}"

    while_it_exists = other_tenant.client.get(path)
    assert tenant.client.delete(path).status_code == 204
    after_it_is_gone = other_tenant.client.get(path)
    owner_after_delete = tenant.client.get(path)

    assert_error(while_it_exists, 404, "invalid_identifier", field_name="webhook_id")
    assert _comparable(while_it_exists) == _comparable(after_it_is_gone)
    assert _comparable(while_it_exists) == _comparable(owner_after_delete)


def test_another_accounts_track_webhook_does_not_allow_starting(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()

    assert_error(
        tenant.start("ups", TRACKING_NUMBER), 400, "invalid_status", error_type="business_rules"
    )


# Carriers


def test_carrier_list_shows_only_the_accounts_own(
    tenant: Tenant, other_tenant: Tenant, production_tenant: Tenant
) -> None:
    mine = {c["carrier_id"] for c in _carriers(tenant)}
    theirs = {c["carrier_id"] for c in _carriers(other_tenant)}

    assert mine
    assert theirs
    assert mine.isdisjoint(theirs)
    assert _carriers(production_tenant) == []


def test_carrier_of_another_account_is_404_on_get_and_delete(
    tenant: Tenant, other_tenant: Tenant, production_tenant: Tenant
) -> None:
    before = _carriers(tenant)
    carrier_id = _carrier_id(tenant, "ups")

    for intruder in (other_tenant, production_tenant):
        for response in (
            intruder.client.get(f"/v1/carriers/{carrier_id}"),
            intruder.client.delete(f"/v1/carriers/{carrier_id}"),
            intruder.client.delete(f"/v1/connections/carriers/ups/{carrier_id}"),
        ):
            assert_error(
                response,
                404,
                "invalid_identifier",
                error_type="validation",
                field_name="carrier_id",
            )

    assert _carriers(tenant) == before
    assert tenant.client.get(f"/v1/carriers/{carrier_id}").status_code == 200


def test_carrier_404_for_another_account_is_the_same_as_for_a_disconnected_one(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    carrier_id = _carrier_id(tenant, "fedex")
    path = f"/v1/carriers/{carrier_id}"

    while_it_exists = other_tenant.client.get(path)
    assert tenant.client.delete(path).status_code == 204
    after_it_is_gone = other_tenant.client.get(path)
    owner_after_delete = tenant.client.get(path)

    assert_error(while_it_exists, 404, "invalid_identifier", field_name="carrier_id")
    assert _comparable(while_it_exists) == _comparable(after_it_is_gone)
    assert _comparable(while_it_exists) == _comparable(owner_after_delete)


def test_disconnecting_through_connections_with_another_accounts_id_is_404(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    carrier_id = _carrier_id(tenant, "dhl_express")

    response = other_tenant.client.delete(f"/v1/connections/carriers/dhl_express/{carrier_id}")
    nonexistent = other_tenant.client.delete("/v1/connections/carriers/dhl_express/se-999999999")

    assert_error(response, 404, "invalid_identifier", field_name="carrier_id")
    assert_error(nonexistent, 404, "invalid_identifier", field_name="carrier_id")
    assert tenant.client.get(f"/v1/carriers/{carrier_id}").status_code == 200


# Tracking


def test_package_started_by_one_account_is_one_the_other_never_started(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    tenant.add_track_webhook()
    other_tenant.add_track_webhook()
    params = {"carrier_code": "ups", "tracking_number": TRACKING_NUMBER}
    before = other_tenant.client.get("/v1/tracking", params=params)

    assert tenant.start("ups", TRACKING_NUMBER).status_code == 204
    get = other_tenant.client.get("/v1/tracking", params=params)
    stop = other_tenant.client.post("/v1/tracking/stop", params=params)

    # The other account sees its own live lookup, not the subscription the first one started...
    _assert_own_live_lookup(get, other_tenant, "ups")
    mine = tenant.client.get("/v1/tracking", params=params)
    assert mine.status_code == 200, mine.text
    assert (mine.json()["active"], mine.json()["status_code"]) == (True, "UN")
    assert mine.json()["next_check_at"] is not None
    assert mine.json()["carrier_id"] != get.json()["carrier_id"]
    # ...and cannot stop it.
    assert_error(stop, 404, "invalid_identifier", field_name="tracking_number")
    # The other account cannot tell whether anybody tracks the package.
    assert _timeless(get) == _timeless(before)
    assert _subscriptions(other_tenant) == []
    assert _subscription_active(server, tenant, TRACKING_NUMBER)


def test_two_accounts_tracking_one_package_have_separate_subscriptions(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    tenant.add_track_webhook()
    other_tenant.add_track_webhook()
    params = {"carrier_code": "ups", "tracking_number": TRACKING_NUMBER}

    assert tenant.start("ups", TRACKING_NUMBER).status_code == 204
    assert other_tenant.start("ups", TRACKING_NUMBER).status_code == 204
    mine = tenant.client.get("/v1/tracking", params=params)
    theirs = other_tenant.client.get("/v1/tracking", params=params)
    assert mine.status_code == 200, mine.text
    assert theirs.status_code == 200, theirs.text
    # Each is tracked through the account's own UPS connection.
    assert f"se-{mine.json()['carrier_id']}" == _carrier_id(tenant, "ups")
    assert f"se-{theirs.json()['carrier_id']}" == _carrier_id(other_tenant, "ups")

    assert other_tenant.client.post("/v1/tracking/stop", params=params).status_code == 204

    assert not _subscription_active(server, other_tenant, TRACKING_NUMBER)
    assert _subscription_active(server, tenant, TRACKING_NUMBER)
    assert tenant.client.get("/v1/tracking", params=params).json() == mine.json()


def test_carrier_id_of_another_account_is_404_on_start_get_and_stop(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    tenant.add_track_webhook()
    other_tenant.add_track_webhook()
    carrier_id = _carrier_id(tenant, "ups")
    assert tenant.start("ups", TRACKING_NUMBER).status_code == 204

    for params in (
        {"carrier_id": carrier_id, "tracking_number": TRACKING_NUMBER},
        {"carrier_id": carrier_id, "carrier_code": "ups", "tracking_number": TRACKING_NUMBER},
    ):
        for response in (
            other_tenant.client.post("/v1/tracking/start", params=params),
            other_tenant.client.get("/v1/tracking", params=params),
            other_tenant.client.post("/v1/tracking/stop", params=params),
        ):
            assert_error(
                response,
                404,
                "invalid_identifier",
                error_type="validation",
                field_name="carrier_id",
            )

    # Nothing was started in the other account through the borrowed connection: it tracks
    # nothing, cannot stop the package, and asking about it asks its own carrier live.
    assert _subscriptions(other_tenant) == []
    by_code = {"carrier_code": "ups", "tracking_number": TRACKING_NUMBER}
    assert_error(
        other_tenant.client.post("/v1/tracking/stop", params=by_code),
        404,
        "invalid_identifier",
        field_name="tracking_number",
    )
    _assert_own_live_lookup(
        other_tenant.client.get("/v1/tracking", params=by_code), other_tenant, "ups"
    )


def test_tracking_404_for_another_accounts_carrier_id_is_the_same_as_for_a_nonexistent_one(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()
    carrier_id = _carrier_id(tenant, "usps")
    params = {"carrier_id": carrier_id, "tracking_number": TRACKING_NUMBER}

    while_it_exists = other_tenant.client.post("/v1/tracking/start", params=params)
    assert tenant.client.delete(f"/v1/carriers/{carrier_id}").status_code == 204
    after_it_is_gone = other_tenant.client.post("/v1/tracking/start", params=params)

    assert_error(while_it_exists, 404, "invalid_identifier", field_name="carrier_id")
    assert _comparable(while_it_exists) == _comparable(after_it_is_gone)
