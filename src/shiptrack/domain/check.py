"""One check of one package, decided without I/O.

The engine claims packages (:class:`ClaimedPackage`), asks their carrier, reads what is stored of
each (its history of scans), and calls :func:`decide` with the carrier's answer. The outcome says
everything the store must write for that package: its new state and next check
(:class:`PackageState`), its grown history, and the status changes to record, each with the package
as it was at that change (:class:`Notice`), which becomes one outbox entry per ``track`` webhook.
The rules of change detection are in :mod:`shiptrack.domain.changes`; those of the schedule and of
stopping in :mod:`shiptrack.domain.schedule`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shiptrack.domain.changes import (
    CarrierReport,
    Change,
    InvalidNumber,
    Known,
    NotFoundYet,
    Observation,
    StoredEvent,
    Unchanged,
    event_moment,
    expiry,
    newest_first,
    newest_scan_moment,
    observe,
)
from shiptrack.domain.schedule import SchedulePolicy, stop_reason
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import Subscription, TrackEvent

#: What a carrier said about one number: a report, that it does not know it (yet), that the
#: number itself is invalid, or that nothing happened since the newest stored scan.
CarrierAnswer = CarrierReport | NotFoundYet | InvalidNumber | Unchanged


@dataclass(frozen=True, slots=True)
class ClaimedPackage:
    """A package a worker holds until ``lease_until``, as it was when claimed."""

    subscription: Subscription
    created_at: datetime
    status_since: datetime | None
    announce: bool
    #: ``False`` on the first check and after a restart: the current state is announced.
    settled: bool
    #: The lease this worker set (``None`` for a push, which locks the row instead).
    lease_until: datetime | None
    #: When the package was due (``None`` for a push): how late a claim came is measured from it.
    due_at: datetime | None = None
    #: How many checks in a row so far heard from the carrier that the number is invalid.
    invalid_checks: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """A carrier connection as the engine needs it."""

    id: int
    account_id: int
    carrier_code: str
    simulated: bool
    base_url: str | None
    account_number: str | None
    sealed_credentials: str | None
    backoff_until: datetime | None
    failures: int
    last_error: str | None
    exception_watch_days: int | None
    requests_per_minute: float | None = None
    options: dict[str, str] | None = None
    deleted: bool = False
    #: When a call through it last worked (noted at most every :data:`SUCCESS_NOTE_SECONDS`).
    last_success_at: datetime | None = None

    def success_to_note(self, now: datetime) -> bool:
        """Whether a call that worked at ``now`` must be written down: it ends a back-off, or
        the last one noted is older than :data:`SUCCESS_NOTE_SECONDS` (a write a minute at most,
        not one per call)."""
        return (
            self.failures > 0
            or self.last_success_at is None
            or (now - self.last_success_at).total_seconds() >= SUCCESS_NOTE_SECONDS
        )


#: How stale a connection's noted last success may get (the console shows it to the minute).
SUCCESS_NOTE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    """How the checks of one connection are scheduled and when they stop."""

    schedule: SchedulePolicy
    #: How fast the connection's clock runs (sandbox journeys can be sped up).
    speed: float = 1.0
    #: How long an exception is watched before tracking stops (``None``: the default rule).
    exception_watch: timedelta | None = None

    @classmethod
    def of(cls, schedule: SchedulePolicy, connection: ConnectionState, speed: float) -> CheckPolicy:
        """The policy of a connection's checks (its account's exception watch)."""
        days = connection.exception_watch_days
        return cls(
            schedule=schedule,
            speed=speed,
            exception_watch=timedelta(days=days) if days is not None else None,
        )


@dataclass(frozen=True, slots=True)
class PackageState:
    """What a check writes to a package: its state as the carrier now tells it, and what next."""

    subscription_id: int
    status_code: str
    status_detail_code: str | None
    carrier_status_code: str | None
    carrier_detail_code: str | None
    carrier_status_description: str | None
    exception_description: str | None
    ship_date: str | None
    estimated_delivery_date: str | None
    actual_delivery_date: str | None
    sequence: int
    status_since: datetime | None
    checked_at: datetime
    #: ``None`` when tracking stops; then ``stop_reason`` says why.
    next_check_at: datetime | None
    stop_reason: str | None
    #: Checks in a row that heard the number is invalid (0 after any other answer).
    invalid_checks: int = 0
    #: What the package shows as ``last_error``: the carrier's verdict on an invalid number, else
    #: nothing (the carrier answered).
    last_error: str | None = None

    @property
    def active(self) -> bool:
        """Whether the package is still watched after this check."""
        return self.stop_reason is None


@dataclass(frozen=True, slots=True)
class Notice:
    """A status change to record and notify, with the package as it was at that change."""

    change: Change
    package: Subscription
    #: The package's scans as they were at that change, most recent first.
    events: tuple[TrackEvent, ...]


@dataclass(frozen=True, slots=True)
class StatusChangeRecord:
    """A status change to keep (each ``(subscription, sequence)`` is unique)."""

    subscription_id: int
    sequence: int
    previous_status: str | None
    status_code: str
    status_detail_code: str | None
    occurred_at: datetime | None
    detected_at: datetime
    correction: bool

    @classmethod
    def of(cls, row: Any) -> StatusChangeRecord:
        """The record of a stored status change (any row with its columns as attributes, from
        either store)."""
        return cls(
            subscription_id=row.subscription_id,
            sequence=row.sequence,
            previous_status=row.previous_status,
            status_code=row.status_code,
            status_detail_code=row.status_detail_code,
            occurred_at=row.occurred_at,
            detected_at=row.detected_at,
            correction=row.correction,
        )


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """Everything one check of one package decided."""

    package: PackageState
    #: The package's whole history with the new scans, or ``None`` when nothing new came.
    history: tuple[StoredEvent, ...] | None
    notices: tuple[Notice, ...]


def decide(
    claimed: ClaimedPackage,
    history: Sequence[StoredEvent],
    answer: CarrierAnswer,
    policy: CheckPolicy,
    now: datetime,
) -> CheckOutcome:
    """Decide one check: what the carrier's ``answer`` changes for the package, given the scans
    already stored (``history``), when to look next, or why to stop."""
    subscription = claimed.subscription
    before = known(claimed, history)
    observation = observe(before, answer)
    changes = list(observation.changes)
    age = now - claimed.created_at
    stop = None
    invalid = observation.invalid
    # Only the carrier's word counts: a failed call never reaches decide, so it neither confirms
    # nor breaks the run; any other answer starts it again.
    invalid_checks = claimed.invalid_checks + 1 if invalid is not None else 0
    if invalid is None and policy.schedule.expired(
        observation.status_code, age=age, speed=policy.speed
    ):
        # After what this check recorded: a first check that finds nothing expires from NY.
        after = replace(
            before,
            sequence=before.sequence + len(changes),
            status_code=observation.status_code,
            status_detail_code=observation.status_detail_code,
        )
        changes.append(expiry(after))
        stop = "expired"
    final = changes[-1] if changes else None
    status_code = final.status_code if final else observation.status_code
    detail = final.status_detail_code if final else observation.status_detail_code
    status_since = now if final else claimed.status_since
    stop = stop or stop_reason(
        status_code,
        status_since=status_since,
        now=now,
        exception_watch=policy.exception_watch,
        invalid_confirmations=invalid_checks,
    )
    event = observation.defining_event
    carrier_status_code, carrier_detail_code, carrier_status_description, exception = (
        _carrier_fields(subscription, status_code, event, invalid)
    )
    ship_date = observation.ship_date or subscription.ship_date
    estimated = observation.estimated_delivery_date or subscription.estimated_delivery_date
    actual = observation.actual_delivery_date or subscription.actual_delivery_date
    next_check_at = None
    if stop is None:
        next_check_at = policy.schedule.next_check(
            status_code,
            detail,
            now=now,
            age=age,
            estimated_delivery=end_of_estimate(estimated),
            speed=policy.speed,
        )
    package = PackageState(
        subscription_id=subscription.id,
        status_code=status_code,
        status_detail_code=detail,
        carrier_status_code=carrier_status_code,
        carrier_detail_code=carrier_detail_code,
        carrier_status_description=carrier_status_description,
        exception_description=exception,
        ship_date=ship_date,
        estimated_delivery_date=estimated,
        actual_delivery_date=actual,
        sequence=final.sequence if final else subscription.sequence,
        status_since=status_since,
        checked_at=now,
        next_check_at=next_check_at,
        stop_reason=stop,
        invalid_checks=invalid_checks,
        last_error=invalid.verdict() if invalid is not None else None,
    )
    grown = (*history, *observation.new_events) if observation.new_events else None
    if not changes:  # most checks: nothing to notify, so no snapshot of the package is built
        return CheckOutcome(package=package, history=grown, notices=())
    scans = [scan for _, scan in (grown if grown is not None else history)]
    latest = replace(
        subscription,
        status_code=status_code,
        status_detail_code=detail,
        carrier_status_code=carrier_status_code,
        carrier_detail_code=carrier_detail_code,
        carrier_status_description=carrier_status_description,
        exception_description=exception,
        ship_date=ship_date,
        estimated_delivery_date=estimated,
        actual_delivery_date=actual,
        sequence=package.sequence,
        active=package.active,
        stop_reason=stop,
        last_checked_at=now,
        last_error=package.last_error,
    )
    notices = tuple(
        _notice(latest, change, scans, latest=index == len(changes) - 1)
        for index, change in enumerate(changes)
    )
    return CheckOutcome(package=package, history=grown, notices=notices)


def known(claimed: ClaimedPackage, history: Sequence[StoredEvent]) -> Known:
    """What is known of a claimed package before its check, for change detection."""
    subscription = claimed.subscription
    return Known(
        status_code=subscription.status_code,
        status_detail_code=subscription.status_detail_code,
        sequence=subscription.sequence,
        settled=claimed.settled,
        newest_event_at=newest_scan_moment(event for _, event in history),
        identities=frozenset(identity for identity, _ in history),
    )


def observed_package(
    subscription: Subscription,
    observation: Observation,
    status_code: str,
    status_detail_code: str | None,
) -> Subscription:
    """The package with a status and what the carrier said to decide it: the carrier's codes and
    texts of the event that decides it (kept as they were when no event decides), and the dates
    the carrier gave (kept when it gave none)."""
    carrier_status_code, carrier_detail_code, carrier_status_description, exception = (
        _carrier_fields(subscription, status_code, observation.defining_event, observation.invalid)
    )
    return replace(
        subscription,
        status_code=status_code,
        status_detail_code=status_detail_code,
        carrier_status_code=carrier_status_code,
        carrier_detail_code=carrier_detail_code,
        carrier_status_description=carrier_status_description,
        exception_description=exception,
        ship_date=observation.ship_date or subscription.ship_date,
        estimated_delivery_date=(
            observation.estimated_delivery_date or subscription.estimated_delivery_date
        ),
        actual_delivery_date=observation.actual_delivery_date or subscription.actual_delivery_date,
    )


def as_of(
    package: Subscription,
    status_code: str,
    status_detail_code: str | None,
    event: TrackEvent | None,
) -> Subscription:
    """The package with this status, decided by ``event``: its carrier codes and texts are the
    event's (unchanged when there is no event), and it shows an exception's description only
    while it is an exception."""
    carrier_status_code, carrier_detail_code, carrier_status_description, exception = (
        _carrier_fields(package, status_code, event)
    )
    return replace(
        package,
        status_code=status_code,
        status_detail_code=status_detail_code,
        carrier_status_code=carrier_status_code,
        carrier_detail_code=carrier_detail_code,
        carrier_status_description=carrier_status_description,
        exception_description=exception,
    )


def _carrier_fields(
    package: Subscription,
    status_code: str,
    event: TrackEvent | None,
    invalid: InvalidNumber | None = None,
) -> tuple[str | None, str | None, str | None, str | None]:
    """The carrier's status code, detail code and text, and the exception description, of a
    package whose status ``event`` decides (the package's own when no event decides it); the
    exception description only while the status is an exception. A number the carrier calls
    invalid shows the carrier's error code and text."""
    if invalid is not None:
        return invalid.code, None, invalid.message, None
    if event is None:
        return (
            package.carrier_status_code,
            package.carrier_detail_code,
            package.carrier_status_description,
            package.exception_description if status_code == StatusCode.EX else None,
        )
    return (
        event.carrier_status_code,
        event.carrier_detail_code,
        event.carrier_status_description,
        event.description if status_code == StatusCode.EX else None,
    )


def _notice(
    package: Subscription, change: Change, scans: list[TrackEvent], *, latest: bool
) -> Notice:
    """The change with the package as it was then: as it is now for the newest change of a check,
    and as the change's own scan left it for the changes before (a check that brings several)."""
    if latest:
        return Notice(change=change, package=package, events=tuple(newest_first(scans)))
    earlier = as_of(package, change.status_code, change.status_detail_code, change.event)
    return Notice(
        change=change,
        package=replace(earlier, actual_delivery_date=None),
        events=tuple(newest_first(_events_until(scans, change.event))),
    )


def _events_until(events: list[TrackEvent], last: TrackEvent | None) -> list[TrackEvent]:
    """The scans known at the time of ``last`` (all of them when its time is unknown)."""
    if last is None:
        return events
    moment = event_moment(last)
    if moment is None:
        return events
    return [e for e in events if (m := event_moment(e)) is None or m <= moment]


def end_of_estimate(value: str | None) -> datetime | None:
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
