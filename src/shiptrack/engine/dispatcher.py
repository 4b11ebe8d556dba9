"""The dispatcher: sends due webhook deliveries for as long as the process runs.

Each delivery is its own task, so a receiver that hangs holds one slot for at most the request
timeout and never the loop. Each webhook has slots of its own that follow how it copes
(:class:`~shiptrack.domain.delivery.EndpointSlots`: 8 to start, up to
``webhook_endpoint_concurrency``), and ``webhook_concurrency`` are in flight in all, so one slow
endpoint cannot starve the others and a fast one is not held to a trickle. Results are recorded
in batches (one transaction for everything that finished within a few tens of milliseconds),
which is what lets one process send thousands of deliveries a second.

Nothing claimed waits for its lease while the process lives. Attempts that cannot be recorded
because the database is away are kept and recorded when it answers again (not sent a second time
once the lease runs out), and no more is claimed meanwhile, which bounds what is kept. Deliveries
claimed but not sent (the database was needed to sign them, or the process is stopping) are given
back, due at once, with no attempt counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import datetime, timedelta

import aiohttp

from shiptrack.domain.delivery import STARTING_AHEAD, ClaimedDelivery, EndpointSlots, plan_claim
from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.domain.timefmt import utcnow
from shiptrack.engine.retrying import pauses
from shiptrack.engine.runner import wait_any
from shiptrack.engine.sending import (
    Sending,
    drop_signature,
    record,
    release,
    send,
    sign_ahead,
)
from shiptrack.settings import Settings
from shiptrack.webhooks.sender import SendResult, open_session

log = logging.getLogger("shiptrack.dispatcher")

#: How long finished attempts may wait to be recorded together: fewer, larger write transactions
#: (on SQLite one at a time with the claims) let one process send more (BENCHMARKS.md 0g); a
#: package's next delivery waits for this one's record at most this much longer.
RECORD_EVERY = 0.03
#: Deliveries a webhook may have in flight before it has shown how much it takes.
STARTING_SLOTS = 8
#: Longest a stopping dispatcher spends recording and giving back what it still holds.
RELEASE_WAIT = 5.0
#: How many times its concurrency a dispatcher may hold claimed (in flight, or waiting for a
#: webhook's slot); each webhook's own share follows how fast it answers
#: (:meth:`~shiptrack.domain.delivery.EndpointSlots.rounds_ahead`): the next claim is made while
#: the last one's deliveries are being sent, so a slot that frees is filled at once instead of
#: after a claim (a write transaction, and on SQLite a sync).
CLAIM_AHEAD = 8
#: While every webhook this process holds deliveries for is full, how often to claim for the
#: others all the same (a claim that skips the full ones).
DISCOVER_EVERY = 0.05


class Dispatcher:
    """Claims due deliveries, sends each in its own task, records results in batches."""

    name = "dispatcher"

    def __init__(self, sending: Sending, settings: Settings) -> None:
        self.sending = sending
        self.settings = settings
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = EndpointSlots(start=STARTING_SLOTS, most=settings.webhook_endpoint_concurrency)
        #: Deliveries claimed ahead, waiting here for one of their webhook's slots.
        self.waiting: dict[int, deque[ClaimedDelivery]] = {}
        #: The RSA signatures started when their deliveries were claimed, by delivery id.
        self.signatures: dict[int, asyncio.Future[dict[str, str]]] = {}
        #: When the last claim was made (``time.monotonic()``).
        self.last_claim = -DISCOVER_EVERY
        #: Set once the process is stopping: nothing more is sent.
        self.stopping = asyncio.Event()
        #: Attempts made, waiting to be recorded.
        self.finished: list[tuple[ClaimedDelivery, SendResult]] = []
        #: Deliveries claimed but not sent, waiting to be given back.
        self.unsent: list[ClaimedDelivery] = []
        #: The leases of claims whose answer never came (what they took is to be given back).
        self.lost_claims: list[datetime] = []
        #: The last try to record failed: the database is away (and that try may have been
        #: committed all the same).
        self.failing = False
        self.results_ready = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until ``stopping`` is set; deliveries under way are finished and recorded first.
        Cancelled (the grace period of a shutdown is over), it gives back what it has not sent
        and records what it has."""
        settings = self.settings
        self.stopping = stopping
        session = open_session(
            connect_timeout=settings.webhook_connect_timeout,
            total_timeout=settings.webhook_timeout,
            concurrency=settings.webhook_concurrency,
            policy=settings.outbound_policy,
        )
        # Ready before the first delivery: started at its claim, the signing processes would
        # hold up the first deliveries after every start by the time an interpreter takes to start.
        self.sending.rsa_signer.open()
        recorder = asyncio.create_task(self._record_loop(stopping))
        try:
            while not stopping.is_set():
                try:
                    claimed = await self._claim()
                    self.signatures.update(await sign_ahead(self.sending, claimed))
                    started = self._start(session, claimed)
                except ServiceUnavailable as error:
                    log.warning("claiming deliveries: %s", error.message)
                    started = 0
                except Exception:
                    log.exception("claiming deliveries failed")
                    started = 0
                if started:
                    await asyncio.sleep(0)
                    continue
                self.sending.deliveries_due.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        wait_any(stopping, self.sending.deliveries_due),
                        timeout=settings.poll_interval,
                    )
            self._give_back_waiting()
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=settings.webhook_timeout + 1)
            await self._abandon_in_flight()
            await recorder  # until everything is recorded, however long the database is away
        finally:
            self._give_back_waiting()
            await self._abandon_in_flight()
            # Sends cancelled before they began never took their signatures.
            for signature in self.signatures.values():
                drop_signature(signature)
            self.signatures.clear()
            recorder.cancel()
            await asyncio.wait([recorder])
            await self._last_flush()
            await session.close()
            await self.sending.rsa_signer.close()

    async def _claim(self) -> list[ClaimedDelivery]:
        if self.failing:
            return []  # the database is away: what is waiting is recorded first
        settings = self.settings
        waiting = {webhook_id: len(queue) for webhook_id, queue in self.waiting.items()}
        # What is held (in flight or waiting) is bounded as each webhook's share is: a slow
        # webhook's backlog cannot take the room of the others.
        capacity = (
            CLAIM_AHEAD * settings.webhook_concurrency - len(self.in_flight) - sum(waiting.values())
        )
        if capacity <= 0:
            return []
        plan = plan_claim(self.slots, waiting, lease=settings.webhook_lease)
        # With every webhook it holds deliveries for full, only another webhook could be claimed
        # for: looked for at most every DISCOVER_EVERY, not after every delivery that ends.
        if plan.full and not plan.room and time.monotonic() - self.last_claim < DISCOVER_EVERY:
            return []
        self.last_claim = time.monotonic()
        now = utcnow()
        lease_until = now + timedelta(seconds=settings.webhook_lease)
        try:
            async with self.sending.store.write() as tx:
                claimed = await tx.outbox.claim(
                    now=now,
                    lease_until=lease_until,
                    limit=min(capacity, settings.poll_batch_size),
                    skip_webhooks=plan.full,
                    per_webhook=plan.room,
                    default_per_webhook=STARTING_AHEAD * self.slots.start,
                )
        except ServiceUnavailable:
            # The claim may have been committed although its answer never came.
            self.lost_claims.append(lease_until)
            self.results_ready.set()
            raise
        if claimed:
            log.debug("claimed %d due deliveries, %d in flight", len(claimed), len(self.in_flight))
        return claimed

    def _start(self, session: aiohttp.ClientSession, claimed: list[ClaimedDelivery]) -> int:
        """Queue what was claimed behind its webhook's slots, and send what fits now."""
        for delivery in claimed:
            self.waiting.setdefault(delivery.webhook_id, deque()).append(delivery)
        for webhook_id in list(self.waiting):
            self._send_waiting(session, webhook_id)
        return len(claimed)

    def _send_waiting(self, session: aiohttp.ClientSession, webhook_id: int) -> None:
        """Send what waits for ``webhook_id`` while it has free slots. A delivery whose lease
        could run out before its answer comes is given back instead, due at once, so waiting here
        never makes it sent by two dispatchers."""
        queue = self.waiting.get(webhook_id)
        if not queue or self.stopping.is_set():
            return
        slots, settings = self.slots, self.settings
        most = settings.webhook_concurrency
        # A fresh claim always goes; one that waited goes while it has the time of a request
        # left (or 90 % of its lease, when the lease is no longer than a request).
        left = min(settings.webhook_timeout, 0.9 * settings.webhook_lease)
        latest = utcnow() + timedelta(seconds=left)
        while (
            queue
            and slots.in_flight(webhook_id) < slots.limit(webhook_id)
            and len(self.in_flight) < most
        ):
            delivery = queue.popleft()
            if delivery.lease_until <= latest:
                drop_signature(self.signatures.pop(delivery.id, None))
                self.unsent.append(delivery)
                self.results_ready.set()
                continue
            slots.taken(webhook_id)
            task = asyncio.create_task(self._send(session, delivery))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        if not queue:
            del self.waiting[webhook_id]

    def _give_back_waiting(self) -> None:
        """Give back everything claimed ahead that was not sent (the process is stopping)."""
        for queue in self.waiting.values():
            for delivery in queue:
                drop_signature(self.signatures.pop(delivery.id, None))
            self.unsent.extend(queue)
        if self.waiting:
            self.results_ready.set()
        self.waiting.clear()

    async def _send(self, session: aiohttp.ClientSession, delivery: ClaimedDelivery) -> None:
        try:
            result = await send(
                self.sending, session, delivery, self.signatures.pop(delivery.id, None)
            )
        except asyncio.CancelledError:  # the process is stopping: another one will send it
            self._unsent(delivery)
            raise
        except ServiceUnavailable as error:
            # The signing key or the webhook's secret could not be read, so nothing was sent:
            # given back, no attempt counted against the receiver.
            log.info("delivery %s not sent: %s", delivery.id, error.message)
            self._unsent(delivery)
            return
        except Exception as error:
            log.exception("delivery %s failed unexpectedly", delivery.id)
            result = SendResult(None, 0, f"internal error: {error!r}"[:500])
        # The endpoint's slot is free once its answer is in; the order of one package's
        # deliveries is kept by the outbox (the next is not due until this one is recorded).
        self.slots.done(
            delivery.webhook_id, delivered=result.delivered, seconds=result.latency_ms / 1000
        )
        self._send_waiting(session, delivery.webhook_id)
        self.finished.append((delivery, result))
        self.results_ready.set()
        self.sending.deliveries_due.set()  # a slot is free: claim more now

    def _unsent(self, delivery: ClaimedDelivery) -> None:
        self.slots.unsent(delivery.webhook_id)
        self.unsent.append(delivery)
        self.results_ready.set()

    async def _abandon_in_flight(self) -> None:
        """Stop the sends still under way (their deliveries are given back)."""
        tasks = list(self.in_flight)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def _holding(self) -> int:
        return len(self.finished) + len(self.unsent) + len(self.lost_claims)

    async def _record_loop(self, stopping: asyncio.Event) -> None:
        backoff = None
        while not (stopping.is_set() and not self.in_flight and not self._holding()):
            if backoff is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.results_ready.wait(), timeout=0.5)
                await asyncio.sleep(RECORD_EVERY)
            if await self._flush():
                backoff = None
            else:
                backoff = backoff or pauses()
                await asyncio.sleep(next(backoff))

    async def _flush(self) -> bool:
        """Record the finished attempts and give back what was not sent; ``False`` when the
        database could not be reached (everything is kept for the next try)."""
        self.results_ready.clear()
        sent, self.finished = self.finished, []
        unsent, self.unsent = self.unsent, []
        lost, self.lost_claims = self.lost_claims, []
        if not (sent or unsent or lost):
            return True
        try:
            if sent:
                await record(self.sending, sent, again=self.failing)
                sent = []
            if unsent or lost:
                await release(self.sending, unsent, lost)
        except Exception as error:
            if not isinstance(error, ServiceUnavailable):
                # The leases run out and the deliveries are sent again: at least once.
                log.exception("recording %d delivery attempts failed", len(sent) + len(unsent))
                self.failing = False
                return True
            if not self.failing:
                log.warning("recording delivery attempts: %s; trying again", error.message)
            self._keep(sent, unsent, lost)
            return False
        except BaseException:  # cancelled mid-write: kept for the last try
            self._keep(sent, unsent, lost)
            raise
        finally:
            self.sending.deliveries_due.set()
        if self.failing:
            log.info("delivery attempts recorded again")
        self.failing = False
        return True

    def _keep(
        self,
        sent: list[tuple[ClaimedDelivery, SendResult]],
        unsent: list[ClaimedDelivery],
        lost: list[datetime],
    ) -> None:
        self.finished[:0] = sent
        self.unsent[:0] = unsent
        self.lost_claims[:0] = lost
        # The write may have been committed although its answer never came.
        self.failing = True

    async def _last_flush(self) -> None:
        """Record and give back what is still held, for at most :data:`RELEASE_WAIT` seconds."""
        deadline = time.monotonic() + RELEASE_WAIT
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RELEASE_WAIT):
                for pause in pauses():
                    if await self._flush() or time.monotonic() + pause >= deadline:
                        break
                    await asyncio.sleep(pause)
        if self._holding():
            log.warning(
                "stopped holding %d deliveries; they are sent again when their lease runs out",
                self._holding(),
            )
