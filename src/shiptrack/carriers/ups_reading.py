"""UPS: what the Track API and Track Alert answer, normalised into carrier reports.

Normalisation (the decisions are in ``domain/mappings/ups.csv``):

- every activity is looked up by its 3-digit status code (``status:011``), then its 2-character
  activity code (``code:FS``), then its status type (``type:D``). An update (type ``U``) is looked
  up by its type first: whatever codes it carries it never changes the status.
- a failed delivery attempt that UPS files as an exception (type ``X``, a generic exception status
  code such as ``013``) is an attempt: when the lookup says only "exception, unspecified", the
  activity code (``code:48``) and then the wording (:data:`ATTEMPT_WORDING`, table keys
  ``wording:attempt`` / ``wording:final_attempt``) are asked whether it is an attempt. A specific
  exception (refused, return, damage, customs, address) stays ``EX``.
- ``occurred_at`` is UTC from ``gmtDate``/``gmtTime``, else from the local time and ``gmtOffset``;
  without either it stays ``None`` and only ``carrier_occurred_at`` (the local wall time) is set.
- not found (HTTP 200 with warning ``TW0001``, HTTP 404 with UPS's error body, an error
  ``151044`` "No tracking information available") is :data:`~shiptrack.domain.changes.NOT_FOUND`:
  the package is ``NY``. An invalid number (HTTP 400 ``TV1002`` "Invalid inquiry number", or any
  error with that text) is :class:`~shiptrack.domain.changes.InvalidNumber`.
- one number can answer several shipments or packages: the package whose ``trackingNumber`` is the
  number asked wins, then one whose alternate tracking number is; among several candidates the one
  with the most recent activity (a reused number's current use).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shiptrack.carriers.base import PushRefused, Result, TransportError
from shiptrack.carriers.http import Answer, check_transport
from shiptrack.carriers.reading import items as _list
from shiptrack.carriers.ups_times import event_times, local_text, moment_of
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, InvalidNumber
from shiptrack.domain.mapping import Mapped, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

log = logging.getLogger("shiptrack.carriers.ups")

CARRIER = "UPS"
#: An error that says the number itself is invalid: UPS will never know it.
INVALID_NUMBER_CODES = frozenset({"TV1002"})
INVALID_NUMBER_TEXT = "invalid inquiry number"
#: An error that says UPS has nothing on the number (yet): not found, like warning ``TW0001``.
NOT_FOUND_CODES = frozenset({"TW0001", "151044"})
#: Status types looked up before any code: they never change the package's status.
TYPE_FIRST = frozenset({"U"})
#: An exception the lookup knows nothing more about: an attempt's code or wording may refine it.
GENERIC_EXCEPTION = "UNSPECIFIED_EXCEPTION"
#: How UPS words a failed delivery attempt (its English texts; shiptrack asks for ``en_US``).
ATTEMPT_WORDING = re.compile(
    r"delivery attempt|attempted delivery|attempted to deliver|tried to deliver"
    r"|(receiver|customer|recipient) was not available|receiving business was closed",
    re.IGNORECASE,
)
#: The last attempt: "... at the time of the final (delivery) attempt", not "a final attempt will
#: be made" (the second attempt announcing the last one).
FINAL_ATTEMPT_WORDING = re.compile(
    r"(time of|at) the final (delivery )?attempt|final delivery attempt was made", re.IGNORECASE
)
#: Wording of a return: an attempt that ends in a return to the sender stays an exception.
RETURN_WORDING = re.compile(r"\breturn", re.IGNORECASE)


def mapping_keys(status_type: str | None, code: str | None, status_code: str | None) -> list[str]:
    """The mapping-table keys of an activity, most decisive first."""
    keys = [
        *([f"status:{status_code}"] if status_code else []),
        *([f"code:{code}"] if code else []),
        *([f"type:{status_type}"] if status_type else []),
    ]
    if status_type in TYPE_FIRST:
        keys.insert(0, f"type:{status_type}")
    return keys


def attempt_keys(code: str | None, descriptions: tuple[str | None, ...]) -> list[str]:
    """The keys that can make an activity UPS files as an exception a delivery attempt: its
    activity code, then its wording (see :data:`ATTEMPT_WORDING`)."""
    keys = [f"code:{code}"] if code else []
    text = " ".join(d for d in descriptions if d)
    if ATTEMPT_WORDING.search(text) and not RETURN_WORDING.search(text):
        keys.append("wording:final_attempt" if FINAL_ATTEMPT_WORDING.search(text) else "")
        keys.append("wording:attempt")
    return [key for key in keys if key]


def map_activity(
    status_type: str | None,
    code: str | None,
    status_code: str | None,
    *descriptions: str | None,
) -> Mapped:
    """The ShipEngine status of a UPS activity (Track API) or event (Track Alert), given its
    codes and texts (``description``, ``simplifiedTextDescription``)."""
    ups = table("ups")
    mapped = ups.lookup(mapping_keys(status_type, code, status_code))
    if (mapped.status_code, mapped.status_detail_code) == (StatusCode.EX, GENERIC_EXCEPTION):
        # UPS files attempts under type X, often with a generic exception status code: the
        # activity code or the wording says what happened.
        attempt = ups.lookup(attempt_keys(code, descriptions))
        if attempt.status_code == StatusCode.AT:
            return attempt
    return mapped


# --- reading the Track API ----------------------------------------------------------------------


def read_track_answer(answer: Answer, number: str) -> Result:
    """What a Track API answer says about ``number``; :class:`TransportError` when it says
    nothing (auth failure, 429, 5xx, an unreadable body)."""
    check_transport(answer, CARRIER)
    if answer.status in (400, 404):
        errors = _errors(answer)
        invalid = next(
            (
                (code, message)
                for code, message in errors or []
                if code in INVALID_NUMBER_CODES or INVALID_NUMBER_TEXT in (message or "").lower()
            ),
            None,
        )
        if invalid is not None:
            return InvalidNumber(CARRIER, *invalid)
        if answer.status == 404 and errors is not None:
            return NOT_FOUND
        codes = [code for code, _ in errors or []]
        if NOT_FOUND_CODES & set(codes):
            return NOT_FOUND
        if answer.status == 404:
            raise TransportError("UPS answered HTTP 404 without its error body (wrong base URL?)")
        log.warning("UPS refused a tracking request (HTTP 400 %s)", ", ".join(codes) or "?")
        raise TransportError("UPS refused the request (HTTP 400)")
    if answer.status != 200:
        raise TransportError(f"UPS answered HTTP {answer.status}")
    body = answer.json(CARRIER)
    response = body.get("trackResponse") if isinstance(body, dict) else None
    shipments = response.get("shipment") if isinstance(response, dict) else None
    if not isinstance(shipments, list) or not all(isinstance(s, dict) for s in shipments):
        raise TransportError("UPS answered a body that is not a TrackApiResponse")
    package = choose_package(shipments, number)
    if package is None:
        return NOT_FOUND
    return package_report(package, shipment_of(shipments, package))


def _packages(shipment: Mapping[str, Any]) -> list[dict[str, Any]]:
    packages = shipment.get("package")
    if packages is None:
        return []
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise TransportError("UPS answered a package list that is not a list of packages")
    return packages


def choose_package(shipments: list[dict[str, Any]], number: str) -> dict[str, Any] | None:
    """The package ``number`` stands for, or ``None`` when UPS answered none.

    The package whose ``trackingNumber`` is the number wins; else one whose
    ``alternateTrackingNumber`` is; else any package. Among several candidates (a number UPS
    answers with more than one shipment), the one with the most recent activity.
    """
    wanted = _canonical(number)
    packages = [p for s in shipments for p in _packages(s)]
    exact = [p for p in packages if _canonical(_text(p.get("trackingNumber"))) == wanted]
    alternate = [
        p
        for p in packages
        if any(
            isinstance(a, dict) and _canonical(_text(a.get("number"))) == wanted
            for a in _list(p.get("alternateTrackingNumber"))
        )
    ]
    candidates = exact or alternate or packages
    if not candidates:
        return None
    return max(candidates, key=_latest_activity)


def shipment_of(shipments: list[dict[str, Any]], package: dict[str, Any]) -> dict[str, Any]:
    """The shipment a package was listed in."""
    return next(s for s in shipments if any(p is package for p in _packages(s)))


def _latest_activity(package: Mapping[str, Any]) -> datetime:
    moments = [
        moment
        for activity in _list(package.get("activity"))
        if isinstance(activity, dict)
        and (moment := moment_of(_activity_times(activity))) is not None
    ]
    return max(moments, default=datetime.min.replace(tzinfo=UTC))


def package_report(package: Mapping[str, Any], shipment: Mapping[str, Any]) -> CarrierReport:
    """A Track API package, normalised."""
    events = [activity_event(a) for a in _list(package.get("activity")) if isinstance(a, dict)]
    signer = _text(_dict(package.get("deliveryInformation")).get("receivedBy"))
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    newest_delivery = max(delivered, key=_event_sort_key) if delivered else None
    if newest_delivery is not None and signer:
        events[events.index(newest_delivery)] = newest_delivery = replace(
            newest_delivery, signer=signer
        )

    dates = {
        _text(d.get("type")): _text(d.get("date"))
        for d in _list(package.get("deliveryDate"))
        if isinstance(d, dict)
    }
    times = _dict(package.get("deliveryTime"))
    time_type = _text(times.get("type"))
    estimated_day = dates.get("RDD") or dates.get("SDD")
    estimated = local_text(
        estimated_day,
        _text(times.get("endTime")) if time_type in ("CMT", "EDW", "CDW", "IDW") else None,
    )
    actual = None
    if newest_delivery is not None and newest_delivery.occurred_at is not None:
        actual = format_utc(newest_delivery.occurred_at)
    elif dates.get("DEL"):
        actual = local_text(
            dates["DEL"], _text(times.get("endTime")) if time_type == "DEL" else None
        )
    return CarrierReport(
        events=tuple(events),
        ship_date=_ship_date(shipment, events),
        estimated_delivery_date=estimated,
        actual_delivery_date=actual,
    )


def _ship_date(shipment: Mapping[str, Any], events: list[TrackEvent]) -> str | None:
    """``pickupDate`` when UPS gives it, else the time of the first acceptance scan."""
    pickup = local_text(_text(shipment.get("pickupDate")), None)
    if pickup:
        return pickup
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    if not accepted:
        return None
    first = min(accepted, key=_event_sort_key)
    return format_utc(first.occurred_at) or first.carrier_occurred_at


def activity_event(activity: Mapping[str, Any]) -> TrackEvent:
    """One Track API ``activity``, normalised."""
    status = _dict(activity.get("status"))
    address = _dict(_dict(activity.get("location")).get("address"))
    local, utc = _activity_times(activity)
    return _event(
        status_type=_text(status.get("type")),
        code=_text(status.get("code")),
        status_code=_status_code(status.get("statusCode")),
        description=_text(status.get("description")),
        simplified=_text(status.get("simplifiedTextDescription")),
        local=local,
        utc=utc,
        city=_text(address.get("city")),
        state=_text(address.get("stateProvince")),
        postal_code=_text(address.get("postalCode")),
        country=_country(address.get("countryCode"), address.get("country")),
    )


def _activity_times(activity: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    return event_times(
        local_date=_text(activity.get("date")),
        local_time=_text(activity.get("time")),
        gmt_date=_text(activity.get("gmtDate")),
        gmt_time=_text(activity.get("gmtTime")),
        offset=_text(activity.get("gmtOffset")),
    )


# --- reading a Track Alert push -----------------------------------------------------------------


def read_push_body(body: bytes) -> tuple[str, CarrierReport]:
    """The number a Track Alert ``TrackingEventRequest`` is about and its one event, normalised;
    :class:`PushRefused` (400) when the body is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PushRefused("the push body is not JSON", status_code=400) from None
    if not isinstance(payload, dict):
        raise PushRefused("the push body is not a TrackingEventRequest", status_code=400)
    number = _text(payload.get("trackingNumber"))
    status = payload.get("activityStatus")
    if not number or not isinstance(status, dict):
        raise PushRefused(
            "a TrackingEventRequest needs trackingNumber and activityStatus", status_code=400
        )
    return number, push_report(payload)


def push_report(payload: Mapping[str, Any]) -> CarrierReport:
    """A Track Alert ``TrackingEventRequest``, normalised: one event."""
    status = _dict(payload.get("activityStatus"))
    location = _dict(payload.get("activityLocation"))
    local, utc = event_times(
        local_date=_text(payload.get("localActivityDate")),
        local_time=_text(payload.get("localActivityTime")),
        gmt_date=_text(payload.get("gmtActivityDate")),
        gmt_time=_text(payload.get("gmtActivityTime")),
        offset=_text(payload.get("gmtOffset")),
    )
    event = _event(
        status_type=_text(status.get("type")),
        code=_text(status.get("code")),
        status_code=_status_code(status.get("descriptionCode")),
        description=_text(status.get("description")),
        simplified=None,
        local=local,
        utc=utc,
        city=_text(location.get("city")),
        state=_text(location.get("stateProvince")),
        postal_code=_text(location.get("postalCode")),
        country=_country(location.get("country"), None),
    )
    delivered = event.status_code == StatusCode.DE
    signer = _text(payload.get("receivedBy"))
    if delivered and signer:
        event = replace(event, signer=signer)
    estimated = local_text(
        _text(payload.get("scheduledDeliveryDate")),
        None if delivered else _text(payload.get("deliveryEndTime")),
    )
    actual = None
    if delivered and event.occurred_at is not None:
        actual = format_utc(event.occurred_at)
    elif payload.get("actualDeliveryDate"):
        actual = local_text(
            _text(payload.get("actualDeliveryDate")), _text(payload.get("actualDeliveryTime"))
        )
    return CarrierReport(
        events=(event,), estimated_delivery_date=estimated, actual_delivery_date=actual
    )


# --- shared normalisation -----------------------------------------------------------------------


def _event(
    *,
    status_type: str | None,
    code: str | None,
    status_code: str | None,
    description: str | None,
    simplified: str | None,
    local: str | None,
    utc: datetime | None,
    city: str | None,
    state: str | None,
    postal_code: str | None,
    country: str | None,
) -> TrackEvent:
    mapped = map_activity(status_type, code, status_code, description, simplified)
    return TrackEvent(
        status_code=mapped.status_code.value,
        status_detail_code=mapped.status_detail_code,
        occurred_at=utc,
        carrier_occurred_at=local,
        description=description,
        city_locality=city,
        state_province=state,
        postal_code=postal_code,
        country_code=country,
        event_code=status_code,
        carrier_status_code=status_type,
        carrier_detail_code=code,
        carrier_status_description=simplified or description,
    )


def _event_sort_key(event: TrackEvent) -> datetime:
    return moment_of((event.carrier_occurred_at, event.occurred_at)) or datetime.min.replace(
        tzinfo=UTC
    )


def _status_code(value: Any) -> str | None:
    """UPS's 3-digit status code, zero-padded (Track Alert examples send ``021`` unquoted)."""
    text = _text(value)
    if text is None:
        return None
    return text.zfill(3) if text.isdigit() else text


def _country(*values: Any) -> str | None:
    for value in values:
        text = _text(value)
        if text and len(text) == 2 and text.isalpha():
            return text.upper()
    return None


def _text(value: Any) -> str | None:
    """A non-empty string from a JSON value (numbers are accepted; UPS is not strict)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _canonical(number: str | None) -> str:
    return "".join((number or "").split()).upper()


def _errors(answer: Answer) -> list[tuple[str, str | None]] | None:
    """The codes and messages of UPS's error body ``{"response": {"errors": [...]}}``; ``None``
    without one."""
    try:
        body = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return None
    response = body.get("response") if isinstance(body, dict) else None
    errors = response.get("errors") if isinstance(response, dict) else None
    if not isinstance(errors, list):
        return None
    return [
        (code, _text(e.get("message")))
        for e in errors
        if isinstance(e, dict) and (code := _text(e.get("code")))
    ]
