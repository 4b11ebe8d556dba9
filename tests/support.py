"""Helpers the end-to-end tests share: waiting for what the server does by itself, the tracking
endpoints as a test calls them, production accounts with carriers connected at a fake host, and
the engine's rows read straight from the database (where the API shows nothing).

A plain module, not a test file: import what you need from ``tests.support``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
import sqlalchemy as sa

from shiptrack.store.database import create_database
from shiptrack.store.tables import deliveries, status_changes, subscriptions
from tests.conftest import DatabaseServer, Server, Tenant, engine_env, make_tenant, start_server

#: How long a test waits for something the server does by itself.
DEADLINE = 30.0
#: Engine settings that re-poll a package and retry a failing carrier within a second.
QUICK_SCHEDULE = {
    "SHIPTRACK_SCHEDULE_IN_TRANSIT": "0.5",
    "SHIPTRACK_SCHEDULE_NEAR_DELIVERY": "0.5",
    "SHIPTRACK_SCHEDULE_NOT_FOUND_MIN": "0.5",
    "SHIPTRACK_SCHEDULE_JITTER": "0",
    "SHIPTRACK_CARRIER_BACKOFF_MIN": "0.5",
    "SHIPTRACK_CARRIER_BACKOFF_MAX": "1",
}

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None], what: str, *, deadline: float = DEADLINE, every: float = 0.1
) -> T:
    """Call ``probe`` every ``every`` seconds until it returns something other than ``None``;
    that. Fails after ``deadline`` seconds, naming ``what`` it waited for."""
    give_up = time.monotonic() + deadline
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {deadline:.0f}s waiting for {what}")
        time.sleep(every)


# --- tracking ------------------------------------------------------------------------------------


def get_tracking(tenant: Tenant, carrier_code: str, tracking_number: str) -> dict[str, Any]:
    """``GET /v1/tracking`` of a package that must answer 200."""
    response = tenant.client.get(
        "/v1/tracking", params={"carrier_code": carrier_code, "tracking_number": tracking_number}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def start_tracking(tenant: Tenant, carrier_code: str, tracking_number: str) -> None:
    """``POST /v1/tracking/start``, which must answer 204."""
    response = tenant.start(carrier_code, tracking_number)
    assert response.status_code == 204, response.text


def wait_for_tracking(
    tenant: Tenant,
    carrier_code: str,
    tracking_number: str,
    check: Callable[[dict[str, Any]], bool],
    what: str,
    *,
    every: float = 0.1,
) -> dict[str, Any]:
    """Wait until the package's ``GET /v1/tracking`` satisfies ``check``; that answer."""

    def probe() -> dict[str, Any] | None:
        body = get_tracking(tenant, carrier_code, tracking_number)
        return body if check(body) else None

    return eventually(probe, what, every=every)


def wait_until_stopped(tenant: Tenant, carrier_code: str, tracking_number: str) -> dict[str, Any]:
    """Wait until tracking of the package stopped by itself; its ``GET /v1/tracking``."""
    return wait_for_tracking(
        tenant,
        carrier_code,
        tracking_number,
        lambda body: body["active"] is False,
        f"{carrier_code} {tracking_number} to stop being tracked",
    )


# --- servers, accounts and carrier connections ---------------------------------------------------


def own_engine_server(
    test_database: DatabaseServer, factory: pytest.TempPathFactory, name: str, **extra: str
) -> Iterator[Server]:
    """Body of a module-scoped fixture: a server of its own running the workers
    (``engine_env`` with ``extra``), in a fresh database."""
    home = factory.mktemp(name)
    env = engine_env(test_database.fresh(home), home / "data", **extra)
    running = start_server(env, home / "server.log")
    try:
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def production_account(server: Server, name: str) -> Iterator[Tenant]:
    """A fresh production account (no carrier connected) with a ``track`` webhook, so that it
    may start tracking and every status change gets an outbox row."""
    tenant = make_tenant(server, sandbox=False, name=name)
    try:
        tenant.add_track_webhook()
        yield tenant
    finally:
        tenant.client.close()


def connect_carrier(tenant: Tenant, carrier_name: str, **body: Any) -> str:
    """``POST /v1/connections/carriers/{carrier_name}`` with ``body``, which must answer 200;
    the new connection's ``carrier_id``."""
    response = tenant.client.post(f"/v1/connections/carriers/{carrier_name}", json=body)
    assert response.status_code == 200, response.text
    carrier_id: str = response.json()["carrier_id"]
    return carrier_id


# --- the database, read directly -----------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What the engine wrote for one account's package."""

    #: The subscription's id; ``None`` when the account never started tracking the package.
    subscription_id: int | None
    #: Its ``status_changes`` rows, by ``sequence``.
    changes: list[sa.Row[Any]]
    #: Its ``deliveries`` rows (the outbox), by ``id``.
    deliveries: list[sa.Row[Any]]

    def deliveries_of(self, change: sa.Row[Any]) -> list[sa.Row[Any]]:
        """The outbox rows of one change."""
        return [row for row in self.deliveries if row.status_change_id == change.id]

    def ids(self) -> tuple[list[int], list[int]]:
        """The ids of the changes and of the outbox rows: what was stored (outbox rows change
        while the delivery worker tries them, so compare these rather than the rows)."""
        return [change.id for change in self.changes], [row.id for row in self.deliveries]


def recorded(server: Server, account_id: str, carrier_code: str, tracking_number: str) -> Recorded:
    """The status changes and outbox rows of the package ``carrier_code`` ``tracking_number`` of
    the account ``account_id`` (``se-N``), read from the server's database. ``carrier_code`` is
    the code the package is stored under (``usps`` for a Stamps.com package)."""
    account = int(account_id.removeprefix("se-"))

    async def read() -> Recorded:
        database = create_database(server.settings().resolved_database_url)
        try:
            async with database.read() as conn:
                subscription_id = (
                    await conn.execute(
                        sa.select(subscriptions.c.id).where(
                            subscriptions.c.account_id == account,
                            subscriptions.c.carrier_code == carrier_code,
                            subscriptions.c.tracking_number == tracking_number,
                        )
                    )
                ).scalar_one_or_none()
                if subscription_id is None:
                    return Recorded(None, [], [])
                changes = await conn.execute(
                    sa.select(status_changes)
                    .where(status_changes.c.subscription_id == subscription_id)
                    .order_by(status_changes.c.sequence)
                )
                rows = await conn.execute(
                    sa.select(deliveries)
                    .where(deliveries.c.subscription_id == subscription_id)
                    .order_by(deliveries.c.id)
                )
                return Recorded(subscription_id, list(changes.all()), list(rows.all()))
        finally:
            await database.dispose()

    return asyncio.run(read())


C = TypeVar("C")


class HandClock(Generic[C]):
    """A clock the test moves by hand: it reads ``now`` until the test sets another."""

    def __init__(self, now: C) -> None:
        self.now = now

    def __call__(self) -> C:
        return self.now


# --- processes ------------------------------------------------------------------------------------


def process_ended(pid: int) -> bool:
    """The process is gone (or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def processes_end(pids: list[int], seconds: float = 10) -> bool:
    """Wait at most ``seconds`` until every one of ``pids`` has ended; whether they did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(process_ended(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def signing_processes(parent: int) -> list[int]:
    """The RSA signing processes (``shiptrack.webhooks.rsa_child``) ``parent`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"rsa_child" in command:
            found.append(int(entry.name))
    return found
