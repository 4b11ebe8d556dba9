"""Webhook URLs kept off the server's own network (SSRF), on a server started WITHOUT
``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE`` or ``SHIPTRACK_OUTBOUND_ALLOW``, and on one that allow-lists
127.0.0.1.

Covers: registering (``POST``) or moving (``PUT``) a webhook to a loopback, private, link-local or
metadata, CGNAT, multicast, unspecified or ``localhost`` destination — literal IPv4 and IPv6
(IPv4-mapped too), legacy numeric spellings (``127.1``, ``0x7f000001``, ``2130706433``,
``0177.0.0.1``) and Unicode look-alikes the HTTP client normalises to those addresses (segmented,
fullwidth and mathematical digits, ideographic stops, circled letters, fullwidth brackets) — is a
``400`` naming ``url`` and changes nothing; a public
address is accepted; at send time, a URL that reached the database anyway (written there
directly) is never dialled, however it is spelled: the attempt says "refused by the outbound
policy" and nothing more, and the receiver listening there never hears a thing. With
``SHIPTRACK_OUTBOUND_ALLOW=127.0.0.1/32`` the same receiver is reached (literal and ``localhost``),
while metadata and other private addresses stay refused. DNS answers under test control (a name
resolving to loopback, rebinding) are covered in ``tests/integration/test_outbound_client.py``.
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

#: Registration never dials, so private and metadata addresses are safe to try here. Hosts the
#: system's resolver might ask DNS about (``api.localhost``, ``metadata.google.internal``,
#: ``localhost.``, ``127.0.0.1.``) are refused without any lookup, but are tried in
#: ``tests/unit/test_outbound_policy.py`` only: were the guard broken, a lookup would leave the
#: machine.
REFUSED = [
    "http://127.0.0.1:8080/hooks/track",
    "http://127.8.9.10/",
    "http://localhost/hooks",
    "http://LOCALHOST:9000/hooks",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.10/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "https://255.255.255.255/",
    "http://[::1]/",
    "http://[::1]:8080/hooks",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::]/",
    # Numeric host names resolvers turn into 127.0.0.1.
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    # Unicode look-alikes the HTTP client normalises to 127.0.0.1, 10.0.0.1, 169.254.169.254...
    "http://\U0001fbf1\U0001fbf2\U0001fbf7.\U0001fbf0.\U0001fbf0.\U0001fbf1/",
    "http://\U0001ccf1\U0001ccf0.\U0001ccf0.\U0001ccf0.\U0001ccf1/",
    "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",
    "http://127\u30020\u30020\u30021/",
    "http://\U0001d7cf\U0001d7d4\U0001d7d7.\U0001d7d0\U0001d7d3\U0001d7d2."
    "\U0001d7cf\U0001d7d4\U0001d7d7.\U0001d7d0\U0001d7d3\U0001d7d2/",
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/",
    "http://\uff3b::1\uff3d/",
]
#: What an attempt to a refused destination records, and nothing more.
REFUSED_ERROR = "refused by the outbound policy"


@pytest.fixture(scope="module")
def guarded(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A delivering server that refuses non-public webhook destinations."""
    yield from module_server(
        test_database,
        tmp_path_factory,
        SHIPTRACK_WEBHOOK_ALLOW_PRIVATE="false",
        SHIPTRACK_OUTBOUND_ALLOW="",
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
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::ffff:127.0.0.1]",
        "\U0001fbf1\U0001fbf2\U0001fbf7.\U0001fbf0.\U0001fbf0.\U0001fbf1",
        "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11",
    ],
    ids=["literal", "localhost", "ipv4-mapped", "segmented-digits", "fullwidth-digits"],
)
def test_a_stored_non_public_url_is_never_dialled(
    guarded: Server, account: Tenant, host: str
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
        assert attempt["error"] == REFUSED_ERROR, attempt
    assert entry["state"] == "pending"
    assert entry["last_error"] == REFUSED_ERROR


# --- the allow-list -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def allowing(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A delivering server whose allow-list names 127.0.0.1 alone."""
    yield from module_server(
        test_database,
        tmp_path_factory,
        SHIPTRACK_WEBHOOK_ALLOW_PRIVATE="false",
        SHIPTRACK_OUTBOUND_ALLOW="127.0.0.1/32",
    )


@pytest.fixture
def allowed_account(allowing: Server) -> Iterator[Tenant]:
    made = make_tenant(allowing)
    yield made
    made.client.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_an_allow_listed_address_is_registered_and_delivered_to(
    allowed_account: Tenant, host: str
) -> None:
    with receiving() as receiver:
        created = create_webhook(allowed_account, f"http://{host}:{receiver.port}/hooks")
        send_test_event(allowed_account, created["webhook_id"])
        assert len(receiver.wait_for_requests(1, "the test event")) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://127.0.0.2/",
        "http://10.0.0.1/",
        "http://[::1]/",
    ],
)
def test_the_allow_list_opens_nothing_but_what_it_lists(allowed_account: Tenant, url: str) -> None:
    response = allowed_account.client.post(WEBHOOKS, json={"event": "track", "url": url})
    assert_error(response, 400, "invalid_field_value", error_type="validation", field_name="url")
