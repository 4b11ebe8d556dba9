"""Webhook delivery by a real ``shiptrack serve`` process, to a real receiver on 127.0.0.1: a
server killed (``SIGKILL``) while a request is in flight. A new process on the same database sends
that delivery again, with the same ``webhook-id`` and both signatures, once its lease is over, and
the rest of the journey arrives after it: nothing lost, nothing out of order.

The delivery rules (the body, order, retries, slots, disabling, redelivery, rotations) are tested
in-process in ``tests/engine/test_delivery_*.py``.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.conftest import DatabaseServer, Tenant, make_tenant, start_server
from tests.e2e.webhook_support import (
    Received,
    Reply,
    all_settled,
    create_webhook,
    delivery_server,
    jwks,
    queued_sequences,
    receiving,
    verify_shipengine,
    verify_standard,
    wait_until_delivered,
)
from tests.support import start_tracking, wait_until_stopped

SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}
#: Seconds a claimed package or delivery stays with the process that claimed it (short, so that
#: the second process need not wait long), and a request timeout within it (long enough that the
#: first process is killed before it gives up on the request it sent).
LEASE = 3
TIMEOUT = 2


def first_request_hangs(request: Received) -> Reply:
    """Never answer the first attempt of the first notification; accept everything else."""
    return Reply(hang=True) if (request.sequence, request.attempt) == (1, 1) else Reply()


def test_a_delivery_in_flight_when_the_server_is_killed_is_sent_again_after_the_lease(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    number = sandbox_number("ups", SCENARIO["out_for_delivery"])
    with (
        receiving(first_request_hangs) as receiver,
        delivery_server(
            test_database,
            tmp_path / "first",
            SHIPTRACK_POLL_LEASE=str(LEASE),
            SHIPTRACK_WEBHOOK_LEASE=str(LEASE),
            SHIPTRACK_WEBHOOK_TIMEOUT=str(TIMEOUT),
        ) as first,
    ):
        tenant = make_tenant(first)
        webhook = create_webhook(tenant, receiver.url)
        start_tracking(tenant, "ups", number)
        [in_flight] = receiver.wait_for_requests(1, "the first notification")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)

        second = start_server(first.env, tmp_path / "second.log", migrate=False)
        client = httpx.Client(base_url=second.url, headers={"API-Key": tenant.key}, timeout=30)
        try:
            again = Tenant(tenant.account_id, tenant.key, client, sandbox=True)
            wait_until_stopped(again, "ups", number)
            queued = queued_sequences(again, webhook["webhook_id"], number)
            wait_until_delivered(receiver, number, queued)
            listed = all_settled(again, webhook["webhook_id"])
            requests = receiver.requests
            keys = jwks(second)
        finally:
            second.stop()
            client.close()
            tenant.client.close()

    # The interrupted delivery came again, the same message, once its lease ran out (less the
    # moments between its claim and its arrival at the receiver).
    resent = [r for r in requests if r.webhook_id == in_flight.webhook_id]
    assert [r.attempt for r in resent] == [1, 2]
    assert resent[1].body == in_flight.body
    assert resent[1].arrived - in_flight.arrived >= LEASE - 1
    verify_shipengine(keys, resent[1].headers, resent[1].body)
    verify_standard(webhook["secret"], resent[1].headers, resent[1].body)
    # Nothing lost, nothing out of order: whatever was queued before the crash and recorded
    # after it arrived after the restart, each change once, in order.
    assert len(queued) >= 3
    assert queued == list(range(1, len(queued) + 1))
    assert [r.sequence for r in requests if r.reply.accepts] == queued
    sequences = [r.sequence for r in requests]
    assert sequences == sorted(sequences)
    assert {d["state"] for d in listed} == {"delivered"}
