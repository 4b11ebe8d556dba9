"""The dispatcher: sends due webhook deliveries for as long as the process runs.

Each delivery is its own task, so a receiver that hangs holds one slot for at most the request
timeout and never the loop. Each webhook has slots of its own that follow how it copes
(:class:`~shiptrack.domain.delivery.EndpointSlots`: 8 to start, up to
``webhook_endpoint_concurrency``), and ``webhook_concurrency`` are in flight in all, so one slow
endpoint cannot starve the others and a fast one is not held to a trickle. Results are recorded
in batches (one transaction for everything that finished within a few milliseconds), which is what
lets one process send thousands of deliveries a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import aiohttp

from shiptrack.domain.delivery import EndpointSlots
from shiptrack.domain.timefmt import utcnow
from shiptrack.services import Services
from shiptrack.services.dispatch import record, send
from shiptrack.store import deliveries as store
from shiptrack.store.deliveries import ClaimedDelivery
from shiptrack.webhooks.sender import SendResult, open_session
from shiptrack.worker.runner import wait_any

log = logging.getLogger("shiptrack.dispatcher")

#: How long finished attempts may wait to be recorded together.
RECORD_EVERY = 0.01
#: Deliveries a webhook may have in flight before it has shown how much it takes.
STARTING_SLOTS = 8


class Dispatcher:
    """Claims due deliveries, sends each in its own task, records results in batches."""

    name = "dispatcher"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = EndpointSlots(
            start=STARTING_SLOTS, most=services.settings.webhook_endpoint_concurrency
        )
        self.finished: list[tuple[ClaimedDelivery, SendResult]] = []
        self.results_ready = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until ``stopping`` is set; deliveries under way are finished and recorded first."""
        settings = self.services.settings
        session = open_session(
            connect_timeout=settings.webhook_connect_timeout,
            total_timeout=settings.webhook_timeout,
            concurrency=settings.webhook_concurrency,
            policy=settings.outbound_policy,
        )
        recorder = asyncio.create_task(self._record_loop(stopping))
        try:
            while not stopping.is_set():
                try:
                    started = self._start(session, await self._claim())
                except Exception:
                    log.exception("claiming deliveries failed")
                    started = 0
                if started:
                    await asyncio.sleep(0)
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
            await recorder
            await self._flush()
            await session.close()

    async def _claim(self) -> list[ClaimedDelivery]:
        settings = self.services.settings
        capacity = settings.webhook_concurrency - len(self.in_flight)
        if capacity <= 0:
            return []
        free = self.slots.free()
        full = [webhook_id for webhook_id, slots in free.items() if slots <= 0]
        now = utcnow()
        async with self.services.database.write() as conn:
            return await store.claim(
                conn,
                now=now,
                lease_until=now + timedelta(seconds=settings.webhook_lease),
                limit=min(capacity, settings.poll_batch_size),
                skip_webhooks=full,
                per_webhook=free,
                default_per_webhook=self.slots.start,
            )

    def _start(self, session: aiohttp.ClientSession, claimed: list[ClaimedDelivery]) -> int:
        for delivery in claimed:
            self.slots.taken(delivery.webhook_id)
            task = asyncio.create_task(self._send(session, delivery))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        return len(claimed)

    async def _send(self, session: aiohttp.ClientSession, delivery: ClaimedDelivery) -> None:
        try:
            result = await send(self.services, session, delivery)
        except Exception as error:
            log.exception("delivery %s failed unexpectedly", delivery.id)
            result = SendResult(None, 0, f"internal error: {error!r}"[:500])
        # The endpoint's slot is free once its answer is in; the order of one package's
        # deliveries is kept by the outbox (the next is not due until this one is recorded).
        self.slots.done(delivery.webhook_id, delivered=result.delivered)
        self.finished.append((delivery, result))
        self.results_ready.set()
        self.services.deliveries_due.set()  # a slot is free: claim more now

    async def _record_loop(self, stopping: asyncio.Event) -> None:
        while not (stopping.is_set() and not self.in_flight):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.results_ready.wait(), timeout=0.5)
            await asyncio.sleep(RECORD_EVERY)
            await self._flush()

    async def _flush(self) -> None:
        self.results_ready.clear()
        batch, self.finished = self.finished, []
        if not batch:
            return
        try:
            await record(self.services, batch)
        except Exception:
            # The leases run out and the deliveries are sent again: at least once, never lost.
            log.exception("recording %d delivery attempts failed", len(batch))
        finally:
            self.services.deliveries_due.set()
