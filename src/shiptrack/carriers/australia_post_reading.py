"""Australia Post: what the Shipping and Tracking API's "Track items" answers, as carrier reports.

Normalisation. Australia Post events carry no code, only a ``description`` (and the item a
``status``). The mapping table ``domain/mappings/australia_post.csv`` is looked up with, in order:
``desc:<description>`` (lower case, spaces collapsed); ``text:<rule>`` from :data:`TEXT_RULES`
applied to the description (so wording the table does not list can still be read when it is plain:
returned to sender, collected, awaiting collection at a Post Office or locker, card left,
delivered); and, for the newest event only, ``status:<item status>``. Nothing found: ``UN`` /
``CARRIER_STATUS_NOT_MAPPED``; the event is kept and never decides the status.

Timestamps. The documented ``date`` carries an offset (``2014-05-30T14:43:09+10:00``):
``occurred_at`` is that moment in UTC, ``carrier_occurred_at`` the wall time as given. A time
without an offset is read in the zone of the state its ``location`` ends with (``ALEXANDRIA NSW``:
Australia/Sydney, with daylight saving; QLD Australia/Brisbane, none; SA Australia/Adelaide,
+9:30 with daylight saving; NT Australia/Darwin; WA Australia/Perth). Without an offset or a
state the moment is unknown: ``occurred_at`` stays empty and only the wall time is kept. In the
hour the clocks go back an offset-less wall time is ambiguous; the first (daylight) reading is
taken.
"""

from __future__ import annotations

import re
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
from shiptrack.domain.tracking import TrackEvent

#: The time zone of each Australian state and territory, by its postal abbreviation.
STATE_ZONES: dict[str, ZoneInfo] = {
    "NSW": ZoneInfo("Australia/Sydney"),
    "ACT": ZoneInfo("Australia/Sydney"),
    "VIC": ZoneInfo("Australia/Melbourne"),
    "TAS": ZoneInfo("Australia/Hobart"),
    "QLD": ZoneInfo("Australia/Brisbane"),
    "SA": ZoneInfo("Australia/Adelaide"),
    "NT": ZoneInfo("Australia/Darwin"),
    "WA": ZoneInfo("Australia/Perth"),
}
#: Australia Post's code for an id it has no item for ("Invalid tracking ID").
UNKNOWN_ID = "ESB-10001"
#: Australia Post's code for a request with more than 10 ids.
TOO_MANY_IDS = "51101"

_STATE = re.compile(r"(?:^|\s)(NSW|ACT|VIC|TAS|QLD|SA|NT|WA)(?:\s+\d{4})?\s*$", re.IGNORECASE)
_COUNTRY = re.compile(r"^(?P<place>.*?)\s*\((?P<country>[A-Z]{2})\)\s*$")


class Malformed(ValueError):
    """A body that is not the JSON Australia Post documents."""


def _rule(name: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return name, re.compile(pattern, re.IGNORECASE)


#: Description refinements, tried in order (the first match wins).
TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    _rule("returned", r"return(ed|ing)? to (the )?sender|being returned"),
    _rule("collected", r"\bcollected\b(?!.*\bfrom (the )?sender)"),
    _rule(
        "collection-point",
        r"(awaiting|ready for|available for) (customer )?collection|parcel ?locker|post office",
    ),
    _rule("attempted", r"attempted delivery|delivery attempted|card left|unsuccessful delivery"),
    _rule("delivered", r"^delivered\b"),
)


def refinement(text: str) -> str | None:
    """The name of the first :data:`TEXT_RULES` rule ``text`` matches."""
    for name, pattern in TEXT_RULES:
        if pattern.search(text):
            return name
    return None


def normalise(text: str) -> str:
    """A description as the table keys it: lower case, single spaces."""
    return " ".join(text.split()).lower()


def mapping_keys(description: str | None, status: str | None = None) -> list[str]:
    """The keys to look an event up with, most specific first; ``status`` is the item's status,
    given for the newest event only."""
    keys: list[str] = []
    if description:
        keys.append(f"desc:{normalise(description)}")
        refined = refinement(description)
        if refined:
            keys.append(f"text:{refined}")
    if status:
        keys.append(f"status:{normalise(status)}")
    return keys


def map_event(description: str | None, status: str | None = None) -> Mapped:
    """What an Australia Post event means in ShipEngine's terms."""
    return table("australia_post").lookup(mapping_keys(description, status))


def location_state(location: str | None) -> str | None:
    """The Australian state a location ends with (``ALEXANDRIA NSW`` → ``NSW``)."""
    if not location:
        return None
    found = _STATE.search(location)
    return found.group(1).upper() if found else None


def parse_timestamp(value: Any, location: str | None) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)``: UTC from the given offset, else from the zone of
    the location's state (else unknown); the wall time always as given, without offset."""
    text = _text(value)
    if text is None:
        return None, None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, text
    return utc_and_wall(moment, STATE_ZONES.get(location_state(location) or ""))


def tracking_results(document: Any) -> list[dict[str, Any]]:
    """The ``tracking_results`` of a 200 answer; :class:`Malformed` otherwise."""
    if not isinstance(document, dict) or not isinstance(document.get("tracking_results"), list):
        raise Malformed("the answer has no tracking_results list")
    return [r for r in document["tracking_results"] if isinstance(r, dict)]


def error_codes(document: Any) -> list[str]:
    """The codes of a top-level ``errors[]`` body (``51101``, ``API_002``, …)."""
    errors = _list(_obj(document).get("errors"))
    return [c for c in (_text(_obj(e).get("code")) for e in errors) if c]


def error_text(errors: Any) -> str:
    """What an ``errors[]`` list says, for the log."""
    lines = []
    for error in _list(errors):
        item = _obj(error)
        parts = (_text(item.get("code")), _text(item.get("name")), _text(item.get("message")))
        lines.append(" ".join(p for p in parts if p))
    return "; ".join(line for line in lines if line) or "no detail"


def result_report(result: Mapping[str, Any]) -> CarrierReport | None:
    """One ``tracking_results`` entry, normalised; ``None`` when it is an error (the id unknown)."""
    if result.get("errors") or not _list(result.get("trackable_items")):
        return None
    wanted = _text(result.get("tracking_id"))
    items = [i for i in _list(result["trackable_items"]) if isinstance(i, dict)]
    if not items:
        return None
    # A consignment id lists each of its articles; the article asked for, else the first.
    item = next((i for i in items if _text(i.get("article_id")) == wanted), items[0])
    status = _text(item.get("status")) or _text(result.get("status"))
    raw = [e for e in _list(item.get("events")) if isinstance(e, dict)]
    newest = _newest_index(raw)
    events = [_event(e, status if i == newest else None) for i, e in enumerate(raw)]
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    return CarrierReport(
        events=tuple(events),
        ship_date=_when(min(accepted, key=_moment)) if accepted else None,
        actual_delivery_date=_when(max(delivered, key=_moment)) if delivered else None,
    )


def _event(raw: Mapping[str, Any], status: str | None) -> TrackEvent:
    description = _text(raw.get("description"))
    mapped = map_event(description, status)
    location = _text(raw.get("location"))
    occurred_at, local = parse_timestamp(raw.get("date"), location)
    city, state, country = _place(location)
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=description,
        city_locality=city,
        state_province=state,
        country_code=country,
        carrier_status_description=description,
    )


def _place(location: str | None) -> tuple[str | None, str | None, str | None]:
    """``(city, state, country)`` of ``ALEXANDRIA NSW`` or ``SYDNEY (AU)``."""
    if not location:
        return None, None, None
    abroad = _COUNTRY.match(location)
    if abroad:
        return abroad.group("place") or None, None, abroad.group("country")
    state = location_state(location)
    if state:
        city = _STATE.sub("", location).strip()
        return city or None, state, "AU"
    return location, None, None


def _newest_index(raw: list[dict[str, Any]]) -> int:
    best, best_moment = 0, None
    for index, event in enumerate(raw):
        moment, _ = parse_timestamp(event.get("date"), _text(event.get("location")))
        if moment is not None and (best_moment is None or moment > best_moment):
            best, best_moment = index, moment
    return best
