"""Every sandbox journey through the in-process engine (``tests/engine/conftest.py``): the poller's
rounds at the journey hours the engine schedules, on the in-memory store.

Covers every sandbox scenario (and a few on other carrier codes): the recorded status walk, the
gapless ``sequence`` and chained ``previous_status`` of the changes, the stop rules (delivered,
exception, expired, exceptions watched by an account that asked for it), events listed once and
most recent first (duplicated and out-of-order scans), unmapped scans, never-found numbers; one
outbox row per change per ``track`` webhook with the payload ShipEngine sends plus shiptrack's
fields (the same bytes for every webhook, Stamps.com packages named as USPS ones); one number
tracked by two accounts. The carrier outage has its own test (``test_checks_lifecycle.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shiptrack.carriers.scenarios import SCENARIOS
from tests.engine.checks_support import (
    Plan,
    assert_events_listed,
    assert_notified,
    assert_walked,
    parse_time,
    payload_of,
)
from tests.engine.conftest import Engine, Recorded, Shipper

#: Journey hours after which a number never found expires (30 days, the default).
EXPIRY_HOURS = 30 * 24

PLANS: dict[str, Plan] = {
    **{
        f"ups-{scenario.name}": Plan("ups", scenario.name)
        for scenario in SCENARIOS
        # The outage needs the engine's real clock to pass its back-off: test_checks_lifecycle.
        if scenario.outage is None
    },
    "ups-exception_recovered-watching": Plan("ups", "exception_recovered", watch_exceptions=True),
    "fedex-failed_attempt": Plan("fedex", "failed_attempt"),
    "dhl_express-pickup_point": Plan("dhl_express", "pickup_point"),
    "stamps_com-exception_returned": Plan("stamps_com", "exception_returned"),
    "usps-late_first_scan": Plan("usps", "late_first_scan"),
    "ups-delivered-two-webhooks": Plan("ups", "delivered", webhooks=2),
}


@dataclass(frozen=True)
class Journey:
    """A journey run to its end: the plan, the account, what GET /v1/tracking shows, and what
    the engine recorded."""

    plan: Plan
    shipper: Shipper
    body: dict[str, Any]
    record: Recorded


async def start(engine: Engine, plan: Plan, name: str = "shipper") -> Shipper:
    """A fresh account for the plan, tracking its number. A number never found is started a
    journey month ago, so that its first check is also the last one (the engine's own clock, not
    the test's, says how old a package is)."""
    shipper = await engine.shipper(
        name,
        webhooks=plan.webhooks,
        exception_watch_days=7 if plan.watch_exceptions else None,
    )
    if plan.scenario.never_found:
        await engine.start_earlier(
            shipper.account, plan.carrier_code, plan.number, hours_ago=EXPIRY_HOURS + 1
        )
    else:
        await engine.start(shipper.account, plan.carrier_code, plan.number)
    return shipper


async def run(engine: Engine, plan: Plan) -> Journey:
    """Run ``plan`` until tracking stops by itself."""
    shipper = await start(engine, plan)
    await engine.follow()
    body = await engine.tracking(shipper.account, plan.carrier_code, plan.number)
    record = await engine.recorded(shipper.account, plan.carrier_code, plan.number)
    return Journey(plan, shipper, body, record)


# --- every journey ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(PLANS))
async def test_recorded_changes_walk_the_scenario_and_stop_by_the_rules(
    engine: Engine, key: str
) -> None:
    journey = await run(engine, PLANS[key])

    assert_walked(journey.plan, journey.body, journey.record.changes, from_start=True)


@pytest.mark.parametrize("key", list(PLANS))
async def test_events_are_stored_once_and_listed_most_recent_first(
    engine: Engine, key: str
) -> None:
    journey = await run(engine, PLANS[key])

    assert_events_listed(journey.plan, journey.body["events"])


@pytest.mark.parametrize("key", list(PLANS))
async def test_every_change_queues_one_notification_per_track_webhook(
    engine: Engine, key: str
) -> None:
    journey = await run(engine, PLANS[key])

    assert_notified(
        journey.plan,
        journey.body,
        journey.record.changes,
        journey.record.deliveries,
        journey.shipper.webhook_ids,
    )


# --- what particular journeys show --------------------------------------------------------------


async def test_exception_recovered_is_followed_to_delivery_only_when_watching_exceptions(
    engine: Engine,
) -> None:
    default = await run(engine, PLANS["ups-exception_recovered"])
    watching = await run(engine, PLANS["ups-exception_recovered-watching"])

    assert (default.body["status_code"], default.body["stop_reason"]) == ("EX", "exception")
    assert default.body["exception_description"] == "Held at the hub, operational issue"
    assert (watching.body["status_code"], watching.body["stop_reason"]) == ("DE", "delivered")
    assert watching.body["exception_description"] is None
    assert watching.body["events"][0]["signer"] == "MAILROOM"


async def test_duplicated_and_scrambled_scans_are_stored_once_and_never_move_the_status_back(
    engine: Engine,
) -> None:
    journey = await run(engine, PLANS["ups-duplicates_out_of_order"])
    events = journey.body["events"]
    changes = journey.record.changes

    identical = [json.dumps(e, sort_keys=True) for e in events]
    assert len(set(identical)) == len(identical)
    assert len(events) == len(journey.plan.scenario.steps)
    # The Memphis arrival reported ten hours late is older than what was known: stored, but it
    # is no status change (it would have been IT/HUB_SCAN_IN after IT/HUB_SCAN_OUT).
    (late,) = [e for e in events if e["event_code"] == "ARRIVE"]
    assert all(c.occurred_at != parse_time(late["occurred_at"]) for c in changes)
    assert ("IT", "HUB_SCAN_IN") not in [(c.status_code, c.status_detail_code) for c in changes]
    times = [c.occurred_at for c in changes if c.occurred_at is not None]
    assert times == sorted(times)
    # The scan without a UTC offset keeps the carrier's wall time only.
    (newark,) = [e for e in events if e["city_locality"] == "NEWARK"]
    assert newark["occurred_at"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", newark["carrier_occurred_at"])


async def test_unmapped_scan_is_kept_with_its_raw_code_and_does_not_change_the_status(
    engine: Engine,
) -> None:
    journey = await run(engine, PLANS["ups-unmapped_scan"])
    events = journey.body["events"]
    changes = journey.record.changes

    (unmapped,) = [e for e in events if e["carrier_status_code"] == "ZX9"]
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
    assert journey.body["carrier_status_code"] == "DELIVERED"


async def test_a_number_not_found_yet_is_watched_until_it_expires(engine: Engine) -> None:
    plan = PLANS["ups-never_found"]
    # Started now: not in the carrier's system yet, and watched on.
    fresh = await engine.shipper("fresh")
    await engine.start(fresh.account, "ups", plan.number)
    await engine.check_at(0)
    waiting = await engine.tracking(fresh.account, "ups", plan.number)
    recorded = await engine.recorded(fresh.account, "ups", plan.number)

    assert (waiting["status_code"], waiting["status_detail_code"]) == ("NY", None)
    assert (waiting["active"], waiting["stop_reason"]) == (True, None)
    assert waiting["next_check_at"] is not None
    assert [(c.previous_status, c.status_code) for c in recorded.changes] == [("UN", "NY")]
    await engine.stop(fresh.account, "ups", plan.number)

    # Started a month ago: it expires, with one last change.
    journey = await run(engine, plan)
    changes = journey.record.changes
    assert [(c.previous_status, c.status_code, c.status_detail_code) for c in changes] == [
        ("UN", "NY", None),
        ("NY", "UN", "TRACKING_EXPIRED"),
    ]
    assert (journey.body["status_code"], journey.body["status_detail_code"]) == (
        "UN",
        "TRACKING_EXPIRED",
    )
    assert journey.body["stop_reason"] == "expired"
    assert journey.body["events"] == []
    assert len(journey.record.deliveries) == 2


async def test_two_webhooks_get_the_same_payload_bytes_under_distinct_message_ids(
    engine: Engine,
) -> None:
    journey = await run(engine, PLANS["ups-delivered-two-webhooks"])
    record = journey.record

    assert len(journey.shipper.webhook_ids) == 2
    message_ids = [row.message_id for row in record.deliveries]
    assert len(set(message_ids)) == len(message_ids)
    for change in record.changes:
        first, second = record.deliveries_of(change)
        assert first.payload == second.payload
        assert first.webhook_id != second.webhook_id


async def test_stamps_com_notifications_name_the_package_as_usps(engine: Engine) -> None:
    journey = await run(engine, PLANS["stamps_com-exception_returned"])

    assert journey.record.deliveries
    for row in journey.record.deliveries:
        query = parse_qs(urlsplit(payload_of(row)["resource_url"]).query)
        assert query == {"carrier_code": ["usps"], "tracking_number": [journey.plan.number]}
    # And GET /v1/tracking finds it under either code.
    by_usps = await engine.tracking(journey.shipper.account, "usps", journey.plan.number)
    assert by_usps == journey.body


async def test_one_number_tracked_by_two_accounts_is_recorded_for_each(engine: Engine) -> None:
    plan = Plan("ups", "failed_attempt")
    first = await start(engine, plan, "first")
    second = await start(engine, plan, "second")
    await engine.follow()
    mine = await engine.recorded(first.account, "ups", plan.number)
    theirs = await engine.recorded(second.account, "ups", plan.number)

    assert mine.changes and theirs.changes
    assert {c.subscription_id for c in mine.changes} != {c.subscription_id for c in theirs.changes}
    for shipper, record in ((first, mine), (second, theirs)):
        body = await engine.tracking(shipper.account, "ups", plan.number)
        assert_walked(plan, body, record.changes, from_start=True)
        assert {row.webhook_id for row in record.deliveries} == set(shipper.webhook_ids)
        assert {row.status_change_id for row in record.deliveries} == {c.id for c in record.changes}
    assert not set(first.webhook_ids) & set(second.webhook_ids)
