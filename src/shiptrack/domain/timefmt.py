"""Timestamps as ShipEngine writes them."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_utc(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``: seconds, plus milliseconds when there are any.

    A naive datetime is taken to be UTC already (that is how the store hands them back).
    """
    if moment is None:
        return None
    if moment.tzinfo is not None:
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        moment = moment.replace(tzinfo=None)
    if moment.year < 1000:
        # strftime writes such years unpadded; stored scan identities were hashed that way.
        if moment.microsecond:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    # isoformat is several times faster than strftime; this runs for every scan of every check.
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds") + "Z"
    return moment.isoformat() + "Z"


def retry_after_header(wait: float) -> str:
    """A ``Retry-After`` value: whole seconds, never 0."""
    return str(max(1, math.ceil(wait)))
