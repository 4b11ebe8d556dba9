"""PostNL: what the ShippingStatus API v2 answers for a barcode, as carrier reports.

The answer is JSON converted from XML, and reads like it: ``CompleteStatus`` (asked with
``detail=true``) or ``CurrentStatus`` holds ``Shipment``, one object or a list (a multi-parcel
shipment lists every parcel); a shipment's ``Event`` and ``OldStatus`` are likewise one object or
a list, and an empty field is ``{}``. A barcode PostNL does not know is a ``200`` with an empty
``CompleteStatus`` and ``Warnings: [{"Code": "2", "Message": "No shipment found"}]``.

Normalisation. Each ``Event`` has a ``Code`` (``J05``) from PostNL's event code table; the
mapping table ``domain/mappings/postnl.csv`` holds every documented event code, every status code
(``status:<n>``) and the phases (``phase:<n>``). An event is looked up by its code, then by the
status PostNL recorded at the same moment (the ``Status``/``OldStatus`` entry with the same time
stamp; for the newest event, the shipment's current ``Status``), then by that status's phase.
Codes PostNL uses but does not document (``01B`` in captured answers) are therefore read through
the status they came with. Nothing found: ``UN`` / ``CARRIER_STATUS_NOT_MAPPED``, kept and never
deciding the status. A shipment without events is reported as one event, its current ``Status``.

Timestamps. PostNL writes ``08-11-2022 10:13:20`` (day first, sometimes with milliseconds) and
``Expectation`` as ``2022-11-08T14:50:00``, both without an offset: PostNL's systems write Dutch
local time, so ``occurred_at`` is that wall time in Europe/Amsterdam (CET in winter, CEST in
summer) converted to UTC; ``carrier_occurred_at`` is the wall time as given, in ISO-8601. A time
that does carry an offset is read with it. In the hour the clocks go back a wall time is
ambiguous: the first (summer time) reading is taken; a wall time in the skipped spring hour reads
with the winter offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shiptrack.carriers.reading import moment as _moment
from shiptrack.carriers.reading import obj as _obj
from shiptrack.carriers.reading import text as _text
from shiptrack.carriers.reading import utc_and_wall
from shiptrack.carriers.reading import when as _when
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.mapping import Mapped, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

#: Where PostNL's offset-less times are read.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
#: PostNL's warning code for a barcode it has no shipment for ("No shipment found").
NO_SHIPMENT = "2"
#: The status code that says nothing ("Niet van toepassing" / "Not applicable").
NOT_APPLICABLE = "99"

_DAY_FIRST = ("%d-%m-%Y %H:%M:%S.%f", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y")


class Malformed(ValueError):
    """A body that is not the JSON PostNL documents."""


def map_event(code: str | None, status: str | None = None, phase: str | None = None) -> Mapped:
    """What a PostNL event means in ShipEngine's terms: by its event code, else by the status
    code and then the phase recorded with it."""
    keys = [code, f"status:{status}" if status else None, f"phase:{phase}" if phase else None]
    return table("postnl").lookup(keys)


def parse_timestamp(value: Any) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)`` of a PostNL time: UTC (from the offset, else from
    Dutch local time) and the wall time as given, in ISO-8601 without offset."""
    text = _text(value)
    if text is None:
        return None, None
    moment = _parse(text)
    if moment is None:
        return None, text
    return utc_and_wall(moment, AMSTERDAM)


def _parse(text: str) -> datetime | None:
    for pattern in _DAY_FIRST:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def warnings(document: Any) -> list[tuple[str, str]]:
    """``(code, message)`` of each warning, in either documented shape (a list, or
    ``{"Warning": {…}}``)."""
    raw = _obj(document).get("Warnings")
    if isinstance(raw, dict):
        raw = raw.get("Warning")
    return [
        (_text(w.get("Code")) or "", _text(w.get("Message")) or "")
        for w in _many(raw)
        if isinstance(w, dict)
    ]


def shipments(document: Any) -> list[dict[str, Any]]:
    """The shipments of a ``200`` answer (none when PostNL found none); :class:`Malformed` when
    the body is not PostNL's."""
    if not isinstance(document, dict):
        raise Malformed("the answer is not a JSON object")
    status = document.get("CompleteStatus", document.get("CurrentStatus"))
    if status is None:
        if "Warnings" in document:
            return []
        raise Malformed("the answer has neither CompleteStatus, CurrentStatus nor Warnings")
    return [s for s in _many(_obj(status).get("Shipment")) if isinstance(s, dict)]


def pick_shipment(found: list[dict[str, Any]], number: str) -> dict[str, Any] | None:
    """The parcel asked for: the one whose ``Barcode`` is the number, else the one whose main
    barcode it is (a multi-parcel shipment asked by its main barcode), else the first."""
    wanted = number.strip().upper()
    for field in ("Barcode", "MainBarcode"):
        for shipment in found:
            if (_text(shipment.get(field)) or "").upper() == wanted:
                return shipment
    return found[0] if found else None


def shipment_report(shipment: Mapping[str, Any]) -> CarrierReport:
    """One shipment, normalised: its events newest first, dates and estimate."""
    current = _obj(shipment.get("Status"))
    statuses = [_obj(s) for s in _many(shipment.get("OldStatus"))] + [current]
    recorded = _status_by_time(statuses)
    raw = [e for e in _many(shipment.get("Event")) if isinstance(e, dict)]
    events = [_event(e, recorded) for e in raw]
    if events:
        newest = max(range(len(events)), key=lambda i: _moment(events[i]))
        if not table("postnl").lookup([_text(raw[newest].get("Code"))]).known:
            fallback = recorded.get(parse_timestamp(raw[newest].get("TimeStamp"))[1] or "")
            events[newest] = _event(raw[newest], {}, fallback or _status_pair(current))
    elif _text(current.get("StatusCode")):
        events = [_status_event(current)]
    events.sort(key=_moment, reverse=True)
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    return CarrierReport(
        events=tuple(events),
        ship_date=_when(min(accepted, key=_moment)) if accepted else None,
        estimated_delivery_date=_estimate(shipment),
        actual_delivery_date=_when(max(delivered, key=_moment)) if delivered else None,
    )


def _status_pair(status: Mapping[str, Any]) -> tuple[str | None, str | None]:
    return _text(status.get("StatusCode")), _text(status.get("PhaseCode"))


def _status_by_time(statuses: list[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
    """The status recorded at each wall time; "not applicable" only where nothing else was."""
    by_time: dict[str, tuple[str | None, str | None]] = {}
    for status in statuses:
        wall = parse_timestamp(status.get("TimeStamp"))[1]
        code, phase = _status_pair(status)
        if wall is None or code is None:
            continue
        if wall not in by_time or by_time[wall][0] == NOT_APPLICABLE:
            by_time[wall] = (code, phase)
    return by_time


def _event(
    raw: Mapping[str, Any],
    recorded: Mapping[str, tuple[str | None, str | None]],
    status: tuple[str | None, str | None] | None = None,
) -> TrackEvent:
    code = _text(raw.get("Code"))
    occurred_at, local = parse_timestamp(raw.get("TimeStamp"))
    status_code, phase = status or recorded.get(local or "", (None, None))
    mapped = map_event(code, status_code, phase)
    description = _text(raw.get("Description"))
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=description,
        event_code=code,
        carrier_status_code=code,
        carrier_status_description=description,
    )


def _status_event(status: Mapping[str, Any]) -> TrackEvent:
    code, phase = _status_pair(status)
    mapped = map_event(None, code, phase)
    occurred_at, local = parse_timestamp(status.get("TimeStamp"))
    description = _text(status.get("StatusDescription"))
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=description,
        event_code=code,
        carrier_status_code=code,
        carrier_status_description=description,
    )


def _estimate(shipment: Mapping[str, Any]) -> str | None:
    """The start of PostNL's expected window in UTC, else its expected delivery date as given."""
    moment, _ = parse_timestamp(_obj(shipment.get("Expectation")).get("ETAFrom"))
    if moment is not None:
        return format_utc(moment)
    day = _text(shipment.get("DeliveryDate"))
    if day is None:
        return None
    try:
        return datetime.fromisoformat(day[:10]).strftime("%Y-%m-%dT00:00:00")
    except ValueError:
        return None


def _many(value: Any) -> list[Any]:
    """A field PostNL gives as one object or a list (XML converted to JSON), as a list."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and value:
        return [value]
    return []
