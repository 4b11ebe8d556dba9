"""Small readers every carrier's answer needs: JSON values taken as the type they should be (a
carrier that sends a number where text belongs, or nothing where a list belongs, is read, not
trusted), and the two ways a reading module orders and reports its events' times."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

#: Sorts before every real moment: events without a time come first when sorted by :func:`moment`.
_NEVER = datetime.min.replace(tzinfo=UTC)


def text(value: Any) -> str | None:
    """A JSON value as trimmed text: numbers as written; blanks, booleans and objects ``None``
    (PostNL writes an empty field as ``{}``)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def obj(value: Any) -> dict[str, Any]:
    """A JSON value as an object (anything else as an empty one)."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """A JSON value as a list (anything else as an empty one)."""
    return value if isinstance(value, list) else []


def utc_and_wall(parsed: datetime, zone: tzinfo | None) -> tuple[datetime | None, str]:
    """``(occurred_at, carrier_occurred_at)`` of a carrier's time once parsed: UTC from its own
    offset, else from ``zone`` (the wall time read there; ``fold=0``: in the hour the clocks go
    back, the first, summer-time reading), else unknown; and the wall time as given, ISO-8601
    without offset (milliseconds only when there are any)."""
    wall = parsed.replace(tzinfo=None)
    local = wall.isoformat(timespec="milliseconds" if wall.microsecond else "seconds")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC), local
    if zone is None:
        return None, local
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC), local


def moment(event: TrackEvent) -> datetime:
    """An event's UTC moment for ordering; an event without one sorts first."""
    return event.occurred_at or _NEVER


def when(event: TrackEvent) -> str | None:
    """An event's time as a date field shows it: UTC when known, else the carrier's wall time."""
    return format_utc(event.occurred_at) if event.occurred_at else event.carrier_occurred_at
