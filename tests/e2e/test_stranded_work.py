"""No stranded work, end to end: a real ``shiptrack serve`` whose database restarts under load, that
is stopped with ``SIGTERM`` while it holds work, and whose packages are stopped and restarted while
a check of them is under way.

- A database restart: the server reaches PostgreSQL through a TCP proxy on 127.0.0.1
  (``tests.fakes.tcp_proxy``) that the test cuts while checks and deliveries are under way (every
  connection closed, new ones refused for a few seconds) and then restores; the shared PostgreSQL
  server itself is never restarted. With leases of 600 s, anything left to a lease would miss the
  deadline by minutes: every package is checked to the end and every status change delivered, in
  order, once per webhook, and nothing is left leased. SQLite has no server to restart (what makes
  its writes fail, its write lock held by another process, is covered by
  ``tests/integration/test_stranded_work.py``), so that test runs on PostgreSQL only.
- ``SIGTERM`` while a check hangs at the carrier and a delivery hangs at its receiver: the process
  exits after its grace period and gives both back, leased by nobody and due at once, with no
  attempt counted against the receiver.
- A package stopped and restarted through the API while a check of it is held at the carrier: the
  resume notification (the same status, the next sequence) still arrives.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shiptrack.settings import Settings
from shiptrack.store.database import create_database
from shiptrack.store.tables import deliveries, delivery_attempts, status_changes, subscriptions
from tests.conftest import DatabaseServer, Server, Tenant, delivery_env, make_tenant, start_server
from tests.e2e.webhook_support import Receiver, Reply, always, create_webhook, receiving
from tests.fakes import ups
from tests.fakes.gate import Gate
from tests.fakes.server import FakeServer, serve
from tests.fakes.tcp_proxy import proxying
from tests.support import QUICK_SCHEDULE, connect_carrier, eventually, start_tracking

#: Leases long enough that anything left to them would plainly miss every deadline here.
LONG_LEASES = {"SHIPTRACK_POLL_LEASE": "600", "SHIPTRACK_WEBHOOK_LEASE": "600"}
#: How long after the database is back everything must be done (the leases are 600 s).
AFTER_RESTART = 20.0


def _rows(database_url: str, query: sa.Select[Any]) -> list[sa.Row[Any]]:
    """``query`` run on the database at ``database_url`` (a connection of the test's own)."""

    async def read() -> list[sa.Row[Any]]:
        database = create_database(Settings(database_url=database_url).resolved_database_url)
        try:
            async with database.read() as conn:
                return list(await conn.execute(query))
        finally:
            await database.dispose()

    return asyncio.run(read())


def _production_tenant(server: Server, fake: FakeServer, receiver: Receiver) -> Tenant:
    """A production account with UPS connected at the fake and a webhook to ``receiver``."""
    tenant = make_tenant(server, sandbox=False, name="production")
    create_webhook(tenant, receiver.url)
    connect_carrier(
        tenant, "ups", client_id=ups.CLIENT_ID, client_secret=ups.CLIENT_SECRET, base_url=fake.url
    )
    return tenant


@pytest.fixture
def gate() -> Gate:
    return Gate("/api/track/")


@pytest.fixture
def fake_ups(gate: Gate) -> Iterator[FakeServer]:
    """The fake UPS, its track answers held while ``gate`` is closed."""
    with serve(gate.hold(ups.app())) as fake:
        try:
            yield fake
        finally:
            gate.open()  # held requests end before the fake stops


# --- a database restart under load ------------------------------------------------------------


def test_a_database_restart_under_a_worker_and_a_dispatcher_strands_nothing(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    if test_database.dialect != "postgresql":
        pytest.skip(
            "SQLite has no server to restart; its failing writes are covered by "
            "tests/integration/test_stranded_work.py"
        )
    direct = test_database.fresh(tmp_path)
    # Deliveries take a moment to answer, so some are in flight when the database goes.
    with proxying(direct) as proxy, receiving(always(Reply(delay=0.2))) as receiver:
        env = delivery_env(
            proxy.url(direct), tmp_path / "data", SHIPTRACK_WEBHOOK_TIMEOUT="10", **LONG_LEASES
        )
        env["SHIPTRACK_SANDBOX_SPEED"] = "18000"  # a plain delivery's 46 hours in ~9 s
        server = start_server(env, tmp_path / "server.log")
        tenant = make_tenant(server, sandbox=True)
        try:
            create_webhook(tenant, receiver.url)
            numbers = [f"1ZRESTART{i:05d}" for i in range(120)]
            for number in numbers:
                start_tracking(tenant, "ups", number)
            receiver.wait_for_requests(1, "the first notifications")

            with proxy.down():
                time.sleep(3)
            back = time.monotonic()

            def done() -> bool | None:
                active = _rows(direct, sa.select(subscriptions.c.id).where(subscriptions.c.active))
                pending = _rows(
                    direct, sa.select(deliveries.c.id).where(deliveries.c.state == "pending")
                )
                return True if not active and not pending else None

            eventually(done, "every package checked to the end and every change delivered")
            assert time.monotonic() - back < AFTER_RESTART, "work waited for its lease"
        finally:
            tenant.client.close()
            server.stop()
        log = (tmp_path / "server.log").read_text()
        assert "unavailable" in log, "the database never went away under the workers"

    # Nothing is left leased.
    assert (
        _rows(direct, sa.select(subscriptions.c.id).where(subscriptions.c.lease_until.is_not(None)))
        == []
    )
    assert (
        _rows(direct, sa.select(deliveries.c.id).where(deliveries.c.lease_until.is_not(None))) == []
    )
    # Every package was followed to its delivery.
    finals = _rows(direct, sa.select(subscriptions.c.status_code, subscriptions.c.stop_reason))
    assert Counter(finals) == Counter({("DE", "delivered"): len(numbers)})
    # Every change was recorded once and delivered once, in order.
    changes = _rows(
        direct,
        sa.select(status_changes.c.subscription_id, status_changes.c.sequence).order_by(
            status_changes.c.subscription_id, status_changes.c.sequence
        ),
    )
    by_package: dict[int, list[int]] = defaultdict(list)
    for change in changes:
        by_package[change.subscription_id].append(change.sequence)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_package.values())
    rows = _rows(direct, sa.select(deliveries.c.state, deliveries.c.attempts))
    assert len(rows) == len(changes)
    assert Counter(row.state for row in rows) == Counter({"delivered": len(changes)})
    requests = receiver.requests
    assert Counter(request.attempt for request in requests) == Counter({1: len(changes)})
    arrived: dict[str, list[int]] = defaultdict(list)
    for request in requests:
        arrived[request.tracking_number].append(request.sequence)
    assert sorted(arrived) == sorted(numbers)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in arrived.values()), arrived
    assert sorted(len(seqs) for seqs in arrived.values()) == sorted(
        len(seqs) for seqs in by_package.values()
    )


# --- SIGTERM --------------------------------------------------------------------------------------


def test_sigterm_gives_back_the_checks_and_deliveries_under_way(
    test_database: DatabaseServer, tmp_path: Path, fake_ups: FakeServer, gate: Gate
) -> None:
    with receiving(always(Reply(hang=True))) as receiver:
        env = delivery_env(
            test_database.fresh(tmp_path),
            tmp_path / "data",
            SHIPTRACK_SHUTDOWN_GRACE="1",
            SHIPTRACK_WEBHOOK_TIMEOUT="60",
            **LONG_LEASES,
        )
        server = start_server(env, tmp_path / "server.log")
        url = env["SHIPTRACK_DATABASE_URL"]
        sandbox = make_tenant(server, sandbox=True)
        production = _production_tenant(server, fake_ups, receiver)
        try:
            create_webhook(sandbox, receiver.url)
            start_tracking(sandbox, "ups", "1ZSIGTERM01")
            receiver.wait_for_requests(1, "a delivery in flight")
            gate.close()
            start_tracking(production, "ups", ups.IN_TRANSIT)
            gate.wait_for_held(1)

            server.process.send_signal(signal.SIGTERM)
            # uvicorn shuts down cleanly, then ends with the signal it caught.
            assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
            stopped = datetime.now(UTC)
        finally:
            sandbox.client.close()
            production.client.close()
            server.stop()

    assert (
        _rows(url, sa.select(subscriptions.c.id).where(subscriptions.c.lease_until.is_not(None)))
        == []
    )
    [held] = _rows(
        url,
        sa.select(subscriptions).where(subscriptions.c.tracking_number == ups.IN_TRANSIT),
    )
    assert (held.active, held.status_code, held.last_checked_at) == (True, "UN", None)
    assert held.next_check_at <= stopped
    rows = _rows(url, sa.select(deliveries))
    assert rows, "no delivery was under way"
    assert [row.lease_until for row in rows] == [None] * len(rows)
    in_flight = [row for row in rows if row.state == "pending" and row.attempts == 0]
    assert in_flight, rows
    assert all(row.next_attempt_at <= stopped for row in in_flight)
    assert _rows(url, sa.select(delivery_attempts)) == []


# --- stop and restart during a check --------------------------------------------------------------


def test_a_package_stopped_and_restarted_during_a_check_still_gets_its_resume_notification(
    test_database: DatabaseServer, tmp_path: Path, fake_ups: FakeServer, gate: Gate
) -> None:
    with receiving() as receiver:
        env = delivery_env(test_database.fresh(tmp_path), tmp_path / "data", **QUICK_SCHEDULE)
        server = start_server(env, tmp_path / "server.log")
        tenant = _production_tenant(server, fake_ups, receiver)
        try:
            start_tracking(tenant, "ups", ups.IN_TRANSIT)
            [first] = receiver.wait_for_requests(1, "the first notification")
            assert (first.sequence, first.json["data"]["status_code"]) == (1, "IT")

            gate.close()
            gate.wait_for_held(1)  # the next check is under way: UPS is holding its answer
            params = {"carrier_code": "ups", "tracking_number": ups.IN_TRANSIT}
            assert tenant.client.post("/v1/tracking/stop", params=params).status_code == 204
            start_tracking(tenant, "ups", ups.IN_TRANSIT)
            gate.open()

            resumed = receiver.wait_for_requests(2, "the resume notification")[1]
        finally:
            tenant.client.close()
            server.stop()

    assert resumed.sequence == 2
    assert resumed.json["previous_status"] == "IT"
    assert resumed.json["data"]["status_code"] == "IT"
    assert resumed.json["data"]["tracking_number"] == ups.IN_TRANSIT
