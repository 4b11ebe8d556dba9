"""Recording what a carrier said about packages: new events, each package's new state and next
check, its status changes, and one outbox row per ``track`` webhook of the account for each change
(the transactional outbox), in the caller's transaction.

Used by the poller's rounds (``engine.checks``) and by carrier pushes (``engine.push``). Only
packages still held under the caller's lease are written (``Packages.owned``), so a result
recorded a second time, or after the account stopped the package, changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from shiptrack.carriers.base import Result
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.changes import NOT_FOUND
from shiptrack.domain.check import (
    CheckPolicy,
    ClaimedPackage,
    ConnectionState,
    Notice,
    StatusChangeRecord,
    decide,
)
from shiptrack.domain.delivery import OutboxEntry
from shiptrack.domain.ids import format_id
from shiptrack.domain.schedule import SchedulePolicy
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.tracking import tracking_information
from shiptrack.store.port import Transaction
from shiptrack.webhooks.payload import track_payload

log = logging.getLogger("shiptrack.engine")


class Recorder:
    """Records carrier answers; sets ``deliveries_due`` when it queued notifications."""

    def __init__(
        self, schedule: SchedulePolicy, *, public_base_url: str, deliveries_due: asyncio.Event
    ) -> None:
        self.schedule = schedule
        self.public_base_url = public_base_url
        self.deliveries_due = deliveries_due

    async def record(
        self,
        tx: Transaction,
        state: ConnectionState,
        chunk: Sequence[ClaimedPackage],
        results: dict[str, Result],
        speed: float,
    ) -> list[str]:
        """Record what the carrier said about ``chunk`` (polled, or pushed) in the open
        transaction: new events, each package's new state and schedule, its status changes and
        their outbox rows. A handful of statements per chunk, whatever its size.

        Returns the status code of each change recorded, for the caller to count once the
        transaction has committed (a write tried again must not count twice)."""
        queued, changed = await record_results(
            tx,
            state,
            chunk,
            results,
            policy=CheckPolicy.of(self.schedule, state, speed),
            public_base_url=self.public_base_url,
        )
        if queued:
            self.deliveries_due.set()
        return changed


async def record_results(
    tx: Transaction,
    state: ConnectionState,
    chunk: Sequence[ClaimedPackage],
    results: dict[str, Result],
    *,
    policy: CheckPolicy,
    public_base_url: str,
) -> tuple[bool, list[str]]:
    """See :meth:`Recorder.record`; whether webhook deliveries were queued, and the status code
    of each change."""
    held = await tx.packages.owned(chunk)
    # Stopped by the account, or taken over after our lease ran out: not ours to record.
    mine = [item for item in chunk if item.subscription.id in held]
    # Taken once the transaction holds its locks: detected_at is when it was recorded.
    now = utcnow()
    stored = await tx.packages.histories([item.subscription.id for item in mine])
    outcomes = [
        decide(
            item,
            stored[item.subscription.id],
            results.get(item.subscription.tracking_number, NOT_FOUND),
            policy,
            now,
        )
        for item in mine
    ]
    await tx.packages.record_checks(
        [outcome.package for outcome in outcomes],
        {
            outcome.package.subscription_id: outcome.history
            for outcome in outcomes
            if outcome.history is not None
        },
    )
    notices = [notice for outcome in outcomes for notice in outcome.notices]
    queued = bool(notices) and await _record_changes(
        tx, state.account_id, notices, now, public_base_url
    )
    if state.success_to_note(now):
        await tx.connections.record_success(state.id, now=now)
    log.debug("recorded %d packages on connection %s", len(outcomes), state.id)
    return queued, [notice.change.status_code for notice in notices]


async def _record_changes(
    tx: Transaction,
    account_id: int,
    notices: list[Notice],
    now: datetime,
    public_base_url: str,
) -> bool:
    """Status changes, and one outbox row per change and ``track`` webhook, each carrying the
    package as it was at that change."""
    change_ids = await tx.outbox.add_changes(
        [
            StatusChangeRecord(
                subscription_id=notice.package.id,
                sequence=notice.change.sequence,
                previous_status=notice.change.previous_status,
                status_code=notice.change.status_code,
                status_detail_code=notice.change.status_detail_code,
                occurred_at=notice.change.occurred_at,
                detected_at=now,
                correction=notice.change.correction,
            )
            for notice in notices
        ]
    )
    webhook_ids = (await tx.webhooks.track_webhook_ids([account_id])).get(account_id, [])
    if not webhook_ids:
        return False
    entries: list[OutboxEntry] = []
    for notice, change_id in zip(notices, change_ids, strict=True):
        package, change = notice.package, notice.change
        payload = track_payload(
            base_url=public_base_url,
            tracking_information=tracking_information(
                package,
                list(notice.events),
                tracking_url=CARRIERS[package.carrier_code].tracking_url(package.tracking_number),
                public_base_url=public_base_url,
            ),
            event_id=format_id(change_id),
            sequence=change.sequence,
            previous_status=change.previous_status,
            correction=change.correction,
            detected_at=now,
        )
        entries.extend(
            OutboxEntry(
                webhook_id=webhook_id,
                status_change_id=change_id,
                subscription_id=package.id,
                sequence=change.sequence,
                message_id=f"msg_{change_id}_{webhook_id}",
                payload=payload,
                created_at=now,
            )
            for webhook_id in webhook_ids
        )
    await tx.outbox.add_deliveries(entries)
    return True
