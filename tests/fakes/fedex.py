"""A fake FedEx API host: OAuth and Track API v1 answered as FedEx documents them.

Shapes follow the official Track API v1 OpenAPI file (``/work/shared/spec/carriers/fedex/
track-v1.json``: ``TrkcResponseVO_TrackingNumber``, ``TrackResult``, ``ScanEvent``, the
``ErrorResponseVO*`` examples) and real captured responses (karrio's FedEx tests): ISO scan times
with the local offset, one capture without an offset and one with ``" -0400"``, date-only values as
``T00:00:00-06:00``, derived status codes next to event codes, per-number errors inside a 200.

Endpoints
    ``POST /oauth/token`` (form ``grant_type=client_credentials``, ``client_id``,
    ``client_secret``): :data:`CLIENT_ID` / :data:`CLIENT_SECRET` get a token (``expires_in`` 3599,
    or ``state["token_lifetime"]``); anything else is 401 ``NOT.AUTHORIZED.ERROR``.
    ``POST /track/v1/trackingnumbers``: bearer token required (401 otherwise, and for tokens
    marked expired); 1 to 30 ``trackingInfo`` items (400 otherwise); numbers not in the table answer
    ``TRACKING.TRACKINGNUMBER.NOTFOUND`` inside the 200.

Magic tracking numbers
    :data:`DELIVERED`, :data:`IN_TRANSIT`, :data:`OUT_FOR_DELIVERY`, :data:`EXCEPTION`,
    :data:`FAILED_ATTEMPT`, :data:`PICKUP_POINT`, :data:`CUSTOMS_HOLD`, :data:`LABEL_CREATED` (no
    scan yet), :data:`SEVERAL` (an old delivered shipment listed first, then a newer one in
    transit), :data:`FOLLOW_ON` (a held parcel and its re-delivery leg, as FedEx really sends it);
    any other number is not found.

State switches (``fake.state``)
    ``shipments``: ``{number: [trackResult, ...]}`` overriding the table.
    ``track_script`` / ``token_script``: directives used up one per call, before the normal answer:
    ``"401"``, ``"403"``, ``"429"`` (with ``Retry-After: 7``), ``"quota"`` (the daily-quota 429,
    no ``Retry-After``), ``"500"``, ``"503"``, ``"timeout"`` (answers after
    ``state["timeout_seconds"]``, default 2 s), ``"malformed"`` (a 200 that is not JSON),
    ``"no_output"`` (JSON without ``output``), ``"gzip"`` (the normal answer gzip-compressed without
    ``Content-Encoding``).
    ``track_always`` / ``token_always``: a directive for every call while it is set.
    ``expire_tokens()``: every token issued so far answers 401 "Access token expired".
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import itertools
import json
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

CLIENT_ID = "l7fedex0client0id"
CLIENT_SECRET = "fedex-secret-key"

DELIVERED = "770000000001"
IN_TRANSIT = "770000000002"
OUT_FOR_DELIVERY = "770000000003"
EXCEPTION = "770000000004"
FAILED_ATTEMPT = "770000000005"
PICKUP_POINT = "770000000006"
CUSTOMS_HOLD = "770000000007"
LABEL_CREATED = "770000000008"
SEVERAL = "770000000009"
FOLLOW_ON = "770000000010"
#: A number FedEx does not know.
UNKNOWN = "770099999999"
INVALID = "770000000000X"

_counter = itertools.count(1)


# --- building FedEx's JSON ----------------------------------------------------------------------


def place(city: str | None, state: str | None, postal: str | None, country: str = "US") -> Any:
    """A ``scanLocation`` as FedEx writes it (empty street line, ``residential`` flag)."""
    location: dict[str, Any] = {"streetLines": [""], "residential": False}
    if city:
        location["city"] = city
    if state:
        location["stateOrProvinceCode"] = state
    if postal:
        location["postalCode"] = postal
    if country:
        location["countryCode"] = country
        location["countryName"] = "United States" if country == "US" else country
    return location


def scan(
    date: str,
    event_type: str,
    description: str,
    derived: str,
    derived_text: str,
    where: Any,
    *,
    exception: tuple[str, str] = ("", ""),
    location_type: str = "FEDEX_FACILITY",
) -> dict[str, Any]:
    """One ``scanEvents`` entry."""
    return {
        "date": date,
        "eventType": event_type,
        "eventDescription": description,
        "exceptionCode": exception[0],
        "exceptionDescription": exception[1],
        "scanLocation": where,
        "locationType": location_type,
        "derivedStatusCode": derived,
        "derivedStatus": derived_text,
    }


def shipment(
    number: str,
    unique_id: str,
    scans: list[dict[str, Any]],
    *,
    status: tuple[str, str, str],
    dates: dict[str, str],
    carrier_code: str = "FDXE",
    delivery: dict[str, Any] | None = None,
    images: tuple[str, ...] = (),
    estimated_window: dict[str, str] | None = None,
    standard_ends: str | None = None,
) -> dict[str, Any]:
    """One ``trackResult``: ``status`` is (code, derivedCode, description)."""
    code, derived, description = status
    return {
        "trackingNumberInfo": {
            "trackingNumber": number,
            "trackingNumberUniqueId": unique_id,
            "carrierCode": carrier_code,
        },
        "additionalTrackingInfo": {"nickname": "", "hasAssociatedShipments": False},
        "latestStatusDetail": {
            "code": code,
            "derivedCode": derived,
            "statusByLocale": description,
            "description": description,
            "scanLocation": scans[0]["scanLocation"] if scans else {"residential": False},
        },
        "dateAndTimes": [{"type": kind, "dateTime": value} for kind, value in dates.items()],
        "availableImages": [{"type": image} for image in images],
        "scanEvents": scans,
        "deliveryDetails": delivery or {"deliveryAttempts": "0"},
        "serviceDetail": {
            "type": "PRIORITY_OVERNIGHT",
            "description": "FedEx Priority Overnight",
            "shortDescription": "P-1",
        },
        "estimatedDeliveryTimeWindow": {"window": estimated_window or {}},
        "standardTransitTimeWindow": {"window": {"ends": standard_ends} if standard_ends else {}},
        "goodsClassificationCode": "",
        "returnDetail": {},
    }


def not_found(number: str) -> dict[str, Any]:
    """The per-number error FedEx answers inside a 200."""
    return {
        "trackingNumberInfo": {
            "trackingNumber": number,
            "trackingNumberUniqueId": "",
            "carrierCode": "",
        },
        "error": {
            "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
            "message": "Tracking number cannot be found. Please correct the tracking number and "
            "try again.",
        },
    }


def invalid(number: str) -> dict[str, Any]:
    """The per-number error of a number FedEx calls invalid (the message is the fake's own)."""
    entry = not_found(number)
    entry["error"] = {
        "code": "TRACKING.TRACKINGNUMBER.INVALID",
        "message": "Invalid tracking number.",
    }
    return entry


MANKATO = place("MANKATO", "MN", "56001")
KEASBEY = place("KEASBEY", "NJ", "08832")
HOLBROOK = place("HOLBROOK", "NY", "11741")
CLOVIS = place("CLOVIS", "CA", "93612")
OAKLAND = place("OAKLAND", "CA", "94621")
COSTA_MESA = place("COSTA MESA", "CA", "92626")
MEMPHIS = place("MEMPHIS", "TN", "38118")

_LABEL = ("Shipment information sent to FedEx", "IN", "Label created")


def _origin(label_date: str, pickup_date: str) -> list[dict[str, Any]]:
    """Label and pickup in Costa Mesa, newest first."""
    return [
        scan(pickup_date, "PU", "Picked up", "PU", "Picked up", COSTA_MESA,
             location_type="PICKUP_LOCATION"),
        scan(label_date, "OC", _LABEL[0], _LABEL[1], _LABEL[2], place(None, None, None),
             location_type="CUSTOMER"),
    ]  # fmt: skip


def _ground_delivered() -> dict[str, Any]:
    # After a real FedEx Ground capture: the pickup scan has no offset, one scan is written with
    # " -0400", the rest carry their local offsets.
    scans = [
        scan("2024-08-20T12:41:57-04:00", "DL", "Delivered", "DL", "Delivered",
             place("Blue Point", "NY", "11715"), location_type="DELIVERY_LOCATION"),
        scan("2024-08-20T06:47:00-04:00", "OD", "On FedEx vehicle for delivery", "IT",
             "In transit", HOLBROOK, location_type="VEHICLE"),
        scan("2024-08-20T06:38:00-04:00", "AR", "At local FedEx facility", "IT", "In transit",
             HOLBROOK, location_type="DESTINATION_FEDEX_FACILITY"),
        scan("2024-08-20T01:29:05-04:00", "DP", "Departed FedEx location", "IT", "In transit",
             KEASBEY),
        scan("2024-08-19T09:13:51 -0400", "IT", "On the way", "IT", "In transit",
             place("WOODBRIDGE TWP", "NJ", "08832"), location_type="VEHICLE"),
        scan("2024-08-15T18:35:00-05:00", "AR", "Arrived at FedEx location", "IT", "In transit",
             MANKATO),
        scan("2024-08-15T10:36:00-05:00", "OC", _LABEL[0], _LABEL[1], _LABEL[2],
             place(None, None, "56003"), location_type="CUSTOMER"),
        scan("2024-08-15T00:00:00", "PU", "Picked up", "PU", "Picked up", MANKATO,
             location_type="PICKUP_LOCATION"),
    ]  # fmt: skip
    return shipment(
        DELIVERED,
        "12028~770000000001~FDEG",
        scans,
        carrier_code="FDXG",
        status=("DL", "DL", "Delivered"),
        dates={
            "ACTUAL_DELIVERY": "2024-08-20T12:41:57-04:00",
            "ACTUAL_PICKUP": "2024-08-15T00:00:00-06:00",
            "SHIP": "2024-08-15T00:00:00-06:00",
            "ACTUAL_TENDER": "2024-08-15T00:00:00-06:00",
        },
        delivery={
            "actualDeliveryAddress": {"city": "Blue Point", "stateOrProvinceCode": "NY"},
            "locationType": "RESIDENCE",
            "locationDescription": "Residence",
            "deliveryAttempts": "0",
            "receivedByName": "CREILLY",
        },
        images=("SIGNATURE_PROOF_OF_DELIVERY",),
        standard_ends="2024-08-21T00:00:00-06:00",
    )


def _in_transit() -> dict[str, Any]:
    scans = [
        scan("2024-04-25T02:15:00-07:00", "DP", "Departed FedEx hub", "IT", "In transit", OAKLAND),
        scan("2024-04-24T22:39:00-07:00", "AR", "Arrived at FedEx hub", "IT", "In transit",
             OAKLAND),
        *_origin("2024-04-24T15:30:57-05:00", "2024-04-24T16:05:00-07:00"),
    ]  # fmt: skip
    return shipment(
        IN_TRANSIT,
        "2460425000~770000000002~FX",
        scans,
        status=("DP", "IT", "Departed FedEx hub"),
        dates={
            "ACTUAL_PICKUP": "2024-04-24T16:05:00-07:00",
            "SHIP": "2024-04-24T00:00:00-06:00",
            "ACTUAL_TENDER": "2024-04-24T16:05:00-07:00",
        },
        estimated_window={
            "begins": "2024-04-26T08:00:00-07:00",
            "ends": "2024-04-26T20:00:00-07:00",
        },
    )


def _at_clovis(last: list[dict[str, Any]], status: tuple[str, str, str], number: str) -> Any:
    scans = [
        *last,
        scan("2024-04-25T08:12:00-07:00", "AR", "At local FedEx facility", "IT", "In transit",
             CLOVIS, location_type="DESTINATION_FEDEX_FACILITY"),
        scan("2024-04-24T22:39:00-07:00", "AR", "Arrived at FedEx hub", "IT", "In transit",
             OAKLAND),
        *_origin("2024-04-24T15:30:57-05:00", "2024-04-24T16:05:00-07:00"),
    ]  # fmt: skip
    return shipment(
        number,
        f"2460425000~{number}~FX",
        scans,
        status=status,
        dates={"SHIP": "2024-04-24T00:00:00-06:00", "ACTUAL_PICKUP": "2024-04-24T16:05:00-07:00"},
        standard_ends="2024-04-25T10:30:00-07:00",
    )


_OUT = scan("2024-04-25T08:55:00-07:00", "OD", "On FedEx vehicle for delivery", "IT",
            "In transit", CLOVIS, location_type="VEHICLE")  # fmt: skip


def _out_for_delivery() -> Any:
    return _at_clovis([_OUT], ("OD", "IT", "On FedEx vehicle for delivery"), OUT_FOR_DELIVERY)


def _exception() -> Any:
    incorrect = scan("2024-04-25T11:40:00-07:00", "DE", "Delivery exception", "DE",
                     "Delivery exception", CLOVIS, exception=("03", "Incorrect address"),
                     location_type="DELIVERY_LOCATION")  # fmt: skip
    return _at_clovis([incorrect, _OUT], ("DE", "DE", "Delivery exception"), EXCEPTION)


def _failed_attempt() -> Any:
    attempt = scan("2024-04-25T11:26:00-07:00", "DE", "Delivery exception", "DE",
                   "Delivery exception", CLOVIS,
                   exception=("08", "Customer not available or business closed"),
                   location_type="DELIVERY_LOCATION")  # fmt: skip
    return _at_clovis([attempt, _OUT], ("DE", "DE", "Delivery exception"), FAILED_ATTEMPT)


def _pickup_point() -> Any:
    scans = [
        scan("2024-04-25T13:26:00-07:00", "HP", "Ready for recipient pickup", "IT", "In transit",
             place("FRESNO", "CA", "93703"),
             exception=("", "Package available for pickup at: 2420 N BLACKSTONE AVE "),
             location_type="DESTINATION_FEDEX_FACILITY"),
        scan("2024-04-25T11:28:00-07:00", "DE", "Delivery exception", "DE", "Delivery exception",
             CLOVIS,
             exception=("A47", "FedEx redirected your package to a nearby FedEx location"),
             location_type="DESTINATION_FEDEX_FACILITY"),
    ]  # fmt: skip
    return _at_clovis([*scans, _OUT], ("HP", "IT", "Ready for recipient pickup"), PICKUP_POINT)


def _customs_hold() -> Any:
    scans = [
        scan("2024-05-02T09:05:00+02:00", "CD", "Clearance delay", "DY", "Delay",
             place("PARIS", None, "95700", "FR"),
             exception=("A25", "Package available for clearance"), location_type="PORT_OF_ENTRY"),
        scan("2024-05-02T06:10:00+02:00", "AR", "Arrived at FedEx location", "IT", "In transit",
             place("ROISSY CHARLES DE GAULLE CEDEX", None, "95700", "FR")),
        scan("2024-05-01T22:30:00-05:00", "DP", "Departed FedEx hub", "IT", "In transit", MEMPHIS),
        *_origin("2024-05-01T09:00:00-07:00", "2024-05-01T15:00:00-07:00"),
    ]  # fmt: skip
    return shipment(
        CUSTOMS_HOLD,
        f"2460432000~{CUSTOMS_HOLD}~FX",
        scans,
        status=("CD", "DY", "Clearance delay"),
        dates={"SHIP": "2024-05-01T00:00:00-06:00"},
    )


def _label_created() -> Any:
    label = shipment(
        LABEL_CREATED,
        f"2460460000~{LABEL_CREATED}~FX",
        [],
        status=("OC", "IN", "Label created"),
        dates={
            "ANTICIPATED_TENDER": "2024-05-29T00:00:00-06:00",
            "SHIPMENT_DATA_RECEIVED": "2024-05-28T17:02:11-05:00",
        },
    )
    label["serviceCommitMessage"] = {
        "message": "Shipping label has been created. The status will be updated when shipment "
        "begins to travel.",
        "type": "SHIPMENT_LABEL_CREATED",
    }
    return label


def _several() -> list[dict[str, Any]]:
    """An old delivered shipment (listed first) and this year's in transit, one number."""
    old_scans = [
        scan("2023-03-02T10:15:00-05:00", "DL", "Delivered", "DL", "Delivered",
             place("NEW YORK", "NY", "10001"), location_type="DELIVERY_LOCATION"),
        scan("2023-03-01T14:00:00-05:00", "PU", "Picked up", "PU", "Picked up",
             place("NEWARK", "NJ", "07114"), location_type="PICKUP_LOCATION"),
    ]  # fmt: skip
    old = shipment(
        SEVERAL,
        f"2460005000~{SEVERAL}~FX",
        old_scans,
        status=("DL", "DL", "Delivered"),
        dates={"SHIP": "2023-03-01T00:00:00-06:00", "ACTUAL_DELIVERY": "2023-03-02T10:15:00-05:00"},
        delivery={"deliveryAttempts": "0", "receivedByName": "OLD RECIPIENT"},
    )
    new = _in_transit()
    new["trackingNumberInfo"] = {
        "trackingNumber": SEVERAL,
        "trackingNumberUniqueId": f"2460425000~{SEVERAL}~FX",
        "carrierCode": "FDXE",
    }
    return [old, new]


def _follow_on() -> list[dict[str, Any]]:
    """A parcel held at FedEx ("running late"), then delivered as a shipment of its own the next
    day, both under one number: the shape of a real FedEx answer."""
    held = _at_clovis(
        [scan("2024-04-25T11:29:00-07:00", "DY", "Delay", "DY", "Delay", CLOVIS,
              exception=("A52", "Package delayed"), location_type="DESTINATION_FEDEX_FACILITY")],
        ("FD", "RL", "At FedEx destination facility"),
        FOLLOW_ON,
    )  # fmt: skip
    leg = shipment(
        FOLLOW_ON,
        f"2460426000~{FOLLOW_ON}~FX",
        [
            scan("2024-04-26T09:26:00-07:00", "DL", "Delivered", "DL", "Delivered",
                 place(None, None, None), location_type="DELIVERY_LOCATION"),
            scan("2024-04-26T08:52:00-07:00", "OD", "On FedEx vehicle for delivery", "IT",
                 "In transit", CLOVIS, location_type="VEHICLE"),
            scan("2024-04-25T14:25:00-07:00", "PU", "Picked up", "PU", "Picked up", CLOVIS,
                 location_type="PICKUP_LOCATION"),
        ],
        status=("DL", "DL", "Delivered"),
        dates={
            "ACTUAL_DELIVERY": "2024-04-26T09:26:00-07:00",
            "ACTUAL_PICKUP": "2024-04-25T14:25:00-07:00",
            "SHIP": "2024-04-25T00:00:00-06:00",
        },
        delivery={"deliveryAttempts": "0", "receivedByName": "D.HERRERA"},
    )  # fmt: skip
    return [held, leg]


def journeys() -> dict[str, list[dict[str, Any]]]:
    """Every magic number's ``trackResults``."""
    return {
        DELIVERED: [_ground_delivered()],
        IN_TRANSIT: [_in_transit()],
        OUT_FOR_DELIVERY: [_out_for_delivery()],
        EXCEPTION: [_exception()],
        FAILED_ATTEMPT: [_failed_attempt()],
        PICKUP_POINT: [_pickup_point()],
        CUSTOMS_HOLD: [_customs_hold()],
        LABEL_CREATED: [_label_created()],
        SEVERAL: _several(),
        FOLLOW_ON: _follow_on(),
    }


def track_output(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A Track API 200 body for ``{number: trackResults}``."""
    return {
        "transactionId": str(uuid.uuid4()),
        "output": {
            "completeTrackResults": [
                {"trackingNumber": number, "trackResults": shipments}
                for number, shipments in results.items()
            ]
        },
    }


# --- FedEx's webhook side -----------------------------------------------------------------------


def in_transit_then_delivered() -> list[dict[str, Any]]:
    """:data:`IN_TRANSIT` a day later: out for delivery, then delivered (what FedEx would push)."""
    shipment_ = _in_transit()
    delivered = [
        scan("2024-04-26T10:02:00-07:00", "DL", "Delivered", "DL", "Delivered",
             place("FRESNO", "CA", "93650"), location_type="DELIVERY_LOCATION"),
        scan("2024-04-26T07:31:00-07:00", "OD", "On FedEx vehicle for delivery", "IT",
             "In transit", place("FRESNO", "CA", "93706"), location_type="VEHICLE"),
    ]  # fmt: skip
    shipment_["scanEvents"] = [*delivered, *shipment_["scanEvents"]]
    shipment_["latestStatusDetail"] = {
        "code": "DL",
        "derivedCode": "DL",
        "statusByLocale": "Delivered",
        "description": "Delivered",
        "scanLocation": delivered[0]["scanLocation"],
    }
    shipment_["dateAndTimes"].insert(
        0, {"type": "ACTUAL_DELIVERY", "dateTime": "2024-04-26T10:02:00-07:00"}
    )
    shipment_["deliveryDetails"] = {"deliveryAttempts": "0", "receivedByName": "M.GARCIA"}
    return [shipment_]


def push_body(
    tracking_number: str,
    journey: str = DELIVERED,
    shipments: list[dict[str, Any]] | None = None,
) -> bytes:
    """A tracking-webhook body for ``tracking_number``: Track API output carrying one of the
    magic journeys (or the given ``trackResults``)."""
    shipments = json.loads(json.dumps(shipments or journeys()[journey]))
    for item in shipments:
        item["trackingNumberInfo"]["trackingNumber"] = tracking_number
    return json.dumps(track_output({tracking_number: shipments})).encode()


def sign(secret: str, body: bytes) -> str:
    """``fdx-signature``: base64 of HMAC-SHA256 over the raw body, keyed with the security token."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- the server -----------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"transactionId": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}
    return web.json_response(body, status=status)


_EXPIRED = "Access token expired. Please modify your request and try again."
_FAILURES = {
    "401": (401, "NOT.AUTHORIZED.ERROR", _EXPIRED),
    "403": (
        403,
        "FORBIDDEN.ERROR",
        "We could not authorize your credentials. Please check your permissions and try again.",
    ),
    "500": (
        500,
        "INTERNAL.SERVER.ERROR",
        "We encountered an unexpected error and are working to resolve the issue.",
    ),
    "503": (
        503,
        "SERVICE.UNAVAILABLE.ERROR",
        "The service is currently unavailable and we are working to resolve the issue.",
    ),
}


def fake_state(request: web.Request) -> dict[str, Any]:
    fake: FakeServer = request.app["fake"]
    return fake.state


async def _directive(state: dict[str, Any], script_key: str) -> web.Response | str | None:
    """The scripted answer for this call, if any (``"gzip"`` is returned for the caller)."""
    script: list[str] = state.setdefault(f"{script_key}_script", [])
    directive = script.pop(0) if script else state.get(f"{script_key}_always")
    if directive is None:
        return None
    if directive in _FAILURES:
        return _error(*_FAILURES[directive])
    if directive == "429":
        response = _error(429, "TOO.MANY.REQUESTS.ERROR", "We have received too many requests.")
        response.headers["Retry-After"] = "7"
        return response
    if directive == "quota":
        return _error(
            429,
            "TOO.MANY.REQUESTS.ERROR",
            "Too many requests - Daily transaction quota exceeded. Retry after 12:00AM GMT",
        )
    if directive == "timeout":
        await asyncio.sleep(float(state.get("timeout_seconds", 2.0)))
        return None
    if directive == "malformed":
        return web.Response(status=200, text="<html>upstream gateway</html>",
                            content_type="text/html")  # fmt: skip
    if directive == "no_output":
        return web.json_response({"transactionId": str(uuid.uuid4())})
    if directive == "gzip":
        return "gzip"
    raise AssertionError(f"unknown fake FedEx directive {directive!r}")


async def _token(request: web.Request) -> web.Response:
    state = fake_state(request)
    scripted = await _directive(state, "token")
    if isinstance(scripted, web.Response):
        return scripted
    if request.content_type != "application/x-www-form-urlencoded":
        return _error(400, "BAD.REQUEST.ERROR", "The given content type is not supported.")
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _error(400, "BAD.REQUEST.ERROR", "Missing or invalid grant_type.")
    if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
        return _error(
            401,
            "NOT.AUTHORIZED.ERROR",
            "The given client credentials were not valid. Please modify your request and try "
            "again.",
        )
    token = f"fdx-token-{next(_counter)}"
    state.setdefault("tokens", []).append(token)
    return web.json_response(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": state.get("token_lifetime", 3599),
            "scope": "CXS-TP",
        }
    )


def expire_tokens(state: dict[str, Any]) -> None:
    """From now on every token issued so far is refused as expired."""
    state.setdefault("expired", set()).update(state.get("tokens", []))


async def _track(request: web.Request) -> web.Response:
    state = fake_state(request)
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token not in state.get("tokens", []) or token in state.get("expired", set()):
        return _error(401, "NOT.AUTHORIZED.ERROR", _EXPIRED)
    scripted = await _directive(state, "track")
    if isinstance(scripted, web.Response):
        return scripted
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "BAD.REQUEST.ERROR", "The request body is not valid JSON.")
    items = body.get("trackingInfo") if isinstance(body, dict) else None
    if not isinstance(items, list) or not isinstance(body.get("includeDetailedScans"), bool):
        return _error(400, "TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.")
    numbers: list[str] = []
    for item in items:
        info = item.get("trackingNumberInfo") if isinstance(item, dict) else None
        number = info.get("trackingNumber") if isinstance(info, dict) else None
        if not isinstance(number, str) or not number:
            return _error(400, "TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.")
        numbers.append(number)
    if not numbers:
        return _error(400, "TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.")
    if len(numbers) > 30:
        # Not in FedEx's documentation: the schema only says "Maximum limit is 30".
        return _error(400, "BAD.REQUEST.ERROR", "trackingInfo accepts at most 30 items.")
    table = {**journeys(), **state.get("shipments", {})}
    table[INVALID] = [invalid(INVALID)]
    output = track_output({n: table.get(n) or [not_found(n)] for n in numbers})
    if "x-customer-transaction-id" in request.headers:
        output["customerTransactionId"] = request.headers["x-customer-transaction-id"]
    if scripted == "gzip":
        return web.Response(
            body=gzip.compress(json.dumps(output).encode()), content_type="application/json"
        )
    return web.json_response(output)


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_post("/oauth/token", _token)
    application.router.add_post("/track/v1/trackingnumbers", _track)
    return application
