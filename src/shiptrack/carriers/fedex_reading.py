"""FedEx: what the Track API and its tracking webhooks answer, normalised into carrier reports.

Several shipments for one number
    FedEx reuses tracking numbers, and gives a held parcel's re-delivery a shipment of its own, so
    ``trackResults`` can hold several shipments (``trackingNumberUniqueId``) for one number. Each
    shipment *starts* at the earliest of its ship, pickup, tender and data-received dates and its
    oldest scan. The adapter follows:

    1. without a subscription time (a one-off lookup, or a push): the shipment that started last;
    2. with one (``since``): the shipment that started last among those that started no later than
       :data:`FOLLOW_ON_WINDOW` after the subscription — the subscribed parcel or its later leg,
       never a stranger who gets the number months later; if every shipment started later than
       that, the one that started first;
    3. shipments carrying only an ``error`` are ignored (``TRACKING.TRACKINGNUMBER.INVALID`` with no
       shipment makes the number invalid); when none has any date, FedEx's first.

Timestamps
    Scan times are ISO-8601 with the local offset: ``occurred_at`` is their UTC instant and
    ``carrier_occurred_at`` the local wall time. A time FedEx sends without an offset keeps only
    ``carrier_occurred_at``. Shipment dates at local midnight are dates, reported as
    ``YYYY-MM-DDT00:00:00`` (FedEx writes date-only values as ``T00:00:00-06:00``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from shiptrack.carriers.base import Result
from shiptrack.carriers.http import Answer
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, InvalidNumber
from shiptrack.domain.mapping import table
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

#: A shipment of the subscribed number that starts this long after the subscription is still
#: followed (a re-delivery leg); later ones belong to someone who got the number again.
FOLLOW_ON_WINDOW = timedelta(days=30)

#: Dates that say when a shipment started (besides its oldest scan).
_START_DATES = ("SHIP", "ACTUAL_PICKUP", "ACTUAL_TENDER", "SHIPMENT_DATA_RECEIVED")
_STAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?"
)


class Malformed(ValueError):
    """A body that is not the JSON FedEx documents."""


def complete_results(document: Any) -> dict[str, list[Any]]:
    """``completeTrackResults`` by upper-cased tracking number (Track API output, or the same
    without the ``output`` envelope)."""
    if not isinstance(document, dict):
        raise Malformed("the body is not a JSON object")
    output = document.get("output", document)
    complete = output.get("completeTrackResults") if isinstance(output, dict) else None
    if not isinstance(complete, list):
        raise Malformed("output.completeTrackResults is missing")
    answered: dict[str, list[Any]] = {}
    for entry in complete:
        if not isinstance(entry, dict):
            raise Malformed("a completeTrackResults entry is not an object")
        shipments = entry.get("trackResults", [])
        if not isinstance(shipments, list) or not all(isinstance(s, dict) for s in shipments):
            raise Malformed("trackResults is not a list of objects")
        number = _text(entry.get("trackingNumber"))
        if number is None and shipments:
            info = _object(shipments[0].get("trackingNumberInfo"))
            number = _text(info.get("trackingNumber"))
        answered.setdefault((number or "").upper(), []).extend(shipments)
    return answered


#: Per-number errors that say the number itself is invalid (``…NOTFOUND`` is "not yet").
INVALID_NUMBER_CODES = frozenset({"TRACKING.TRACKINGNUMBER.INVALID"})


def result(shipments: list[Any], since: datetime | None) -> Result:
    """What the answer for one number means: the chosen shipment's report, not found, or (when
    FedEx has no shipment and says so) an invalid number."""
    usable = [s for s in shipments if _has_data(s)]
    if not usable:
        for shipment in shipments:
            error = _object(shipment.get("error"))
            code = _text(error.get("code"))
            if code in INVALID_NUMBER_CODES:
                return InvalidNumber("FedEx", code, _text(error.get("message")))
        return NOT_FOUND
    return report(choose_shipment(usable, since))


def report(shipment: Mapping[str, Any]) -> CarrierReport:
    """One shipment (a ``trackResult``) normalised."""
    dates = _dates(shipment)
    details = _object(shipment.get("deliveryDetails"))
    signer = _text(details.get("signedByName")) or _text(details.get("receivedByName"))
    scans = _list(shipment.get("scanEvents"))
    events = [scan_event(_object(scan), signer) for scan in scans]
    latest = _object(shipment.get("latestStatusDetail"))
    if not events and _text(latest.get("code") or latest.get("derivedCode")):
        events = [status_event(latest, dates, signer)]
    window = _object(_object(shipment.get("estimatedDeliveryTimeWindow")).get("window"))
    standard = _object(_object(shipment.get("standardTransitTimeWindow")).get("window"))
    estimated = _first(
        dates.get("ESTIMATED_DELIVERY"),
        _text(window.get("ends")),
        _text(window.get("begins")),
        dates.get("APPOINTMENT_DELIVERY"),
        dates.get("COMMITMENT"),
        _text(standard.get("ends")),
    )
    return CarrierReport(
        events=tuple(events),
        ship_date=report_date(
            _first(dates.get("SHIP"), dates.get("ACTUAL_PICKUP"), dates.get("ACTUAL_TENDER"))
        ),
        estimated_delivery_date=report_date(estimated),
        actual_delivery_date=report_date(dates.get("ACTUAL_DELIVERY")),
    )


def scan_event(scan: Mapping[str, Any], signer: str | None) -> TrackEvent:
    """One ``scanEvents`` entry."""
    event_type = (_text(scan.get("eventType")) or "").upper() or None
    exception_code = _text(scan.get("exceptionCode"))
    derived = _text(scan.get("derivedStatusCode"))
    mapped = table("fedex").lookup(_keys(event_type, exception_code, derived))
    occurred_at, local = parse_moment(_text(scan.get("date")))
    place = _object(scan.get("scanLocation"))
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=_described(
            _text(scan.get("eventDescription")), _text(scan.get("exceptionDescription"))
        ),
        city_locality=_text(place.get("city")),
        state_province=_text(place.get("stateOrProvinceCode")),
        postal_code=_text(place.get("postalCode")),
        country_code=_text(place.get("countryCode")),
        signer=signer if event_type == "DL" else None,
        event_code=event_type,
        carrier_detail_code=exception_code,
        carrier_status_code=derived,
        carrier_status_description=_text(scan.get("derivedStatus")),
    )


def status_event(
    latest: Mapping[str, Any], dates: Mapping[str, str], signer: str | None
) -> TrackEvent:
    """The shipment's latest status as an event, for a shipment FedEx lists no scan for."""
    code = (_text(latest.get("code")) or "").upper() or None
    derived = _text(latest.get("derivedCode"))
    reasons = [_object(item) for item in _list(latest.get("ancillaryDetails"))]
    reason = _text(reasons[0].get("reason")) if reasons else None
    mapped = table("fedex").lookup(_keys(code, reason, derived))
    delivered = code == "DL" or (code is None and derived == "DL")
    occurred_at, local = parse_moment(dates.get("ACTUAL_DELIVERY") if delivered else None)
    place = _object(latest.get("scanLocation"))
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=_described(
            _text(latest.get("description")),
            _text(reasons[0].get("reasonDescription")) if reasons else None,
        ),
        city_locality=_text(place.get("city")),
        state_province=_text(place.get("stateOrProvinceCode")),
        postal_code=_text(place.get("postalCode")),
        country_code=_text(place.get("countryCode")),
        signer=signer if delivered else None,
        event_code=code,
        carrier_detail_code=reason,
        carrier_status_code=derived,
        carrier_status_description=_text(latest.get("statusByLocale")),
    )


def _has_data(shipment: Mapping[str, Any]) -> bool:
    """Whether a ``trackResult`` describes a shipment (not only a per-number ``error``)."""
    return bool(
        shipment.get("scanEvents")
        or shipment.get("latestStatusDetail")
        or shipment.get("dateAndTimes")
    )


def choose_shipment(
    shipments: Sequence[Mapping[str, Any]], since: datetime | None
) -> Mapping[str, Any]:
    """The shipment a subscription made at ``since`` follows (see the module docstring)."""
    dated = [
        (start, index, shipment)
        for index, shipment in enumerate(shipments)
        if (start := shipment_start(shipment)) is not None
    ]
    if not dated:
        return shipments[0]

    def latest(candidates: list[tuple[datetime, int, Mapping[str, Any]]]) -> Mapping[str, Any]:
        return max(candidates, key=lambda c: (c[0], -c[1]))[2]

    if since is None:
        return latest(dated)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    eligible = [c for c in dated if c[0] <= since + FOLLOW_ON_WINDOW]
    if eligible:
        return latest(eligible)
    return min(dated, key=lambda c: (c[0], c[1]))[2]


def shipment_start(shipment: Mapping[str, Any]) -> datetime | None:
    """When a shipment started: its earliest start date or scan (UTC; local time when FedEx gave
    no offset)."""
    dates = _dates(shipment)
    stamps = [dates.get(kind) for kind in _START_DATES]
    stamps += [_text(_object(scan).get("date")) for scan in _list(shipment.get("scanEvents"))]
    moments = [m for stamp in stamps if (m := _moment(stamp)) is not None]
    return min(moments, default=None)


def parse_moment(stamp: str | None) -> tuple[datetime | None, str | None]:
    """A FedEx timestamp as (UTC instant when it has an offset, local wall time without offset).

    Accepts ``2024-04-26T07:50:00-07:00``, ``...Z``, ``2024-08-15T00:00:00`` (no offset: local time
    only), ``2024-08-12T15:18:10 -0500`` and a bare date.
    """
    if not stamp:
        return None, None
    match = _STAMP.fullmatch(stamp.strip())
    if match is None:
        return None, None
    clock = match["time"] or "00:00:00"
    try:
        local = datetime.fromisoformat(f"{match['date']}T{clock}")
    except ValueError:
        return None, None
    wall = local.isoformat()
    offset = match["offset"]
    if offset is None:
        return None, wall
    if offset == "Z":
        zone = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if shift >= timedelta(hours=24):
            return None, wall
        zone = timezone(sign * shift)
    return local.replace(tzinfo=zone).astimezone(UTC), wall


def report_date(stamp: str | None) -> str | None:
    """A shipment date as shiptrack reports it: a local-midnight value is a date
    (``YYYY-MM-DDT00:00:00``); a time with an offset is UTC; a time without one stays local."""
    occurred_at, local = parse_moment(stamp)
    if local is None:
        return None
    wall = datetime.fromisoformat(local)
    if wall.time() == time(0, 0):
        return wall.isoformat()
    return format_utc(occurred_at) if occurred_at is not None else local


def _moment(stamp: str | None) -> datetime | None:
    occurred_at, local = parse_moment(stamp)
    if occurred_at is not None:
        return occurred_at
    return datetime.fromisoformat(local).replace(tzinfo=UTC) if local else None


def _dates(shipment: Mapping[str, Any]) -> dict[str, str]:
    """``dateAndTimes`` by type (the first of each type)."""
    dates: dict[str, str] = {}
    for item in _list(shipment.get("dateAndTimes")):
        entry = _object(item)
        kind, value = _text(entry.get("type")), _text(entry.get("dateTime"))
        if kind and value:
            dates.setdefault(kind.upper(), value)
    return dates


def _keys(code: str | None, detail: str | None, derived: str | None) -> list[str | None]:
    """Mapping keys, most specific first: ``code:detail``, ``code``, ``derived:code``."""
    return [
        f"{code}:{detail.upper()}" if code and detail else None,
        code,
        f"derived:{derived.upper()}" if derived else None,
    ]


def _described(description: str | None, reason: str | None) -> str | None:
    """The event text with FedEx's exception reason when it adds something."""
    if reason and reason != description:
        return f"{description}: {reason}" if description else reason
    return description


def _text(value: Any) -> str | None:
    """A leaf value as text; empty and non-scalar values are ``None``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def _object(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"expected a list, got {type(value).__name__}")
    return value


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


def error_text(answer: Answer) -> str:
    """FedEx's ``errors[]`` as ``CODE message; ...`` (empty when the body has none)."""
    try:
        document = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code, message = _text(error.get("code")), _text(error.get("message"))
            parts.append(" ".join(part for part in (code, message) if part))
    return "; ".join(part for part in parts if part)[:300]
