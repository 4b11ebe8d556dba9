"""DHL (Express, Parcel, eCommerce): what the Unified API answers, normalised into carrier reports.

Normalisation. DHL gives every event one coarse ``statusCode`` (``pre-transit``, ``transit``,
``delivered``, ``failure``, ``unknown``) and a text (``language=en`` is asked; some services answer
in their own language anyway). The text becomes a refinement name: first from the reviewed phrase
table ``dhl_phrases.csv`` (event codes such as parcel-nl's ``NOT_HOME``, then known German, English
and Polish phrases; see ``dhl_divisions``), else from the English wording rules :data:`TEXT_RULES`.
The mapping table ``domain/mappings/dhl.csv`` is looked up with ``statusCode:refinement`` first and
the bare ``statusCode`` second, so a refinement only counts where the table has a row for it under
that code. An event without a ``statusCode`` is read as ``unknown``: only its text can map it. A
shipment DHL flags with ``returnFlag`` was delivered back to its sender: its ``delivered`` events
are returns.

Timestamps. DHL sends ISO-8601, sometimes with an offset (``Z``, ``+02:00``) and often without
(Express checkpoints and Parcel Germany events are local times). ``carrier_occurred_at`` is always
the wall time as given, without offset; ``occurred_at`` (UTC) comes from the offset, else (Parcel
and eCommerce) from the zone of the event's country; Express keeps only the wall time then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shiptrack.carriers.dhl_divisions import EXPRESS, Division, event_zone, phrase_refinement
from shiptrack.carriers.reading import items as _list
from shiptrack.carriers.reading import obj as _obj
from shiptrack.carriers.reading import text as _text
from shiptrack.carriers.reading import utc_and_wall
from shiptrack.carriers.reading import when as _when
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.mapping import Mapped, MappingTable, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

#: The statusCode values DHL documents (``ShipmentEvent.statusCode`` in the Unified API spec).
DOCUMENTED_STATUS_CODES = ("pre-transit", "transit", "delivered", "failure", "unknown")


def _rule(name: str, pattern: str) -> tuple[str, re.Pattern[str]]:
    return name, re.compile(pattern, re.IGNORECASE)


#: Text refinements, tried in this order on the event's ``status`` and ``description`` (the first
#: match wins, so specific wordings come before the general ones they contain).
TEXT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    _rule(
        "label-created",
        r"label (has been |was )?(created|generated|printed)|generated a shipment label"
        r"|not (yet )?been handed over",
    ),
    _rule(
        "awaiting-pickup",
        r"pick-?up (has been |is |was )?(requested|scheduled|booked|arranged)",
    ),
    _rule(
        "data-received",
        r"information received|data (has been |have been )?(received|transmitted|provided)"
        r"|electronically (announced|advised|transmitted)|instruction data",
    ),
    _rule(
        "not-collected",
        r"not (been )?(collected|picked up) (by|from)|uncollected|collection period (has )?expired",
    ),
    _rule("refused", r"refus"),
    _rule(
        "address",
        r"(incorrect|incomplete|wrong|invalid|insufficient|unknown|bad) (delivery )?address"
        r"|address (is )?(incorrect|incomplete|wrong|invalid|insufficient|unknown)"
        r"|address information (is )?(needed|required)|address query",
    ),
    _rule(
        "returned",
        r"return(ed|ing)? to (the )?(shipper|sender|origin)|being returned|return shipment",
    ),
    _rule(
        "customs-held",
        r"(customs|clearance)\b.*\b(hold|held|delay(ed)?|inspection)"
        r"|\b(hold|held|delay(ed)?|inspection)\b.*\b(customs|clearance)",
    ),
    _rule(
        "customs-cleared",
        r"clearance (processing )?complete|cleared (by |through )?customs"
        r"|customs clearance (is )?complete|released (by|from) customs",
    ),
    _rule("customs", r"customs|clearance"),
    _rule(
        "attempted",
        r"attempt|not (at )?home|recipient (was )?(not available|absent|unavailable)"
        r"|unable to deliver|could not be delivered|notification card|delivery notice"
        r"|closed on arrival|business (was )?closed",
    ),
    _rule(
        "collected",
        r"(picked up|collected) by (the )?(recipient|consignee|customer|receiver)"
        r"|collected from (the )?(dhl )?(service ?point|pick-?up point|parcel ?shop|packstation"
        r"|locker|post office)",
    ),
    _rule(
        "dropped-off",
        r"dropped off|drop-?off|posted by|handed in (at|to)"
        r"|handed over (at|to) (a |the )?(dhl )?(retail|service ?point|parcel ?shop|post|branch"
        r"|packstation)",
    ),
    _rule(
        "pickup-point",
        r"service ?point|parcel ?shop|packstation|locker|pick-?up (point|location)|post office"
        r"|retail (outlet|location)|(available|ready) for (pick-?up|collection)"
        r"|awaiting collection|held for (pick-?up|collection)",
    ),
    _rule(
        "picked-up",
        r"picked up|pick-?up (completed|successful)|collected from (the )?(shipper|sender)",
    ),
    _rule("received", r"handed over to dhl|(received|accepted) by dhl|shipment accepted"),
    _rule(
        "out-for-delivery",
        r"with delivery courier|out for delivery|on (the )?delivery vehicle"
        r"|loaded (onto|on) (the )?delivery vehicle|courier is on (its|the) way",
    ),
    _rule("held", r"\bon hold\b|\bheld\b"),
    _rule("delivery-arranged", r"delivery (has been )?arranged|arranged (for |a )?delivery"),
    _rule("rescheduled", r"rescheduled"),
    _rule("scheduled", r"scheduled for delivery|delivery (is |has been )?scheduled"),
    _rule(
        "redirected",
        r"redirect|rerout|forwarded to (a |the )?(new|different|alternative|another)",
    ),
    _rule(
        "local-depot",
        r"(arrived|arrival|received) (at|in) (the )?(dhl )?(local |destination )?delivery "
        r"(facility|depot|base|station|center|centre)",
    ),
    _rule("neighbour", r"neighbou?r"),
    _rule("reception", r"reception|front desk|mail ?room|concierge|\bporter\b"),
    _rule(
        "safe-place",
        r"safe[ -]place|authori[sz]ed (location|place)|left at (the )?(front )?(door|porch)"
        r"|garage",
    ),
    _rule("partial", r"partial(ly)?|delivered in part|some pieces|not all pieces"),
    _rule("arrived", r"\barrived\b|\barrival\b"),
    _rule("departed", r"\bdeparted\b|\bdeparture\b|\bleft (the|our|dhl)\b"),
    _rule("processed", r"processed|sorted|sorting|transferred through|transit through"),
    _rule("damaged", r"damage"),
    _rule("lost", r"\blost\b|cannot be located|missing"),
    _rule(
        "delayed-external",
        r"weather|natural disaster|beyond (dhl'?s |our )?control|strike|force majeure",
    ),
    _rule("delayed", r"delay|missed (a )?connection"),
    _rule("cancelled", r"cancel"),
    _rule("delivered", r"\bdelivered\b"),
)


_SIGNED_FOR = re.compile(r"signed for by\s*:?\s*(?P<name>[^\n]+?)\s*$", re.IGNORECASE)


def refinement(text: str) -> str | None:
    """The name of the first :data:`TEXT_RULES` rule the text matches."""
    for name, pattern in TEXT_RULES:
        if pattern.search(text):
            return name
    return None


def event_refinement(event: Mapping[str, Any]) -> str | None:
    """The refinement of an event's text: the phrase table's row (an empty refinement there means
    the statusCode alone), else the first English wording rule."""
    text = _event_text(event)
    phrase = phrase_refinement(_text(event.get("status")), text)
    if phrase is not None:
        return phrase.refinement or None
    return refinement(text)


def mapping_keys(event: Mapping[str, Any], *, return_flag: bool = False) -> list[str]:
    """The keys to look an event up with, most specific first."""
    code = _text(event.get("statusCode"))
    code = code.lower() if code else "unknown"
    refined = event_refinement(event)
    if code == "delivered" and return_flag:
        refined = "returned"
    return [f"{code}:{refined}", code] if refined else [code]


def map_event(
    event: Mapping[str, Any], mapping: MappingTable, *, return_flag: bool = False
) -> Mapped:
    """What a DHL event means in ShipEngine's terms."""
    return mapping.lookup(mapping_keys(event, return_flag=return_flag))


def parse_timestamp(value: Any, zone: ZoneInfo | None = None) -> tuple[datetime | None, str | None]:
    """``(occurred_at, carrier_occurred_at)`` of a DHL timestamp.

    The wall time is the time as DHL wrote it, without offset; the UTC moment exists when DHL gave
    an offset, or when the caller knows the ``zone`` the wall time is in (``fold=0``: in the hour
    the clocks go back, the first, summer-time reading). A date without time reads as midnight.
    Anything unreadable gives nothing.
    """
    text = _text(value)
    if text is None:
        return None, None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, None
    return utc_and_wall(moment, zone)


def date_text(value: Any) -> str | None:
    """A shipment-level date as ShipEngine text: UTC with ``Z`` when DHL gave an offset, else the
    wall time as given (never an offset-less time labelled as UTC)."""
    moment, local = parse_timestamp(value)
    return format_utc(moment) if moment is not None else local


def pick_shipment(
    shipments: Sequence[Any], tracking_number: str, division: Division = EXPRESS
) -> dict[str, Any] | None:
    """The shipment of a tracking number in a DHL division among what DHL answered, or ``None``.

    The rule, in order:

    1. Only shipments whose ``service`` is one of the division's count (``express`` for Express;
       ``parcel-de``, ``parcel-nl``, ``parcel-pl``, ``parcel-uk``, ``post-de`` for Parcel;
       ``ecommerce``, ``ecommerce-europe`` for eCommerce). The Unified API may also answer with
       shipments of other DHL divisions that use the same number: those are different parcels,
       never shown as this one. None left → not found.
    2. Among those, the ones whose ``id`` is the tracking number itself are preferred (the number
       may also be a piece id or a reference of another shipment).
    3. If several remain (a number DHL reused), the one with the most recent activity (its
       ``status`` or newest event) wins; on a tie, the first in DHL's order.
    """
    mine = [s for s in shipments if isinstance(s, dict) and division.owns(s)]
    wanted = _compact(tracking_number)
    own = [s for s in mine if _compact(_text(s.get("id")) or "") == wanted]
    candidates = own or mine
    if not candidates:
        return None
    best = candidates[0]
    for shipment in candidates[1:]:
        if _latest_activity(shipment) > _latest_activity(best):
            best = shipment
    return best


def shipment_report(shipment: Mapping[str, Any], division: Division = EXPRESS) -> CarrierReport:
    """A DHL shipment of ``division``, normalised."""
    raw_events = [e for e in _list(shipment.get("events")) if isinstance(e, dict)]
    status = shipment.get("status")
    if not raw_events and isinstance(status, dict) and status:
        raw_events = [status]
    return_flag = shipment.get("returnFlag") is True
    details = _obj(shipment.get("details"))
    pod = _obj(details.get("proofOfDelivery"))
    pod_url = _text(pod.get("documentUrl")) or _text(pod.get("signatureUrl"))
    pod_signer = _person(_obj(pod.get("signed")))
    service = _text(shipment.get("service")) if division.local_zones else None
    events = [
        _event(
            raw,
            return_flag=return_flag,
            pod_signer=pod_signer,
            pod_url=pod_url,
            zone=_zone(raw, service) if division.local_zones else None,
        )
        for raw in raw_events
    ]
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    actual = date_text(pod.get("timestamp")) if delivered else None
    if delivered and actual is None:
        actual = _when(_newest(delivered))
    frame = _obj(shipment.get("estimatedDeliveryTimeFrame"))
    estimated = date_text(shipment.get("estimatedTimeOfDelivery")) or date_text(
        frame.get("estimatedThrough")
    )
    return CarrierReport(
        events=tuple(events),
        ship_date=_when(_oldest(accepted)) if accepted else None,
        estimated_delivery_date=estimated,
        actual_delivery_date=actual,
    )


def _event(
    raw: Mapping[str, Any],
    *,
    return_flag: bool,
    pod_signer: str | None,
    pod_url: str | None,
    zone: ZoneInfo | None,
) -> TrackEvent:
    mapped = map_event(raw, table("dhl"), return_flag=return_flag)
    occurred_at, local = parse_timestamp(raw.get("timestamp"), zone)
    address = _obj(_obj(raw.get("location")).get("address"))
    description = _text(raw.get("description"))
    status_text = _text(raw.get("status"))
    code = _text(raw.get("statusCode"))
    delivered = mapped.status_code == StatusCode.DE
    signer = None
    if delivered:
        signer = pod_signer or _signed_for(description) or _signed_for(status_text)
    country = _text(address.get("countryCode"))
    return TrackEvent(
        status_code=mapped.status_code,
        status_detail_code=mapped.status_detail_code,
        occurred_at=occurred_at,
        carrier_occurred_at=local,
        description=description or status_text,
        city_locality=_text(address.get("addressLocality")),
        postal_code=_text(address.get("postalCode")),
        country_code=country.upper() if country else None,
        signer=signer,
        event_code=code,
        carrier_status_code=code,
        carrier_status_description=status_text or description,
        proof_of_delivery_url=pod_url if delivered else None,
    )


# --- reading DHL's JSON leniently ----------------------------------------------------------------


def _event_text(event: Mapping[str, Any]) -> str:
    parts = (_text(event.get("status")), _text(event.get("description")))
    return " ".join(part for part in parts if part)


def _zone(raw: Mapping[str, Any], service: str | None) -> ZoneInfo | None:
    return event_zone(_obj(_obj(raw.get("location")).get("address")), service)


def _compact(number: str) -> str:
    return "".join(number.split()).upper()


def _moment(value: Any) -> datetime | None:
    """A timestamp for comparisons: UTC when DHL gave an offset, else the wall time read as UTC."""
    occurred_at, local = parse_timestamp(value)
    if occurred_at is not None:
        return occurred_at
    return datetime.fromisoformat(local).replace(tzinfo=UTC) if local else None


def _latest_activity(shipment: Mapping[str, Any]) -> datetime:
    stamps = [_obj(shipment.get("status")).get("timestamp")]
    stamps += [_obj(e).get("timestamp") for e in _list(shipment.get("events"))]
    moments = [m for m in map(_moment, stamps) if m is not None]
    return max(moments, default=datetime.min.replace(tzinfo=UTC))


def _person(person: Mapping[str, Any]) -> str | None:
    name = _text(person.get("name"))
    given, family = _text(person.get("givenName")), _text(person.get("familyName"))
    full = " ".join(part for part in (given, family) if part)
    if full and (name is None or len(full) > len(name)):
        return full
    return name


def _signed_for(text: str | None) -> str | None:
    if not text:
        return None
    found = _SIGNED_FOR.search(text)
    return found.group("name") if found else None


def _event_moment(event: TrackEvent) -> datetime:
    if event.occurred_at is not None:
        return event.occurred_at
    if event.carrier_occurred_at:
        return datetime.fromisoformat(event.carrier_occurred_at).replace(tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


def _newest(events: Sequence[TrackEvent]) -> TrackEvent:
    return max(events, key=_event_moment)


def _oldest(events: Sequence[TrackEvent]) -> TrackEvent:
    return min(events, key=_event_moment)


def problem_detail(problem: Any) -> str:
    """What an ``application/problem+json`` answer says went wrong, for the log."""
    body = _obj(problem)
    return _text(body.get("detail")) or _text(body.get("title")) or "no detail"
