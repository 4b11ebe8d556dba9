"""The tracking engine observed from outside: real HTTP to a server running the workers on a
fast sandbox clock, plus direct reads of the ``status_changes`` and ``deliveries`` tables (the
outbox) where the API shows nothing (the outbox rows are the notifications to be sent).

Covers every sandbox scenario (and a few on other carrier codes): the recorded status walk, the
gapless ``sequence`` and chained ``previous_status`` of the changes, the stop rules (delivered,
exception, expired, exceptions watched by an account that asked for it), events listed once and
most recent first (duplicated and out-of-order scans), unmapped scans, never-found numbers; one
outbox row per change per ``track`` webhook with the payload ShipEngine sends plus shiptrack's
fields, none for a webhook deleted before the change; the freshness fields of ``GET /v1/tracking``
and ``/v1/tracking/subscriptions``; a carrier outage; restarting a delivered package; one number
tracked by two accounts; a stop by the user mid-journey; a production account whose UPS (the fake
of ``tests/fakes/ups.py``) is down: no status change, ``last_error`` and a back-off; live lookups
of never-started numbers; and ``shiptrack worker`` as a separate process.

Journeys run at ``ENGINE_SPEED`` journey hours per real second; tests wait for the engine with a
deadline instead of sleeping fixed times. The scenario journeys are all started at once by a module
fixture (one fresh account each) so that they run side by side.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import yaml

from shiptrack.carriers.scenarios import SCENARIOS, Scenario, sandbox_number
from shiptrack.settings import Settings
from tests.conftest import (
    ENGINE_SPEED,
    DatabaseServer,
    Server,
    Tenant,
    assert_error,
    engine_env,
    make_tenant,
    start_server,
)
from tests.fakes import ups
from tests.fakes.server import serve
from tests.support import (
    Recorded,
    connect_carrier,
    eventually,
    get_tracking,
    production_account,
    recorded,
    start_tracking,
    wait_for_tracking,
    wait_until_stopped,
)

SPEC = Path("/work/shared/spec/shipengine-openapi-tracking.yaml")
SCENARIO = {scenario.name: scenario for scenario in SCENARIOS}
#: What ``GET /v1/tracking`` adds to ShipEngine's TrackingInformation (and the payload leaves out).
EXTENSION_FIELDS = {"active", "stop_reason", "last_checked_at", "next_check_at", "last_error"}
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
#: Why tracking stops by itself, by the status it ends in.
STOP_REASONS = {"DE": "delivered", "EX": "exception", "UN": "expired"}


# --- helpers ------------------------------------------------------------------------------------


def journey_seconds(hours: float) -> float:
    """Real seconds that ``hours`` of sandbox journey take on the engine server."""
    return hours * 3600 / ENGINE_SPEED


def listed(tenant: Tenant) -> list[dict[str, Any]]:
    """Every entry of ``GET /v1/tracking/subscriptions`` (one page is enough here)."""
    response = tenant.client.get("/v1/tracking/subscriptions", params={"page_size": 500})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    found: list[dict[str, Any]] = body["subscriptions"]
    return found


def number_of(se_id: object) -> int:
    """``se-42`` → ``42``."""
    prefix, _, digits = str(se_id).partition("-")
    assert prefix == "se" and digits.isdigit(), se_id
    return int(digits)


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_moment(event: dict[str, Any]) -> datetime:
    """When a listed event happened. A scan without a UTC offset only has the carrier's wall
    time; the sandbox gives such scans at a place whose wall time is UTC."""
    if event["occurred_at"] is not None:
        return parse_time(event["occurred_at"])
    return parse_time(event["carrier_occurred_at"])


def collapse(codes: list[str]) -> list[str]:
    """Consecutive equal codes once: ``IT, IT, DE`` → ``IT, DE``."""
    return [code for i, code in enumerate(codes) if i == 0 or codes[i - 1] != code]


def assert_walk(recorded: list[str], expected: list[str]) -> None:
    """The recorded walk is the expected one.

    The first check records one change, to what the carrier says at that moment; it runs at once
    after start, but a busy machine may run it after the first scan or two, so the walk may begin
    further on. It never skips or invents a step after that.
    """
    assert recorded, "no status change was recorded"
    assert recorded[0] in expected, (recorded, expected)
    assert recorded == expected[expected.index(recorded[0]) :], (recorded, expected)


@functools.cache
def tracking_information_fields() -> frozenset[str]:
    """The properties of ShipEngine's ``tracking_information`` schema."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return frozenset(spec["components"]["schemas"]["tracking_information"]["properties"])


# --- the database, read directly ----------------------------------------------------------------


def payload_of(row: sa.Row[Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(bytes(row.payload))
    return body


# --- the scenario journeys, all started together -------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A journey to run: a scenario on a carrier code, by a fresh account."""

    carrier_code: str
    scenario: str
    watch_exceptions: bool = False
    webhooks: int = 1


PLANS: dict[str, Plan] = {
    **{f"ups-{scenario.name}": Plan("ups", scenario.name) for scenario in SCENARIOS},
    "ups-exception_recovered-watching": Plan("ups", "exception_recovered", watch_exceptions=True),
    "fedex-failed_attempt": Plan("fedex", "failed_attempt"),
    "dhl_express-pickup_point": Plan("dhl_express", "pickup_point"),
    "stamps_com-exception_returned": Plan("stamps_com", "exception_returned"),
    "usps-late_first_scan": Plan("usps", "late_first_scan"),
    "ups-delivered-two-webhooks": Plan("ups", "delivered", webhooks=2),
    "ups-failed_attempt-second-account": Plan("ups", "failed_attempt"),
}


@dataclass
class Journey:
    """A started journey and the account that started it."""

    plan: Plan
    tenant: Tenant
    webhook_ids: list[int]

    @property
    def scenario(self) -> Scenario:
        return SCENARIO[self.plan.scenario]

    @property
    def carrier_code(self) -> str:
        return self.plan.carrier_code

    @property
    def reported_code(self) -> str:
        """The carrier code the package is reported (and stored) under."""
        return "usps" if self.carrier_code == "stamps_com" else self.carrier_code

    @property
    def number(self) -> str:
        return sandbox_number(self.carrier_code, self.scenario)

    def expected_walk(self) -> list[str]:
        """The scenario's walk as this account sees it: an exception stops tracking unless the
        account keeps watching exceptions."""
        walk = self.scenario.status_walk()
        if "EX" in walk and not self.plan.watch_exceptions:
            walk = walk[: walk.index("EX") + 1]
        return walk

    def finished(self) -> dict[str, Any]:
        return wait_until_stopped(self.tenant, self.carrier_code, self.number)

    def recorded(self, server: Server) -> Recorded:
        return recorded(server, self.tenant.account_id, self.reported_code, self.number)


@pytest.fixture(scope="module")
def journeys(engine_server: Server) -> Iterator[dict[str, Journey]]:
    made: dict[str, Journey] = {}
    try:
        for key, plan in PLANS.items():
            tenant = make_tenant(engine_server, sandbox=True, name=key)
            hooks = [
                tenant.add_track_webhook(f"https://example.invalid/hooks/{key}/{i}")
                for i in range(plan.webhooks)
            ]
            if plan.watch_exceptions:
                engine_server.cli(
                    "account", "update", tenant.account_id, "--exception-watch-days", "7"
                )
            made[key] = Journey(plan, tenant, [number_of(h["webhook_id"]) for h in hooks])
        for journey in made.values():
            start_tracking(journey.tenant, journey.carrier_code, journey.number)
        yield made
    finally:
        for journey in made.values():
            journey.tenant.client.close()


@pytest.fixture
def account(engine_server: Server) -> Iterator[Tenant]:
    """A fresh sandbox account on the engine server, with a ``track`` webhook."""
    made = make_tenant(engine_server, sandbox=True)
    made.add_track_webhook()
    yield made
    made.client.close()


# --- status walks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(PLANS))
def test_recorded_changes_walk_the_scenario_and_stop_by_the_rules(
    engine_server: Server, journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    body = journey.finished()
    changes = journey.recorded(engine_server).changes
    expected = journey.expected_walk()

    assert_walk(collapse([c.status_code for c in changes]), expected)
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
    assert body["carrier_code"] == journey.reported_code
    assert body["tracking_number"] == journey.number


@pytest.mark.parametrize("key", list(PLANS))
def test_events_are_stored_once_and_listed_most_recent_first(
    journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    events = journey.finished()["events"]
    steps = [step.code for step in sorted(journey.scenario.steps, key=lambda s: s.hours)]

    moments = [event_moment(e) for e in events]
    assert moments == sorted(moments, reverse=True)
    oldest_first = [e["event_code"] for e in reversed(events)]
    # The scans seen until tracking stopped, each once: the start of the journey, in order.
    assert oldest_first == steps[: len(oldest_first)]
    if journey.expected_walk()[-1] == "DE":
        assert len(oldest_first) == len(steps)
    if journey.scenario.never_found:
        assert events == []


def test_exception_recovered_is_followed_to_delivery_only_when_watching_exceptions(
    journeys: dict[str, Journey],
) -> None:
    default = journeys["ups-exception_recovered"].finished()
    watching = journeys["ups-exception_recovered-watching"].finished()

    assert (default["status_code"], default["stop_reason"]) == ("EX", "exception")
    assert default["exception_description"] == "Held at the hub, operational issue"
    assert (watching["status_code"], watching["stop_reason"]) == ("DE", "delivered")
    assert watching["exception_description"] is None
    assert watching["events"][0]["signer"] == "MAILROOM"


def test_duplicated_and_scrambled_scans_are_stored_once_and_never_move_the_status_back(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["ups-duplicates_out_of_order"]
    events = journey.finished()["events"]
    changes = journey.recorded(engine_server).changes

    identical = [json.dumps(e, sort_keys=True) for e in events]
    assert len(set(identical)) == len(identical)
    assert len(events) == len(journey.scenario.steps)
    # The Memphis arrival reported ten hours late is older than what was known: stored, but it
    # is no status change (it would have been IT/HUB_SCAN_IN after IT/HUB_SCAN_OUT).
    (late,) = [e for e in events if e["event_code"] == "ARRIVE"]
    assert all(c.occurred_at != parse_time(late["occurred_at"]) for c in changes)
    times = [c.occurred_at for c in changes if c.occurred_at is not None]
    assert times == sorted(times)
    # The scan without a UTC offset keeps the carrier's wall time only.
    (newark,) = [e for e in events if e["city_locality"] == "NEWARK"]
    assert newark["occurred_at"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", newark["carrier_occurred_at"])


def test_unmapped_scan_is_kept_with_its_raw_code_and_does_not_change_the_status(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["ups-unmapped_scan"]
    body = journey.finished()
    changes = journey.recorded(engine_server).changes

    (unmapped,) = [e for e in body["events"] if e["carrier_status_code"] == "ZX9"]
    assert unmapped["status_code"] == "UN"
    assert unmapped["status_detail_code"] == "CARRIER_STATUS_NOT_MAPPED"
    assert unmapped["event_code"] == "ZX9"
    assert unmapped["description"] == "Carrier-specific scan"
    assert all(c.status_code != "UN" for c in changes)
    assert all(c.status_detail_code != "CARRIER_STATUS_NOT_MAPPED" for c in changes)
    # The change after the unmapped scan goes from in transit straight to delivered.
    scanned = parse_time(unmapped["occurred_at"])
    after = [c for c in changes if c.occurred_at is not None and c.occurred_at > scanned]
    assert [(c.previous_status, c.status_code) for c in after] == [("IT", "DE")]
    assert body["carrier_status_code"] == "DELIVERED"


def test_never_found_number_is_not_yet_found_then_expires(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["ups-never_found"]
    body = journey.finished()
    changes = journey.recorded(engine_server).changes

    assert [(c.previous_status, c.status_code, c.status_detail_code) for c in changes] == [
        ("UN", "NY", None),
        ("NY", "UN", "TRACKING_EXPIRED"),
    ]
    assert (body["status_code"], body["status_detail_code"]) == ("UN", "TRACKING_EXPIRED")
    assert body["stop_reason"] == "expired"
    assert body["events"] == []


def test_stamps_com_package_is_found_under_both_codes(journeys: dict[str, Journey]) -> None:
    journey = journeys["stamps_com-exception_returned"]
    by_stamps = journey.finished()
    by_usps = get_tracking(journey.tenant, "usps", journey.number)

    assert by_stamps == by_usps
    assert by_usps["carrier_code"] == "usps"


# --- the outbox -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(PLANS))
def test_every_change_queues_one_notification_per_track_webhook(
    engine_server: Server, journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    body = journey.finished()
    record = journey.recorded(engine_server)
    assert record.changes

    event_ids = []
    for change in record.changes:
        rows = record.deliveries_of(change)
        assert sorted(row.webhook_id for row in rows) == journey.webhook_ids
        assert {row.sequence for row in rows} == {change.sequence}
        payloads = [payload_of(row) for row in rows]
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
        assert data["tracking_number"] == journey.number
        assert data["carrier_code"] == journey.reported_code
        moments = [event_moment(e) for e in data["events"]]
        assert moments == sorted(moments, reverse=True)
    assert len(set(event_ids)) == len(event_ids)
    assert len(record.deliveries) == len(record.changes) * len(journey.webhook_ids)

    # The last notification shows the package exactly as GET /v1/tracking does.
    latest = payload_of(record.deliveries_of(record.changes[-1])[0])["data"]
    expected = {k: v for k, v in body.items() if k not in EXTENSION_FIELDS}
    assert latest == {"label_url": None, **expected}


def test_two_webhooks_get_the_same_payload_bytes_under_distinct_message_ids(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["ups-delivered-two-webhooks"]
    journey.finished()
    record = journey.recorded(engine_server)

    assert len(journey.webhook_ids) == 2
    message_ids = [row.message_id for row in record.deliveries]
    assert len(set(message_ids)) == len(message_ids)
    for change in record.changes:
        first, second = record.deliveries_of(change)
        assert bytes(first.payload) == bytes(second.payload)
        assert first.webhook_id != second.webhook_id


def test_notification_payload_is_shipengines_track_event_with_shiptracks_fields(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["ups-delivered"]
    journey.finished()
    record = journey.recorded(engine_server)
    assert record.changes
    base = engine_server.env.get(
        "SHIPTRACK_PUBLIC_BASE_URL", Settings.model_fields["public_base_url"].default
    )

    for change in record.changes:
        (row,) = record.deliveries_of(change)
        payload = payload_of(row)
        assert set(payload) == PAYLOAD_FIELDS
        assert payload["resource_type"] == "API_TRACK"
        assert payload["resource_url"] == (
            f"{base}/v1/tracking?carrier_code=ups&tracking_number={journey.number}"
        )
        assert set(payload["data"]) == tracking_information_fields() | {"label_url"}
        assert payload["data"]["label_url"] is None
        assert isinstance(payload["data"]["carrier_id"], int)
    # The resource_url reads the package.
    url = urlsplit(payload["resource_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    response = journey.tenant.client.get(url.path, params=query)
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == "DE"


def test_stamps_com_notifications_name_the_package_as_usps(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["stamps_com-exception_returned"]
    journey.finished()
    record = journey.recorded(engine_server)

    for row in record.deliveries:
        query = parse_qs(urlsplit(payload_of(row)["resource_url"]).query)
        assert query == {"carrier_code": ["usps"], "tracking_number": [journey.number]}


def test_webhook_deleted_before_a_change_gets_no_notification_for_it(
    engine_server: Server, account: Tenant
) -> None:
    number = sandbox_number("ups", SCENARIO["delivered"])
    (webhook,) = account.client.get("/v1/environment/webhooks").json()
    start_tracking(account, "ups", number)
    eventually(
        lambda: recorded(engine_server, account.account_id, "ups", number).changes or None,
        "the first check",
    )

    response = account.client.delete(f"/v1/environment/webhooks/{webhook['webhook_id']}")
    assert response.status_code == 204, response.text
    deleted_at = datetime.now(UTC)
    wait_until_stopped(account, "ups", number)
    record = recorded(engine_server, account.account_id, "ups", number)

    first = record.changes[0]
    assert len(record.deliveries_of(first)) == 1
    later = [c for c in record.changes if c.detected_at > deleted_at]
    assert later, "the journey went on after the webhook was deleted"
    assert later[-1].status_code == "DE"
    for change in later:
        assert record.deliveries_of(change) == []


def test_start_without_a_track_webhook_is_refused(engine_server: Server) -> None:
    tenant = make_tenant(engine_server, sandbox=True)
    try:
        response = tenant.start("ups", sandbox_number("ups", SCENARIO["delivered"]))
        assert_error(response, 400, "invalid_status", error_type="business_rules")
    finally:
        tenant.client.close()


# --- freshness ------------------------------------------------------------------------------------


def _consistent(tenant: Tenant, number: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """GET /v1/tracking and the package's /v1/tracking/subscriptions entry, read with no check
    in between (the GET before and after the listing agree)."""

    def probe() -> tuple[dict[str, Any], dict[str, Any]] | None:
        before = get_tracking(tenant, "ups", number)
        (entry,) = [e for e in listed(tenant) if e["tracking_number"] == number]
        after = get_tracking(tenant, "ups", number)
        return (after, entry) if before == after else None

    return eventually(probe, "a moment without a check", every=0.02)


def _assert_listed_as(entry: dict[str, Any], body: dict[str, Any]) -> None:
    for name in ("status_code", "status_detail_code", *sorted(EXTENSION_FIELDS)):
        assert entry[name] == body[name], name
    assert entry["carrier_code"] == body["carrier_code"]
    assert number_of(entry["carrier_id"]) == body["carrier_id"]


def test_freshness_fields_follow_the_checks_and_the_listing_agrees(
    engine_server: Server, account: Tenant
) -> None:
    number = sandbox_number("ups", SCENARIO["delivered"])
    start_tracking(account, "ups", number)
    wait_for_tracking(
        account, "ups", number, lambda b: b["last_checked_at"] is not None, "the first check"
    )
    during, entry = _consistent(account, number)
    assert during["active"] is True, "the journey ended before it could be observed"
    assert during["next_check_at"] is not None
    assert parse_time(during["next_check_at"]) > parse_time(during["last_checked_at"])
    assert during["last_error"] is None
    assert during["stop_reason"] is None
    _assert_listed_as(entry, during)

    wait_until_stopped(account, "ups", number)
    after, entry = _consistent(account, number)
    assert after["next_check_at"] is None
    assert after["last_checked_at"] is not None
    # The last check is the one that saw the delivery.
    last = recorded(engine_server, account.account_id, "ups", number).changes[-1]
    assert last.status_code == "DE"
    assert abs(parse_time(after["last_checked_at"]) - last.detected_at) < timedelta(milliseconds=1)
    _assert_listed_as(entry, after)


# --- carrier trouble ------------------------------------------------------------------------------


def test_carrier_outage_keeps_the_status_and_shows_the_error_until_it_ends(
    engine_server: Server, account: Tenant
) -> None:
    scenario = SCENARIO["carrier_outage"]
    assert scenario.outage is not None
    number = sandbox_number("ups", scenario)
    neighbour = "1ZPLAINDELIVERY01"  # a plain delivery on the same connection
    start_tracking(account, "ups", number)
    start_tracking(account, "ups", neighbour)

    failing: list[dict[str, Any]] = []
    neighbour_failed = False

    def probe() -> dict[str, Any] | None:
        nonlocal neighbour_failed
        body = get_tracking(account, "ups", number)
        if body["last_error"] is not None:
            failing.append(body)
        if get_tracking(account, "ups", neighbour)["last_error"] is not None:
            neighbour_failed = True
        return body if body["active"] is False else None

    final = eventually(probe, "the delivery after the outage", every=0.05)
    record = recorded(engine_server, account.account_id, "ups", number)

    assert failing, "the outage was never visible in last_error"
    assert neighbour_failed, "the other package on the connection did not wait for the outage"
    assert {b["last_error"] for b in failing} == {failing[0]["last_error"]}
    assert "503" in failing[0]["last_error"]
    # Throughout the outage the package stays as it was before it: departed Austin (hour 5),
    # with no scan of the outage hours stored.
    assert {(b["status_code"], b["status_detail_code"]) for b in failing} == {
        ("IT", "HUB_SCAN_OUT")
    }
    assert {json.dumps(b["events"]) for b in failing} == {json.dumps(failing[0]["events"])}
    assert [e["event_code"] for e in failing[0]["events"]] == ["DEPART", "PICKUP", "LABEL"]
    assert_walk(collapse([c.status_code for c in record.changes]), scenario.status_walk())
    assert final["status_code"] == "DE"
    assert final["stop_reason"] == "delivered"
    assert final["last_error"] is None
    # The scans of the outage hours were caught up afterwards.
    assert len(final["events"]) == len(scenario.steps)
    assert wait_until_stopped(account, "ups", neighbour)["status_code"] == "DE"


def test_a_production_ups_outage_keeps_the_package_unknown_shows_why_and_backs_off(
    engine_server: Server,
) -> None:
    with production_account(engine_server, "production") as tenant:
        with serve(ups.app()) as fake:
            connect_carrier(
                tenant,
                "ups",
                client_id=ups.CLIENT_ID,
                client_secret=ups.CLIENT_SECRET,
                base_url=fake.url,
            )
            number = ups.UNAVAILABLE  # the fake UPS answers 503 "Resource is not available"
            asked_at = datetime.now(UTC)
            start_tracking(tenant, "ups", number)
            body = wait_for_tracking(
                tenant,
                "ups",
                number,
                lambda b: b["last_error"] is not None,
                "the first (failing) check",
            )
            # The engine did ask UPS, at the connection's base URL, with a token it fetched.
            asked = [r for r in fake.requests if r.path == f"/api/track/v1/details/{number}"]
            assert asked, fake.paths()
            assert asked[0].headers["Authorization"].startswith("Bearer ")
        assert "UPS" in body["last_error"] and "503" in body["last_error"], body["last_error"]
        assert (body["status_code"], body["status_detail_code"], body["events"]) == (
            "UN",
            None,
            [],
        )
        assert (body["active"], body["stop_reason"]) == (True, None)
        # The next check waits out the carrier back-off (SHIPTRACK_CARRIER_BACKOFF_MIN, 60 s by
        # default, less at most the schedule's 10 % jitter) instead of hammering a failing carrier.
        next_check = parse_time(body["next_check_at"])
        assert (next_check - asked_at).total_seconds() >= 60 * 0.9 - 1, body["next_check_at"]
        (entry,) = listed(tenant)
        assert entry["last_error"] == body["last_error"]
        assert entry["status_code"] == "UN"
        record = recorded(engine_server, tenant.account_id, "ups", number)
        assert record.subscription_id is not None
        assert record.changes == []
        assert record.deliveries == []


# --- start, stop, restart -------------------------------------------------------------------------


def test_restarting_a_delivered_package_notifies_its_current_state_once(
    engine_server: Server, account: Tenant
) -> None:
    account.add_track_webhook("https://example.invalid/hooks/second")
    number = sandbox_number("ups", SCENARIO["delivered"])
    start_tracking(account, "ups", number)
    delivered = wait_until_stopped(account, "ups", number)
    before = recorded(engine_server, account.account_id, "ups", number)
    assert delivered["stop_reason"] == "delivered"

    start_tracking(account, "ups", number)
    again = wait_until_stopped(account, "ups", number)
    after = recorded(engine_server, account.account_id, "ups", number)

    assert len(after.changes) == len(before.changes) + 1
    restart = after.changes[-1]
    assert (restart.sequence, restart.previous_status, restart.status_code) == (
        len(before.changes) + 1,
        "DE",
        "DE",
    )
    assert restart.correction is False
    rows = after.deliveries_of(restart)
    assert len(rows) == 2
    assert len(after.deliveries) == len(before.deliveries) + 2
    data = payload_of(rows[0])["data"]
    assert data["status_code"] == "DE"
    assert payload_of(rows[0])["previous_status"] == "DE"
    assert again["stop_reason"] == "delivered"
    assert again["events"] == delivered["events"]


def test_one_number_tracked_by_two_accounts_is_recorded_for_each(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    first = journeys["ups-failed_attempt"]
    second = journeys["ups-failed_attempt-second-account"]
    assert first.number == second.number
    first.finished()
    second.finished()
    mine, theirs = first.recorded(engine_server), second.recorded(engine_server)

    assert mine.subscription_id != theirs.subscription_id
    walk = first.expected_walk()
    assert_walk(collapse([c.status_code for c in mine.changes]), walk)
    assert_walk(collapse([c.status_code for c in theirs.changes]), walk)
    for record, journey in ((mine, first), (theirs, second)):
        assert {row.webhook_id for row in record.deliveries} == set(journey.webhook_ids)
        assert {row.status_change_id for row in record.deliveries} == {c.id for c in record.changes}
    assert not set(first.webhook_ids) & set(second.webhook_ids)


def test_stop_by_the_user_mid_journey_records_nothing_more(
    engine_server: Server, account: Tenant
) -> None:
    scenario = SCENARIO["delivered"]
    number = sandbox_number("ups", scenario)
    begun = time.monotonic()
    start_tracking(account, "ups", number)
    wait_for_tracking(
        account,
        "ups",
        number,
        lambda b: b["status_code"] == "IT",
        "the package to be in transit",
        every=0.05,
    )
    response = account.client.post(
        "/v1/tracking/stop", params={"carrier_code": "ups", "tracking_number": number}
    )
    assert response.status_code == 204, response.text
    stopped_at = datetime.now(UTC)
    # Let the journey run past its delivery.
    delivery = max(step.hours for step in scenario.steps)
    time.sleep(max(0.0, begun + journey_seconds(delivery) + 1.0 - time.monotonic()))

    body = get_tracking(account, "ups", number)
    record = recorded(engine_server, account.account_id, "ups", number)
    assert [c for c in record.changes if c.detected_at > stopped_at] == []
    assert body["active"] is False
    assert body["stop_reason"] == "stopped_by_user"
    assert body["next_check_at"] is None
    assert body["status_code"] == record.changes[-1].status_code != "DE"


# --- live lookups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["failed_attempt", "delivered"])
def test_live_lookup_of_a_never_started_number_answers_the_whole_journey(
    engine_server: Server, scenario: str
) -> None:
    tenant = make_tenant(engine_server, sandbox=True)
    try:
        steps = SCENARIO[scenario].steps
        # Any number that is no scenario's walks the plain delivery.
        number = (
            sandbox_number("ups", SCENARIO[scenario]) if scenario != "delivered" else "1ZLIVE01"
        )

        body = get_tracking(tenant, "ups", number)

        assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
        codes = [e["event_code"] for e in body["events"]]
        assert codes == [s.code for s in sorted(steps, key=lambda s: s.hours, reverse=True)]
        assert body["active"] is False
        assert body["stop_reason"] is None
        assert body["next_check_at"] is None
        assert body["actual_delivery_date"] is not None
        assert listed(tenant) == []
        assert recorded(engine_server, tenant.account_id, "ups", number).subscription_id is None
        response = tenant.client.post(
            "/v1/tracking/stop", params={"carrier_code": "ups", "tracking_number": number}
        )
        assert_error(response, 404, "invalid_identifier", field_name="tracking_number")
    finally:
        tenant.client.close()


def test_live_lookup_of_a_number_the_carrier_does_not_know_is_not_yet_found(
    engine_server: Server,
) -> None:
    tenant = make_tenant(engine_server, sandbox=True)
    try:
        body = get_tracking(tenant, "fedex", sandbox_number("fedex", SCENARIO["never_found"]))
        assert (body["status_code"], body["events"], body["active"]) == ("NY", [], False)
        assert listed(tenant) == []
    finally:
        tenant.client.close()


# --- a separate worker process --------------------------------------------------------------------


@pytest.mark.slow
def test_separate_worker_process_checks_packages_and_stops_on_sigterm(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = engine_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_PUBLIC_BASE_URL="https://track.example.com",
    )
    api = start_server(env, tmp_path / "api.log")
    tenant = make_tenant(api, sandbox=True)
    worker: subprocess.Popen[bytes] | None = None
    try:
        tenant.add_track_webhook()
        scenario = SCENARIO["delivered"]
        number = sandbox_number("ups", scenario)
        begun = time.monotonic()
        start_tracking(tenant, "ups", number)
        # Let the whole journey pass with nobody checking.
        delivery = max(step.hours for step in scenario.steps)
        time.sleep(max(0.0, begun + journey_seconds(delivery) + 0.5 - time.monotonic()))
        unchecked = get_tracking(tenant, "ups", number)
        assert (unchecked["status_code"], unchecked["events"]) == ("UN", [])
        assert unchecked["last_checked_at"] is None
        assert unchecked["active"] is True
        assert recorded(api, tenant.account_id, "ups", number).changes == []

        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "shiptrack", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        body = wait_until_stopped(tenant, "ups", number)
        record = recorded(api, tenant.account_id, "ups", number)

        # Checked for the first time after delivery: one change, straight to DE.
        assert (body["status_code"], body["stop_reason"]) == ("DE", "delivered")
        assert body["last_checked_at"] is not None
        assert len(body["events"]) == len(scenario.steps)
        assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", "DE")]
        (row,) = record.deliveries
        assert payload_of(row)["resource_url"] == (
            f"https://track.example.com/v1/tracking?carrier_code=ups&tracking_number={number}"
        )

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        tenant.client.close()
        api.stop()
