"""A package's events as a timeline grouped by day, each day and time in the event's own local
time with its zone said, as the console and the public page show them.

Carriers give an event's time three ways (``domain.tracking.TrackEvent``): a local wall time with
an offset (``carrier_occurred_at`` ``2026-12-01T09:30:00-05:00``), a local wall time without one
(USPS's ``eventTimestamp``, with ``occurred_at`` in true UTC when the zone is known), or only UTC.
The wall time is what the recipient saw on the parcel's journey, so days follow it, not UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shiptrack.domain.tracking import TrackEvent


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event at its local wall time; ``offset`` from UTC when known."""

    event: TrackEvent
    #: The local wall time (naive); ``None`` when the carrier gave no time at all.
    local: datetime | None
    offset: timedelta | None

    @property
    def zone(self) -> str:
        """``UTC``, ``UTC+05:30``, ``UTC`` minus ``05:00`` (with a real minus sign) or
        ``local time`` (offset unknown)."""
        if self.local is None:
            return ""
        return zone_label(self.offset)


@dataclass(frozen=True, slots=True)
class TimelineDay:
    """The events of one local day, in the order given (most recent first)."""

    day: date | None
    entries: tuple[TimelineEntry, ...]


def zone_label(offset: timedelta | None) -> str:
    """How a zone is written: by its offset from UTC, with a real minus sign."""
    if offset is None:
        return "local time"
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes > 0 else "\u2212"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def local_time(event: TrackEvent) -> tuple[datetime | None, timedelta | None]:
    """The event's local wall time and its offset from UTC (either may be unknown)."""
    wall = _parse(event.carrier_occurred_at)
    utc = event.occurred_at
    if wall is not None and wall.tzinfo is not None:
        return wall.replace(tzinfo=None), wall.utcoffset()
    if wall is not None:
        if utc is None:
            return wall, None
        offset = wall - utc.replace(tzinfo=None)
        # A real offset is whole quarter hours within ±14 h; anything else is not a zone.
        quarters = offset.total_seconds() / 900
        if quarters.is_integer() and abs(offset) <= timedelta(hours=14):
            return wall, offset
        return wall, None
    if utc is not None:
        return utc.replace(tzinfo=None), timedelta(0)
    return None, None


def group_by_day(events: list[TrackEvent]) -> list[TimelineDay]:
    """``events`` (most recent first) grouped into local days; consecutive events of one day
    share it, and events without any time come last, in a day of their own (``day`` None)."""
    days: list[TimelineDay] = []
    current: list[TimelineEntry] = []
    current_day: date | None = None
    undated: list[TimelineEntry] = []
    for event in events:
        wall, offset = local_time(event)
        entry = TimelineEntry(event=event, local=wall, offset=offset)
        if wall is None:
            undated.append(entry)
            continue
        if current and wall.date() != current_day:
            days.append(TimelineDay(current_day, tuple(current)))
            current = []
        current_day = wall.date()
        current.append(entry)
    if current:
        days.append(TimelineDay(current_day, tuple(current)))
    if undated:
        days.append(TimelineDay(None, tuple(undated)))
    return days


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
