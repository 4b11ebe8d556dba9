"""Webhook retries against real receivers on 127.0.0.1 that refuse, throttle, stall or redirect.

The servers run with the quick retry schedule of ``delivery_env`` (0.3, 0.6, 1, 1, 1, 1, 1 s, no
jitter: eight attempts in all), a 3 s request timeout and a 1 s connect timeout. Covers: a refused
delivery retried until accepted, with every attempt listed (status, latency, error); any 2xx
accepted and any other status retried; ``Retry-After`` (seconds or an HTTP date) honoured when it
asks for more than the schedule; the delivery ``failed`` and kept once the schedule is exhausted;
the next change of the same package held back until then, and sent after; a receiver slower than
the timeout, a refused connection and a redirect (never followed) each counting as a failed
attempt; a webhook disabled after failing for ``SHIPTRACK_WEBHOOK_DISABLE_AFTER``, its deliveries
waiting (none dropped) until a ``PUT`` enables it again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.conftest import DatabaseServer, Server, Tenant, free_port, make_tenant
from tests.e2e.webhook_support import (
    WEBHOOKS,
    Received,
    Reply,
    all_deliveries,
    all_settled,
    always,
    create_webhook,
    deliveries_page,
    delivery,
    delivery_server,
    fail_first,
    module_server,
    queued_sequences,
    receiving,
    send_test_event,
    settled,
    wait_until_delivered,
)
from tests.support import eventually, start_tracking, wait_until_stopped

#: The retry schedule of ``delivery_env``: seconds before each retry.
SCHEDULE = [0.3, 0.6, 1, 1, 1, 1, 1]
ATTEMPTS = len(SCHEDULE) + 1
#: Timing lower bounds allow this much less than the configured delay (clock granularity).
SLACK = 0.9
DELIVERED = sandbox_number("ups", SCENARIOS[0])


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


def gaps(requests: list[Received]) -> list[float]:
    """Seconds between consecutive requests."""
    return [later.arrived - earlier.arrived for earlier, later in itertools.pairwise(requests)]


def statuses(entry: dict[str, Any]) -> list[int | None]:
    return [attempt["response_status"] for attempt in entry["attempts"]]


# --- retried until accepted -----------------------------------------------------------------------


def test_a_refused_delivery_is_retried_until_the_receiver_accepts_it(account: Tenant) -> None:
    with receiving(fail_first(2)) as receiver:
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])
        entry = settled(account, webhook["webhook_id"], delivery_id)
        requests = receiver.requests

    assert [r.reply.status for r in requests] == [500, 500, 204]
    assert len({r.webhook_id for r in requests}) == 1
    # Retried after the schedule's delays, not at once.
    first, second = gaps(requests)
    assert first >= SCHEDULE[0] * SLACK
    assert second >= SCHEDULE[1] * SLACK

    assert entry["state"] == "delivered"
    assert entry["delivered_at"] is not None
    assert entry["next_attempt_at"] is None
    assert entry["last_error"] is None
    assert statuses(entry) == [500, 500, 204]
    assert [a["error"] for a in entry["attempts"]] == ["HTTP 500", "HTTP 500", None]
    for attempt in entry["attempts"]:
        assert isinstance(attempt["latency_ms"], int)
        assert 0 <= attempt["latency_ms"] < 3000


@pytest.mark.parametrize("accepting", [200, 202, 299])
def test_any_2xx_delivers_and_any_other_status_is_retried(account: Tenant, accepting: int) -> None:
    answers = iter([404, 410, 400, accepting])
    with receiving(lambda _: Reply(next(answers))) as receiver:
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])
        entry = settled(account, webhook["webhook_id"], delivery_id)
        assert len(receiver.requests) == 4

    assert entry["state"] == "delivered"
    assert statuses(entry) == [404, 410, 400, accepting]


# --- Retry-After ----------------------------------------------------------------------------------


def in_seconds(seconds: int) -> Callable[[], str]:
    return lambda: str(seconds)


def at_http_date(seconds: int) -> Callable[[], str]:
    return lambda: format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "at_least"),
    [(in_seconds(2), 2.0), (at_http_date(3), 2.0)],
    ids=["delta-seconds", "http-date"],
)
def test_retry_after_asking_for_more_than_the_schedule_is_honoured(
    account: Tenant, retry_after: Callable[[], str], at_least: float
) -> None:
    def throttle_once(request: Received) -> Reply:
        if request.attempt == 1:
            return Reply(429, {"Retry-After": retry_after()})
        return Reply()

    with receiving(throttle_once) as receiver:
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])
        entry = settled(account, webhook["webhook_id"], delivery_id)
        requests = receiver.requests

    assert [r.reply.status for r in requests] == [429, 204]
    # Not 0.3 s later, as the schedule says, but when the receiver asked.
    [waited] = gaps(requests)
    assert waited >= at_least * SLACK, waited
    assert statuses(entry) == [429, 204]
    assert entry["attempts"][0]["error"] == "HTTP 429"


# --- giving up ------------------------------------------------------------------------------------


def test_after_the_last_retry_the_delivery_is_failed_and_kept(account: Tenant) -> None:
    with receiving(always(Reply(500))) as receiver:
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])
        entry = settled(account, webhook["webhook_id"], delivery_id)
        requests = receiver.requests

    assert len(requests) == ATTEMPTS
    assert len({r.webhook_id for r in requests}) == 1
    for waited, planned in zip(gaps(requests), SCHEDULE, strict=True):
        assert waited >= planned * SLACK, (waited, planned)

    assert entry["state"] == "failed"
    assert entry["delivered_at"] is None
    assert entry["next_attempt_at"] is None
    assert entry["last_error"] == "HTTP 500"
    assert statuses(entry) == [500] * ATTEMPTS
    # Kept, and found by its state.
    failed = deliveries_page(account, webhook["webhook_id"], state="failed")["deliveries"]
    assert [d["delivery_id"] for d in failed] == [delivery_id]
    assert deliveries_page(account, webhook["webhook_id"], state="pending")["deliveries"] == []
    assert deliveries_page(account, webhook["webhook_id"], state="delivered")["deliveries"] == []


def test_a_later_change_waits_until_the_earlier_one_has_failed_then_goes(
    account: Tenant,
) -> None:
    def refuse_the_first_change(request: Received) -> Reply:
        return Reply(503) if request.sequence == 1 else Reply()

    with receiving(refuse_the_first_change) as receiver:
        webhook = create_webhook(account, receiver.url)
        start_tracking(account, "ups", DELIVERED)
        wait_until_stopped(account, "ups", DELIVERED)
        queued = queued_sequences(account, webhook["webhook_id"], DELIVERED)
        wait_until_delivered(receiver, DELIVERED, queued[1:])
        listed = {d["sequence"]: d for d in all_settled(account, webhook["webhook_id"])}
        requests = receiver.requests

    refused = [r for r in requests if r.sequence == 1]
    later = [r for r in requests if r.sequence > 1]
    assert len(refused) == ATTEMPTS
    # Nothing of the later changes was sent while the first one was still being retried.
    assert later[0].arrived > refused[-1].arrived
    assert [r.sequence for r in later] == queued[1:]
    assert listed[1]["state"] == "failed"
    assert statuses(listed[1]) == [503] * ATTEMPTS
    assert all(listed[s]["state"] == "delivered" for s in queued[1:])


# --- failed attempts without a status -------------------------------------------------------------


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(account: Tenant) -> None:
    def slow_once(request: Received) -> Reply:
        return Reply(204, delay=8) if request.attempt == 1 else Reply()

    with receiving(slow_once) as receiver:
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])
        entry = settled(account, webhook["webhook_id"], delivery_id)
        requests = receiver.requests

    assert len(requests) == 2
    # Given up after the 3 s timeout, long before the slow answer (8 s) came.
    [waited] = gaps(requests)
    assert 3 * SLACK <= waited < 8
    timed_out, accepted = entry["attempts"]
    assert timed_out["response_status"] is None
    assert timed_out["error"] == "timed out"
    assert 3000 * SLACK <= timed_out["latency_ms"] < 8000
    assert accepted["response_status"] == 204
    assert entry["state"] == "delivered"


def test_a_refused_connection_is_a_failed_attempt_and_retried(account: Tenant) -> None:
    webhook = create_webhook(account, f"http://127.0.0.1:{free_port()}/nobody-listens")
    delivery_id = send_test_event(account, webhook["webhook_id"])

    def retried() -> dict[str, Any] | None:
        entry = delivery(account, webhook["webhook_id"], delivery_id)
        return entry if len(entry["attempts"]) >= 2 else None

    entry = eventually(retried, "two attempts")
    for attempt in entry["attempts"]:
        assert attempt["response_status"] is None
        assert attempt["error"], attempt
        assert "timed out" not in attempt["error"]
    assert entry["last_error"]
    response = account.client.delete(f"{WEBHOOKS}/{webhook['webhook_id']}")
    assert response.status_code == 204, response.text


def test_redirects_are_not_followed(account: Tenant) -> None:
    with receiving() as receiver:
        elsewhere = f"http://127.0.0.1:{receiver.port}/elsewhere"
        receiver.behaviour = lambda request: (
            Reply() if request.path == "/elsewhere" else Reply(302, {"Location": elsewhere})
        )
        webhook = create_webhook(account, receiver.url)
        delivery_id = send_test_event(account, webhook["webhook_id"])

        def retried() -> dict[str, Any] | None:
            entry = delivery(account, webhook["webhook_id"], delivery_id)
            return entry if len(entry["attempts"]) >= 3 else None

        entry = eventually(retried, "three attempts")
        response = account.client.delete(f"{WEBHOOKS}/{webhook['webhook_id']}")
        assert response.status_code == 204, response.text
        requests = receiver.requests

    assert {r.path for r in requests} == {"/hooks/track"}
    assert statuses(entry)[:3] == [302, 302, 302]
    assert entry["attempts"][0]["error"] == "HTTP 302"
    assert entry["delivered_at"] is None


# --- disabling ------------------------------------------------------------------------------------


def test_a_webhook_failing_too_long_is_disabled_and_a_put_enables_it_again(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    with (
        delivery_server(test_database, tmp_path, SHIPTRACK_WEBHOOK_DISABLE_AFTER="2") as server,
        receiving(always(Reply(500))) as receiver,
    ):
        tenant = make_tenant(server)
        webhook = create_webhook(tenant, receiver.url)
        webhook_id = webhook["webhook_id"]
        start_tracking(tenant, "ups", DELIVERED)

        def disabled() -> dict[str, Any] | None:
            page = deliveries_page(tenant, webhook_id)
            return page if page["disabled_at"] is not None else None

        page = disabled_page = eventually(disabled, "the webhook to be disabled")
        failing_since = datetime.fromisoformat(page["failing_since"])
        disabled_at = datetime.fromisoformat(page["disabled_at"])
        assert disabled_at - failing_since >= timedelta(seconds=2)

        # Disabled: the receiver hears nothing more (retries were due every second), and the
        # journey's later changes pile up, nothing dropped.
        count = len(receiver.requests)
        wait_until_stopped(tenant, "ups", DELIVERED)
        time.sleep(2.5)
        assert len(receiver.requests) == count
        queued = queued_sequences(tenant, webhook_id, DELIVERED)
        assert len(queued) >= 3
        waiting = all_deliveries(tenant, webhook_id)
        assert {d["state"] for d in waiting} == {"pending"}
        assert deliveries_page(tenant, webhook_id)["disabled_at"] == disabled_page["disabled_at"]

        # Fixed receiver, any PUT: enabled again, and everything arrives in order.
        receiver.behaviour = always(Reply())
        response = tenant.client.put(f"{WEBHOOKS}/{webhook_id}", json={"name": "fixed"})
        assert response.status_code == 204, response.text
        page = deliveries_page(tenant, webhook_id)
        assert (page["disabled_at"], page["failing_since"]) == (None, None)
        arrived = wait_until_delivered(receiver, DELIVERED, queued)
        tenant.client.close()

    assert [r.sequence for r in arrived] == queued
