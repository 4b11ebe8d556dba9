"""UPS times: its dates (``YYYYMMDD``), clock times (``HHMMSS``, ``HH:MM:SS``, ``HMMSS``) and GMT
offsets (``-05:00`` in the Track API, ``-04.00`` in Track Alert), read into a local wall time and
a true UTC moment. A local time without a GMT time or offset stays local only: it is never
labelled UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_OFFSET = re.compile(r"^([+-])(\d{1,2})[.:]?(\d{2})$")


def event_times(
    *,
    local_date: str | None,
    local_time: str | None,
    gmt_date: str | None,
    gmt_time: str | None,
    offset: str | None,
) -> tuple[str | None, datetime | None]:
    """(local wall time as ISO text without offset, UTC time or ``None``).

    UTC comes from the GMT date and time, else from the local time and the GMT offset
    (``-05:00`` in the Track API, ``-04.00`` in Track Alert). A local time without either stays
    local only: it is never labelled UTC.
    """
    local = _combine(local_date, local_time)
    shift = _offset(offset)
    gmt = _combine(gmt_date, gmt_time)
    utc = gmt.replace(tzinfo=UTC) if gmt is not None else None
    if utc is None and local is not None and shift is not None:
        utc = (local - shift).replace(tzinfo=UTC)
    if local is None and utc is not None and shift is not None:
        local = (utc + shift).replace(tzinfo=None)
    return (local.isoformat() if local is not None else None), utc


def _combine(day: str | None, clock: str | None) -> datetime | None:
    parsed_day = _date(day)
    parsed_time = _time(clock)
    if parsed_day is None or parsed_time is None:
        return None
    return datetime(parsed_day.year, parsed_day.month, parsed_day.day, *parsed_time)


def _date(value: str | None) -> date | None:
    """``YYYYMMDD``."""
    if not value or len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _time(value: str | None) -> tuple[int, int, int] | None:
    """``HHMMSS``, ``HH:MM:SS``, or ``HMMSS`` (UPS drops the leading zero in places)."""
    if not value:
        return None
    digits = value.strip().replace(":", "")
    if not digits.isdigit() or len(digits) > 6:
        return None
    digits = digits.zfill(6)
    hour, minute, second = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _offset(value: str | None) -> timedelta | None:
    match = _OFFSET.match(value.strip()) if value else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 23 or int(minutes) > 59:
        return None
    shift = timedelta(hours=int(hours), minutes=int(minutes))
    return -shift if sign == "-" else shift


def local_text(day: str | None, clock: str | None) -> str | None:
    """A local date (and time) as ISO text without an offset; midnight when no time is given."""
    parsed_day = _date(day)
    if parsed_day is None:
        return None
    parsed_time = _time(clock) or (0, 0, 0)
    return datetime(parsed_day.year, parsed_day.month, parsed_day.day, *parsed_time).isoformat()


def moment_of(times: tuple[str | None, datetime | None]) -> datetime | None:
    """The moment of ``(local, utc)`` times for ordering: UTC when known, else the wall time."""
    local, utc = times
    if utc is not None:
        return utc
    return datetime.fromisoformat(local).replace(tzinfo=UTC) if local else None
