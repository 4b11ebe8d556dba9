"""The test harness: a real database, a real ``shiptrack serve`` process, real HTTP.

Every test runs against SQLite by default, and against PostgreSQL when
``SHIPTRACK_TEST_DATABASE_URL`` points at a server (CI runs both). On PostgreSQL the session gets a
database of its own, created here and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from shiptrack.settings import Settings
from tests.fakes import accept_all
from tests.fakes.server import serve

PG_ENV = "SHIPTRACK_TEST_DATABASE_URL"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin(url: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server, in a thread of its own: a browser test's
    thread already runs Playwright's event loop, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin_async(url, statement)).result()


async def admin_connection(url: str, *, database: str | None = None) -> Any:
    """A plain asyncpg connection to the PostgreSQL server of ``url``: to its database, or to
    ``database`` (``postgres`` to drop or kill what ``url`` names)."""
    import asyncpg

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=database or parsed.database or "postgres",
    )


async def _admin_async(url: str, statement: str) -> None:
    conn = await admin_connection(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class DatabaseServer:
    """A database of this test session."""

    url: str
    dialect: str
    _created: list[str] = field(default_factory=list)

    def fresh(self, tmp_path: Path) -> str:
        """Another empty database of the same kind (for tests that need their own)."""
        if self.dialect == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        name = f"shiptrack_t_{uuid.uuid4().hex[:12]}"
        _admin(self.url, f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self._created:
            _admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """The session's database server: PostgreSQL if configured, else SQLite files."""
    configured = os.environ.get(PG_ENV)
    if configured:
        url = Settings(database_url=configured).resolved_database_url
        server = DatabaseServer(url=url, dialect="postgresql")
    else:
        server = DatabaseServer(url="", dialect="sqlite")
    yield server
    server.drop_all()


def cli_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a shiptrack process under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPTRACK_")}
    env.update(
        SHIPTRACK_DATABASE_URL=database_url,
        SHIPTRACK_DATA_DIR=str(data_dir),
        SHIPTRACK_SECRET_KEY="test-secret-key-for-the-suite",
        SHIPTRACK_ACCESS_LOG="false",
        SHIPTRACK_LOG_LEVEL="warning",
        # Changes made from the CLI (another process) are seen at once; the cache has its own test.
        SHIPTRACK_CACHE_SECONDS="0",
        # Carrier fakes and receivers listen on 127.0.0.1; the guard's own tests override this.
        SHIPTRACK_OUTBOUND_ALLOW="127.0.0.0/8",
        # The suite sends many wrong keys from 127.0.0.1; the throttle has tests of its own.
        SHIPTRACK_AUTH_FAILURES_PER_MINUTE="1000000",
    )
    env.update(extra)
    return env


def run_cli(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``shiptrack ARGS`` as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "shiptrack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"shiptrack {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Server:
    """A running ``shiptrack serve``."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the CLI against this server's database."""
        return run_cli(self.env, *args, check=check)

    def settings(self) -> Settings:
        """The settings the server runs with."""
        return Settings(
            database_url=self.env["SHIPTRACK_DATABASE_URL"],
            data_dir=Path(self.env["SHIPTRACK_DATA_DIR"]),
            secret_key=self.env["SHIPTRACK_SECRET_KEY"],
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    env: dict[str, str], log: Path, *, migrate: bool = True, serve_args: tuple[str, ...] = ()
) -> Server:
    """Migrate the database and start a server process (``shiptrack serve`` with ``serve_args``
    added); wait until it answers."""
    if migrate:
        run_cli(env, "db", "upgrade")
    port = free_port()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shiptrack",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *serve_args,
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return Server(url=url, env=env, process=process, log=log)
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"server did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The session's API server: no workers (packages keep what is stored, so API tests see
    exactly what they wrote), and a rate limit high enough never to get in the way."""
    home = tmp_path_factory.mktemp("server")
    env = cli_env(
        test_database.fresh(home),
        home / "data",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="1000000",
        SHIPTRACK_RUN_WORKERS="false",
    )
    running = start_server(env, home / "server.log")
    yield running
    running.stop()


#: Sandbox journey hours per real second on the engine server: a two-day journey takes ~5 s.
ENGINE_SPEED = 36000


def engine_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """A server environment with the workers on and the sandbox clock sped up."""
    return cli_env(
        database_url,
        data_dir,
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="1000000",
        SHIPTRACK_SANDBOX_SPEED=str(ENGINE_SPEED),
        SHIPTRACK_POLL_INTERVAL="0.1",
        # Never-found numbers expire after one journey day (2.4 s here) instead of 30.
        SHIPTRACK_SCHEDULE_EXPIRE_AFTER="86400",
        **extra,
    )


def delivery_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """An engine environment that may deliver to receivers on 127.0.0.1, with quick retries."""
    settings = {
        "SHIPTRACK_WEBHOOK_ALLOW_PRIVATE": "true",
        "SHIPTRACK_WEBHOOK_RETRY_SCHEDULE": "0.3,0.6,1,1,1,1,1",
        "SHIPTRACK_WEBHOOK_RETRY_JITTER": "0",
        "SHIPTRACK_WEBHOOK_TIMEOUT": "3",
        "SHIPTRACK_WEBHOOK_CONNECT_TIMEOUT": "1",
        "SHIPTRACK_WEBHOOK_LEASE": "5",
        "SHIPTRACK_PUBLIC_BASE_URL": "https://shiptrack.example",
        **extra,
    }
    return engine_env(database_url, data_dir, **settings)


@pytest.fixture(scope="session")
def engine_server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server running the tracking workers beside the API, on a fast sandbox clock."""
    home = tmp_path_factory.mktemp("engine")
    env = engine_env(test_database.fresh(home), home / "data")
    running = start_server(env, home / "server.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def carrier_host() -> Iterator[str]:
    """The base URL of a fake carrier host that accepts any credentials (for ``base_url`` when
    connecting real carriers in tests that are not about the carriers)."""
    with serve(accept_all.app()) as fake:
        yield fake.url


@dataclass
class Tenant:
    """An account with a key, and an HTTP client that sends the key."""

    account_id: str
    key: str
    client: httpx.Client
    sandbox: bool

    def start(self, carrier_code: str, tracking_number: str) -> httpx.Response:
        """``POST /v1/tracking/start``."""
        return self.client.post(
            "/v1/tracking/start",
            params={"carrier_code": carrier_code, "tracking_number": tracking_number},
        )

    def add_track_webhook(
        self, url: str = "https://receiver.invalid/hooks/track"
    ) -> dict[str, object]:
        """Register a ``track`` webhook and return it."""
        response = self.client.post("/v1/environment/webhooks", json={"event": "track", "url": url})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


def make_tenant(server: Server, *, sandbox: bool = True, name: str = "test") -> Tenant:
    """A new account, created in-process through the same code the CLI uses."""
    # Imported here: store-level tests (tests/store) need none of the services.
    from shiptrack.app import build

    async def create() -> tuple[int, str]:
        services = build(server.settings())
        try:
            account, key = await services.accounts.create(name=name, sandbox=sandbox)
            return account.id, key.key
        finally:
            await services.close()

    account_id, key = asyncio.run(create())
    client = httpx.Client(base_url=server.url, headers={"API-Key": key}, timeout=30)
    return Tenant(account_id=f"se-{account_id}", key=key, client=client, sandbox=sandbox)


@pytest.fixture
def tenant(server: Server) -> Iterator[Tenant]:
    """A fresh sandbox account (every supported carrier connected, simulated)."""
    made = make_tenant(server, sandbox=True)
    yield made
    made.client.close()


@pytest.fixture
def other_tenant(server: Server) -> Iterator[Tenant]:
    """A second sandbox account, to prove isolation."""
    made = make_tenant(server, sandbox=True, name="other")
    yield made
    made.client.close()


@pytest.fixture
def production_tenant(server: Server) -> Iterator[Tenant]:
    """A fresh production account: no carriers connected."""
    made = make_tenant(server, sandbox=False, name="production")
    yield made
    made.client.close()


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    """A client that sends no API key."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def assert_error(
    response: httpx.Response,
    status: int,
    error_code: str,
    *,
    error_type: str | None = None,
    field_name: str | None = None,
    error_source: str = "shipengine",
) -> dict[str, object]:
    """Assert a ShipEngine-format error and return its first entry."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"request_id", "errors"}, body
    uuid.UUID(body["request_id"])
    assert response.headers["x-request-id"] == body["request_id"]
    assert body["errors"], body
    first: dict[str, object] = body["errors"][0]
    assert {"error_source", "error_type", "error_code", "message"} <= set(first), first
    assert first["error_source"] == error_source, first
    assert first["message"], first
    assert first["error_code"] == error_code, first
    if error_type is not None:
        assert first["error_type"] == error_type, first
    if field_name is not None:
        assert first.get("field_name") == field_name, first
    return first
