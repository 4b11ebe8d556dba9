"""What an account can see and do with its webhook deliveries."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime

from shiptrack.domain.accounts import Account
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.cursors import decode_cursor, encode_cursor
from shiptrack.domain.delivery import (
    DELIVERED,
    FAILED,
    PENDING,
    AttemptView,
    DeliveryHealth,
    DeliveryView,
    newest_first,
)
from shiptrack.domain.errors import NotFound, ValidationFailed
from shiptrack.domain.ids import parse_id
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.tracking import Subscription, TrackEvent, tracking_information
from shiptrack.domain.webhooks import Webhook
from shiptrack.services.webhooks import find
from shiptrack.store.port import Store
from shiptrack.webhooks.payload import TEST_EVENT_TRACKING_NUMBER, track_payload

#: The most failed attempts a webhook's health counts (a page shows "1000+" beyond).
FAILURES_COUNTED = 1000


def _failures_first_cursor(cursor: str | None) -> tuple[str, int | None]:
    """The group (``failed`` or ``before``) and the id a console cursor continues from."""
    if not cursor:
        return FAILED, None
    try:
        return FAILED, decode_cursor(FAILED, cursor)
    except ValidationFailed:
        return "before", decode_cursor("before", cursor)


@dataclass(frozen=True)
class DeliveryPage:
    """A page of a webhook's deliveries with their attempts."""

    webhook: Webhook
    deliveries: list[DeliveryView]
    attempts: dict[int, list[AttemptView]]
    next_cursor: str | None


class Deliveries:
    """What an account can see and do with its webhook deliveries."""

    def __init__(
        self, store: Store, *, public_base_url: str, deliveries_due: asyncio.Event
    ) -> None:
        self.store = store
        #: How clients reach this server (test events carry it, as real ones do).
        self.public_base_url = public_base_url
        #: Set when deliveries were queued (a dispatcher in this process sends them at once).
        self.deliveries_due = deliveries_due

    async def list_deliveries(
        self,
        account: Account,
        webhook_id: str,
        *,
        limit: int,
        cursor: str | None,
        state: str | None,
    ) -> DeliveryPage:
        """A webhook's deliveries, newest first, each with every attempt."""
        before = decode_cursor("before", cursor) if cursor else None
        async with self.store.read() as tx:
            webhook = await find(tx, account, webhook_id)
            found = await tx.outbox.page(
                webhook_id=webhook.id, before_id=before, limit=limit + 1, state=state
            )
            more = len(found) > limit
            found = found[:limit]
            attempts = await tx.outbox.attempts_of([delivery.id for delivery in found])
        return DeliveryPage(
            webhook, found, attempts, encode_cursor("before", found[-1].id) if more else None
        )

    async def failures_first(
        self, account: Account, webhook_id: str, *, limit: int, cursor: str | None
    ) -> DeliveryPage:
        """A webhook's deliveries as the console lists them: those given up on first, then every
        other one, each group newest first. Keyset pagination: the cursor says the group and the
        id to continue before (``failed:ID``, or ``before:ID``, ``before:0`` being the top of the
        second group); each group is read a state at a time, newest first by id."""
        group, before = _failures_first_cursor(cursor)
        async with self.store.read() as tx:
            webhook = await find(tx, account, webhook_id)
            rows: list[DeliveryView] = []
            next_cursor = None
            if group == FAILED:
                failed = await tx.outbox.page(
                    webhook_id=webhook.id, before_id=before, limit=limit + 1, state=FAILED
                )
                rows = failed[:limit]
                if len(failed) > limit:
                    next_cursor = encode_cursor(FAILED, rows[-1].id)
                before = None
            if next_cursor is None:
                room = limit - len(rows)
                others = newest_first(
                    [
                        await tx.outbox.page(
                            webhook_id=webhook.id,
                            before_id=before or None,
                            limit=room + 1,
                            state=state,
                        )
                        for state in (PENDING, DELIVERED)
                    ]
                )
                if len(others) > room:
                    next_cursor = encode_cursor("before", others[room - 1].id if room else 0)
                rows += others[:room]
            attempts = await tx.outbox.attempts_of([row.id for row in rows])
        return DeliveryPage(webhook, rows, attempts, next_cursor)

    async def health(self, account: Account, webhooks: list[Webhook]) -> dict[int, DeliveryHealth]:
        """Each of the account's ``webhooks``' last successful attempt and the failed attempts
        after it (counted up to :data:`FAILURES_COUNTED`)."""
        found: dict[int, DeliveryHealth] = {}
        async with self.store.read() as tx:
            for webhook in webhooks:
                if webhook.account_id == account.id:
                    found[webhook.id] = await tx.outbox.health(webhook.id, cap=FAILURES_COUNTED)
        return found

    async def redeliver(self, account: Account, webhook_id: str, delivery_id: str) -> int:
        """Queue one delivery again, with the same ``webhook-id``."""
        row_id = parse_id(delivery_id, field_name="delivery_id")
        now = utcnow()
        async with self.store.write() as tx:
            webhook = await find(tx, account, webhook_id)
            if row_id is None or not await tx.outbox.exists(
                webhook_id=webhook.id, delivery_id=row_id
            ):
                raise NotFound(f"Delivery {delivery_id} was not found", field_name="delivery_id")
            count = await tx.outbox.replay(webhook_id=webhook.id, delivery_id=row_id, now=now)
        self.deliveries_due.set()
        return count

    async def redeliver_range(
        self,
        account: Account,
        webhook_id: str,
        *,
        since: datetime,
        until: datetime | None,
    ) -> int:
        """Queue again every delivery of the webhook created in ``[since, until)``."""
        if until is not None and until <= since:
            raise ValidationFailed("until must be later than since", field_name="until")
        now = utcnow()
        async with self.store.write() as tx:
            webhook = await find(tx, account, webhook_id)
            count = await tx.outbox.replay(webhook_id=webhook.id, since=since, until=until, now=now)
        self.deliveries_due.set()
        return count

    async def send_test(self, account: Account, webhook_id: str) -> int:
        """Queue a test ``track`` event to one webhook (``"test_event": true``, about a package no
        account can have); its delivery id."""
        now = utcnow()
        example = Subscription(
            id=0,
            account_id=account.id,
            connection_id=0,
            carrier_code="ups",
            tracking_number=TEST_EVENT_TRACKING_NUMBER,
            active=False,
            status_code=StatusCode.DE,
            status_detail_code="DELIVERED",
            carrier_status_code="DELIVERED",
            carrier_detail_code="DELIVERED",
            carrier_status_description="Delivered, front door",
        )
        event = TrackEvent(
            status_code=StatusCode.DE,
            status_detail_code="DELIVERED",
            occurred_at=now,
            description="Delivered, front door",
            carrier_status_code="DELIVERED",
            carrier_detail_code="DELIVERED",
        )
        message_id = "msg_test_" + secrets.token_hex(8)
        payload = track_payload(
            base_url=self.public_base_url,
            tracking_information=tracking_information(
                example,
                [event],
                tracking_url=CARRIERS["ups"].tracking_url(example.tracking_number),
                # The test package has no page: its public_url is null, the field still there.
                public_base_url=None,
            ),
            event_id=message_id,
            sequence=0,
            previous_status=None,
            correction=False,
            detected_at=now,
            test=True,
        )
        async with self.store.write() as tx:
            webhook = await find(tx, account, webhook_id)
            delivery_id = await tx.outbox.add_test_delivery(
                webhook_id=webhook.id, message_id=message_id, payload=payload, now=now
            )
        self.deliveries_due.set()
        return delivery_id
