"""La Poste: what the Suivi v2 API (``GET /idships/{ids}``) answers, as carrier reports.

Answers. Every answer is La Poste JSON: one object per id asked, with a ``returnCode`` (La Poste's
own code, not the HTTP status), the ``idShip`` and either a ``shipment`` or a ``returnMessage``.
One id: HTTP ``200`` (an array of one object; a bare object is read too), ``400`` or ``404`` (one
object). Several ids: HTTP ``207`` with an array of per-id objects, each with its own
``returnCode`` (``200`` with its shipment, ``400``, ``404``/``104``…). :func:`entries` reads both
shapes, and the per-id objects even when the array holds them as JSON text (the spec's 207 schema
says "array of strings").

What a per-id ``returnCode`` means (:func:`verdict`):

- ``2xx`` with a ``shipment``: the shipment, normalised by :func:`shipment_report`;
- ``400``: La Poste says the number itself is not valid (the spec's 400 example: "Le numéro que
  vous avez saisi n'est pas valide … le nombre de caractères"): an **invalid number**;
- anything else (``404``; ``104`` "tracking not yet available", the spec's 404 example; ``101``,
  ``105``, ``109``, which the spec lists without saying what they mean; a ``5xx`` for one id):
  **not found**. La Poste's 404 is "Unknown or Invalid idShip" and does not tell the two apart, so
  only the 400 is taken for "invalid".

Normalisation. Each event's ``code`` (``DI1``, ``MD2``, …) is looked up in
``domain/mappings/la_poste.csv``; a code the table does not know is ``UN`` /
``CARRIER_STATUS_NOT_MAPPED`` and never decides the status. Labels are asked in English
(``lang=en_GB``) and kept as La Poste gives them. ``holder`` tells which La Poste network carries
the item (1 letter mail, 3 Chronopost, 4 Colissimo): its name is every event's
``carrier_detail_code`` (:data:`HOLDERS`). While the item waits at a pickup point (``SP``) the
point's name (``contextData.removalPoint.name``) is the event's ``company_name``.

Timestamps. La Poste documents every date with an offset (``2020-12-07T00:00:00+01:00``):
``occurred_at`` is that moment in UTC, ``carrier_occurred_at`` the wall time as given. A date
without an offset is read in the zone of the event's ``country`` when it has one
(:data:`COUNTRY_ZONES`: metropolitan France, Monaco, Andorra, and the overseas departments and
territories each in their own zone), in Europe/Paris when it has none (La Poste is French; the
documented examples are French times); in a country the table does not name, the moment is
unknown and only the wall time is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from shiptrack.domain.mapping import Mapped, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

#: ``holder`` (who carries the item, the spec's enum) → the name kept as ``carrier_detail_code``.
HOLDERS: dict[int, str] = {1: "courrier", 3: "chronopost", 4: "colissimo"}
PARIS = ZoneInfo("Europe/Paris")
#: The zone of an offset-less date, by the event's country (ISO 3166 alpha-2, as La Poste gives
#: it). The overseas departments and territories have ISO codes of their own.
COUNTRY_ZONES: dict[str, ZoneInfo] = {
    "FR": PARIS,
    "MC": ZoneInfo("Europe/Monaco"),
    "AD": ZoneInfo("Europe/Andorra"),
    "GP": ZoneInfo("America/Guadeloupe"),
    "MQ": ZoneInfo("America/Martinique"),
    "GF": ZoneInfo("America/Cayenne"),
    "RE": ZoneInfo("Indian/Reunion"),
    "YT": ZoneInfo("Indian/Mayotte"),
    "PM": ZoneInfo("America/Miquelon"),
    "BL": ZoneInfo("America/St_Barthelemy"),
    "MF": ZoneInfo("America/Marigot"),
    "NC": ZoneInfo("Pacific/Noumea"),
    # French Polynesia spans three zones; its post and most of its people are on Tahiti.
    "PF": ZoneInfo("Pacific/Tahiti"),
    "WF": ZoneInfo("Pacific/Wallis"),
}
#: The per-id ``returnCode`` La Poste gives a number that is not valid (its 400 answer).
INVALID = 400


class Malformed(ValueError):
    """A body that is not the JSON La Poste documents."""


def entries(document: Any) -> list[dict[str, Any]]:
    """The per-id objects of an answer (an array, a bare object, or an array of JSON texts);
    :class:`Malformed` when there are none or one has no ``returnCode``."""
    items = document if isinstance(document, list) else [document]
    read: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            try:
                item = json.loads(item)
            except ValueError:
                raise Malformed("an entry is text that is not JSON") from None
        if not isinstance(item, dict) or return_code(item) is None:
            raise Malformed("an entry has no returnCode")
        read.append(item)
    if not read:
        raise Malformed("the answer holds no entry")
    return read


def return_code(entry: Mapping[str, Any]) -> int | None:
    """La Poste's ``returnCode`` of one entry (a number, sometimes given as text)."""
    value = entry.get("returnCode")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def entry_id(entry: Mapping[str, Any]) -> str | None:
    """The id an entry is about: its ``idShip``, else its shipment's."""
    shipment = _obj(entry.get("shipment"))
    return _text(entry.get("idShip")) or _text(shipment.get("idShip"))


def entry_message(entry: Mapping[str, Any]) -> str:
    """What an entry says, for the log and an invalid number's text."""
    return _text(entry.get("returnMessage")) or _text(entry.get("message")) or "no message"


def map_event(code: str | None) -> Mapped:
    """What a La Poste event code means in ShipEngine's terms."""
    return table("la_poste").lookup([code.strip().upper() if code else None])


def parse_timestamp(value: Any, country: str | None) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)``: UTC from the given offset, else from the zone of
    ``country`` (Europe/Paris without one); the wall time always as given, without offset."""
    text = _text(value)
    if text is None:
        return None, None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, text
    return utc_and_wall(moment, COUNTRY_ZONES.get(country.upper()) if country else PARIS)


def shipment_report(shipment: Mapping[str, Any]) -> CarrierReport:
    """One ``shipment`` of a ``200`` entry, normalised; events as La Poste lists them (newest
    first)."""
    holder = _holder(shipment.get("holder"))
    context = _obj(shipment.get("contextData"))
    point = _text(_obj(context.get("removalPoint")).get("name"))
    raw = [e for e in _list(shipment.get("event")) if isinstance(e, dict)]
    events = [_event(e, holder, point) for e in raw]
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    entered = _date(shipment.get("entryDate"))
    return CarrierReport(
        events=tuple(events),
        ship_date=entered or (_when(min(accepted, key=_moment)) if accepted else None),
        estimated_delivery_date=_date(shipment.get("estimDate")),
        # Only a delivery scan makes the item delivered; deliveryDate gives its moment.
        actual_delivery_date=(
            (_date(shipment.get("deliveryDate")) or _when(max(delivered, key=_moment)))
            if delivered
            else None
        ),
    )


def _event(raw: Mapping[str, Any], holder: str | None, point: str | None) -> TrackEvent:
    code = _text(raw.get("code"))
    label = _text(raw.get("label"))
    country = _text(raw.get("country"))
    mapped = map_event(code)
    occurred_at, local = parse_timestamp(raw.get("date"), country)
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=label,
        country_code=country.upper() if country else None,
        company_name=point if mapped.status_code == StatusCode.SP else None,
        event_code=code,
        carrier_status_code=code,
        carrier_detail_code=holder,
        carrier_status_description=label,
    )


def _holder(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and int(value) == value:
        return HOLDERS.get(int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return HOLDERS.get(int(value.strip()))
    return None


def _date(value: Any) -> str | None:
    """A shipment date as reported: UTC when La Poste gives an offset, else as given."""
    moment, local = parse_timestamp(value, None)
    return format_utc(moment) if moment else local
