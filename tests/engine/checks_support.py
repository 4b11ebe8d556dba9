"""What the engine's journey tests assert, shared by the in-process tests (``tests/engine``) and the
end-to-end ones that keep a journey per carrier code (``tests/e2e/test_engine.py``).

The rows passed in are a package's ``status_changes`` and ``deliveries`` (the outbox), as the
in-memory store or the SQL database holds them: both have the same columns.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shiptrack.carriers.scenarios import SCENARIOS, Scenario, sandbox_number

SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}
#: What ``GET /v1/tracking`` adds to ShipEngine's TrackingInformation (and the payload leaves out).
EXTENSION_FIELDS = frozenset(
    {"active", "stop_reason", "last_checked_at", "next_check_at", "last_error"}
)
#: Why tracking stops by itself, by the status it ends in.
STOP_REASONS = {"DE": "delivered", "EX": "exception", "UN": "expired"}


class ChangeRow(Protocol):
    """A ``status_changes`` row."""

    @property
    def id(self) -> int: ...
    @property
    def sequence(self) -> int: ...
    @property
    def previous_status(self) -> str | None: ...
    @property
    def status_code(self) -> str: ...
    @property
    def status_detail_code(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime | None: ...
    @property
    def detected_at(self) -> datetime: ...
    @property
    def correction(self) -> bool: ...


class OutboxRow(Protocol):
    """A ``deliveries`` row."""

    @property
    def webhook_id(self) -> int: ...
    @property
    def status_change_id(self) -> int | None: ...
    @property
    def sequence(self) -> int: ...
    @property
    def message_id(self) -> str: ...
    @property
    def payload(self) -> bytes: ...


@dataclass(frozen=True)
class Plan:
    """A journey to run: a scenario on a carrier code, by a fresh account."""

    carrier_code: str
    scenario_name: str
    watch_exceptions: bool = False
    webhooks: int = 1

    @property
    def scenario(self) -> Scenario:
        return SCENARIO[self.scenario_name]

    @property
    def number(self) -> str:
        return sandbox_number(self.carrier_code, self.scenario)

    @property
    def reported_code(self) -> str:
        """The carrier code the package is reported (and stored) under."""
        return "usps" if self.carrier_code == "stamps_com" else self.carrier_code

    def expected_walk(self) -> list[str]:
        """The scenario's walk as this account sees it: an exception stops tracking unless the
        account keeps watching exceptions."""
        walk = self.scenario.status_walk()
        if "EX" in walk and not self.watch_exceptions:
            walk = walk[: walk.index("EX") + 1]
        return walk


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; one without an offset is UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_moment(event: dict[str, Any]) -> datetime:
    """When a listed event happened. A scan without a UTC offset only has the carrier's wall
    time; the sandbox gives such scans at a place whose wall time is UTC."""
    if event["occurred_at"] is not None:
        return parse_time(event["occurred_at"])
    return parse_time(event["carrier_occurred_at"])


def collapse(codes: Sequence[str]) -> list[str]:
    """Consecutive equal codes once: ``IT, IT, DE`` → ``IT, DE``."""
    return [code for i, code in enumerate(codes) if i == 0 or codes[i - 1] != code]


def payload_of(row: OutboxRow) -> dict[str, Any]:
    """The notification an outbox row will send."""
    body: dict[str, Any] = json.loads(bytes(row.payload))
    return body


def deliveries_of(change: ChangeRow, rows: Sequence[OutboxRow]) -> list[OutboxRow]:
    """The outbox rows of one change."""
    return [row for row in rows if row.status_change_id == change.id]


def assert_walked(
    plan: Plan, body: dict[str, Any], changes: Sequence[ChangeRow], *, from_start: bool
) -> None:
    """The recorded changes walk the plan's scenario and tracking stopped by the rules; ``body``
    (``GET /v1/tracking``) shows where it ended.

    ``from_start``: the first check ran at the start of the journey. Otherwise (a server's poller
    on a busy machine) it may have run after the first scan or two, so the walk may begin further
    on; it never skips or invents a step after that.
    """
    expected = plan.expected_walk()
    walked = collapse([c.status_code for c in changes])
    assert walked, "no status change was recorded"
    if from_start:
        assert walked == expected
    else:
        assert walked[0] in expected, (walked, expected)
        assert walked == expected[expected.index(walked[0]) :], (walked, expected)
    assert [c.sequence for c in changes] == list(range(1, len(changes) + 1))
    assert [c.previous_status for c in changes] == ["UN"] + [c.status_code for c in changes[:-1]]
    for before, after in itertools.pairwise(changes):
        # A status is code + detail: every change is a real change, never a repeat.
        assert (before.status_code, before.status_detail_code) != (
            after.status_code,
            after.status_detail_code,
        )
    assert not any(c.correction for c in changes)
    last = changes[-1]
    assert (body["status_code"], body["status_detail_code"]) == (
        last.status_code,
        last.status_detail_code,
    )
    assert body["active"] is False
    assert body["stop_reason"] == STOP_REASONS[expected[-1]]
    assert body["next_check_at"] is None
    assert body["carrier_code"] == plan.reported_code
    assert body["tracking_number"] == plan.number


def assert_events_listed(plan: Plan, events: list[dict[str, Any]]) -> None:
    """Each scan seen until tracking stopped is listed once, most recent first."""
    steps = [step.code for step in sorted(plan.scenario.steps, key=lambda s: s.hours)]
    moments = [event_moment(e) for e in events]
    assert moments == sorted(moments, reverse=True)
    oldest_first = [e["event_code"] for e in reversed(events)]
    # The scans seen until tracking stopped, each once: the start of the journey, in order.
    assert oldest_first == steps[: len(oldest_first)]
    if plan.expected_walk()[-1] == "DE":
        assert len(oldest_first) == len(steps)
    if plan.scenario.never_found:
        assert events == []


def assert_notified(
    plan: Plan,
    body: dict[str, Any],
    changes: Sequence[ChangeRow],
    rows: Sequence[OutboxRow],
    webhook_ids: Sequence[int],
) -> None:
    """One outbox row per change and ``track`` webhook, carrying the change and the package as
    it was; the last one shows the package exactly as ``GET /v1/tracking`` (``body``) does."""
    assert changes
    event_ids = []
    for change in changes:
        mine = deliveries_of(change, rows)
        assert sorted(row.webhook_id for row in mine) == sorted(webhook_ids)
        assert {row.sequence for row in mine} == {change.sequence}
        payloads = [payload_of(row) for row in mine]
        assert len({p["event_id"] for p in payloads}) == 1
        payload = payloads[0]
        event_ids.append(payload["event_id"])
        assert re.fullmatch(r"se-[0-9]+", payload["event_id"])
        assert payload["sequence"] == change.sequence
        assert payload["previous_status"] == change.previous_status
        assert payload["correction"] is False
        detected = parse_time(payload["detected_at"])
        assert abs(detected - change.detected_at) < timedelta(milliseconds=1)
        data = payload["data"]
        assert (data["status_code"], data["status_detail_code"]) == (
            change.status_code,
            change.status_detail_code,
        )
        assert data["tracking_number"] == plan.number
        assert data["carrier_code"] == plan.reported_code
        moments = [event_moment(e) for e in data["events"]]
        assert moments == sorted(moments, reverse=True)
    assert len(set(event_ids)) == len(event_ids)
    assert len(rows) == len(changes) * len(webhook_ids)

    # The last notification shows the package exactly as GET /v1/tracking does.
    latest = payload_of(deliveries_of(changes[-1], rows)[0])["data"]
    expected = {k: v for k, v in body.items() if k not in EXTENSION_FIELDS}
    assert latest == {"label_url": None, **expected}
