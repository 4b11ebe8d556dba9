"""Royal Mail: what Tracking API v2 answers, normalised into carrier reports.

Normalisation. Each event has an ``eventCode`` (``EV…``) and an ``eventName``. The mapping table
``domain/mappings/royal_mail.csv`` is looked up with, in order: the event code; ``text:<rule>``
from :data:`TEXT_RULES` applied to the event name (so a code the table does not know can still be
read when its name is plain: returned to sender, at a Post Office for collection, attempted,
delivered); and, for the newest event only, ``category:<statusCategory>`` of the summary (which
describes the newest event). Nothing found: ``UN`` / ``CARRIER_STATUS_NOT_MAPPED``, the event is
kept with its raw code and never decides the status.

Timestamps. Royal Mail documents ISO-8601 with an offset (``2016-10-20T10:04:00+01:00``):
``occurred_at`` is that moment in UTC and ``carrier_occurred_at`` the wall time as given. A time
without an offset is read as UK time (Europe/London, BST or GMT as on that date): every Royal Mail
scan is a UK scan. In the hour the clocks go back, an offset-less wall time is ambiguous; the
first (BST) reading is taken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shiptrack.carriers.reading import items as _list
from shiptrack.carriers.reading import moment as _moment
from shiptrack.carriers.reading import obj as _obj
from shiptrack.carriers.reading import text as _text
from shiptrack.carriers.reading import utc_and_wall
from shiptrack.carriers.reading import when as _when
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.mapping import Mapped, MappingTable, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

LONDON = ZoneInfo("Europe/London")


class Malformed(ValueError):
    """A 200 body that is not the JSON Royal Mail documents."""


def _rule(name: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return name, re.compile(pattern, re.IGNORECASE)


#: Name refinements, tried in order on ``eventName`` (the first match wins).
TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    _rule("returned", r"return(ed|ing)? to (the )?(sender|origin)|being returned"),
    _rule(
        "collected",
        r"collected (by|from) (the )?"
        r"(recipient|customer|addressee|post office|parcel ?shop|locker)",
    ),
    _rule(
        "collection-point",
        r"(post office|parcel ?shop|parcel ?locker|\blocker\b|pick-?up point|collection point)"
        r".*(collect|ready|available|await|delivered|held)"
        r"|(ready|available|awaiting) (for )?collection at (a |the |your )?"
        r"(post office|parcel ?shop|locker)",
    ),
    _rule("attempted", r"attempt|we missed you|card left|something for you card"),
    _rule("delivered", r"\bdelivered\b"),
)


def refinement(text: str) -> str | None:
    """The name of the first :data:`TEXT_RULES` rule ``text`` matches."""
    for name, pattern in TEXT_RULES:
        if pattern.search(text):
            return name
    return None


def mapping_keys(event: Mapping[str, Any], category: str | None = None) -> list[str]:
    """The keys to look an event up with, most specific first; ``category`` is the summary's
    ``statusCategory``, given for the newest event only."""
    keys: list[str] = []
    code = _text(event.get("eventCode"))
    if code:
        keys.append(code.upper())
    refined = refinement(_text(event.get("eventName")) or "")
    if refined:
        keys.append(f"text:{refined}")
    if category:
        keys.append(f"category:{category.upper()}")
    return keys


def map_event(event: Mapping[str, Any], category: str | None = None) -> Mapped:
    """What a Royal Mail event means in ShipEngine's terms."""
    mapping: MappingTable = table("royal_mail")
    return mapping.lookup(mapping_keys(event, category))


def parse_timestamp(value: Any) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)`` of a Royal Mail time: UTC from the given offset, or
    from Europe/London when there is none; the wall time always as given, without offset."""
    text = _text(value)
    if text is None:
        return None, None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, None
    return utc_and_wall(moment, LONDON)


def summary_pieces(document: Any) -> list[dict[str, Any]]:
    """The ``mailPieces`` of a summary answer (200 or 404); :class:`Malformed` otherwise."""
    if not isinstance(document, dict):
        raise Malformed("the summary answer is not an object")
    pieces = document.get("mailPieces")
    if not isinstance(pieces, list):
        raise Malformed("the summary answer has no mailPieces list")
    return [p for p in pieces if isinstance(p, dict)]


def piece_ids(piece: Mapping[str, Any]) -> set[str]:
    """Every identifier a summary piece answers to (the id asked, its 1D and 2D barcodes)."""
    summary = _obj(piece.get("summary"))
    values = (piece.get("mailPieceId"), summary.get("oneDBarcode"), summary.get("uniqueItemId"))
    return {compact(v) for v in map(_text, values) if v}


def piece_known(piece: Mapping[str, Any]) -> bool:
    """Whether a summary piece says Royal Mail knows the item (status 200 with a summary)."""
    status = _text(piece.get("status")) or "200"
    return status.startswith("2") and bool(_obj(piece.get("summary"))) and not piece.get("error")


def piece_last_event_at(piece: Mapping[str, Any]) -> datetime | None:
    """When the last event a summary piece names happened (UTC), ``None`` when it names none."""
    occurred_at, _ = parse_timestamp(_obj(piece.get("summary")).get("lastEventDateTime"))
    return occurred_at


def piece_error(piece: Mapping[str, Any]) -> str:
    """A summary piece's error, for the log."""
    error = _obj(piece.get("error"))
    return error_line(error) or f"status {_text(piece.get('status')) or '?'}"


def error_codes(document: Any) -> list[str]:
    """The ``errorCode`` values of a Royal Mail error body (``errors[]``)."""
    errors = _list(_obj(document).get("errors"))
    return [code for code in (_text(_obj(e).get("errorCode")) for e in errors) if code]


def error_text(document: Any) -> str:
    """What a Royal Mail error body says, for the log."""
    body = _obj(document)
    lines = [error_line(_obj(e)) for e in _list(body.get("errors"))]
    lines = [line for line in lines if line]
    if lines:
        return "; ".join(lines)
    return _text(body.get("moreInformation")) or _text(body.get("httpMessage")) or "no detail"


def error_line(error: Mapping[str, Any]) -> str:
    """``E1142 Barcode reference … isn't recognised`` for one error object."""
    parts = (_text(error.get("errorCode")), _text(error.get("errorDescription")))
    return " ".join(p for p in parts if p)


def events_report(document: Any) -> CarrierReport:
    """An events answer, normalised; :class:`Malformed` when it is not Royal Mail's JSON."""
    piece = _obj(document).get("mailPieces") if isinstance(document, dict) else None
    if not isinstance(piece, dict):
        raise Malformed("the events answer has no mailPieces object")
    summary = _obj(piece.get("summary"))
    raw = [e for e in _list(piece.get("events")) if isinstance(e, dict)]
    if not raw and summary.get("lastEventCode"):
        raw = [
            {
                "eventCode": summary.get("lastEventCode"),
                "eventName": summary.get("lastEventName"),
                "eventDateTime": summary.get("lastEventDateTime"),
                "locationName": summary.get("lastEventLocationName"),
            }
        ]
    signature = _obj(piece.get("signature"))
    signer = _text(signature.get("recipientName"))
    newest = _newest_index(raw)
    category = _text(summary.get("statusCategory"))
    events = [_event(e, category if i == newest else None, signer) for i, e in enumerate(raw)]
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    return CarrierReport(
        events=tuple(events),
        ship_date=_when(min(accepted, key=_moment)) if accepted else None,
        estimated_delivery_date=_estimate(_obj(piece.get("estimatedDelivery"))),
        actual_delivery_date=_when(max(delivered, key=_moment)) if delivered else None,
    )


def _event(raw: Mapping[str, Any], category: str | None, signer: str | None) -> TrackEvent:
    mapped = map_event(raw, category)
    occurred_at, local = parse_timestamp(raw.get("eventDateTime"))
    code = _text(raw.get("eventCode"))
    name = _text(raw.get("eventName"))
    delivered = mapped.status_code == StatusCode.DE
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=name,
        # Royal Mail names a site ("Stafford DO"), not an address: it is the only place it gives.
        city_locality=_text(raw.get("locationName")),
        signer=signer if delivered else None,
        event_code=code,
        carrier_status_code=code,
        carrier_status_description=name,
    )


def _estimate(estimate: Mapping[str, Any]) -> str | None:
    """The start of the estimated delivery window in UTC, else the estimated date as given."""
    day = _text(estimate.get("date"))
    if day is None:
        return None
    start = _text(estimate.get("startOfEstimatedWindow"))
    if start:
        moment, _ = parse_timestamp(f"{day[:10]}T{start}")
        if moment is not None:
            return format_utc(moment)
    return day


def _newest_index(raw: Sequence[Mapping[str, Any]]) -> int:
    best, best_moment = 0, None
    for index, event in enumerate(raw):
        moment, _ = parse_timestamp(event.get("eventDateTime"))
        if moment is not None and (best_moment is None or moment > best_moment):
            best, best_moment = index, moment
    return best


def compact(number: str) -> str:
    """A tracking number without spaces, upper case (as Royal Mail matches them)."""
    return "".join(number.split()).upper()
