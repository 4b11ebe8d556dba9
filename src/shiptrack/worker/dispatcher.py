"""The dispatcher: sends due webhook deliveries for as long as the process runs.

Each delivery is its own task, so a receiver that hangs holds one slot for at most the request
timeout and never the loop; at most ``webhook_endpoint_concurrency`` slots go to one webhook and
``webhook_concurrency`` in all, so one slow endpoint cannot starve the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from datetime import timedelta

from shiptrack.domain.timefmt import utcnow
from shiptrack.services import Services
from shiptrack.services.dispatch import deliver
from shiptrack.store import deliveries as store
from shiptrack.store.deliveries import ClaimedDelivery
from shiptrack.webhooks.sender import open_session
from shiptrack.worker.runner import wait_any

log = logging.getLogger("shiptrack.dispatcher")


class Dispatcher:
    """Claims due deliveries and sends each in its own task."""

    name = "dispatcher"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.in_flight: set[asyncio.Task[None]] = set()
        self.per_webhook: Counter[int] = Counter()

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until ``stopping`` is set; deliveries under way are finished first."""
        settings = self.services.settings
        session = open_session(
            connect_timeout=settings.webhook_connect_timeout,
            total_timeout=settings.webhook_timeout,
            concurrency=settings.webhook_concurrency,
            allow_private=settings.webhook_allow_private,
        )
        try:
            while not stopping.is_set():
                try:
                    started = await self._claim_and_send(session, await self._claim())
                except Exception:
                    log.exception("claiming deliveries failed")
                    started = 0
                if started:
                    continue
                self.services.deliveries_due.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        wait_any(stopping, self.services.deliveries_due),
                        timeout=settings.poll_interval,
                    )
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=settings.webhook_timeout + 1)
        finally:
            await session.close()

    async def _claim(self) -> list[ClaimedDelivery]:
        settings = self.services.settings
        capacity = settings.webhook_concurrency - len(self.in_flight)
        if capacity <= 0:
            return []
        full = [
            w for w, n in self.per_webhook.items() if n >= settings.webhook_endpoint_concurrency
        ]
        now = utcnow()
        async with self.services.database.write() as conn:
            return await store.claim(
                conn,
                now=now,
                lease_until=now + timedelta(seconds=settings.webhook_lease),
                limit=min(capacity, settings.poll_batch_size),
                skip_webhooks=full,
            )

    async def _claim_and_send(self, session: object, claimed: list[ClaimedDelivery]) -> int:
        limit = self.services.settings.webhook_endpoint_concurrency
        started = 0
        over_share = []
        for delivery in claimed:
            if self.per_webhook[delivery.webhook_id] >= limit:
                over_share.append(delivery)
                continue
            self.per_webhook[delivery.webhook_id] += 1
            task = asyncio.create_task(self._send(session, delivery))
            self.in_flight.add(task)
            started += 1
        if over_share:
            # Over this endpoint's share for now: hand them back at once, not after the lease.
            async with self.services.database.write() as conn:
                await store.release(conn, over_share, now=utcnow())
        return started

    async def _send(self, session: object, delivery: ClaimedDelivery) -> None:
        try:
            await deliver(self.services, session, delivery)  # type: ignore[arg-type]
        except Exception:
            log.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            self.per_webhook[delivery.webhook_id] -= 1
            if not self.per_webhook[delivery.webhook_id]:
                del self.per_webhook[delivery.webhook_id]
            task = asyncio.current_task()
            if task is not None:
                self.in_flight.discard(task)
            self.services.deliveries_due.set()
