"""Change detection: what a carrier's answer means for a package we already know.

Rules (the README's "How changes are detected" says the same in prose):

- An event is identified by what the carrier says happened (time, codes, text, place), so a scan the
  carrier repeats, or sends in another order, is stored once.
- The package's status is the status of its newest *mapped* event. Events the mapping table does not
  know (``CARRIER_STATUS_NOT_MAPPED``) are kept but never decide the status.
- On the first check (and when a restart asks for the current state to be announced) one change is
  recorded, from what we had to what the carrier says now: a package that was delivered before
  it was subscribed produces one notification, not one per scan of its history.
- On later checks every status transition among the new events, oldest first, is a change, so an
  attempt that is followed by a new delivery run within one polling interval is still reported.
  A scan older than the newest one already known (an out-of-order scan) is stored but changes
  nothing.
- A status is the pair (``status_code``, ``status_detail_code``): "out for delivery" is a
  change from "in transit" although both are ``IT``.
- Leaving ``DE`` is only possible through a newer scan, and is flagged as a correction.
- A carrier that says nothing happened since the newest stored scan (:data:`UNCHANGED`, from an
  adapter that can tell without fetching the history) keeps everything as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self, cast

from shiptrack.domain.mapping import NOT_MAPPED
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

#: A stored scan: its identity (see :func:`event_identity`) and the scan.
StoredEvent = tuple[bytes, TrackEvent]


@dataclass(frozen=True, slots=True)
class CarrierReport:
    """What a carrier says about one tracking number now, already normalised."""

    events: tuple[TrackEvent, ...]
    ship_date: str | None = None
    estimated_delivery_date: str | None = None
    actual_delivery_date: str | None = None


class _Verdict:
    """An answer without data, one instance per class (compared with ``is``), shown by its name."""

    _instances: dict[type, _Verdict] = {}
    _name = ""

    def __new__(cls) -> Self:
        instance = _Verdict._instances.get(cls)
        if instance is None:
            instance = _Verdict._instances[cls] = super().__new__(cls)
        return cast(Self, instance)

    def __repr__(self) -> str:
        return self._name


class NotFoundYet(_Verdict):
    """The carrier does not know the number (yet): not an error, the package is ``NY``."""

    _name = "NOT_FOUND"


NOT_FOUND = NotFoundYet()


class Unchanged(_Verdict):
    """The carrier knows the number and has nothing newer than the newest stored scan.

    Only an adapter told what is stored (``TrackRequest.newest_event_at``) answers this, and only
    when its carrier says so without the whole history (Royal Mail's summary names each item's
    last event): the stored history, status and dates are kept.
    """

    _name = "UNCHANGED"


UNCHANGED = Unchanged()


@dataclass(frozen=True, slots=True)
class InvalidNumber:
    """The carrier says the number itself is invalid (UPS "Invalid inquiry number", FedEx
    ``TRACKING.TRACKINGNUMBER.INVALID``, …): not "not yet in system". The package becomes ``UN`` /
    :data:`INVALID_NUMBER_DETAIL`, and tracking stops after a few such answers in a row
    (:data:`shiptrack.domain.schedule.INVALID_NUMBER_CONFIRMATIONS`)."""

    #: The carrier's name ("UPS"), for the package's ``last_error``.
    carrier: str
    #: The carrier's error code and text, kept as the package's carrier status code and text.
    code: str | None = None
    message: str | None = None

    def verdict(self) -> str:
        """What the package's ``last_error`` says: who said the number is invalid, and how."""
        said = " ".join(part for part in (self.code, self.message) if part)
        return f"{self.carrier} says the tracking number is invalid" + (
            f" ({said})" if said else ""
        )


#: The ``status_detail_code`` of an invalid number. ShipEngine's enum has no "invalid tracking
#: number" code, and shiptrack never sends a code outside it (clients generated from the schema
#: would refuse the answer); the closest is ``TRACKING_EXPIRED`` ("Tracking for this parcel has
#: expired …"): tracking of the number ends. ``stop_reason`` (``invalid_number``), ``last_error``
#: and the carrier status code and text say why.
INVALID_NUMBER_DETAIL = "TRACKING_EXPIRED"


@dataclass(frozen=True, slots=True)
class Known:
    """What the store knows of a package before this check."""

    status_code: str
    status_detail_code: str | None
    sequence: int
    #: ``False`` on the first check, and after a restart that must announce the current state.
    settled: bool
    #: Time of the newest mapped event already stored, ``None`` when there is none.
    newest_event_at: datetime | None
    identities: frozenset[bytes] = frozenset()


@dataclass(frozen=True, slots=True)
class Change:
    """A status change to record (and to notify)."""

    sequence: int
    previous_status: str | None
    status_code: str
    status_detail_code: str | None
    occurred_at: datetime | None
    correction: bool
    #: The newest event the package had at this change (``None`` when the change has no event).
    event: TrackEvent | None


@dataclass(frozen=True, slots=True)
class Observation:
    """The result of one check."""

    new_events: list[StoredEvent]
    changes: list[Change]
    status_code: str
    status_detail_code: str | None
    #: The event that decides the status now (its carrier codes and texts are the package's).
    defining_event: TrackEvent | None
    ship_date: str | None = None
    estimated_delivery_date: str | None = None
    actual_delivery_date: str | None = None
    carrier_found: bool = True
    #: The carrier's answer that the number is invalid, when it counts as a confirmation (a number
    #: the carrier once answered with scans is never taken for invalid).
    invalid: InvalidNumber | None = None


def event_identity(event: TrackEvent) -> bytes:
    """A short stable hash (12 bytes) of what makes a scan that scan."""
    parts = (
        format_utc(event.occurred_at) or "",
        event.carrier_occurred_at or "",
        event.carrier_status_code or "",
        event.carrier_detail_code or "",
        event.event_code or "",
        event.description or "",
        event.city_locality or "",
        event.postal_code or "",
        event.country_code or "",
    )
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=12).digest()


def event_moment(event: TrackEvent) -> datetime | None:
    """When an event happened, for ordering: UTC when known, else the carrier's wall time."""
    if event.occurred_at is not None:
        return event.occurred_at
    if event.carrier_occurred_at:
        try:
            local = datetime.fromisoformat(event.carrier_occurred_at)
        except ValueError:
            return None
        return local.replace(tzinfo=UTC) if local.tzinfo is None else local.astimezone(UTC)
    return None


def newest_first(events: list[TrackEvent]) -> list[TrackEvent]:
    """Events in ShipEngine's order, most recent first (events without any time last)."""
    timed = [(m, e) for e in events if (m := event_moment(e)) is not None]
    untimed = [e for e in events if event_moment(e) is None]
    return [e for _, e in sorted(timed, key=lambda pair: pair[0], reverse=True)] + untimed


def newest_scan_moment(events: Iterable[TrackEvent]) -> datetime | None:
    """When the newest stored scan that carries a status happened (``UN`` scans do not count)."""
    moments = [
        moment
        for event in events
        if event.status_code != StatusCode.UN and (moment := event_moment(event)) is not None
    ]
    return max(moments, default=None)


def _mapped(event: TrackEvent) -> bool:
    return event.status_detail_code != NOT_MAPPED and event.status_code != StatusCode.UN


def _chronological(events: list[TrackEvent]) -> list[TrackEvent]:
    """Oldest first. Events without any time keep the carrier's order (newest first) and sort as
    newer than every timed event, since carriers list their latest scan first."""
    timed = [(m, i, e) for i, e in enumerate(events) if (m := event_moment(e)) is not None]
    untimed = [e for e in events if event_moment(e) is None]
    return [e for _, _, e in sorted(timed, key=lambda t: (t[0], -t[1]))] + untimed[::-1]


def observe(
    known: Known, report: CarrierReport | NotFoundYet | InvalidNumber | Unchanged
) -> Observation:
    """Compare a carrier's answer with what is known; see the module docstring for the rules."""
    if isinstance(report, NotFoundYet):
        return _not_found(known)
    if isinstance(report, Unchanged):
        return _unchanged(known)
    if isinstance(report, InvalidNumber):
        return _invalid(known, report)

    unique: dict[bytes, TrackEvent] = {}
    for event in report.events:
        unique.setdefault(event_identity(event), event)
    new_events = [(key, e) for key, e in unique.items() if key not in known.identities]

    history = _chronological([e for e in unique.values() if _mapped(e)])
    previous = (known.status_code, known.status_detail_code)
    changes: list[Change] = []
    sequence = known.sequence

    if not known.settled:
        defining = history[-1] if history else None
        if defining is not None:
            current = (defining.status_code, defining.status_detail_code)
        elif known.status_code != StatusCode.UN:
            # Only scans that decide nothing (a push of an informational update): keep what is
            # known, and announce that.
            current = previous
        elif report.events:
            current = (StatusCode.UN.value, NOT_MAPPED)
        else:
            current = (StatusCode.NY.value, None)
        sequence += 1
        changes.append(
            Change(
                sequence=sequence,
                previous_status=known.status_code,
                status_code=current[0],
                status_detail_code=current[1],
                occurred_at=defining.occurred_at if defining else None,
                correction=known.status_code == StatusCode.DE and current[0] != StatusCode.DE,
                event=defining,
            )
        )
    else:
        fresh_keys = {key for key, _ in new_events}
        fresh = [
            e
            for e in history
            if event_identity(e) in fresh_keys
            and (
                known.newest_event_at is None
                or (moment := event_moment(e)) is None
                or moment > known.newest_event_at
            )
        ]
        current = previous
        defining = None
        for event in fresh:
            state = (event.status_code, event.status_detail_code)
            defining = event
            if state == current:
                continue
            sequence += 1
            changes.append(
                Change(
                    sequence=sequence,
                    previous_status=current[0],
                    status_code=state[0],
                    status_detail_code=state[1],
                    occurred_at=event.occurred_at,
                    correction=current[0] == StatusCode.DE and state[0] != StatusCode.DE,
                    event=event,
                )
            )
            current = state

    status_code, status_detail_code = current
    actual = report.actual_delivery_date
    if actual is None and status_code == StatusCode.DE and defining is not None:
        actual = format_utc(defining.occurred_at)
    return Observation(
        new_events=new_events,
        changes=changes,
        status_code=status_code,
        status_detail_code=status_detail_code,
        defining_event=defining,
        ship_date=report.ship_date,
        estimated_delivery_date=report.estimated_delivery_date,
        actual_delivery_date=actual,
    )


def _unchanged(known: Known) -> Observation:
    """Nothing newer than what is stored: the status stays. A package whose state must be
    announced (first check, restart) announces it as it is, although the engine asks for the
    whole history then, so an adapter never answers :data:`UNCHANGED` for such a package."""
    changes = []
    if not known.settled:
        changes.append(
            Change(
                sequence=known.sequence + 1,
                previous_status=known.status_code,
                status_code=known.status_code,
                status_detail_code=known.status_detail_code,
                occurred_at=None,
                correction=False,
                event=None,
            )
        )
    return Observation(
        new_events=[],
        changes=changes,
        status_code=known.status_code,
        status_detail_code=known.status_detail_code,
        defining_event=None,
    )


def newest_moment(events: Iterable[TrackEvent]) -> datetime | None:
    """When the newest scan happened, mapped or not (what a carrier's "last event" is compared
    with)."""
    return max((m for e in events if (m := event_moment(e)) is not None), default=None)


def _not_found(known: Known) -> Observation:
    changes = []
    # A number the carrier called invalid and now only does not know is back to "not yet".
    was_invalid = (known.status_code, known.status_detail_code) == (
        StatusCode.UN,
        INVALID_NUMBER_DETAIL,
    )
    if not known.settled or was_invalid:
        changes.append(
            Change(
                sequence=known.sequence + 1,
                previous_status=known.status_code,
                status_code=StatusCode.NY,
                status_detail_code=None,
                occurred_at=None,
                correction=False,
                event=None,
            )
        )
        status: tuple[str, str | None] = (StatusCode.NY.value, None)
    else:
        # A carrier that stops finding a number it knew is not news; keep what we had.
        status = (known.status_code, known.status_detail_code)
    return Observation(
        new_events=[],
        changes=changes,
        status_code=status[0],
        status_detail_code=status[1],
        defining_event=None,
        carrier_found=False,
    )


def _invalid(known: Known, answer: InvalidNumber) -> Observation:
    """The carrier says the number is invalid: ``UN`` / :data:`INVALID_NUMBER_DETAIL`, a change
    when that is news. A number that was found before (it has scans, or a status besides ``NY``
    and ``UN``) is not taken for invalid on the carrier's word: that answer is read as "not
    found", which keeps what we had."""
    if known.identities or known.status_code not in (StatusCode.NY, StatusCode.UN):
        return _not_found(known)
    status = (StatusCode.UN.value, INVALID_NUMBER_DETAIL)
    changes = []
    if not known.settled or (known.status_code, known.status_detail_code) != status:
        changes.append(
            Change(
                sequence=known.sequence + 1,
                previous_status=known.status_code,
                status_code=status[0],
                status_detail_code=status[1],
                occurred_at=None,
                correction=False,
                event=None,
            )
        )
    return Observation(
        new_events=[],
        changes=changes,
        status_code=status[0],
        status_detail_code=status[1],
        defining_event=None,
        carrier_found=False,
        invalid=answer,
    )


def expiry(known: Known) -> Change:
    """The change recorded when a number was never found for too long."""
    return Change(
        sequence=known.sequence + 1,
        previous_status=known.status_code,
        status_code=StatusCode.UN,
        status_detail_code="TRACKING_EXPIRED",
        occurred_at=None,
        correction=False,
        event=None,
    )
