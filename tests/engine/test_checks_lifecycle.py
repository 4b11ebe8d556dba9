"""A package's tracking from start to stop through the in-process engine
(``tests/engine/conftest.py``), as its account sees it.

Covers the freshness fields of ``GET /v1/tracking`` during and after a journey and the
subscription listing that agrees with them; restarting a delivered package (its current state
notified once more, to every ``track`` webhook); a stop by the user mid-journey (nothing recorded
after it); a webhook deleted before a change (no notification for it); and the listing filtered
by the status packages ended in.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from shiptrack.carriers.scenarios import sandbox_number
from shiptrack.domain.ids import format_id
from shiptrack.domain.timefmt import utcnow
from tests.engine.checks_support import EXTENSION_FIELDS, SCENARIO, parse_time, payload_of
from tests.engine.conftest import Engine

#: The official ShipEngine OpenAPI extract kept in the repository.
SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"
DELIVERED = sandbox_number("ups", SCENARIO["delivered"])


def assert_listed_as(entry: dict[str, Any], body: dict[str, Any]) -> None:
    """The listing entry tells what GET /v1/tracking tells."""
    for name in ("status_code", "status_detail_code", *sorted(EXTENSION_FIELDS)):
        assert entry[name] == body[name], name
    assert entry["carrier_code"] == body["carrier_code"]
    assert entry["carrier_id"] == format_id(body["carrier_id"])


async def test_freshness_fields_follow_the_checks_and_the_listing_agrees(engine: Engine) -> None:
    shipper = await engine.shipper()
    await engine.start(shipper.account, "ups", DELIVERED)
    await engine.check_at(0)

    during = await engine.tracking(shipper.account, "ups", DELIVERED)
    (entry,) = await engine.listing(shipper.account)
    assert during["active"] is True
    assert during["last_checked_at"] is not None
    assert during["next_check_at"] is not None
    assert parse_time(during["next_check_at"]) > parse_time(during["last_checked_at"])
    assert during["last_error"] is None
    assert during["stop_reason"] is None
    assert_listed_as(entry, during)

    await engine.follow(since=1)
    after = await engine.tracking(shipper.account, "ups", DELIVERED)
    (entry,) = await engine.listing(shipper.account)
    assert after["next_check_at"] is None
    assert after["last_checked_at"] is not None
    # The last check is the one that saw the delivery.
    last = (await engine.recorded(shipper.account, "ups", DELIVERED)).changes[-1]
    assert last.status_code == "DE"
    assert abs(parse_time(after["last_checked_at"]) - last.detected_at) < timedelta(milliseconds=1)
    assert_listed_as(entry, after)


async def test_restarting_a_delivered_package_notifies_its_current_state_once(
    engine: Engine,
) -> None:
    shipper = await engine.shipper(webhooks=2)
    await engine.start(shipper.account, "ups", DELIVERED)
    ended = await engine.follow()
    delivered = await engine.tracking(shipper.account, "ups", DELIVERED)
    before = await engine.recorded(shipper.account, "ups", DELIVERED)
    assert delivered["stop_reason"] == "delivered"

    await engine.start(shipper.account, "ups", DELIVERED)
    await engine.follow(since=ended + 1)
    again = await engine.tracking(shipper.account, "ups", DELIVERED)
    after = await engine.recorded(shipper.account, "ups", DELIVERED)

    assert len(after.changes) == len(before.changes) + 1
    restart = after.changes[-1]
    assert (restart.sequence, restart.previous_status, restart.status_code) == (
        len(before.changes) + 1,
        "DE",
        "DE",
    )
    assert restart.correction is False
    rows = after.deliveries_of(restart)
    assert sorted(row.webhook_id for row in rows) == sorted(shipper.webhook_ids)
    assert len(after.deliveries) == len(before.deliveries) + 2
    payload = payload_of(rows[0])
    assert payload["data"]["status_code"] == "DE"
    assert payload["previous_status"] == "DE"
    assert again["stop_reason"] == "delivered"
    assert again["events"] == delivered["events"]


async def test_stop_by_the_user_mid_journey_records_nothing_more(engine: Engine) -> None:
    shipper = await engine.shipper()
    await engine.start(shipper.account, "ups", DELIVERED)
    await engine.check_at(0)
    await engine.check_at(6)  # departed Austin at hour 5
    assert (await engine.tracking(shipper.account, "ups", DELIVERED))["status_code"] == "IT"

    await engine.stop(shipper.account, "ups", DELIVERED)
    stopped_at = utcnow()
    # The journey runs past its delivery; the poller finds nothing of this package to check.
    delivery = max(step.hours for step in SCENARIO["delivered"].steps)
    assert await engine.check_at(delivery + 10) == 0

    body = await engine.tracking(shipper.account, "ups", DELIVERED)
    record = await engine.recorded(shipper.account, "ups", DELIVERED)
    assert [c for c in record.changes if c.detected_at > stopped_at] == []
    assert body["active"] is False
    assert body["stop_reason"] == "stopped_by_user"
    assert body["next_check_at"] is None
    assert body["status_code"] == record.changes[-1].status_code != "DE"
    assert len(body["events"]) == 3  # label, pickup, departure: nothing after the stop


async def test_webhook_deleted_before_a_change_gets_no_notification_for_it(
    engine: Engine,
) -> None:
    shipper = await engine.shipper()
    (webhook_id,) = shipper.webhook_ids
    await engine.start(shipper.account, "ups", DELIVERED)
    await engine.check_at(0)

    await engine.parts.webhooks.delete(shipper.account, format_id(webhook_id))
    deleted_at = utcnow()
    await engine.follow(since=1)
    record = await engine.recorded(shipper.account, "ups", DELIVERED)

    first = record.changes[0]
    assert len(record.deliveries_of(first)) == 1
    later = [c for c in record.changes if c.detected_at > deleted_at]
    assert later, "the journey went on after the webhook was deleted"
    assert later[-1].status_code == "DE"
    for change in later:
        assert record.deliveries_of(change) == []


def official_status_codes() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return set(spec["components"]["schemas"]["status_code"]["enum"])


async def test_status_code_filter_lists_packages_by_their_current_status(engine: Engine) -> None:
    # Sandbox journeys: a delivery, an exception (tracking stops at it), a number never found
    # (it expires: UN), and a parcel left at a pickup point and collected (DE at last).
    shipper = await engine.shipper()
    account = shipper.account
    ends = {
        ("ups", "1ZSANDBOX0000001"): "DE",
        ("fedex", "799900000004"): "EX",
        ("dhl_express", "9990000007"): "UN",
        ("usps", "9400100000000000000006"): "DE",
    }
    for carrier_code, number in ends:
        if ends[(carrier_code, number)] == "UN":
            # Started a journey month ago: expired at its first check.
            await engine.start_earlier(account, carrier_code, number, hours_ago=31 * 24)
        else:
            await engine.start(account, carrier_code, number)
    await engine.follow()
    assert await engine.listing(account, active=True) == []

    def numbers(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(e["carrier_code"], e["tracking_number"]) for e in entries]

    by_status = {
        code: numbers(await engine.listing(account, status_code=code))
        for code in official_status_codes()
    }
    assert by_status["DE"] == [("ups", "1ZSANDBOX0000001"), ("usps", "9400100000000000000006")]
    assert by_status["EX"] == [("fedex", "799900000004")]
    assert by_status["UN"] == [("dhl_express", "9990000007")]
    for code in official_status_codes() - {"DE", "EX", "UN"}:
        assert by_status[code] == [], code
    assert numbers(await engine.listing(account, status_code="DE", carrier_code="usps")) == [
        ("usps", "9400100000000000000006")
    ]
    # Each entry's status is the package's, as GET /v1/tracking reports it.
    for entry in await engine.listing(account):
        key = (entry["carrier_code"], entry["tracking_number"])
        assert entry["status_code"] == ends[key]
        body = await engine.tracking(account, *key)
        assert_listed_as(entry, body)
        assert entry["last_checked_at"] is not None


async def test_at_debug_each_round_logs_what_it_claimed(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="shiptrack.engine")
    shipper = await engine.shipper()
    for number in (DELIVERED, sandbox_number("ups", SCENARIO["out_for_delivery"])):
        await engine.start(shipper.account, "ups", number)
    checked = await engine.check_at(0)
    claims = [r for r in caplog.records if r.getMessage().startswith("claimed ")]
    assert checked == 2
    assert [r.getMessage().split(",")[0] for r in claims] == ["claimed 2 due packages"]
    assert claims[0].levelno == logging.DEBUG
