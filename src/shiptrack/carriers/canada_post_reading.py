"""Canada Post: what the Tracking web service answers (XML), normalised into carrier reports.

The body. ``GET …/vis/track/pin/{pin}/detail`` answers ``<tracking-detail>`` (schema
``track.xsd``, namespace ``http://www.canadapost.ca/ws/track``; the ``-v2`` namespace of the
``vnd.cpc.track-v2+xml`` media type is read the same way), or ``<messages>`` with a ``code``
and a ``description`` per message (``004`` "No Pin History", ``E002`` "AAA Authentication
Failure"). Elements are matched by local name, so either namespace, or none, reads alike. A body
with a DOCTYPE is refused before parsing: Canada Post sends none, and entity declarations are how
XML bodies attack parsers.

Normalisation. Every ``occurrence`` has an ``event-identifier`` (``0174``, sometimes unpadded:
``20``). The mapping table ``domain/mappings/canada_post.csv`` is keyed by the 4-digit form. The
first acceptance/processing scan of the item is looked up as ``<code>:first`` before ``<code>``
(accepted, ``AC``; later ones are ``IT``), and a scan whose description says the item is returned
to the sender is looked up as ``returned`` first, whatever its code.

Times. Canada Post gives ``event-date`` + ``event-time`` as local wall time and, in
``event-time-zone``, a North American abbreviation (``EST``, ``NDT``, …). ``carrier_occurred_at``
is the wall time as given; ``occurred_at`` is UTC from the abbreviation's offset. When the
abbreviation is missing or unknown, the zone of the event's province (``event-province``)
decides, daylight saving included; an event with neither is given no UTC time rather than a
made-up one. The abbreviation wins over the province because a province can span zones
(north-western Ontario is on Central time, parts of BC on Mountain time) and the abbreviation also
says whether DST was in effect.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shiptrack.carriers.reading import when as _when
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.mapping import Mapped, MappingTable, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import TrackEvent

log = logging.getLogger("shiptrack.carriers.canada_post")

#: The namespace of ``track.xsd``.
NAMESPACE = "http://www.canadapost.ca/ws/track"
#: The signature-image event: information about a delivery, never a status of its own.
SIGNATURE_EVENT = "0020"
#: Canada Post's "no history for this PIN" message code (HTTP 404).
NO_PIN_HISTORY = "004"

#: The UTC offsets of the zone abbreviations Canada Post writes in ``event-time-zone``.
ZONE_ABBREVIATIONS: dict[str, timedelta] = {
    "NST": timedelta(hours=-3, minutes=-30),
    "NDT": timedelta(hours=-2, minutes=-30),
    "AST": timedelta(hours=-4),
    "ADT": timedelta(hours=-3),
    "EST": timedelta(hours=-5),
    "EDT": timedelta(hours=-4),
    "CST": timedelta(hours=-6),
    "CDT": timedelta(hours=-5),
    "MST": timedelta(hours=-7),
    "MDT": timedelta(hours=-6),
    "PST": timedelta(hours=-8),
    "PDT": timedelta(hours=-7),
    "UTC": timedelta(0),
    "GMT": timedelta(0),
}

#: Each province and territory's zone (the zone of most of its people, where it has several).
PROVINCE_ZONES: dict[str, str] = {
    "NL": "America/St_Johns",
    "NS": "America/Halifax",
    "PE": "America/Halifax",
    "NB": "America/Moncton",
    "QC": "America/Toronto",
    "ON": "America/Toronto",
    "MB": "America/Winnipeg",
    "SK": "America/Regina",
    "AB": "America/Edmonton",
    "BC": "America/Vancouver",
    "YT": "America/Whitehorse",
    "NT": "America/Yellowknife",
    "NU": "America/Iqaluit",
}

_RETURNED = re.compile(r"\breturn(ed|ing)?\b.*\bsender\b", re.IGNORECASE)


class NotCanadaPostXml(ValueError):
    """A body that is not the XML Canada Post documents."""


@dataclass(frozen=True, slots=True)
class Message:
    """One ``<message>`` of a ``<messages>`` answer."""

    code: str
    description: str


def parse(body: bytes) -> ET.Element:
    """The root element of a Canada Post answer (:class:`NotCanadaPostXml` if it is none)."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise NotCanadaPostXml("a DOCTYPE or entity declaration")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise NotCanadaPostXml(str(error)) from None
    if _local(root.tag) not in ("tracking-detail", "messages"):
        raise NotCanadaPostXml(f"root element {_local(root.tag)!r}")
    return root


def is_messages(root: ET.Element) -> bool:
    """Whether the answer is a ``<messages>`` list (an error or "no history")."""
    return _local(root.tag) == "messages"


def messages(root: ET.Element) -> list[Message]:
    """The messages of a ``<messages>`` answer."""
    return [
        Message(_text(m, "code") or "", _text(m, "description") or "")
        for m in root
        if _local(m.tag) == "message"
    ]


def mapping_key(identifier: str) -> str:
    """The table key of an ``event-identifier``: digits padded to four (``20`` → ``0020``)."""
    code = identifier.strip()
    return code.zfill(4) if code.isdigit() else code


def map_event(
    identifier: str, description: str, mapping: MappingTable, *, first: bool = False
) -> Mapped:
    """What a Canada Post scan means in ShipEngine's terms (see the module docstring)."""
    key = mapping_key(identifier)
    keys = ["returned"] if _RETURNED.search(description) else []
    if first:
        keys.append(f"{key}:first")
    keys.append(key)
    return mapping.lookup(keys)


def event_times(
    date: str | None, time: str | None, zone: str | None, province: str | None
) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)`` of a scan (see the module docstring)."""
    if not date:
        return None, None
    try:
        wall = datetime.fromisoformat(f"{date}T{time or '00:00:00'}")
    except ValueError:
        return None, None
    local = wall.isoformat(timespec="seconds")
    offset = ZONE_ABBREVIATIONS.get((zone or "").strip().upper())
    if offset is not None:
        return wall.replace(tzinfo=timezone(offset)).astimezone(UTC), local
    zone_name = PROVINCE_ZONES.get((province or "").strip().upper())
    if zone_name is None:
        return None, local
    try:
        tz = ZoneInfo(zone_name)
    except ZoneInfoNotFoundError:
        log.warning("no time zone database entry for %s: times stay local", zone_name)
        return None, local
    # fold=0: in the repeated hour of the autumn change the first (daylight) pass is meant, and a
    # wall time in the skipped spring hour reads with the offset before the change.
    return wall.replace(tzinfo=tz).astimezone(UTC), local


def detail_report(root: ET.Element) -> CarrierReport:
    """A ``<tracking-detail>`` answer, normalised; events newest first."""
    mapping = table("canada_post")
    rows = [_Row.read(o) for o in _find_all(root, "significant-events", "occurrence")]
    rows.sort(key=lambda r: r.moment(), reverse=True)
    first_accepted = _first_accepted(rows, mapping)
    events = [_event(row, mapping, first=row is first_accepted) for row in rows]
    events = _with_signer(events, rows)
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    expected = _text(root, "changed-expected-date") or _text(root, "expected-delivery-date")
    return CarrierReport(
        events=tuple(events),
        ship_date=_when(accepted[-1]) if accepted else None,
        estimated_delivery_date=_date(expected),
        actual_delivery_date=_when(delivered[0]) if delivered else None,
    )


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    identifier: str
    description: str
    occurred_at: datetime | None
    local: str | None
    signer: str | None
    site: str | None
    province: str | None
    retail_name: str | None

    @classmethod
    def read(cls, occurrence: ET.Element) -> _Row:
        province = _text(occurrence, "event-province")
        occurred_at, local = event_times(
            _text(occurrence, "event-date"),
            _text(occurrence, "event-time"),
            _text(occurrence, "event-time-zone"),
            province,
        )
        return cls(
            identifier=_text(occurrence, "event-identifier") or "",
            description=_text(occurrence, "event-description") or "",
            occurred_at=occurred_at,
            local=local,
            signer=_text(occurrence, "signatory-name"),
            site=_text(occurrence, "event-site"),
            province=province.upper() if province else None,
            retail_name=_text(occurrence, "event-retail-name"),
        )

    def moment(self) -> datetime:
        """For ordering: UTC when known, else the wall time read as UTC."""
        if self.occurred_at is not None:
            return self.occurred_at
        if self.local is not None:
            return datetime.fromisoformat(self.local).replace(tzinfo=UTC)
        return datetime.min.replace(tzinfo=UTC)


def _first_accepted(rows: Sequence[_Row], mapping: MappingTable) -> _Row | None:
    """The oldest scan whose code has a ``:first`` row (rows are newest first)."""
    for row in reversed(rows):
        if f"{mapping_key(row.identifier)}:first" in mapping.rows:
            return row
    return None


def _event(row: _Row, mapping: MappingTable, *, first: bool) -> TrackEvent:
    mapped = map_event(row.identifier, row.description, mapping, first=first)
    canadian = row.province in PROVINCE_ZONES
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=row.occurred_at,
        carrier_occurred_at=row.local,
        description=row.description or None,
        city_locality=row.site,
        state_province=row.province,
        country_code="CA" if canadian else None,
        company_name=row.retail_name,
        signer=row.signer if mapped.status_code == StatusCode.DE else None,
        event_code=row.identifier or None,
        carrier_status_code=row.identifier or None,
        carrier_status_description=row.description or None,
    )


def _with_signer(events: list[TrackEvent], rows: Sequence[_Row]) -> list[TrackEvent]:
    """A delivery without its own ``signatory-name`` takes the one of the signature-image scan
    nearest to it in time (Canada Post often records the signer there only)."""
    signatures = [r for r in rows if mapping_key(r.identifier) == SIGNATURE_EVENT and r.signer]
    if not signatures:
        return events
    result = []
    for event, row in zip(events, rows, strict=True):
        if event.status_code == StatusCode.DE and event.signer is None:
            nearest = min(signatures, key=lambda s: abs(s.moment() - row.moment()))
            event = replace(event, signer=nearest.signer)
        result.append(event)
    return result


def _date(value: str | None) -> str | None:
    """A date Canada Post gives without a time: reported as given, at midnight, without ``Z``."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None).isoformat(timespec="seconds")
    except ValueError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _find_all(element: ET.Element, parent: str, name: str) -> list[ET.Element]:
    container = _child(element, parent)
    if container is None:
        return []
    return [c for c in container if _local(c.tag) == name]


def _text(element: ET.Element, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None
