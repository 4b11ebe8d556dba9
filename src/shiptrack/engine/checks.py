"""Checking due packages: claim, ask the carriers, record what changed.

One round: claim a batch of due subscriptions, group them by carrier connection, ask each carrier in
chunks of its batch size within its request budget, then record what each chunk brought in one
transaction: new events, the subscription's new state and schedule, every status change, and one
outbox row per ``track`` webhook of the account for each change (the transactional outbox). Chunks
answered while an earlier one is being recorded are recorded together, in one transaction
(``engine.recording``).

Nothing claimed is left waiting for its lease while the process lives: a write that fails because
the database cannot be reached is tried again (``engine.retrying``) with the carrier's answer
kept in memory, and whatever a round could not write back (its process stopping, or the database
away until the lease nearly ran out) is released, due again at once for any worker.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shiptrack.carriers.base import (
    CarrierAdapter,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.pacing import RequestPacer
from shiptrack.carriers.registry import CarrierRegistry
from shiptrack.domain.changes import CarrierReport, Unchanged, newest_moment
from shiptrack.domain.check import ClaimedPackage, ConnectionState
from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.domain.ids import format_id
from shiptrack.domain.schedule import SchedulePolicy
from shiptrack.domain.timefmt import format_utc, utcnow
from shiptrack.engine.batching import WriteBatcher
from shiptrack.engine.connections import ConnectionOpener, connection_budget, track_timed
from shiptrack.engine.recording import Recorder
from shiptrack.engine.retrying import write_until
from shiptrack.metrics.families import (
    CHECK_BACKED_OFF,
    CHECK_DEFERRED,
    CHECK_ERROR,
    CHECK_FOUND,
    CHECK_NOT_FOUND,
    Metrics,
)
from shiptrack.store.port import Store, Transaction

log = logging.getLogger("shiptrack.engine")


#: Longest a worker sleeps for a connection's request budget before rescheduling instead.
PACING_WAIT = 1.0
#: Calls to one carrier connection a worker has under way at once.
CHUNKS_IN_FLIGHT = 8


#: Share of the lease a round may spend trying to write its results while the database is away;
#: the rest is left so that giving the packages back happens before another worker may take them.
LEASE_USE = 0.9
#: Longest a cancelled round (the process stopping) spends giving back what it holds.
RELEASE_WAIT = 5.0


@dataclass(frozen=True)
class Checks:
    """What checking packages needs: the store, the carriers and their budgets, how to open a
    connection and record what came back, the schedule, the poll settings, and what to count."""

    store: Store
    carriers: CarrierRegistry
    pacer: RequestPacer
    opener: ConnectionOpener
    recorder: Recorder
    schedule: SchedulePolicy
    #: Seconds a claimed package stays with its worker (``SHIPTRACK_POLL_LEASE``).
    lease: float
    #: Packages claimed at once (``SHIPTRACK_POLL_BATCH_SIZE``).
    batch_size: int
    #: Set when a package becomes due now (a given-back claim).
    packages_due: asyncio.Event
    metrics: Metrics

    async def run_round(
        self, *, limit: int | None = None, stopping: asyncio.Event | None = None
    ) -> int:
        """Check one batch of due packages (see :func:`run_checks`)."""
        return await run_checks(self, limit=limit, stopping=stopping)


async def run_checks(
    checks: Checks, *, limit: int | None = None, stopping: asyncio.Event | None = None
) -> int:
    """Check one batch of due packages; the number claimed (0 when nothing was due).

    Once ``stopping`` is set, packages not yet asked about are not asked: they are given back.
    A round cancelled meanwhile (the grace period of a shutdown is over) gives back what it has
    not recorded before the cancellation goes on.
    """
    now = utcnow()
    lease_until = now + timedelta(seconds=checks.lease)
    deadline = time.monotonic() + checks.lease * LEASE_USE
    try:
        async with checks.store.write() as tx:
            claimed = await tx.packages.claim_due(
                now=now, lease_until=lease_until, limit=limit or checks.batch_size
            )
    except ServiceUnavailable:
        # The claim may have been committed although its answer never came: give back what it
        # took as soon as the database answers.
        await _release_lost_claim(checks, lease_until, deadline)
        raise
    if not claimed:
        return 0
    log.debug("claimed %d due packages, leased until %s", len(claimed), format_utc(lease_until))
    checks.metrics.claimed(
        (now - item.due_at).total_seconds() for item in claimed if item.due_at is not None
    )
    held = _Held(checks, claimed, deadline=deadline, stopping=stopping)
    by_connection: dict[int, list[ClaimedPackage]] = defaultdict(list)
    for item in claimed:
        by_connection[item.subscription.connection_id].append(item)
    try:
        async with checks.store.read() as tx:
            states = await tx.connections.states(list(by_connection))
        outcomes = await asyncio.gather(
            *(
                _check_connection(checks, held, states[connection_id], items)
                for connection_id, items in by_connection.items()
            ),
            return_exceptions=True,
        )
    except ServiceUnavailable:
        await held.release(deadline)
        raise
    except BaseException:  # cancelled: the process is stopping and its grace period is over
        await held.release(time.monotonic() + RELEASE_WAIT)
        raise
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    unexpected = [error for error in errors if not isinstance(error, ServiceUnavailable)]
    if unexpected:
        # A bug, not an outage: what it could not record keeps its lease, a back-off that spares
        # the carrier a loop of checks failing the same way.
        raise unexpected[0]
    await held.release(deadline)
    if errors:
        raise errors[0]
    return len(claimed)


async def _release_lost_claim(checks: Checks, lease_until: datetime, deadline: float) -> None:
    async def release() -> None:
        async with checks.store.write() as tx:
            released = await tx.packages.release_claim(lease_until=lease_until, now=utcnow())
        if released:
            log.warning("gave back %d packages of a claim whose answer was lost", released)
            checks.packages_due.set()

    await write_until(release, deadline=deadline, what="giving back a claim")


class _Held:
    """What a round claimed and has not written back yet."""

    def __init__(
        self,
        checks: Checks,
        claimed: Iterable[ClaimedPackage],
        *,
        deadline: float,
        stopping: asyncio.Event | None,
    ) -> None:
        self.checks = checks
        self.items = {item.subscription.id: item for item in claimed}
        #: Monotonic time after which failing writes are no longer tried again.
        self.deadline = deadline
        self._stopping = stopping

    @property
    def stopping(self) -> bool:
        """Whether the process is stopping (nothing more is asked of the carriers)."""
        return self._stopping is not None and self._stopping.is_set()

    async def write(
        self,
        items: Sequence[ClaimedPackage],
        write: Callable[[Transaction], Awaitable[None]],
        *,
        what: str,
    ) -> bool:
        """Run ``write`` in a transaction, again while the database is unreachable; whether it
        went through. ``items`` are no longer held once it did (not even if it changed none of
        them: rows no longer under this round's lease are someone else's)."""

        async def attempt() -> None:
            async with self.checks.store.write() as tx:
                await write(tx)

        if not await write_until(attempt, deadline=self.deadline, what=what):
            return False
        for item in items:
            self.items.pop(item.subscription.id, None)
        return True

    async def release(self, deadline: float) -> None:
        """Give back every package still held: due at once, for any worker."""
        if not self.items:
            return
        items = list(self.items.values())

        async def release() -> None:
            async with self.checks.store.write() as tx:
                await tx.packages.release(items, now=utcnow())

        try:
            # Tried at least once, however late; bounded, should a connection attempt hang.
            async with asyncio.timeout(max(deadline - time.monotonic(), RELEASE_WAIT)):
                released = await write_until(
                    release, deadline=deadline, what="giving back packages"
                )
        except TimeoutError:
            released = False
        except Exception:
            log.exception("giving back %d packages failed", len(items))
            released = False
        if released:
            self.items.clear()
            self.checks.packages_due.set()
        else:
            log.warning("%d packages are due again when their lease runs out", len(items))


async def _check_connection(
    checks: Checks, held: _Held, state: ConnectionState, items: list[ClaimedPackage]
) -> None:
    adapter = checks.carriers.adapter(state.carrier_code, simulated=state.simulated)
    speed = checks.carriers.speed(simulated=state.simulated)
    count = functools.partial(checks.metrics.checked, state.carrier_code)
    now = utcnow()
    if state.backoff_until is not None and state.backoff_until > now:
        count(CHECK_BACKED_OFF, len(items))
        backoff_until = state.backoff_until

        async def wait_for_backoff(tx: Transaction) -> None:
            await tx.packages.reschedule(
                items, next_check_at=backoff_until, error=state.last_error, now=now
            )

        await held.write(
            items, wait_for_backoff, what="rescheduling packages of a backed-off carrier"
        )
        return
    if held.stopping:
        return
    try:
        context = checks.opener.context(state)
    except TransportError as error:
        count(CHECK_ERROR, len(items))
        await _carrier_failed(checks, held, state, items, error, speed)
        return
    size = max(1, adapter.batch_size_for(context))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    budget = connection_budget(adapter, state)
    gate = asyncio.Semaphore(CHUNKS_IN_FLIGHT)
    failures: list[TransportError] = []
    unasked: list[ClaimedPackage] = []
    later: list[tuple[float, list[ClaimedPackage]]] = []

    async def record(answered: Sequence[tuple[list[ClaimedPackage], dict[str, Result]]]) -> None:
        chunk = [item for items, _ in answered for item in items]
        results = {number: result for _, found in answered for number, result in found.items()}

        changed: list[str] = []

        async def write(tx: Transaction) -> None:
            changed[:] = await checks.recorder.record(tx, state, chunk, results, speed)

        if await held.write(chunk, write, what=f"recording checks on connection {state.id}"):
            checks.metrics.status_changed(changed)

    # Chunks answered while an earlier one is being recorded are recorded together: one
    # transaction and one statement of each kind for all of them.
    recorder: WriteBatcher[tuple[list[ClaimedPackage], dict[str, Result]]] = WriteBatcher(record)

    async def check(chunk: list[ClaimedPackage]) -> None:
        async with gate:
            if held.stopping:  # not asked: given back when the round ends
                return
            if failures:  # the carrier failed meanwhile: it is not asked again this round
                count(CHECK_BACKED_OFF, len(chunk))
                unasked.extend(chunk)
                return
            slot = await checks.pacer.wait(state.id, budget, max_wait=PACING_WAIT)
            if not slot.reserved:
                # Over the connection's budget for now: asked again when it has room.
                count(CHECK_DEFERRED, len(chunk))
                later.append((slot.wait, chunk))
                return
            try:
                results = await _ask(checks, adapter, context, chunk)
            except TransportError as error:
                count(CHECK_ERROR, len(chunk))
                failures.append(error)
                unasked.extend(chunk)
                return
        found = sum(
            isinstance(results.get(item.subscription.tracking_number), CarrierReport | Unchanged)
            for item in chunk
        )
        count(CHECK_FOUND, found)
        count(CHECK_NOT_FOUND, len(chunk) - found)
        await recorder.submit((chunk, results))

    try:
        await asyncio.gather(*(check(chunk) for chunk in chunks))
    finally:
        await recorder.cancel()
    if failures:
        await _carrier_failed(checks, held, state, unasked, failures[0], speed)
    if later:
        paced = [item for _, chunk in later for item in chunk]

        async def wait_for_budget(tx: Transaction) -> None:
            for wait, chunk in later:
                await tx.packages.reschedule(
                    chunk,
                    next_check_at=utcnow() + timedelta(seconds=wait),
                    error=None,
                    now=utcnow(),
                )

        await held.write(paced, wait_for_budget, what="rescheduling packages over budget")


async def _ask(
    checks: Checks,
    adapter: CarrierAdapter,
    context: ConnectionContext,
    chunk: Sequence[ClaimedPackage],
) -> dict[str, Result]:
    newest: dict[int, datetime | None] = {}
    if adapter.compares_with_stored:
        newest = await _newest_stored(checks.store, [item for item in chunk if item.settled])
    requests = [
        TrackRequest(
            item.subscription.tracking_number,
            since=item.created_at,
            newest_event_at=newest.get(item.subscription.id),
        )
        for item in chunk
    ]
    try:
        return await track_timed(adapter, context, requests, checks.metrics)
    except TransportError:
        raise
    except Exception as error:  # an adapter bug must not stop the engine
        log.exception("carrier adapter %s failed", context.carrier_code)
        raise TransportError("failed unexpectedly (the server log says why)") from error


async def _newest_stored(
    store: Store, items: Sequence[ClaimedPackage]
) -> dict[int, datetime | None]:
    """When each package's newest stored scan happened, for an adapter that skips unchanged
    histories. Packages whose state must be announced are not given (their whole history is
    asked); nor is any when the store cannot answer: asking for everything is only slower."""
    if not items:
        return {}
    try:
        async with store.quick_read() as tx:
            stored = await tx.packages.histories([item.subscription.id for item in items])
    except ServiceUnavailable:
        return {}
    return {
        subscription_id: newest_moment(event for _, event in events)
        for subscription_id, events in stored.items()
    }


async def _carrier_failed(
    checks: Checks,
    held: _Held,
    state: ConnectionState,
    items: Sequence[ClaimedPackage],
    error: TransportError,
    speed: float,
) -> None:
    now = utcnow()
    until = checks.schedule.backoff(
        state.failures + 1, now=now, retry_after=error.retry_after, speed=speed
    )
    log.warning(
        "carrier %s (connection %s) failed: %s; its %d packages of this round and the "
        "connection wait until %s",
        state.carrier_code,
        format_id(state.id),
        error.message,
        len(items),
        format_utc(until),
        extra={"carrier_code": state.carrier_code, "account_id": format_id(state.account_id)},
    )

    async def back_off(tx: Transaction) -> None:
        await tx.connections.record_failure(state.id, until=until, error=error.message)
        await tx.packages.reschedule(items, next_check_at=until, error=error.message, now=now)

    await held.write(items, back_off, what=f"backing off connection {state.id}")
