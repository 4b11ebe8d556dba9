"""Rate limiting and database outages, each on a server process of its own.

Covers the per-account request limit (the request over it gets ``429 rate_limit_exceeded`` with a
``Retry-After``; other accounts and the probes are unaffected; every key of the account shares the
allowance), ``shiptrack serve`` refusing an unmigrated or unreachable database with one clear
line, and a running server that loses its database answering ``503`` in ShipEngine's format, never
``500``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from shiptrack.app import build
from tests.conftest import (
    DatabaseServer,
    Server,
    admin_connection,
    assert_error,
    cli_env,
    free_port,
    make_tenant,
    start_server,
)

LIMIT = 5


def serve_once(env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``shiptrack serve`` expecting it to refuse to start (a short timeout if it does not)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "shiptrack",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def _pg_admin(url: str, *statements: str) -> None:
    conn = await admin_connection(url, database="postgres")
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def pg_admin(url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server of ``url``, from its maintenance database."""
    asyncio.run(_pg_admin(url, *statements))


@pytest.fixture(scope="module")
def limited_server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server allowing each account 5 requests a minute."""
    home = tmp_path_factory.mktemp("limited")
    env = cli_env(
        test_database.fresh(home),
        home / "data",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE=str(LIMIT),
        SHIPTRACK_RUN_WORKERS="false",
    )
    running = start_server(env, home / "server.log")
    try:
        yield running
    finally:
        running.stop()


def exhaust(client: httpx.Client) -> None:
    """Spend an account's whole allowance, on several endpoints."""
    paths = ["/v1/carriers", "/v1/environment/webhooks", "/v1/carriers", "/v1/environment/webhooks"]
    for number in range(LIMIT):
        response = client.get(paths[number % len(paths)])
        assert response.status_code == 200, f"request {number + 1}: {response.text}"


def assert_rate_limited(response: httpx.Response) -> int:
    """A ``429 rate_limit_exceeded`` with a whole number of seconds in ``Retry-After``."""
    assert_error(response, 429, "rate_limit_exceeded", error_type="system")
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    seconds = int(retry_after)
    # At 5 a minute a request comes back every 12 seconds: never sooner than 1, nor after a minute.
    assert 1 <= seconds <= 60, seconds
    return seconds


def test_the_request_over_the_limit_is_429_with_retry_after(limited_server: Server) -> None:
    tenant = make_tenant(limited_server)
    with tenant.client:
        exhaust(tenant.client)
        assert_rate_limited(tenant.client.get("/v1/carriers"))
        # Refused requests are refused whatever they ask for.
        assert_rate_limited(
            tenant.client.post(
                "/v1/tracking/start", params={"carrier_code": "ups", "tracking_number": "1Z9"}
            )
        )
        assert_rate_limited(tenant.client.get("/v1/environment/webhooks/se-1"))


def stored_webhooks(server: Server, account_id: str) -> int:
    """How many webhooks the account has, read from the server's database (the account's own
    requests would be refused by the limiter for the next seconds)."""

    async def count() -> int:
        services = build(server.settings())
        try:
            async with services.store.read() as tx:
                return len(await tx.webhooks.of_account(int(account_id.removeprefix("se-"))))
        finally:
            await services.close()

    return asyncio.run(count())


def test_a_rate_limited_request_changes_nothing(limited_server: Server) -> None:
    tenant = make_tenant(limited_server)
    with tenant.client:
        exhaust(tenant.client)
        response = tenant.client.post(
            "/v1/environment/webhooks", json={"event": "track", "url": "https://example.invalid/h"}
        )
        assert_rate_limited(response)
    assert stored_webhooks(limited_server, tenant.account_id) == 0


def test_every_key_of_an_account_shares_its_allowance(limited_server: Server) -> None:
    tenant = make_tenant(limited_server)
    created = limited_server.cli("key", "create", "--account", tenant.account_id)
    second_key = created.stdout.strip().splitlines()[-1]
    with tenant.client:
        exhaust(tenant.client)
    response = httpx.get(f"{limited_server.url}/v1/carriers", headers={"API-Key": second_key})
    assert_rate_limited(response)


def test_another_account_on_the_same_server_is_unaffected(limited_server: Server) -> None:
    busy = make_tenant(limited_server, name="busy")
    quiet = make_tenant(limited_server, name="quiet")
    with busy.client, quiet.client:
        exhaust(busy.client)
        assert_rate_limited(busy.client.get("/v1/carriers"))
        exhaust(quiet.client)
        assert_rate_limited(quiet.client.get("/v1/carriers"))


def test_the_probes_are_not_rate_limited(limited_server: Server) -> None:
    tenant = make_tenant(limited_server)
    with tenant.client:
        exhaust(tenant.client)
        assert_rate_limited(tenant.client.get("/v1/carriers"))
        # The same client (it still sends the exhausted key) keeps getting the probes.
        for _ in range(LIMIT * 3):
            assert tenant.client.get("/health").status_code == 200
            assert tenant.client.get("/ready").status_code == 200


def test_requests_with_a_wrong_key_do_not_use_an_allowance(limited_server: Server) -> None:
    tenant = make_tenant(limited_server)
    with tenant.client:
        for _ in range(LIMIT * 2):
            response = tenant.client.get("/v1/carriers", headers={"API-Key": "TEST_not-a-key"})
            assert_error(response, 401, "unauthorized")
        exhaust(tenant.client)


# --- Outages -----------------------------------------------------------------------------------


def test_serve_refuses_an_unmigrated_database(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")
    result = serve_once(env)
    assert result.returncode != 0
    assert "shiptrack db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_serve_refuses_a_database_it_cannot_reach_with_one_clear_line(tmp_path: Path) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"
    result = serve_once(cli_env(closed, tmp_path / "data"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("shiptrack: ")
    assert "database" in lines[0].lower()


@pytest.fixture
def pg_server(test_database: DatabaseServer, tmp_path: Path) -> Iterator[Server]:
    """A server on a PostgreSQL database of its own (so the test may take the database away)."""
    if test_database.dialect != "postgresql":
        pytest.skip(
            "needs PostgreSQL: only a database server can go away under a running shiptrack (an "
            "open SQLite file stays readable even when deleted, and has no connections to kill)"
        )
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")
    running = start_server(env, tmp_path / "server.log")
    try:
        yield running
    finally:
        running.stop()


def test_a_server_that_loses_its_database_answers_503_never_500(pg_server: Server) -> None:
    url = pg_server.env["SHIPTRACK_DATABASE_URL"]
    name = make_url(url).database
    tenant = make_tenant(pg_server)
    with tenant.client:
        assert tenant.client.get("/v1/carriers").status_code == 200
        assert httpx.get(f"{pg_server.url}/ready").status_code == 200

        pg_admin(url, f'DROP DATABASE "{name}" WITH (FORCE)')

        for _ in range(3):
            assert_error(
                httpx.get(f"{pg_server.url}/ready"), 503, "unspecified", error_type="system"
            )
            assert_error(tenant.client.get("/v1/carriers"), 503, "unspecified", error_type="system")
            response = tenant.client.post(
                "/v1/environment/webhooks",
                json={"event": "track", "url": "https://example.invalid/hooks/outage"},
            )
            assert_error(response, 503, "unspecified", error_type="system")
        # Each 503 is logged with the request_id its client got, the key's check included.
        refused = tenant.client.get("/v1/carriers")
        assert_error(refused, 503, "unspecified", error_type="system")
        logged = pg_server.log.read_text()
        assert f"request {refused.json()['request_id']} failed" in logged
        # The process itself is alive: an orchestrator must not restart it, only wait.
        assert httpx.get(f"{pg_server.url}/health").status_code == 200

        # When the database is back (restored empty here, and migrated), the same process is ready
        # again without a restart.
        pg_admin(url, f'CREATE DATABASE "{name}"')
        pg_server.cli("db", "upgrade")
        assert httpx.get(f"{pg_server.url}/ready").status_code == 200
        # The restored database has no accounts: the old key is now simply unknown.
        assert_error(tenant.client.get("/v1/carriers"), 401, "unauthorized")
    assert pg_server.process.poll() is None


def test_a_server_whose_database_connections_are_killed_reconnects(pg_server: Server) -> None:
    url = pg_server.env["SHIPTRACK_DATABASE_URL"]
    name = make_url(url).database
    tenant = make_tenant(pg_server)
    with tenant.client:
        webhook = tenant.add_track_webhook()
        assert webhook.pop("secret")  # the creation answer only shows it
        pg_admin(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
        )
        # A database restart or failover is invisible to clients.
        for _ in range(3):
            response = tenant.client.get("/v1/environment/webhooks")
            assert response.status_code == 200, response.text
            assert response.json() == [webhook]
        assert httpx.get(f"{pg_server.url}/ready").status_code == 200
