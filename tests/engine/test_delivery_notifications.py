"""Status changes as notifications: sandbox journeys walked in-process, hour by hour, delivered to
a real receiver on 127.0.0.1 that refuses the first attempt of every odd-sequence notification.

Covers the body (ShipEngine's ``track`` event — ``resource_url``, ``resource_type``, ``data`` as
the OpenAPI file's TrackingInformation plus ``label_url`` — and shiptrack's ``event_id``,
``sequence``, ``previous_status``, ``correction``, ``detected_at``); every status change of a
journey arriving once, in ``sequence`` order per package, with no gap, although some first
attempts fail (a later change is never sent before the earlier one is accepted); the status walk
of each scenario; the last notification being the package as ``GET /v1/tracking`` shows it; the
``webhook-id`` (the same on every attempt of one notification, another for each notification)
and both signatures on every attempt, checked with code that shares nothing with shiptrack; the
attempts the deliveries list records; and a webhook deleted while its deliveries wait getting
nothing more.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml

from shiptrack.domain.webhooks import Webhook
from tests.e2e.webhook_support import (
    SPEC,
    Received,
    Reply,
    verify_shipengine,
    verify_standard,
)
from tests.engine.delivery_support import (
    PUBLIC_BASE_URL,
    SCENARIO,
    Listed,
    receiving,
    running_parts,
)

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
#: A refused notification is due again after the schedule's first wait: the next journey hour.
FIRST_RETRY = timedelta(seconds=5)


@functools.cache
def tracking_information_fields() -> frozenset[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return frozenset(spec["components"]["schemas"]["tracking_information"]["properties"])


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, text
    return moment


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
    #: The sequences queued for the webhook (from the deliveries list).
    queued: list[int]
    #: Every request the receiver got for this package, in order of arrival.
    requests: list[Received]

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.reply.accepts]


@dataclass(frozen=True)
class Journeys:
    webhook: Webhook
    secret: str
    #: The signing keys published once everything was sent, by kid.
    keys: dict[str, dict[str, Any]]
    by_number: dict[str, Journey]
    requests: list[Received]
    listed: list[Listed]


async def walk_journeys(tmp_path: Path) -> Journeys:
    """Three packages of one account walk their journeys side by side; after each journey hour
    what is due goes out (a refused notification is due again the next hour)."""
    async with running_parts(tmp_path) as parts, receiving(odd_first_attempts_fail) as receiver:
        account = await parts.account()
        webhook, secret = await parts.webhook(account, receiver.url)
        packages = [(code, name, await parts.start(account, code, name)) for code, name in PACKAGES]
        await parts.walk(each_hour=lambda: parts.deliver_due(within=FIRST_RETRY))
        await parts.deliver_everything()
        listed = await parts.deliveries(account, webhook)
        by_number = {}
        for code, name, number in packages:
            by_number[number] = Journey(
                code,
                number,
                name,
                await parts.tracking(account, code, number),
                sorted(d.view.sequence for d in listed if d.view.tracking_number == number),
                [r for r in receiver.requests if r.tracking_number == number],
            )
        return Journeys(webhook, secret, await parts.jwks(), by_number, receiver.requests, listed)


@pytest.fixture(scope="module")
def journeys(tmp_path_factory: pytest.TempPathFactory) -> Journeys:
    return asyncio.run(walk_journeys(tmp_path_factory.mktemp("journeys")))


def test_every_status_change_arrives_once_in_sequence_order(journeys: Journeys) -> None:
    for journey in journeys.by_number.values():
        # Several changes, numbered from 1 without a gap, each accepted exactly once, in order.
        assert len(journey.queued) >= 5, journey.queued
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


def test_every_attempt_of_a_notification_is_the_same_message_signed_both_ways(
    journeys: Journeys,
) -> None:
    by_id: dict[str, list[Received]] = defaultdict(list)
    for request in journeys.requests:
        by_id[request.webhook_id].append(request)
    # One webhook-id per notification, kept on its retry, with the same bytes.
    assert len(by_id) == sum(len(j.queued) for j in journeys.by_number.values())
    for attempts in by_id.values():
        assert [a.attempt for a in attempts] == ([1, 2] if attempts[0].sequence % 2 else [1])
        assert len({a.body for a in attempts}) == 1
        for attempt in attempts:
            verify_shipengine(journeys.keys, attempt.headers, attempt.body)
            verify_standard(journeys.secret, attempt.headers, attempt.body)
    # Each notification has an event id of its own.
    assert len({attempts[0].json["event_id"] for attempts in by_id.values()}) == len(by_id)
    # The deliveries list names each delivery's webhook-id.
    assert {d.view.message_id for d in journeys.listed} == set(by_id)


def test_the_body_is_shipengines_track_event_plus_shiptracks_fields(journeys: Journeys) -> None:
    for journey in journeys.by_number.values():
        resource_url = f"{PUBLIC_BASE_URL}/v1/tracking?" + urlencode(
            {"carrier_code": journey.carrier_code, "tracking_number": journey.number}
        )
        for request in journey.accepted:
            body = request.json
            # No test_event field, and no test-event header: a real change.
            assert set(body) == PAYLOAD_FIELDS, body
            assert "x-shiptrack-test-event" not in request.headers
            assert body["resource_url"] == resource_url
            assert body["resource_type"] == "API_TRACK"
            assert set(body["data"]) == tracking_information_fields() | {
                "label_url",
                "public_url",
            }
            assert body["data"]["label_url"] is None
            # The package's public page, the same link in every notification of it.
            assert body["data"]["public_url"] == journey.final["public_url"]
            assert body["data"]["public_url"].startswith(f"{PUBLIC_BASE_URL}/t/")
            assert body["data"]["tracking_number"] == journey.number
            assert body["data"]["carrier_code"] == journey.carrier_code
            assert body["correction"] is False
            assert body["event_id"].startswith("se-"), body["event_id"]
            assert parse_time(body["detected_at"]) <= request.at


def test_each_notification_shows_the_package_as_it_was_at_that_change(journeys: Journeys) -> None:
    for journey in journeys.by_number.values():
        bodies = [r.json for r in journey.accepted]
        statuses = [b["data"]["status_code"] for b in bodies]
        assert [b["previous_status"] for b in bodies] == ["UN", *statuses[:-1]]
        # Checked every journey hour, each package walks its scenario's whole journey.
        seen = [code for i, code in enumerate(statuses) if i == 0 or statuses[i - 1] != code]
        assert seen == SCENARIO[journey.scenario].status_walk(), journey.scenario
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
        assert journey.final["active"] is False


def test_the_deliveries_list_records_every_attempt(journeys: Journeys) -> None:
    listed = journeys.listed
    requests_by_id: dict[str, list[Received]] = defaultdict(list)
    for request in journeys.requests:
        requests_by_id[request.webhook_id].append(request)

    assert len(listed) == sum(len(j.queued) for j in journeys.by_number.values())
    # Newest first.
    assert [d.view.id for d in listed] == sorted((d.view.id for d in listed), reverse=True)
    for entry in listed:
        view = entry.view
        assert view.state == "delivered", view
        assert view.delivered_at is not None
        assert view.next_attempt_at is None
        assert view.last_error is None
        requests = requests_by_id[view.message_id]
        assert requests[0].sequence == view.sequence
        assert requests[0].tracking_number == view.tracking_number
        assert requests[0].json["data"]["status_code"] == view.status_code
        assert requests[0].json["event_id"] == f"se-{view.status_change_id}"
        assert [a.response_status for a in entry.attempts] == [r.reply.status for r in requests]
        for attempt in entry.attempts:
            assert attempt.latency_ms >= 0
            assert attempt.error == (None if attempt.response_status == 204 else "HTTP 500")
        moments = [a.attempted_at for a in entry.attempts]
        assert moments == sorted(moments)


# --- deleting a webhook ---------------------------------------------------------------------------


async def test_a_webhook_deleted_while_deliveries_wait_gets_nothing_more(tmp_path: Path) -> None:
    def refuse_the_first(request: Received) -> Reply:
        return Reply(500) if request.sequence == 1 else Reply()

    async with running_parts(tmp_path) as parts, receiving(refuse_the_first) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        number = await parts.start(account, "ups", "delivered")
        # Halfway through the journey: the first notification refused, it and the later ones
        # waiting.
        await parts.walk(hours=24)
        [first] = await parts.deliver_due()
        assert first.result.status == 500
        assert len(await parts.deliveries(account, webhook, state="pending")) >= 3

        await parts.parts.webhooks.delete(account, f"se-{webhook.id}")
        await parts.walk()

        # The journey went on to its end; nothing was sent any more, whenever it was due.
        assert (await parts.tracking(account, "ups", number))["status_code"] == "DE"
        assert await parts.deliver_everything() == []
        assert [r.sequence for r in receiver.requests] == [1]
