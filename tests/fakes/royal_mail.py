"""A fake Royal Mail Tracking API v2 (``/mailpieces/v2/summary``, ``/mailpieces/v2/{id}/events``),
answering as the official Swagger (1.0.36) documents it: ``summarySuccessResponse`` with one
``mailPieces`` entry per number (``status``, ``summary`` or ``error``), ``eventsSuccessResponse``
(``summary``, ``signature``, ``estimatedDelivery``, ``events``), the ``summaryErrorResponse`` 404,
and Royal Mail's error bodies (401 ``Invalid client id or secret``, 403 ``E0016``, 400 ``E0004``
without ``X-Accept-RMG-Terms: yes``, 404 ``E1142``, 429, 500 ``E0009``). Times carry offsets as
documented; :data:`CLOCK_CHANGE` also has some without, around the October 2026 BST/GMT change.

Serve it with ``tests.fakes.server.serve(royal_mail.app())``; the connection's ``base_url`` is the
server's URL (the fake serves the ``/mailpieces/v2`` base path as Royal Mail does).

Credentials: :data:`CLIENT_ID` / :data:`CLIENT_SECRET` are accepted (``fake.state["clients"]``
replaces the accepted pairs); :data:`FORBIDDEN_ID` answers 403 E0016; anything else 401.

Magic numbers (any other number is unknown: E1142):

=====================  ==========================================================================
:data:`DELIVERED`      sender despatching, received, mail centre, delivery office, due today,
                       delivered and signed (signature: ``Simon``)
:data:`IN_TRANSIT`     received, then the Swagger's example ``EVNMI`` "Forwarded - Mis-sort"; an
                       estimated delivery window
:data:`ATTEMPTED`      out for delivery, delivery attempted (no answer), available for redelivery
:data:`PICKUP_POINT`   an undocumented code whose name says it waits at a Post Office
:data:`RETURNED`       an undocumented code whose name says it was returned to the sender
:data:`UNMAPPED`       an undocumented code with a plain name, then a mapped newer scan
:data:`LAST_UNKNOWN`   the newest event has an undocumented code: the summary's category reads it
:data:`CLOCK_CHANGE`   scans on both sides of the 25 October 2026 change, some without an offset
:data:`INVALID`        a barcode Royal Mail refuses (400)
:data:`RATE_LIMITED`   the summary answers 429 with ``Retry-After: 7``
:data:`SERVER_ERROR`   the summary answers 500 E0009
:data:`EVENTS_FAIL`    known to the summary; its events answer 500
:data:`NOT_JSON`       the summary answers 200 with HTML
=====================  ==========================================================================

State: ``fake.state["outage"] = True`` answers 503 with ``Retry-After: 1``,
``fake.state["rate_limited"] = True`` answers 429 with ``Retry-After: 1``,
``fake.state["terms_refused"] = True`` answers 400 E0004 as if the terms header were missing,
``fake.state["summary_400"] = True`` answers every summary 400 without naming a number;
``fake.state["as"] = {number: magic}`` answers ``number`` with a magic number's data (to move a
package on).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

CLIENT_ID = "rm-client-0001"
CLIENT_SECRET = "rm-secret-0001"
FORBIDDEN_ID = "rm-client-no-tracking"

DELIVERED = "RM000000001GB"
IN_TRANSIT = "RM000000002GB"
ATTEMPTED = "RM000000003GB"
PICKUP_POINT = "RM000000004GB"
RETURNED = "RM000000005GB"
UNMAPPED = "RM000000006GB"
LAST_UNKNOWN = "RM000000007GB"
CLOCK_CHANGE = "RM000000008GB"
INVALID = "NOT-A-BARCODE"
RATE_LIMITED = "RM000000429GB"
SERVER_ERROR = "RM000000500GB"
EVENTS_FAIL = "RM000000501GB"
NOT_JSON = "RM000000999GB"

MAX_SUMMARY = 30


def _ev(code: str, name: str, when: str, place: str | None = "Stafford DO") -> dict[str, Any]:
    event: dict[str, Any] = {"eventCode": code, "eventName": name, "eventDateTime": when}
    if place:
        event["locationName"] = place
    return event


#: Events per magic number, newest first (as the Swagger's example history lists them).
EVENTS: dict[str, list[dict[str, Any]]] = {
    DELIVERED: [
        _ev("EVKSP", "Delivered and signed for", "2026-06-12T11:42:00+01:00"),
        _ev("EVGPD", "Due to be delivered today", "2026-06-12T07:05:00+01:00"),
        _ev("EVODO", "Item despatched to delivery office", "2026-06-11T23:10:00+01:00", "Stoke MC"),
        _ev("EVOAC", "Item received at mail centre", "2026-06-11T19:30:00+01:00", "Stoke MC"),
        _ev("EVDAC", "Item received", "2026-06-11T15:02:00+01:00", "Crewe DO"),
        _ev("EVAIP", "Sender despatching item", "2026-06-11T09:00:00+01:00", None),
    ],
    IN_TRANSIT: [
        _ev("EVNMI", "Forwarded - Mis-sort", "2016-10-20T10:04:00+01:00"),
        _ev("EVDAV", "Item received", "2016-10-19T16:20:00+01:00", "Leeds DO"),
    ],
    ATTEMPTED: [
        _ev("EVNDA", "Available for redelivery or collection", "2026-01-15T13:00:00+00:00"),
        _ev("EVKNA", "Delivery attempted - no answer", "2026-01-15T11:20:00+00:00"),
        _ev("EVGPD", "Due to be delivered today", "2026-01-15T07:00:00+00:00"),
        _ev("EVDAV", "Item received", "2026-01-14T15:00:00+00:00", "Crewe DO"),
    ],
    PICKUP_POINT: [
        _ev(
            "EVPOR",
            "Ready for collection at Post Office",
            "2026-02-03T10:00:00+00:00",
            "Hanley Post Office",
        ),
        _ev("EVDAV", "Item received", "2026-02-02T15:00:00+00:00", "Crewe DO"),
    ],
    RETURNED: [
        _ev("EVRTS", "Returned to sender", "2026-03-09T09:30:00+00:00", "Crewe DO"),
        _ev("EVDAV", "Item received", "2026-03-02T15:00:00+00:00", "Crewe DO"),
    ],
    UNMAPPED: [
        _ev("EVODO", "Item despatched to delivery office", "2026-04-02T05:00:00+01:00"),
        _ev("EVZZZ", "Item scanned", "2026-04-01T20:00:00+01:00", "Stoke MC"),
        _ev("EVDAV", "Item received", "2026-04-01T15:00:00+01:00", "Crewe DO"),
    ],
    LAST_UNKNOWN: [
        _ev("EVZZZ", "Item scanned", "2026-05-05T08:00:00+01:00", "Stoke MC"),
        _ev("EVDAV", "Item received", "2026-05-04T15:00:00+01:00", "Crewe DO"),
    ],
    CLOCK_CHANGE: [
        _ev("EVKSF", "Delivered to safeplace", "2026-10-26T12:00:00", "Stafford DO"),
        _ev("EVGPD", "Due to be delivered today", "2026-10-26T07:00:00+00:00"),
        # Clocks go back at 02:00 BST on 25 October 2026: 01:30 happens twice.
        _ev("EVODO", "Item despatched to delivery office", "2026-10-25T01:30:00", "Stoke MC"),
        _ev("EVOAC", "Item received at mail centre", "2026-10-24T23:30:00+01:00", "Stoke MC"),
        _ev("EVDAC", "Item received", "2026-10-24T12:00:00", "Crewe DO"),
    ],
    EVENTS_FAIL: [_ev("EVDAV", "Item received", "2026-01-14T15:00:00+00:00", "Crewe DO")],
}

CATEGORY = {DELIVERED: "DELIVERED", CLOCK_CHANGE: "DELIVERED"}


def _summary(number: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    last = events[0]
    return {
        "uniqueItemId": "090367574000000FE1E1B",
        "oneDBarcode": number,
        "productId": "SD2",
        "productName": "Special Delivery Guaranteed",
        "productCategory": "NON-INTERNATIONAL",
        "destinationCountryCode": "GBR",
        "originCountryCode": "GBR",
        "lastEventCode": last["eventCode"],
        "lastEventName": last["eventName"],
        "lastEventDateTime": last["eventDateTime"],
        "lastEventLocationName": last.get("locationName"),
        "statusCategory": CATEGORY.get(number, "IN TRANSIT"),
        "summaryLine": f"Item {number} {last['eventName'].lower()}.",
    }


def _error(code: str, description: str, cause: str, resolution: str) -> dict[str, str]:
    return {
        "errorCode": code,
        "errorDescription": description,
        "errorCause": cause,
        "errorResolution": resolution,
    }


def _unknown(number: str) -> dict[str, str]:
    return _error(
        "E1142",
        f"Barcode reference {number} isn't recognised",
        "A mail item with that barcode cannot be located",
        "Check barcode and resubmit",
    )


def _invalid(number: str) -> dict[str, str]:
    # The Swagger documents no code for a malformed barcode; this wording is the fake's.
    return {"errorDescription": f"Barcode reference {number} is not valid"}


def _body(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response(
        {"httpCode": str(status), "httpMessage": message, **extra}, status=status
    )


def _refusal(request: web.Request) -> web.Response | None:
    """Royal Mail's answer to a request it refuses before looking anything up, if any."""
    state: dict[str, Any] = request.app["fake"].state
    client = (request.headers.get("X-IBM-Client-Id"), request.headers.get("X-IBM-Client-Secret"))
    if client[0] == FORBIDDEN_ID:
        return web.json_response(
            {
                "errors": [
                    _error(
                        "E0016",
                        "Access Denied",
                        "No permission to retrieve details",
                        "Please re-submit your API request through correct channel",
                    )
                ]
            },
            status=403,
        )
    if client not in state.get("clients", {(CLIENT_ID, CLIENT_SECRET)}):
        return _body(401, "Unauthorized", moreInformation="Invalid client id or secret")
    if request.headers.get("X-Accept-RMG-Terms") != "yes" or state.get("terms_refused"):
        error = _error(
            "E0004",
            "Failed header validation for X-Accept-RMG-Terms",
            "The submitted request was not valid against the required header definition",
            "Please check the API request against the required header definition and re-submit",
        )
        return _body(400, "Bad Request", errors=[error])
    if state.get("outage"):
        response = _body(503, "Service Unavailable", moreInformation="Try again later")
        response.headers["Retry-After"] = "1"
        return response
    if state.get("rate_limited"):
        return _too_many()
    return None


def _too_many() -> web.Response:
    response = _body(
        429,
        "Too Many Requests",
        moreInformation="The rate limit has been exceeded for the plan or operation being used",
    )
    response.headers["Retry-After"] = "1"
    return response


def _source(request: web.Request, number: str) -> str:
    return str(request.app["fake"].state.get("as", {}).get(number, number))


async def _summary_route(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    numbers = [n for n in request.query.get("mailPieceId", "").split(",") if n]
    if not numbers or len(numbers) > MAX_SUMMARY or request.app["fake"].state.get("summary_400"):
        return _body(400, "Bad Request", moreInformation="1 to 30 mailPieceId values are allowed")
    if RATE_LIMITED in numbers:
        response = _too_many()
        response.headers["Retry-After"] = "7"
        return response
    if SERVER_ERROR in numbers:
        error = _error(
            "E0009",
            "Internal server error",
            "Business fulfilment system returned an error response",
            "Please try again later",
        )
        return _body(500, "Internal Server Error", errors=[error])
    if NOT_JSON in numbers:
        return web.Response(text="<html><body>Gateway</body></html>", content_type="text/html")
    pieces = []
    for number in numbers:
        piece: dict[str, Any] = {
            "mailPieceId": number,
            "carrierShortName": "RM",
            "carrierFullName": "Royal Mail Group Ltd",
        }
        events = EVENTS.get(_source(request, number))
        if events:
            piece.update(status="200", summary=_summary(number, events))
            piece["links"] = {
                "events": {
                    "href": f"/mailpieces/v2/{number}/events",
                    "title": "Events",
                    "description": "Get events",
                }
            }
        elif number == INVALID:
            piece.update(status="400", error=_invalid(number))
        else:
            piece.update(status="404", error=_unknown(number))
        pieces.append(piece)
    if all(p["status"] == "404" for p in pieces):
        # The documented summaryErrorResponse: every number unknown.
        return _body(
            404,
            "Not Found",
            mailPieces=[{"mailPieceId": p["mailPieceId"], "status": "404"} for p in pieces],
            errors=[_unknown(numbers[0])],
        )
    return web.json_response({"mailPieces": pieces})


async def _events_route(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    number = request.match_info["number"]
    source = _source(request, number)
    if source == EVENTS_FAIL:
        error = _error("E0009", "Internal server error", "Unavailable", "Please try again later")
        return _body(500, "Internal Server Error", errors=[error])
    if number == INVALID:
        return _body(400, "Bad Request", errors=[_invalid(number)])
    events = EVENTS.get(source)
    if not events:
        return _body(404, "Not Found", errors=[_unknown(number)])
    pieces: dict[str, Any] = {
        "mailPieceId": number,
        "carrierShortName": "RM",
        "carrierFullName": "Royal Mail Group Ltd",
        "summary": _summary(number, events),
        "events": events,
    }
    if source in (DELIVERED, CLOCK_CHANGE):
        pieces["signature"] = {
            "recipientName": "Simon",
            "signatureDateTime": events[0]["eventDateTime"],
            "imageId": "001234",
        }
    if source == IN_TRANSIT:
        pieces["estimatedDelivery"] = {
            "date": "2016-10-21",
            "startOfEstimatedWindow": "08:00:00+01:00",
            "endOfEstimatedWindow": "11:00:00+01:00",
        }
    return web.json_response({"mailPieces": pieces})


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/mailpieces/v2/summary", _summary_route)
    application.router.add_get("/mailpieces/v2/{number}/events", _events_route)
    return application
