"""A fake DHL "Shipment Tracking - Unified" API (``GET /track/shipments``), answering as DHL
documents it: the schemas and examples of the official OpenAPI 1.3.1 (``Shipments``, ``Shipment``,
``ShipmentEvent``, ``ProofOfDelivery``, problem+json errors), Express checkpoint wording, and
timestamps with an offset, with ``Z`` and without any offset (as real Express data has them).

Serve it with ``tests.fakes.server.serve(dhl.app())`` and point a connection's ``base_url`` at it.

Keys (header ``DHL-API-Key``): :data:`VALID_KEY` is accepted (``fake.state["keys"]`` replaces the
accepted set), :data:`FORBIDDEN_KEY` answers ``403``, any other key or none answers the gateway's
``401``.

Magic tracking numbers:

======================  ==============================================================
:data:`DELIVERED`       delivered with a signature and proof of delivery (7 checkpoints)
:data:`IN_TRANSIT`      picked up, processed, departed; an estimated delivery window
:data:`OUT_FOR_DELIVERY` with the delivery courier
:data:`EXCEPTION`       ``failure``: incorrect address
:data:`FAILED_ATTEMPT`  ``failure``: delivery attempted, recipient not home
:data:`PICKUP_POINT`    ready for pickup at a DHL ServicePoint
:data:`RETURNED`        ``returnFlag``: delivered back to the sender
:data:`STATUS_ONLY`     no ``events``, only the shipment's ``status``
:data:`NO_STATUS_CODE`  old-style Express checkpoints without ``statusCode``
:data:`SEVERAL_DIVISIONS` a newer Parcel Germany shipment listed before the Express one
:data:`SEVERAL_EXPRESS` an Express shipment that holds the number as a piece id (newer) and
                        the Express shipment whose id is the number
:data:`REUSED_NUMBER`   two Express shipments with the number as id, the older listed first
:data:`OTHER_DIVISION`  only a Parcel Germany shipment
:data:`BAD_NUMBER`      ``400`` problem (DHL refuses the number)
:data:`RATE_LIMITED`    ``429`` with ``Retry-After: 7``
:data:`SERVER_ERROR`    ``500`` problem
:data:`SLOW`            answers ``IN_TRANSIT``'s body after ``fake.state["delay"]`` s (2)
:data:`NOT_JSON`        ``200`` with an HTML body
:data:`WRONG_SHAPE`     ``200`` JSON without ``shipments``
any other number        ``404`` "No result found"
======================  ==============================================================

State switches: ``fake.state["outage"] = True`` answers every lookup ``503`` with
``Retry-After: 1``, ``fake.state["rate_limited"] = True`` ``429`` with ``Retry-After: 1``;
``fake.state["as"] = {number: magic}`` answers ``number`` with the body of the
magic number ``magic`` (the shipment ids become ``number``), to make a package move on.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from aiohttp import web

VALID_KEY = "dhl-key-valid-0001"
FORBIDDEN_KEY = "dhl-key-no-tracking-product"

DELIVERED = "1000000001"
IN_TRANSIT = "1000000002"
OUT_FOR_DELIVERY = "1000000003"
EXCEPTION = "1000000004"
FAILED_ATTEMPT = "1000000005"
PICKUP_POINT = "1000000006"
RETURNED = "1000000010"
STATUS_ONLY = "1000000011"
NO_STATUS_CODE = "1000000012"
SEVERAL_DIVISIONS = "1000000007"
SEVERAL_EXPRESS = "1000000017"
REUSED_NUMBER = "1000000027"
OTHER_DIVISION = "1000000008"
BAD_NUMBER = "1000000400"
RATE_LIMITED = "1000000429"
SERVER_ERROR = "1000000500"
SLOW = "1000000408"
NOT_JSON = "1000000999"
WRONG_SHAPE = "1000000998"

#: What the ``Link`` header of a 200 carries (the spec's default).
LINK = (
    '<https://api-eu.dhl.com/track/context>; rel="http://www.w3.org/ns/json-ld#context"; '
    'type="application/ld+json"'
)
SERVICES = (
    "express",
    "parcel-de",
    "ecommerce",
    "dgf",
    "parcel-uk",
    "post-de",
    "sameday",
    "freight",
    "parcel-nl",
    "parcel-pl",
    "dsc",
)
POD_DOCUMENT = "https://webpod.dhl.com/webPOD/DHLePODRequest?hwb=fake1000000001&language=en"
POD_SIGNATURE = "https://webpod.dhl.com/webPOD/DHLePODRequest?hwb=fake1000000001&sig=1"

# --- checkpoints ---------------------------------------------------------------------------------


def _place(locality: str, country: str | None = None, postal: str | None = None) -> dict[str, Any]:
    address: dict[str, Any] = {"addressLocality": locality}
    if country:
        address["countryCode"] = country
    if postal:
        address["postalCode"] = postal
    return {"address": address}


def _event(
    timestamp: str,
    code: str | None,
    description: str,
    place: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {"timestamp": timestamp}
    if place is not None:
        event["location"] = place
    if code is not None:
        event["statusCode"] = code
        event["status"] = code
    event["description"] = description
    event["pieceIds"] = ["JD014600012345678901"]
    event.update(extra)
    return event


LABEL_INFO = _event(
    "2026-04-28T11:02:00",
    "pre-transit",
    "Shipment information received",
    _place("CINCINNATI - USA"),
)
PICKED_UP = _event(
    "2026-04-28T19:30:00-04:00",
    "transit",
    "Shipment picked up",
    _place("CINCINNATI", "US", "45275"),
)
PROCESSED = _event(
    "2026-04-28T23:55:00-04:00",
    "transit",
    "Processed at CINCINNATI HUB - USA",
    _place("CINCINNATI HUB - USA"),
)
DEPARTED = _event(
    "2026-04-29T14:15:00+02:00",
    "transit",
    "Departed Facility in LEIPZIG - GERMANY",
    _place("LEIPZIG", "DE", "04435"),
)
CLEARED = _event(
    "2026-04-29T18:03:00Z",
    "transit",
    "Clearance processing complete at LEIPZIG - GERMANY",
    _place("LEIPZIG", "DE"),
)
ARRIVED = _event(
    "2026-04-29T22:40:00",
    "transit",
    "Arrived at DHL Delivery Facility AMSTERDAM - NETHERLANDS",
    _place("AMSTERDAM - NETHERLANDS"),
)
WITH_COURIER = _event(
    "2026-04-30T08:12:00+02:00",
    "transit",
    "With delivery courier",
    _place("AMSTERDAM", "NL", "1043 AG"),
)
DELIVERED_EVENT = _event(
    "2026-04-30T14:05:00+02:00",
    "delivered",
    "Delivered - Signed for by: J DOE",
    _place("AMSTERDAM", "NL", "1043 AG"),
)
ADDRESS_PROBLEM = _event(
    "2026-04-30T10:20:00+02:00",
    "failure",
    "Incorrect address - the street is unknown at the destination",
    _place("AMSTERDAM", "NL", "1043 AG"),
    remark="The recipient's address is incorrect.",
    nextSteps="DHL will contact the recipient.",
)
NOT_HOME = _event(
    "2026-04-30T11:47:00+02:00",
    "failure",
    "Delivery attempted; recipient not home",
    _place("AMSTERDAM", "NL", "1043 AG"),
)
AT_SERVICE_POINT = _event(
    "2026-04-30T12:30:00+02:00",
    "transit",
    "Shipment is ready for pickup at DHL ServicePoint AMSTERDAM OOST",
    _place("AMSTERDAM", "NL", "1093 KR"),
)
BACK_AT_SENDER = _event(
    "2026-05-06T09:15:00-04:00",
    "delivered",
    "Delivered",
    _place("CINCINNATI", "US", "45275"),
)
RETURNING = _event(
    "2026-05-02T16:00:00+02:00",
    "transit",
    "Shipment is being returned to the shipper",
    _place("AMSTERDAM", "NL"),
)


def _shipment(
    number: str,
    events: list[dict[str, Any]],
    *,
    service: str = "express",
    details: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    shipment: dict[str, Any] = {
        "id": number,
        "service": service,
        "origin": _place("CINCINNATI - USA", "US", "45275"),
        "destination": _place("AMSTERDAM - NETHERLANDS", "NL", "1043 AG"),
        "status": copy.deepcopy(events[0]) if events else {},
        "details": {
            "carrier": {"@type": "Organization", "organizationName": "EXPRESS"},
            "product": {"productName": "EXPRESS WORLDWIDE"},
            "totalNumberOfPieces": 1,
            "pieceIds": ["JD014600012345678901"],
            "weight": {"value": 2.5, "unitText": "kg"},
            **(details or {}),
        },
        "events": copy.deepcopy(events),
    }
    shipment.update(extra)
    return shipment


PROOF = {
    "proofOfDelivery": {
        "timestamp": "2026-04-30T14:05:00+02:00",
        "signatureUrl": POD_SIGNATURE,
        "documentUrl": POD_DOCUMENT,
        "signed": {"@type": "Person", "familyName": "Doe", "givenName": "Jane", "name": "J DOE"},
    },
    "proofOfDeliverySignedAvailable": True,
}
JOURNEY = [PROCESSED, PICKED_UP, LABEL_INFO]
TRANSIT_EVENTS = [DEPARTED, *JOURNEY]
WINDOW: dict[str, Any] = {
    "estimatedDeliveryTimeFrame": {
        "estimatedFrom": "2026-04-30T09:00:00",
        "estimatedThrough": "2026-04-30T18:00:00",
    }
}


def _bodies() -> dict[str, list[dict[str, Any]]]:
    """The shipments each magic number answers with."""
    return {
        DELIVERED: [
            _shipment(
                DELIVERED,
                [DELIVERED_EVENT, WITH_COURIER, ARRIVED, CLEARED, *TRANSIT_EVENTS],
                details=PROOF,
                estimatedTimeOfDelivery="2026-04-30T18:00:00+02:00",
            )
        ],
        IN_TRANSIT: [_shipment(IN_TRANSIT, TRANSIT_EVENTS, **WINDOW)],
        OUT_FOR_DELIVERY: [
            _shipment(
                OUT_FOR_DELIVERY,
                [WITH_COURIER, ARRIVED, CLEARED, *TRANSIT_EVENTS],
                estimatedTimeOfDelivery="2026-04-30",
            )
        ],
        EXCEPTION: [_shipment(EXCEPTION, [ADDRESS_PROBLEM, WITH_COURIER, *TRANSIT_EVENTS])],
        FAILED_ATTEMPT: [_shipment(FAILED_ATTEMPT, [NOT_HOME, WITH_COURIER, *TRANSIT_EVENTS])],
        PICKUP_POINT: [_shipment(PICKUP_POINT, [AT_SERVICE_POINT, ARRIVED, *TRANSIT_EVENTS])],
        RETURNED: [
            _shipment(
                RETURNED,
                [BACK_AT_SENDER, RETURNING, NOT_HOME, *TRANSIT_EVENTS],
                returnFlag=True,
            )
        ],
        STATUS_ONLY: [
            {
                "id": STATUS_ONLY,
                "service": "express",
                "status": copy.deepcopy(WITH_COURIER),
            }
        ],
        NO_STATUS_CODE: [
            _shipment(
                NO_STATUS_CODE,
                [
                    _event(
                        "2020-12-07T21:30:00", None, "Please contact DHL", _place("MILAN - ITALY")
                    ),
                    _event(
                        "2020-12-07T21:00:00",
                        None,
                        "Shipper has generated a shipment label, but the shipment has not yet "
                        "been handed over to DHL",
                        _place("MILAN - ITALY"),
                    ),
                ],
            )
        ],
        SEVERAL_DIVISIONS: [
            _shipment(
                SEVERAL_DIVISIONS,
                [
                    _event(
                        "2026-05-03T10:00:00",
                        "delivered",
                        "The shipment has been successfully delivered",
                        _place("Germany"),
                    )
                ],
                service="parcel-de",
            ),
            _shipment(SEVERAL_DIVISIONS, TRANSIT_EVENTS),
        ],
        SEVERAL_EXPRESS: [
            _shipment(
                "4711471147",
                [
                    _event(
                        "2026-05-05T10:00:00+02:00",
                        "delivered",
                        "Delivered",
                        _place("BERLIN", "DE"),
                    )
                ],
            ),
            _shipment(SEVERAL_EXPRESS, [WITH_COURIER, *TRANSIT_EVENTS]),
        ],
        REUSED_NUMBER: [
            _shipment(
                REUSED_NUMBER,
                [
                    _event(
                        "2025-01-10T15:00:00+01:00",
                        "delivered",
                        "Delivered",
                        _place("PARIS", "FR"),
                    )
                ],
            ),
            _shipment(REUSED_NUMBER, [PICKED_UP, LABEL_INFO]),
        ],
        OTHER_DIVISION: [
            _shipment(
                OTHER_DIVISION,
                [_event("2026-05-03T10:00:00", "transit", "In transit", _place("Germany"))],
                service="parcel-de",
            )
        ],
    }


BODIES = _bodies()


# --- the application -----------------------------------------------------------------------------


def _problem(status: int, title: str, detail: str, **headers: str) -> web.Response:
    return web.json_response(
        {"title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
        headers={"Content-Language": "en", **headers},
    )


def _with_id(shipments: list[dict[str, Any]], number: str) -> list[dict[str, Any]]:
    moved = copy.deepcopy(shipments)
    for shipment in moved:
        shipment["id"] = number
    return moved


async def _track(request: web.Request) -> web.Response:
    state: dict[str, Any] = request.app["fake"].state
    key = request.headers.get("DHL-API-Key")
    if key == FORBIDDEN_KEY:
        return web.json_response(
            {"status": 403, "title": "Forbidden", "detail": "Access to the resource is denied."},
            status=403,
        )
    if key not in state.get("keys", {VALID_KEY}):
        return web.json_response(
            {
                "title": "Unauthorized",
                "statusCode": 401,
                "detail": "Unauthorized for given resource.",
            },
            status=401,
        )
    number = request.query.get("trackingNumber", "")
    service = request.query.get("service")
    if not number:
        return _problem(400, "Bad request", "trackingNumber is required")
    if service is not None and service not in SERVICES:
        return _problem(400, "Bad request", f"service {service} is not supported")
    if state.get("outage"):
        return _problem(503, "Service Unavailable", "Try again later", **{"Retry-After": "1"})
    if number == RATE_LIMITED or state.get("rate_limited"):
        wait = "7" if number == RATE_LIMITED else "1"
        return _problem(429, "Too Many Requests", "Rate limit exceeded", **{"Retry-After": wait})
    if number == SERVER_ERROR:
        return _problem(500, "Internal Server Error", "An unexpected error occurred")
    if number == BAD_NUMBER:
        return _problem(400, "Bad request", "The tracking number is not valid")
    if number == NOT_JSON:
        return web.Response(text="<html><body>Gateway</body></html>", content_type="text/html")
    if number == WRONG_SHAPE:
        return web.json_response({"results": [], "count": 0})
    if number == SLOW:
        await asyncio.sleep(float(state.get("delay", 2.0)))
    source = state.get("as", {}).get(number, IN_TRANSIT if number == SLOW else number)
    shipments = BODIES.get(source)
    if shipments is None:
        return web.json_response(
            {
                "title": "No result found",
                "detail": "No shipment with given tracking number found.",
                "status": 404,
                "instance": f"/shipment/{number}",
            },
            status=404,
            content_type="application/problem+json",
            headers={"Content-Language": "en"},
        )
    page = f"/shipments?trackingNumber={number}&offset=0&limit=5"
    return web.json_response(
        {
            "url": page,
            "firstUrl": page,
            "lastUrl": page,
            "shipments": _with_id(shipments, number) if source != number else shipments,
            "possibleAdditionalShipmentsUrl": [
                f"/shipments?trackingNumber={number}&service=parcel-de",
                f"/shipments?trackingNumber={number}&service=freight",
            ],
        },
        headers={"Content-Language": "en", "Link": LINK},
    )


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/track/shipments", _track)
    return application
