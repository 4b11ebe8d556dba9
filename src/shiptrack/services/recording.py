"""Recording what a carrier said about packages: new events, each package's new state and next
check, its status changes, and one outbox row per ``track`` webhook of the account for each change
(the transactional outbox), in the caller's transaction.

Used by the poller's rounds (``services.checks``) and by carrier pushes (``services.push``). Only
packages still held under the caller's lease are written (``store.polling.owned``), so a result
recorded a second time, or after the account stopped the package, changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.carriers.base import Result
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.changes import (
    NOT_FOUND,
    Change,
    Known,
    Observation,
    event_moment,
    expiry,
    newest_first,
    newest_scan_moment,
    observe,
)
from shiptrack.domain.ids import format_id
from shiptrack.domain.schedule import stop_reason
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.tracking import Subscription, TrackEvent, tracking_information
from shiptrack.services import Services
from shiptrack.store import histories, polling
from shiptrack.store.polling import Claimed, ConnectionState
from shiptrack.webhooks.payload import track_payload

log = logging.getLogger("shiptrack.engine")


async def record_results(
    services: Services,
    conn: AsyncConnection,
    state: ConnectionState,
    chunk: Sequence[Claimed],
    results: dict[str, Result],
    speed: float,
) -> None:
    """Record what the carrier said about ``chunk`` (polled, or pushed) in the open transaction:
    new events, each package's new state and schedule, its status changes and their outbox rows.
    A handful of statements per chunk, whatever its size."""
    policy = services.settings.schedule
    watch = (
        timedelta(days=state.exception_watch_days)
        if state.exception_watch_days is not None
        else None
    )
    held = await polling.owned(conn, chunk)
    # Taken once the transaction holds its locks: detected_at is when it was recorded.
    now = utcnow()
    stored = await histories.load(
        conn, [item.subscription.id for item in chunk if item.subscription.id in held]
    )
    updates: list[dict[str, Any]] = []
    grown: dict[int, list[histories.StoredEvent]] = {}
    changed: list[tuple[Subscription, list[Change]]] = []
    for item in chunk:
        subscription = item.subscription
        if subscription.id not in held:
            continue  # stopped by the account, or taken over after our lease ran out
        history = stored[subscription.id]
        before = Known(
            status_code=subscription.status_code,
            status_detail_code=subscription.status_detail_code,
            sequence=subscription.sequence,
            settled=item.settled,
            newest_event_at=newest_scan_moment(event for _, event in history),
            identities=frozenset(identity for identity, _ in history),
        )
        observation = observe(before, results.get(subscription.tracking_number, NOT_FOUND))
        changes = list(observation.changes)
        age = now - item.created_at
        stop = None
        if policy.expired(observation.status_code, age=age, speed=speed):
            changes.append(expiry(replace(before, sequence=before.sequence + len(changes))))
            stop = "expired"
        final = changes[-1] if changes else None
        status_code = final.status_code if final else observation.status_code
        detail = final.status_detail_code if final else observation.status_detail_code
        status_since = now if final else item.status_since
        stop = stop or stop_reason(
            status_code, status_since=status_since, now=now, exception_watch=watch
        )
        values = _subscription_values(subscription, observation, status_code, detail)
        values.update(
            sequence=final.sequence if final else subscription.sequence,
            status_since=status_since,
            last_checked_at=now,
            last_error=None,
            announce=False,
            updated_at=now,
            active=stop is None,
            stop_reason=stop,
            stopped_at=now if stop else None,
            next_check_at=None
            if stop
            else policy.next_check(
                status_code,
                detail,
                now=now,
                age=age,
                estimated_delivery=_end_of_estimate(values["estimated_delivery_date"]),
                speed=speed,
            ),
        )
        updates.append({"id": subscription.id, **values})
        if observation.new_events:
            grown[subscription.id] = [*history, *observation.new_events]
        if changes:
            changed.append((replace(subscription, **_domain_fields(values)), changes))
    await polling.update_checked(conn, updates)
    await histories.save(conn, grown)
    if changed:
        events = {s.id: [event for _, event in grown.get(s.id, stored[s.id])] for s, _ in changed}
        await _record_changes(services, conn, state.account_id, changed, events, now)
    if state.failures:
        await polling.record_carrier_success(conn, state.id)
    log.debug("recorded %d packages on connection %s", len(updates), state.id)


def _subscription_values(
    subscription: Subscription, observation: Observation, status_code: str, detail: str | None
) -> dict[str, Any]:
    event = observation.defining_event
    return {
        "status_code": status_code,
        "status_detail_code": detail,
        "carrier_status_code": event.carrier_status_code
        if event
        else subscription.carrier_status_code,
        "carrier_detail_code": event.carrier_detail_code
        if event
        else subscription.carrier_detail_code,
        "carrier_status_description": (
            event.carrier_status_description if event else subscription.carrier_status_description
        ),
        "exception_description": (
            (event.description if event else subscription.exception_description)
            if status_code == "EX"
            else None
        ),
        "ship_date": observation.ship_date or subscription.ship_date,
        "estimated_delivery_date": (
            observation.estimated_delivery_date or subscription.estimated_delivery_date
        ),
        "actual_delivery_date": observation.actual_delivery_date
        or subscription.actual_delivery_date,
    }


_DOMAIN_FIELDS = frozenset(Subscription.__dataclass_fields__)


def _domain_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in _DOMAIN_FIELDS and k != "next_check_at"}


async def _record_changes(
    services: Services,
    conn: AsyncConnection,
    account_id: int,
    changed: list[tuple[Subscription, list[Change]]],
    events: dict[int, list[TrackEvent]],
    now: datetime,
) -> None:
    """Status changes, and one outbox row per change and ``track`` webhook, each carrying the
    package as it was at that change (``events``: each changed package's stored scans)."""
    rows = [
        {
            "subscription_id": subscription.id,
            "sequence": change.sequence,
            "previous_status": change.previous_status,
            "status_code": change.status_code,
            "status_detail_code": change.status_detail_code,
            "occurred_at": change.occurred_at,
            "detected_at": now,
            "correction": change.correction,
        }
        for subscription, changes in changed
        for change in changes
    ]
    change_ids = iter(await polling.insert_status_changes(conn, rows))
    webhook_ids = (await polling.track_webhook_ids(conn, [account_id])).get(account_id, [])
    if not webhook_ids:
        return
    deliveries: list[dict[str, Any]] = []
    for subscription, changes in changed:
        kind = CARRIERS[subscription.carrier_code]
        for index, change in enumerate(changes):
            change_id = next(change_ids)
            latest = index == len(changes) - 1
            snapshot = subscription if latest else _as_of(subscription, change)
            history = events[subscription.id]
            visible = history if latest else _events_until(history, change.event)
            payload = track_payload(
                base_url=services.settings.public_base_url,
                tracking_information=tracking_information(
                    snapshot,
                    newest_first(visible),
                    tracking_url=kind.tracking_url(subscription.tracking_number),
                ),
                event_id=format_id(change_id),
                sequence=change.sequence,
                previous_status=change.previous_status,
                correction=change.correction,
                detected_at=now,
            )
            deliveries.extend(
                {
                    "webhook_id": webhook_id,
                    "status_change_id": change_id,
                    "subscription_id": subscription.id,
                    "sequence": change.sequence,
                    "message_id": f"msg_{change_id}_{webhook_id}",
                    "payload": payload,
                    "state": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for webhook_id in webhook_ids
            )
    await polling.insert_deliveries(conn, deliveries)
    services.deliveries_due.set()


def _as_of(subscription: Subscription, change: Change) -> Subscription:
    """The package as it was at an intermediate change of one check."""
    event = change.event
    return replace(
        subscription,
        status_code=change.status_code,
        status_detail_code=change.status_detail_code,
        carrier_status_code=event.carrier_status_code if event else None,
        carrier_detail_code=event.carrier_detail_code if event else None,
        carrier_status_description=event.carrier_status_description if event else None,
        exception_description=(event.description if event and change.status_code == "EX" else None),
        actual_delivery_date=None,
    )


def _events_until(events: list[TrackEvent], last: TrackEvent | None) -> list[TrackEvent]:
    if last is None:
        return events
    moment = event_moment(last)
    if moment is None:
        return events
    return [e for e in events if (m := event_moment(e)) is None or m <= moment]


def _end_of_estimate(value: str | None) -> datetime | None:
    """When an estimated delivery counts as missed. A carrier's date without a time or offset
    (``2026-04-30T00:00:00``) means "that day": it is missed only once the day is over."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    if parsed.time() == datetime.min.time():
        parsed += timedelta(days=1)
    return parsed.replace(tzinfo=UTC)
