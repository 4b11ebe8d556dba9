"""Wrong API keys, on a server process allowing 30 of them per minute and client address.

Covers the throttle (an address that spends its budget gets ``429 rate_limit_exceeded`` with a
``Retry-After``, in ShipEngine's format, and gets its next chance once that has passed), what it
leaves alone (other addresses, a key that works, requests without a key), how it finds the client
behind a trusted reverse proxy (``SHIPTRACK_FORWARDED_ALLOW_IPS``) and not behind anyone else,
and wrong keys remembered without the database (PostgreSQL only: the database is taken away).

Each test sends from an address of its own in 127.0.0.0/8, so the tests do not share a budget.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import (
    DatabaseServer,
    Server,
    _admin,
    assert_error,
    cli_env,
    make_tenant,
    start_server,
)

BUDGET = 30  # wrong keys per minute and address: one more every 2 s
PROXY = "127.0.0.1"  # the server trusts X-Forwarded-For from this address only


@pytest.fixture(scope="module")
def throttled_server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("throttled")
    env = cli_env(
        test_database.fresh(home),
        home / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="1000000",
        SHIPTRACK_AUTH_FAILURES_PER_MINUTE=str(BUDGET),
        SHIPTRACK_FORWARDED_ALLOW_IPS=PROXY,
    )
    running = start_server(env, home / "server.log")
    try:
        yield running
    finally:
        running.stop()


def client_from(server: Server, address: str) -> httpx.Client:
    """A client whose connections come from ``address``."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=30)


def wrong_key() -> str:
    return "TEST_" + secrets.token_urlsafe(32)


def carriers(client: httpx.Client, key: str | None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["API-Key"] = key
    return client.get("/v1/carriers", headers=headers)


def spend_budget(client: httpx.Client, **headers: str) -> httpx.Response:
    """Send wrong keys until the throttle answers; the budget's worth are plain 401s."""
    for _ in range(BUDGET):
        assert_error(carriers(client, wrong_key(), **headers), 401, "unauthorized")
    # The budget refills while it is spent (one every 2 s): a few more may still be looked up.
    for _ in range(BUDGET):
        response = carriers(client, wrong_key(), **headers)
        if response.status_code == 429:
            return response
        assert_error(response, 401, "unauthorized")
    raise AssertionError(f"{2 * BUDGET} wrong keys and still no 429")


def assert_throttled(response: httpx.Response) -> int:
    """A ``429 rate_limit_exceeded`` with a whole number of seconds in ``Retry-After``."""
    assert_error(response, 429, "rate_limit_exceeded", error_type="system")
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= 2, seconds  # one wrong key more every 2 s
    return seconds


def test_wrong_keys_from_one_address_get_429_with_retry_after(throttled_server: Server) -> None:
    with client_from(throttled_server, "127.0.0.2") as client:
        assert_throttled(spend_budget(client))
        # Any wrong key now waits; a missing key is a plain 401 (it costs no lookup).
        assert_throttled(carriers(client, wrong_key()))
        assert_error(carriers(client, None), 401, "unauthorized")


def test_the_throttle_lifts_after_retry_after(throttled_server: Server) -> None:
    with client_from(throttled_server, "127.0.0.3") as client:
        seconds = assert_throttled(spend_budget(client))
        time.sleep(seconds)
        assert_error(carriers(client, wrong_key()), 401, "unauthorized")


def test_a_key_that_works_still_works_from_a_throttled_address(throttled_server: Server) -> None:
    tenant = make_tenant(throttled_server)
    newcomer = make_tenant(throttled_server, name="newcomer")
    with (
        tenant.client,
        newcomer.client,
        client_from(throttled_server, "127.0.0.4") as client,
        client_from(throttled_server, "127.0.0.5") as elsewhere,
    ):
        assert carriers(client, tenant.key).status_code == 200
        assert_throttled(spend_budget(client))

        # A client sharing the address (behind the same NAT) keeps working...
        assert carriers(client, tenant.key).status_code == 200
        # ...but a key this server has not seen work yet waits like a wrong one,
        assert_throttled(carriers(client, newcomer.key))
        # until it has worked once, from anywhere.
        assert carriers(elsewhere, newcomer.key).status_code == 200
        assert carriers(client, newcomer.key).status_code == 200


def test_another_address_is_not_throttled(throttled_server: Server) -> None:
    with (
        client_from(throttled_server, "127.0.0.6") as client,
        client_from(throttled_server, "127.0.0.7") as other,
    ):
        assert_throttled(spend_budget(client))
        assert_error(carriers(other, wrong_key()), 401, "unauthorized")


def test_requests_without_a_key_are_not_counted(throttled_server: Server) -> None:
    with client_from(throttled_server, "127.0.0.8") as client:
        for _ in range(3 * BUDGET):
            assert_error(carriers(client, None), 401, "unauthorized")
        for _ in range(BUDGET):
            assert_error(carriers(client, wrong_key()), 401, "unauthorized")


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
    throttled_server: Server,
) -> None:
    with client_from(throttled_server, PROXY) as proxy:
        assert_throttled(spend_budget(proxy, **{"X-Forwarded-For": "203.0.113.7"}))
        response = carriers(proxy, wrong_key(), **{"X-Forwarded-For": "203.0.113.8"})
        assert_error(response, 401, "unauthorized")


def test_x_forwarded_for_from_anyone_else_is_ignored(throttled_server: Server) -> None:
    with client_from(throttled_server, "127.0.0.9") as client:
        assert_throttled(spend_budget(client, **{"X-Forwarded-For": "198.51.100.1"}))
        assert_throttled(carriers(client, wrong_key(), **{"X-Forwarded-For": "198.51.100.2"}))


def test_a_wrong_key_is_remembered_without_the_database(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    if test_database.dialect != "postgresql":
        pytest.skip("needs PostgreSQL: only a database server can go away under a running server")
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")
    running = start_server(env, tmp_path / "server.log")
    try:
        with client_from(running, "127.0.0.10") as client:
            remembered = wrong_key()
            assert_error(carriers(client, remembered), 401, "unauthorized")

            name = make_url(env["SHIPTRACK_DATABASE_URL"]).database
            _admin(test_database.url, f'DROP DATABASE "{name}" WITH (FORCE)')

            # Answered from memory: no query, so no 503.
            assert_error(carriers(client, remembered), 401, "unauthorized")
            # A key never seen needs the database, which is gone.
            assert_error(carriers(client, wrong_key()), 503, "unspecified", error_type="system")
    finally:
        running.stop()
