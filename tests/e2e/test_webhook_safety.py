"""Webhook URLs kept off the server's own network (SSRF), on a server started WITHOUT
``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE``.

Covers: registering (``POST``) or moving (``PUT``) a webhook to a loopback, private, link-local,
CGNAT, multicast, unspecified or ``localhost`` address — literal IPv4 and IPv6 (also IPv4-mapped),
or a numeric host name that resolves to one — is a ``400`` naming ``url`` and changes nothing; a
public address is accepted; and at send time, a URL that reached the database anyway (written
there directly) is never dialled: a literal private address is refused before connecting, and a
name resolving to one (``localhost``: what DNS rebinding would make of a public name) is dropped
by the resolver. The attempt records why, and the receiver listening there never hears a thing.
The resolver itself is unit-tested with controlled DNS answers in ``tests/unit/test_ssrf.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from shiptrack.store.database import create_database
from shiptrack.store.tables import webhooks
from tests.conftest import DatabaseServer, Server, Tenant, assert_error, make_tenant
from tests.e2e.webhook_support import (
    WEBHOOKS,
    create_webhook,
    delivery,
    module_server,
    receiving,
    send_test_event,
)
from tests.support import eventually

#: A public address (example.com's); nothing is ever sent to it here.
PUBLIC = "http://93.184.215.14/hooks/track"

REFUSED = [
    "http://127.0.0.1:8080/hooks/track",
    "http://127.8.9.10/",
    "http://localhost/hooks",
    "http://LOCALHOST:9000/hooks",
    "http://api.localhost/",
    "http://metadata.internal/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "https://255.255.255.255/",
    "http://[::1]/",
    "http://[::1]:8080/hooks",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::]/",
    # Numeric host names the resolver turns into 127.0.0.1.
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
]


@pytest.fixture(scope="module")
def guarded(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A delivering server that refuses non-public webhook destinations."""
    yield from module_server(
        test_database, tmp_path_factory, SHIPTRACK_WEBHOOK_ALLOW_PRIVATE="false"
    )


@pytest.fixture
def account(guarded: Server) -> Iterator[Tenant]:
    made = make_tenant(guarded)
    yield made
    made.client.close()


@pytest.mark.parametrize("url", REFUSED)
def test_registering_a_non_public_url_is_400_naming_url(account: Tenant, url: str) -> None:
    response = account.client.post(WEBHOOKS, json={"event": "track", "url": url})

    assert_error(response, 400, "invalid_field_value", error_type="validation", field_name="url")
    assert account.client.get(WEBHOOKS).json() == []


@pytest.mark.parametrize("url", REFUSED)
def test_moving_a_webhook_to_a_non_public_url_is_400_and_changes_nothing(
    account: Tenant, url: str
) -> None:
    created = create_webhook(account, PUBLIC)
    created.pop("secret")

    response = account.client.put(f"{WEBHOOKS}/{created['webhook_id']}", json={"url": url})

    assert_error(response, 400, "invalid_field_value", error_type="validation", field_name="url")
    assert account.client.get(f"{WEBHOOKS}/{created['webhook_id']}").json() == created


def test_a_public_address_is_accepted(account: Tenant) -> None:
    created = create_webhook(account, PUBLIC)
    assert created["url"] == PUBLIC
    response = account.client.put(
        f"{WEBHOOKS}/{created['webhook_id']}", json={"url": "https://93.184.215.14:8443/other"}
    )
    assert response.status_code == 204, response.text


def set_url_behind_the_apis_back(server: Server, webhook_id: str, url: str) -> None:
    """Write a webhook's URL straight into the database (as if it had been registered before
    the check existed, or on a server that allowed private addresses)."""

    async def write() -> None:
        database = create_database(server.settings().resolved_database_url)
        try:
            async with database.write() as conn:
                await conn.execute(
                    sa.update(webhooks)
                    .where(webhooks.c.id == int(webhook_id.removeprefix("se-")))
                    .values(url=url)
                )
        finally:
            await database.dispose()

    asyncio.run(write())


@pytest.mark.parametrize(
    ("host", "why"),
    [("127.0.0.1", "not a public address"), ("localhost", "non-public addresses")],
    ids=["literal-address", "name-resolving-to-loopback"],
)
def test_a_stored_non_public_url_is_never_dialled(
    guarded: Server, account: Tenant, host: str, why: str
) -> None:
    with receiving() as receiver:
        created = create_webhook(account, PUBLIC)
        webhook_id = created["webhook_id"]
        set_url_behind_the_apis_back(guarded, webhook_id, f"http://{host}:{receiver.port}/hooks")
        delivery_id = send_test_event(account, webhook_id)

        def retried() -> dict[str, Any] | None:
            entry = delivery(account, webhook_id, delivery_id)
            return entry if len(entry["attempts"]) >= 2 else None

        entry = eventually(retried, "two refused attempts")
        response = account.client.delete(f"{WEBHOOKS}/{webhook_id}")
        assert response.status_code == 204, response.text

        assert receiver.requests == []
    for attempt in entry["attempts"]:
        assert attempt["response_status"] is None
        assert why in attempt["error"], attempt
    assert entry["state"] == "pending"
    assert why in entry["last_error"]
