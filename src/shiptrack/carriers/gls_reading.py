"""GLS: what Track And Trace v1 answers, as carrier reports.

The answer is ``{"parcels": [...]}``. Each entry names the id it answers in ``requested``, and
carries either the parcel (``unitno``, ``status``, ``statusDateTime``, ``events``) or an error
(``errorCode``, ``errorMessage``): ``E_404_01`` "Resource Not Found" for an id GLS does not know.
One requested id may come back as several parcels (a reference that names two parcels); the one
whose ``unitno`` is the id asked for is read, else the one with the newest status or event.

Normalisation. Events carry a dotted ``code`` (``INTIAL.NORMAL``, ``DELIVD.PARCELSHOP``): an event
group of six letters, then the kind. The mapping table ``domain/mappings/gls.csv`` is looked up
with, in order: ``code:<code>``; ``text:<rule>`` from :data:`TEXT_RULES` applied to the English
``description`` (returned, refused, collected, waiting at a ParcelShop or locker, consignee not at
home); ``group:<group>`` (the part before the dot); and, for the newest event only,
``status:<parcel status>`` (the documented ``status`` enum). Nothing found: ``UN`` /
``CARRIER_STATUS_NOT_MAPPED``; the event is kept and never decides the status.

Timestamps. ``eventDateTime`` is documented with an offset (``2024-10-07T10:46:14+0200``):
``occurred_at`` is that moment in UTC, ``carrier_occurred_at`` the wall time as given. A time
without an offset is read in the zone of the event's ``country`` (ISO 3166-1 alpha-2,
:data:`COUNTRY_ZONES`, daylight saving included; in the hour the clocks go back, the first reading
is taken). Spain and Portugal are read on mainland time (the Canaries, Madeira and the Azores are an
hour behind), and countries that span several zones (the United States, Canada) are not guessed:
without an offset or a known country ``occurred_at`` stays empty and only the wall time is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shiptrack.carriers.reading import items as _list
from shiptrack.carriers.reading import moment as _moment
from shiptrack.carriers.reading import obj as _obj
from shiptrack.carriers.reading import text as _text
from shiptrack.carriers.reading import utc_and_wall
from shiptrack.carriers.reading import when as _when
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.mapping import Mapped, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import TrackEvent

#: GLS's per-parcel error for an id it does not know.
UNKNOWN_ID = "E_404_01"
#: GLS's per-parcel error for more ids than one request takes.
TOO_MANY_IDS = "E_400_02"
#: GLS's per-parcel internal error: the parcel could not be read now.
PARCEL_FAILED = "E_500_01"

#: One IANA zone per country of the GLS network (ISO 3166-1 alpha-2). Spain and Portugal: mainland.
COUNTRY_ZONES: dict[str, ZoneInfo] = {
    country: ZoneInfo(zone)
    for country, zone in {
        "AD": "Europe/Andorra",
        "AL": "Europe/Tirane",
        "AT": "Europe/Vienna",
        "BA": "Europe/Sarajevo",
        "BE": "Europe/Brussels",
        "BG": "Europe/Sofia",
        "CH": "Europe/Zurich",
        "CY": "Asia/Nicosia",
        "CZ": "Europe/Prague",
        "DE": "Europe/Berlin",
        "DK": "Europe/Copenhagen",
        "EE": "Europe/Tallinn",
        "ES": "Europe/Madrid",
        "FI": "Europe/Helsinki",
        "FR": "Europe/Paris",
        "GB": "Europe/London",
        "GR": "Europe/Athens",
        "HR": "Europe/Zagreb",
        "HU": "Europe/Budapest",
        "IE": "Europe/Dublin",
        "IS": "Atlantic/Reykjavik",
        "IT": "Europe/Rome",
        "LI": "Europe/Vaduz",
        "LT": "Europe/Vilnius",
        "LU": "Europe/Luxembourg",
        "LV": "Europe/Riga",
        "MC": "Europe/Monaco",
        "ME": "Europe/Podgorica",
        "MK": "Europe/Skopje",
        "MT": "Europe/Malta",
        "NL": "Europe/Amsterdam",
        "NO": "Europe/Oslo",
        "PL": "Europe/Warsaw",
        "PT": "Europe/Lisbon",
        "RO": "Europe/Bucharest",
        "RS": "Europe/Belgrade",
        "SE": "Europe/Stockholm",
        "SI": "Europe/Ljubljana",
        "SK": "Europe/Bratislava",
        "SM": "Europe/San_Marino",
        "TR": "Europe/Istanbul",
        "VA": "Europe/Vatican",
    }.items()
}


class Malformed(ValueError):
    """A body that is not the JSON GLS documents."""


def _rule(name: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return name, re.compile(pattern, re.IGNORECASE)


#: Description refinements, tried in order (the first match wins). GLS is asked for English.
TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    _rule(
        "returned", r"return(ed|ing)? to (the )?(sender|shipper)|being returned|\breturn shipment"
    ),
    _rule("refused", r"\brefus(ed|al)\b"),
    _rule("collected", r"(collected|picked up|handed out) (by|to) the (consignee|recipient)"),
    _rule("pickup-point", r"parcel ?shop|parcel ?locker|parcel ?box|parcel ?station"),
    _rule(
        "absent", r"not at home|\babsent\b|not (be )?(found|present|available)|notification card"
    ),
)


def refinement(text: str) -> str | None:
    """The name of the first :data:`TEXT_RULES` rule ``text`` matches."""
    for name, pattern in TEXT_RULES:
        if pattern.search(text):
            return name
    return None


def mapping_keys(code: str | None, description: str | None, status: str | None = None) -> list[str]:
    """The keys to look an event up with, most specific first; ``status`` is the parcel's status,
    given for the newest event only."""
    keys: list[str] = []
    if code:
        keys.append(f"code:{code.upper()}")
    if description:
        refined = refinement(description)
        if refined:
            keys.append(f"text:{refined}")
    if code and "." in code:
        keys.append(f"group:{code.split('.', 1)[0].upper()}")
    if status:
        keys.append(f"status:{status.upper()}")
    return keys


def map_event(code: str | None, description: str | None, status: str | None = None) -> Mapped:
    """What a GLS event means in ShipEngine's terms."""
    return table("gls").lookup(mapping_keys(code, description, status))


def parse_timestamp(value: Any, country: str | None) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)``: UTC from the given offset, else from the zone of
    the event's country (else unknown); the wall time always as given, without offset."""
    text = _text(value)
    if text is None:
        return None, None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, text
    # fromisoformat reads GLS's "+0200" as an offset too.
    return utc_and_wall(moment, COUNTRY_ZONES.get((country or "").upper()))


def parcels(document: Any) -> list[dict[str, Any]]:
    """The ``parcels`` of a 200 answer; :class:`Malformed` otherwise."""
    if not isinstance(document, dict) or not isinstance(document.get("parcels"), list):
        raise Malformed("the answer has no parcels list")
    return [p for p in document["parcels"] if isinstance(p, dict)]


def fault_code(document: Any) -> str | None:
    """The Apigee ``fault.detail.errorcode`` of an error body
    (``policies.ratelimit.QuotaViolation``, ``steps.jwt.TokenExpired``)."""
    return _text(_obj(_obj(_obj(document).get("fault")).get("detail")).get("errorcode"))


def error_text(document: Any) -> str:
    """What an error body says, for the log (problem ``detail``, Apigee ``faultstring`` or a
    parcel's ``errorMessage``)."""
    body = _obj(document)
    parts = (
        _text(body.get("errorCode")),
        _text(body.get("errorMessage")),
        _text(body.get("title")),
        _text(body.get("detail")),
        _text(_obj(body.get("fault")).get("faultstring")),
    )
    return " ".join(p for p in parts if p) or "no detail"


def pick(entries: list[dict[str, Any]], asked: str) -> dict[str, Any]:
    """The parcel that answers ``asked`` among several: its own ``unitno``, else the newest."""
    own = [e for e in entries if (_text(e.get("unitno")) or "").upper() == asked.upper()]
    if own:
        return own[0]
    return max(entries, key=_newest_moment)


def parcel_report(parcel: Mapping[str, Any]) -> CarrierReport:
    """One parcel entry (no ``errorCode``), normalised."""
    status = _text(parcel.get("status"))
    raw = [e for e in _list(parcel.get("events")) if isinstance(e, dict)]
    newest = _newest_index(raw)
    events = [_event(e, status if i == newest else None) for i, e in enumerate(raw)]
    if not events and status:
        events = [_status_event(parcel, status)]
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    return CarrierReport(
        events=tuple(events),
        ship_date=_when(min(accepted, key=_moment)) if accepted else None,
        actual_delivery_date=_when(max(delivered, key=_moment)) if delivered else None,
    )


def _event(raw: Mapping[str, Any], status: str | None) -> TrackEvent:
    code = _text(raw.get("code"))
    description = _text(raw.get("description"))
    country = (_text(raw.get("country")) or "").upper() or None
    mapped = map_event(code, description, status)
    occurred_at, local = parse_timestamp(raw.get("eventDateTime"), country)
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=description,
        city_locality=_text(raw.get("city")),
        postal_code=_text(raw.get("postalCode")),
        country_code=country,
        event_code=code,
        carrier_status_code=code,
        carrier_status_description=description,
    )


def _status_event(parcel: Mapping[str, Any], status: str) -> TrackEvent:
    """A parcel GLS lists without events (``showEvents=false``, or none yet): its status alone."""
    mapped = map_event(None, None, status)
    occurred_at, local = parse_timestamp(parcel.get("statusDateTime"), None)
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=status,
        carrier_status_code=status,
        carrier_status_description=status,
    )


def _newest_index(raw: list[dict[str, Any]]) -> int:
    best, best_moment = 0, None
    for index, event in enumerate(raw):
        moment, _ = parse_timestamp(event.get("eventDateTime"), _text(event.get("country")))
        if moment is not None and (best_moment is None or moment > best_moment):
            best, best_moment = index, moment
    return best


def _newest_moment(parcel: Mapping[str, Any]) -> datetime:
    moments = [parse_timestamp(parcel.get("statusDateTime"), None)[0]]
    for event in _list(parcel.get("events")):
        item = _obj(event)
        moments.append(parse_timestamp(item.get("eventDateTime"), _text(item.get("country")))[0])
    known = [m for m in moments if m is not None]
    return max(known) if known else datetime.min.replace(tzinfo=UTC)
