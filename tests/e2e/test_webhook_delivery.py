"""Webhook delivery end to end: sandbox journeys on a real server, notifications at real
receivers on 127.0.0.1.

Covers the body (ShipEngine's ``track`` event — ``resource_url``, ``resource_type``, ``data`` as
TrackingInformation plus ``label_url`` — and shiptrack's ``event_id``, ``sequence``,
``previous_status``, ``correction``, ``detected_at``); every status change of a journey arriving
once, in ``sequence`` order per package, with no gap, also when the receiver fails the first
attempt of some notifications (a later change is never sent before the earlier one is accepted);
the attempts the deliveries endpoint records; a hanging endpoint that does not slow down another
account's; and a server killed (``SIGKILL``) while a request is in flight: a new process on the
same database sends that delivery again, with the same ``webhook-id``, once the lease is over,
and loses nothing.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.conftest import DatabaseServer, Server, Tenant, make_tenant, start_server
from tests.e2e.webhook_support import (
    SPEC,
    WEBHOOKS,
    Received,
    Reply,
    all_deliveries,
    all_settled,
    always,
    create_webhook,
    delivery_server,
    jwks,
    module_server,
    queued_sequences,
    receiving,
    verify_shipengine,
    verify_standard,
    wait_until_delivered,
)
from tests.support import get_tracking, start_tracking, wait_until_stopped

SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}
#: The packages of the shared journeys: (carrier code, scenario).
PACKAGES = [("ups", "failed_attempt"), ("fedex", "pickup_point"), ("usps", "delivered")]
PAYLOAD_FIELDS = {
    "resource_url",
    "resource_type",
    "data",
    "event_id",
    "sequence",
    "previous_status",
    "correction",
    "detected_at",
}
#: What ``GET /v1/tracking`` adds to TrackingInformation (the notifications leave them out).
EXTENSION_FIELDS = {"active", "stop_reason", "last_checked_at", "next_check_at", "last_error"}


@functools.cache
def tracking_information_fields() -> frozenset[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return frozenset(spec["components"]["schemas"]["tracking_information"]["properties"])


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, text
    return moment


@pytest.fixture(scope="module")
def hub(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from module_server(test_database, tmp_path_factory)


# --- journeys delivered to a receiver that fails some first attempts --------------------------


def odd_first_attempts_fail(request: Received) -> Reply:
    """500 to the first attempt of every notification with an odd sequence, else 204."""
    return Reply(500) if request.attempt == 1 and request.sequence % 2 else Reply()


@dataclass(frozen=True)
class Journey:
    carrier_code: str
    number: str
    scenario: str
    #: ``GET /v1/tracking`` once tracking stopped.
    final: dict[str, Any]
    #: The sequences queued for the webhook (from the deliveries endpoint).
    queued: list[int]
    #: Every request the receiver got for this package, in order of arrival.
    requests: list[Received]

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.reply.accepts]


@dataclass(frozen=True)
class Journeys:
    tenant: Tenant
    webhook: dict[str, Any]
    by_number: dict[str, Journey]
    requests: list[Received]


@pytest.fixture(scope="module")
def journeys(hub: Server) -> Iterator[Journeys]:
    """Three packages of one account walk their journeys side by side; the receiver answers 500
    to the first attempt of every odd-sequence notification."""
    tenant = make_tenant(hub)
    with receiving(odd_first_attempts_fail) as receiver:
        webhook = create_webhook(tenant, receiver.url)
        packages = [(code, name, sandbox_number(code, SCENARIO[name])) for code, name in PACKAGES]
        for code, _, number in packages:
            start_tracking(tenant, code, number)
        finished = []
        for code, name, number in packages:
            final = wait_until_stopped(tenant, code, number)
            queued = queued_sequences(tenant, webhook["webhook_id"], number)
            wait_until_delivered(receiver, number, queued)
            finished.append((code, name, number, final, queued))
        all_settled(tenant, webhook["webhook_id"])
        requests = receiver.requests
    by_number = {
        number: Journey(
            code, number, name, final, queued, [r for r in requests if r.tracking_number == number]
        )
        for code, name, number, final, queued in finished
    }
    yield Journeys(tenant, webhook, by_number, requests)
    tenant.client.close()


def test_every_status_change_arrives_once_in_sequence_order(journeys: Journeys) -> None:
    for journey in journeys.by_number.values():
        # Several changes, numbered from 1 without a gap, each accepted exactly once, in order.
        assert len(journey.queued) >= 3, journey.queued
        assert journey.queued == list(range(1, len(journey.queued) + 1))
        assert [r.sequence for r in journey.accepted] == journey.queued


def test_a_later_change_is_never_sent_before_the_earlier_one_is_accepted(
    journeys: Journeys,
) -> None:
    for journey in journeys.by_number.values():
        sequences = [r.sequence for r in journey.requests]
        assert sequences == sorted(sequences), sequences
        for sequence in journey.queued:
            attempts = [r for r in journey.requests if r.sequence == sequence]
            # The odd ones were refused once and sent again; the last attempt is the accepted one.
            expected = [500, 204] if sequence % 2 else [204]
            assert [a.reply.status for a in attempts] == expected, (journey.number, sequence)


def test_the_body_is_shipengines_track_event_plus_shiptracks_fields(journeys: Journeys) -> None:
    event_ids = set()
    for journey in journeys.by_number.values():
        resource_url = "https://shiptrack.example/v1/tracking?" + urlencode(
            {"carrier_code": journey.carrier_code, "tracking_number": journey.number}
        )
        for request in journey.accepted:
            body = request.json
            assert set(body) == PAYLOAD_FIELDS, body
            assert body["resource_url"] == resource_url
            assert body["resource_type"] == "API_TRACK"
            assert set(body["data"]) == tracking_information_fields() | {"label_url"}
            assert body["data"]["label_url"] is None
            assert body["data"]["tracking_number"] == journey.number
            assert body["data"]["carrier_code"] == journey.carrier_code
            assert body["correction"] is False
            assert body["event_id"].startswith("se-"), body["event_id"]
            event_ids.add(body["event_id"])
            detected = parse_time(body["detected_at"])
            assert detected <= request.at
    # One event id per change.
    assert len(event_ids) == sum(len(j.queued) for j in journeys.by_number.values())


def test_each_notification_shows_the_package_as_it_was_at_that_change(journeys: Journeys) -> None:
    for journey in journeys.by_number.values():
        bodies = [r.json for r in journey.accepted]
        statuses = [b["data"]["status_code"] for b in bodies]
        assert [b["previous_status"] for b in bodies] == ["UN", *statuses[:-1]]
        # The statuses walk the scenario's journey (from wherever the first check found it).
        walk = SCENARIO[journey.scenario].status_walk()
        seen = [code for i, code in enumerate(statuses) if i == 0 or statuses[i - 1] != code]
        assert seen == walk[walk.index(seen[0]) :], (seen, walk)
        # Each change shows one more scan at least (events most recent first).
        counts = [len(b["data"]["events"]) for b in bodies]
        assert counts == sorted(counts), counts
        for body in bodies:
            moments = [parse_time(e["occurred_at"]) for e in body["data"]["events"]]
            assert moments == sorted(moments, reverse=True)
        # The last one is the package exactly as GET /v1/tracking shows it now.
        expected = {k: v for k, v in journey.final.items() if k not in EXTENSION_FIELDS}
        assert bodies[-1]["data"] == {"label_url": None, **expected}
        assert statuses[-1] == "DE"


def test_the_deliveries_endpoint_records_every_attempt(journeys: Journeys) -> None:
    listed = all_deliveries(journeys.tenant, journeys.webhook["webhook_id"])
    requests_by_id: dict[str, list[Received]] = {}
    for request in journeys.requests:
        requests_by_id.setdefault(request.webhook_id, []).append(request)

    assert len(listed) == sum(len(j.queued) for j in journeys.by_number.values())
    assert [d["delivery_id"] for d in listed] == sorted(
        (d["delivery_id"] for d in listed), key=lambda i: int(i.removeprefix("se-")), reverse=True
    )
    for entry in listed:
        assert entry["state"] == "delivered", entry
        assert entry["delivered_at"] is not None
        assert entry["next_attempt_at"] is None
        requests = requests_by_id[entry["webhook_message_id"]]
        assert requests[0].sequence == entry["sequence"]
        assert requests[0].tracking_number == entry["tracking_number"]
        assert requests[0].json["data"]["status_code"] == entry["status_code"]
        assert requests[0].json["event_id"] == entry["event_id"]
        assert [a["response_status"] for a in entry["attempts"]] == [
            r.reply.status for r in requests
        ]
        for attempt in entry["attempts"]:
            assert isinstance(attempt["latency_ms"], int) and attempt["latency_ms"] >= 0
            assert attempt["error"] == (None if attempt["response_status"] == 204 else "HTTP 500")
        moments = [parse_time(a["attempted_at"]) for a in entry["attempts"]]
        assert moments == sorted(moments)


# --- one endpoint hanging -----------------------------------------------------------------------


def test_a_hanging_endpoint_does_not_delay_another_accounts_deliveries(hub: Server) -> None:
    hanging_account, healthy_account = make_tenant(hub), make_tenant(hub)
    with receiving(lambda _: Reply(hang=True)) as hanging, receiving() as healthy:
        stuck = create_webhook(hanging_account, hanging.url)
        # More packages than the eight requests one endpoint may have in flight.
        for n in range(10):
            start_tracking(hanging_account, "dhl_express", f"88{n:08d}")
        hanging.wait_for_requests(8, "the hanging endpoint to hold its eight slots")

        healthy_webhook = create_webhook(healthy_account, healthy.url)
        number = sandbox_number("ups", SCENARIO["delivered"])
        start_tracking(healthy_account, "ups", number)
        wait_until_stopped(healthy_account, "ups", number)
        queued = queued_sequences(healthy_account, healthy_webhook["webhook_id"], number)
        arrived = wait_until_delivered(healthy, number, queued)
        stalled = hanging.requests
        response = hanging_account.client.delete(f"{WEBHOOKS}/{stuck['webhook_id']}")
        assert response.status_code == 204, response.text

    created = {
        d["sequence"]: parse_time(d["created_at"])
        for d in all_deliveries(healthy_account, healthy_webhook["webhook_id"])
    }
    # Each notification arrived well within the 3 s a hanging request takes to time out.
    for request in arrived:
        waited = (request.at - created[request.sequence]).total_seconds()
        assert waited < 2.0, (request.sequence, waited)
    # Meanwhile the hanging endpoint had its requests open, never more than eight at once (none
    # of them could time out within 2.5 s of the first one).
    assert len(stalled) >= 9
    assert len([r for r in stalled if r.arrived < stalled[0].arrived + 2.5]) <= 8
    hanging_account.client.close()
    healthy_account.client.close()


# --- how much one endpoint is sent at once -------------------------------------------------------


def most_open_at_once(requests: list[Received], answered_after: float) -> int:
    """The most requests open together at a receiver that answers each after ``answered_after``
    seconds: every request that arrived within that time before another is still open then."""
    return max(
        sum(1 for other in requests if r.arrived - answered_after < other.arrived <= r.arrived)
        for r in requests
    )


def test_an_endpoint_that_keeps_up_is_sent_more_at_once_than_it_started_with(
    hub: Server,
) -> None:
    tenant = make_tenant(hub)
    with receiving(always(Reply(delay=0.4))) as receiver:
        create_webhook(tenant, receiver.url)
        for n in range(40):
            start_tracking(tenant, "dhl_express", f"66{n:08d}")
        requests = receiver.wait_for_requests(40, "a notification for each of the 40 packages")
    # Every webhook starts with eight requests at once; each accepted one adds a slot, so the
    # backlog of a receiver that keeps up goes out faster than eight at a time.
    assert most_open_at_once(requests, 0.4) > 8
    tenant.client.close()


def test_a_hanging_endpoint_is_soon_held_to_one_request_at_a_time(hub: Server) -> None:
    tenant = make_tenant(hub)
    with receiving(always(Reply(hang=True))) as hanging:
        stuck = create_webhook(tenant, hanging.url)
        for n in range(10):
            start_tracking(tenant, "dhl_express", f"55{n:08d}")
        requests = hanging.wait_for_requests(10, "two requests after the first eight timed out")
        response = tenant.client.delete(f"{WEBHOOKS}/{stuck['webhook_id']}")
        assert response.status_code == 204, response.text
    first = requests[0].arrived
    # The first eight were open together until they timed out (3 s here) ...
    assert len([r for r in requests if r.arrived < first + 2.5]) == 8
    # ... and each timeout halved the endpoint's slots: from then on, one request at a time, each
    # sent once the one before it had timed out.
    later = [r.arrived for r in requests if r.arrived >= first + 2.5]
    assert len(later) >= 2
    assert all(b - a > 2.5 for a, b in itertools.pairwise(later))
    tenant.client.close()


# --- SIGKILL mid-send ---------------------------------------------------------------------------


def first_request_hangs(request: Received) -> Reply:
    """Never answer the first attempt of the first notification; accept everything else."""
    return Reply(hang=True) if (request.sequence, request.attempt) == (1, 1) else Reply()


def test_a_delivery_in_flight_when_the_server_is_killed_is_sent_again_after_the_lease(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    number = sandbox_number("ups", SCENARIO["out_for_delivery"])
    with (
        receiving(first_request_hangs) as receiver,
        delivery_server(test_database, tmp_path / "first", SHIPTRACK_POLL_LEASE="2") as first,
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

    # The interrupted delivery came again, the same message, once its lease ran out.
    resent = [r for r in requests if r.webhook_id == in_flight.webhook_id]
    assert [r.attempt for r in resent] == [1, 2]
    assert resent[1].body == in_flight.body
    assert resent[1].arrived - in_flight.arrived >= 4.0
    verify_shipengine(keys, resent[1].headers, resent[1].body)
    verify_standard(webhook["secret"], resent[1].headers, resent[1].body)
    # Nothing lost, nothing out of order.
    assert queued == list(range(1, len(queued) + 1))
    assert [r.sequence for r in requests if r.reply.accepts] == queued
    assert {d["state"] for d in listed} == {"delivered"}


def test_killed_server_leaves_no_delivery_behind_for_a_healthy_receiver_either(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    """The same crash, with every request answered: whatever was sent or queued when the
    process died arrives after the restart, in order (a duplicate is allowed, a gap is not)."""
    number = sandbox_number("fedex", SCENARIO["failed_attempt"])
    with (
        receiving() as receiver,
        delivery_server(test_database, tmp_path / "first", SHIPTRACK_POLL_LEASE="2") as first,
    ):
        tenant = make_tenant(first)
        webhook = create_webhook(tenant, receiver.url)
        start_tracking(tenant, "fedex", number)
        receiver.wait_for_requests(2, "two notifications")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)

        second = start_server(first.env, tmp_path / "second.log", migrate=False)
        client = httpx.Client(base_url=second.url, headers={"API-Key": tenant.key}, timeout=30)
        try:
            again = Tenant(tenant.account_id, tenant.key, client, sandbox=True)
            wait_until_stopped(again, "fedex", number)
            queued = queued_sequences(again, webhook["webhook_id"], number)
            wait_until_delivered(receiver, number, queued)
            sequences = [r.sequence for r in receiver.requests]
        finally:
            second.stop()
            client.close()
            tenant.client.close()

    assert queued == list(range(1, len(queued) + 1))
    assert sequences == sorted(sequences)
    assert sorted(set(sequences)) == queued


def test_a_webhook_deleted_while_deliveries_wait_gets_nothing_more(hub: Server) -> None:
    tenant = make_tenant(hub)
    with receiving(lambda request: Reply(500) if request.sequence == 1 else Reply()) as receiver:
        webhook = create_webhook(tenant, receiver.url)
        number = sandbox_number("ups", SCENARIO["delivered"])
        start_tracking(tenant, "ups", number)
        receiver.wait_for_requests(2, "the first notification and its first retry")
        response = tenant.client.delete(f"{WEBHOOKS}/{webhook['webhook_id']}")
        assert response.status_code == 204, response.text
        count = len(receiver.requests)
        wait_until_stopped(tenant, "ups", number)
        # The journey went on for seconds after the deletion; nothing more was sent.
        final = get_tracking(tenant, "ups", number)
        assert final["status_code"] == "DE"
        assert len(receiver.requests) <= count + 1  # at most the attempt already under way
        assert {r.sequence for r in receiver.requests} == {1}
    tenant.client.close()
