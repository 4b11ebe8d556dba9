"""A fake USPS API for tests, answering as USPS documents it.

Sources: the official specs in ``/work/shared/spec/carriers/usps/`` (Tracking v3r2 3.2.3 and v3
3.2.6: paths, request schema, ``TrackingDetail`` fields, ``ErrorMessage``, ``207`` multi-status,
``Retry-After`` on 429/503, ``WWW-Authenticate`` on 401) and USPS's own README (``POST
/oauth2/v3/token`` with a JSON body; its response with ``expires_in`` as a string; the
``invalid_client`` refusal). v3 quirks seen in real answers are kept: booleans as strings,
``mailClass`` with HTML, ``eventZIP``/``name`` instead of v3r2's ``eventZIPCode``/``recipientName``,
and an unknown number answered with HTTP 400 and tracking error code ``150002``.

Routes: ``POST /oauth2/v3/token``, ``POST /tracking/v3r2/tracking``,
``GET /tracking/v3/tracking/{trackingNumber}``.

Credentials: :data:`CLIENT_ID` / :data:`CLIENT_SECRET` (``state["clients"]`` replaces them).

Tracking numbers with a scripted answer (any other number is unknown to USPS):

=====================  ===========================================================================
:data:`DELIVERED`      label, acceptance in Chicago, transit, delivered in New York with a signer
:data:`IN_TRANSIT`     departed the origin facility; an expected delivery date
:data:`OUT_FOR_DELIVERY` out for delivery (``OF``)
:data:`EXCEPTION`      refused by the addressee (``04``)
:data:`ATTEMPT`        notice left (``02``) after going out for delivery
:data:`PICKUP_POINT`   available for pickup at a Post Office (``16``)
:data:`COLLECTED`      held for pickup (``14``, ``16``), then picked up (``43``)
:data:`LABEL_CREATED`  a shipping label only (``GX``), statusCategory "Pre-Shipment"
:data:`UNMAPPED`       newest scan with a code not in the mapping, statusCategory "In Transit"
:data:`CUSTOMS`        inbound from China, newest scan "Held in Customs"
:data:`SEVERAL`        two mail pieces under one number: a delivered one mailed in 2025, then one in
                       transit mailed in 2026 (v3 answers the newer one only)
=====================  ===========================================================================

``fake.state`` switches (set them in the test, any time):

- ``"details"``: ``{number: [TrackingDetail, ...]}``, answers that replace or add scripted ones.
- ``"item_status"``: ``{number: "503"}``, that number fails with this status: inside a 207 on
  v3r2, as the HTTP status of its own answer on v3 (with that status as its error code).
- ``"outage"``: ``{"status": 429 | 500 | 503, "retry_after": "1"}``, every tracking call fails so.
- ``"slow"``: seconds every tracking call waits before answering (to make the client time out).
- ``"malformed"``: ``"truncated"`` (200 with a body that is not JSON) or ``"shape"`` (200 with JSON
  that is not a tracking answer).
- ``"not_usps"``: ``True`` makes the tracking paths answer a bare 404 page, as a host or proxy that
  is not USPS would.
- ``"token_outage"``: a status the token endpoint answers with instead of a token.
- ``"expires_in"``: the lifetime of new tokens, in seconds, as a string (default ``"28799"``).
- ``"valid"``: the set of tokens USPS accepts; ``fake.state["valid"].clear()`` expires them all.
- ``"reject_tokens"``: ``True`` makes every tracking call answer 401, even with a fresh token.
- ``"tokens_issued"``: how many tokens were issued so far (read it).
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from datetime import datetime, timedelta
from typing import Any, TypedDict

from aiohttp import web

#: A number the fake refuses as invalid: HTTP 400 on v3, a per-number 400 inside a 207 on v3r2,
#: both naming ``trackingNumber`` as the parameter at fault (the message is the fake's own).
INVALID = "9499000000000000000000"
INVALID_TEXT = "The tracking number is not valid."
CLIENT_ID = "usps-consumer-key"
CLIENT_SECRET = "usps-consumer-secret"


def _number(n: int) -> str:
    return f"94001118992233445566{n:02d}"


DELIVERED = _number(1)
IN_TRANSIT = _number(2)
OUT_FOR_DELIVERY = _number(3)
EXCEPTION = _number(4)
ATTEMPT = _number(5)
PICKUP_POINT = _number(6)
COLLECTED = _number(7)
LABEL_CREATED = _number(8)
UNMAPPED = _number(9)
CUSTOMS = "LZ123456789CN"
SEVERAL = _number(11)
#: A number USPS does not know (any number without a script is unknown; this one is named).
UNKNOWN = _number(99)

_VALID_NUMBER = re.compile(r"[A-Za-z0-9]{4,34}")
_REQUEST_FIELDS = {"trackingNumber", "mailingDate", "destinationZIPCode"}


# --- the scripted answers (v3r2 shape) ----------------------------------------------------------


def scan(
    code: str | None,
    event_type: str,
    local: str,
    *,
    offset: str | None = "-5:00",
    embed_offset: bool = False,
    city: str | None = None,
    state: str | None = None,
    zip_code: str | None = None,
    country: str | None = None,
    firm: str | None = None,
    signer: str | None = None,
) -> dict[str, Any]:
    """One v3r2 ``TrackingEvent``. ``local`` is the wall time; with ``offset`` (``"-5:00"``, the
    spec's ``GMTOffset`` form) the GMT time is given too, a few seconds past the local minute as in
    real answers; ``embed_offset`` writes the offset into ``eventTimestamp`` (the spec's example
    ``2024-04-04T14:03:12-07:00``) instead of ``GMTOffset``."""
    event: dict[str, Any] = {
        "eventType": event_type,
        "eventTimestamp": local,
        "eventCity": city,
        "eventState": state,
        "eventZIPCode": zip_code,
        "eventCountry": country,
        "firm": firm,
        "recipientName": signer,
        "eventCode": code,
    }
    if offset is not None:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset.lstrip("+-").split(":")
        shift = sign * timedelta(hours=int(hours), minutes=int(minutes))
        gmt = datetime.fromisoformat(local) - shift + timedelta(seconds=37)
        event["GMTTimestamp"] = gmt.strftime("%Y-%m-%dT%H:%M:%S.041Z")
        if embed_offset:
            event["eventTimestamp"] = f"{local}{'-' if sign < 0 else '+'}{int(hours):02d}:{minutes}"
        else:
            event["GMTOffset"] = offset
    return event


def detail(
    number: str,
    events: list[dict[str, Any]],
    *,
    category: str,
    mailed: str | None = "2026-04-28",
    expected: str | None = None,
    mail_type: str = "Domestic",
) -> dict[str, Any]:
    """A v3r2 ``TrackingDetail``; ``events`` newest first, as USPS lists them."""
    body: dict[str, Any] = {
        "trackingNumber": number,
        "mailClass": "USPS Ground Advantage<SUP>&#153;</SUP>",
        "mailClassCode": "GA",
        "mailType": mail_type,
        "serviceTypeCode": "001",
        "status": events[0].get("eventType", category) if events else category,
        "statusCategory": category,
        "statusSummary": f"{category}: {events[0].get('eventType', '')}" if events else category,
        "uniqueTrackingID": f"{number[-6:]}{len(events):03d}",
        "servicesEligibility": {
            "proofOfDeliveryEnabled": False,
            "RREEnabled": False,
            "trackingProofOfDeliveryEnabled": False,
        },
        "trackingEvents": events,
    }
    if mailed is not None:
        body["mailingDate"] = mailed
    if expected is not None:
        body["deliveryDateExpectation"] = {
            "expectedDeliveryDate": expected,
            "predictedDeliveryDate": expected,
            "guaranteedDeliveryDate": "3 Business Days",
        }
    return body


class _Place(TypedDict, total=False):
    """Where a scan happened, passed to :func:`scan` as keyword arguments."""

    city: str
    state: str
    zip_code: str
    offset: str


_CHICAGO: _Place = {"city": "CHICAGO", "state": "IL", "zip_code": "60607"}
_NEW_YORK: _Place = {"city": "NEW YORK", "state": "NY", "zip_code": "10001", "offset": "-4:00"}


def _origin() -> list[dict[str, Any]]:
    """Label, acceptance, origin facility (newest first)."""
    return [
        scan("T1", "Departed USPS Regional Facility", "2026-04-28T23:40:00", **_CHICAGO),
        scan("10", "Arrived at USPS Regional Origin Facility", "2026-04-28T18:02:00", **_CHICAGO),
        scan("03", "USPS in possession of item", "2026-04-28T11:10:00", **_CHICAGO),
        scan(
            "GX",
            "Shipping Label Created, USPS Awaiting Item",
            "2026-04-27T16:20:00",
            **_CHICAGO,
        ),
    ]


def _destination() -> list[dict[str, Any]]:
    """Transit to New York and arrival at the Post Office (newest first)."""
    return [
        scan("07", "Arrived at Post Office", "2026-04-30T06:45:00", **_NEW_YORK),
        scan(
            "A1",
            "Arrived at USPS Regional Facility",
            "2026-04-29T22:13:00",
            city="NEW YORK NY DISTRIBUTION CENTER",
            offset="-4:00",
            embed_offset=True,
        ),
        scan("TL", "In Transit to Next Facility", "2026-04-29T10:05:00", offset="-5:00"),
    ]


def _out_for_delivery() -> dict[str, Any]:
    return scan("OF", "Out for Delivery", "2026-04-30T08:10:00", **_NEW_YORK)


def _journeys() -> dict[str, list[dict[str, Any]]]:
    delivered = scan(
        "01",
        "Delivered, Left with Individual",
        "2026-04-30T14:05:00",
        firm="ACME CORP",
        signer="J SMITH",
        **_NEW_YORK,
    )
    return {
        DELIVERED: [
            detail(
                DELIVERED,
                [delivered, _out_for_delivery(), *_destination(), *_origin()],
                category="Delivered",
                expected="2026-04-30",
            )
        ],
        IN_TRANSIT: [
            detail(IN_TRANSIT, _origin(), category="Moving Through Network", expected="2026-05-02")
        ],
        OUT_FOR_DELIVERY: [
            detail(
                OUT_FOR_DELIVERY,
                [_out_for_delivery(), *_destination(), *_origin()],
                category="Out for Delivery",
                expected="2026-04-30",
            )
        ],
        EXCEPTION: [
            detail(
                EXCEPTION,
                [
                    scan("04", "Refused", "2026-04-30T11:30:00", **_NEW_YORK),
                    _out_for_delivery(),
                    *_destination(),
                    *_origin(),
                ],
                category="Alert",
            )
        ],
        ATTEMPT: [
            detail(
                ATTEMPT,
                [
                    scan(
                        "02",
                        "Notice Left (No Authorized Recipient Available)",
                        "2026-04-30T12:15:00",
                        **_NEW_YORK,
                    ),
                    _out_for_delivery(),
                    *_destination(),
                    *_origin(),
                ],
                category="Delivery Attempt",
            )
        ],
        PICKUP_POINT: [
            detail(
                PICKUP_POINT,
                [
                    scan(
                        "16",
                        "Available for Pickup",
                        "2026-04-30T09:00:00",
                        firm="JAMES A FARLEY POST OFFICE",
                        **_NEW_YORK,
                    ),
                    *_destination(),
                    *_origin(),
                ],
                category="Available for Pickup",
            )
        ],
        COLLECTED: [
            detail(
                COLLECTED,
                [
                    scan("43", "Picked Up", "2026-05-01T17:20:00", **_NEW_YORK),
                    scan("16", "Available for Pickup", "2026-04-30T09:00:00", **_NEW_YORK),
                    scan("14", "Arrival at Pickup Point", "2026-04-30T08:40:00", **_NEW_YORK),
                    *_destination(),
                    *_origin(),
                ],
                category="Delivered",
            )
        ],
        LABEL_CREATED: [
            detail(LABEL_CREATED, _origin()[-1:], category="Pre-Shipment", mailed=None)
        ],
        UNMAPPED: [
            detail(
                UNMAPPED,
                [
                    scan("Z9", "Awaiting Delivery Scan", "2026-04-29T15:00:00", **_CHICAGO),
                    *_origin(),
                ],
                category="In Transit",
            )
        ],
        CUSTOMS: [
            detail(
                CUSTOMS,
                [
                    scan(
                        None,
                        "Held in Customs",
                        "2026-04-25T09:00:00",
                        city="ISC NEW YORK NY(USPS)",
                        state="NY",
                        offset="-4:00",
                    ),
                    scan(
                        None,
                        "Inbound Into Customs",
                        "2026-04-24T18:30:00",
                        city="ISC NEW YORK NY(USPS)",
                        state="NY",
                        offset="-4:00",
                    ),
                    scan(
                        None,
                        "Departed",
                        "2026-04-22T03:10:00",
                        city="SHANGHAI",
                        country="CN",
                        offset="+8:00",
                        embed_offset=True,
                    ),
                    scan(
                        None,
                        "Origin Post is Preparing Shipment",
                        "2026-04-21T12:00:00",
                        country="CHINA",
                        offset=None,
                    ),
                ],
                category="Alert",
                mailed="2026-04-21",
                mail_type="International Inbound",
            )
        ],
        SEVERAL: [
            detail(
                SEVERAL,
                [scan("01", "Delivered, In/At Mailbox", "2025-05-05T13:00:00", **_NEW_YORK)],
                category="Delivered",
                mailed="2025-05-02",
            ),
            detail(SEVERAL, _origin(), category="Moving Through Network", mailed="2026-04-28"),
        ],
    }


_JOURNEYS = _journeys()


def pieces_of(state: dict[str, Any], number: str) -> list[dict[str, Any]]:
    """The mail pieces USPS knows under a number (empty when it knows none)."""
    custom = state.get("details", {})
    if number in custom:
        return copy.deepcopy(custom[number])
    return copy.deepcopy(_JOURNEYS.get(number, []))


def as_v3(piece: dict[str, Any]) -> dict[str, Any]:
    """A v3r2 detail as v3 sends it (``TrackingDetails``: other field names, string booleans)."""
    body = {k: v for k, v in piece.items() if k not in {"servicesEligibility", "statusCode"}}
    body.update(
        emailEnabled="true",
        kahalaIndicator="false",
        proofOfDeliveryEnabled="false",
        restoreEnabled="false",
        RRAMenabled="false",
        RREEnabled="false",
        tableCode="T",
        uniqueMailPieceId=body.pop("uniqueTrackingID", None),
    )
    mailed = body.pop("mailingDate", None)
    if mailed is not None:
        body["mailPieceIntakeDate"] = f"{mailed} 09:12:19.000000"
    expectation = body.pop("deliveryDateExpectation", None)
    if expectation is not None:
        body["expectedDeliveryTimeStamp"] = f"{expectation['expectedDeliveryDate']}T00:00:00"
        body["predictedDeliveryDate"] = expectation.get("predictedDeliveryDate")
    events = []
    for event in body.get("trackingEvents", []):
        converted = dict(event)
        converted["eventZIP"] = converted.pop("eventZIPCode", None)
        converted["name"] = converted.pop("recipientName", None)
        converted["authorizedAgent"] = "false"
        events.append(converted)
    body["trackingEvents"] = events
    return body


# --- the HTTP side ------------------------------------------------------------------------------


def _error(status: int, message: str, *, code: str | None = None, version: str = "v3r2") -> Any:
    """USPS's ``ErrorMessage`` envelope."""
    return {
        "apiVersion": version,
        "error": {
            "code": str(status),
            "message": message,
            "errors": [
                {
                    "status": str(status),
                    "code": code or str(status),
                    "title": message,
                    "detail": message,
                }
            ],
        },
    }


async def _token(request: web.Request) -> web.Response:
    state = request.app["fake"].state
    outage = state.get("token_outage")
    if outage:
        return web.json_response(
            _error(outage, "Service Unavailable"), status=outage, headers={"Retry-After": "1"}
        )
    if request.content_type == "application/json":
        try:
            form = await request.json()
        except ValueError:
            form = None
    else:
        form = dict(await request.post())
    if not isinstance(form, dict) or form.get("grant_type") != "client_credentials":
        return web.json_response(
            {"error": "unsupported_grant_type", "error_description": "Unsupported grant type."},
            status=400,
        )
    clients = state.get("clients", {CLIENT_ID: CLIENT_SECRET})
    if clients.get(form.get("client_id")) != form.get("client_secret"):
        return web.json_response(
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
                "error_uri": "https://datatracker.ietf.org/doc/html/rfc6749#page-45",
            },
            status=401,
        )
    issued = state.get("tokens_issued", 0) + 1
    state["tokens_issued"] = issued
    token = f"usps-access-token-{issued}"
    state.setdefault("valid", set()).add(token)
    return web.json_response(
        {
            "access_token": token,
            "token_type": "Bearer",
            "issued_at": "1777593600000",
            "expires_in": state.get("expires_in", "28799"),
            "status": "approved",
            "scope": "addresses tracking labels prices",
            "issuer": "api.usps.com",
            "client_id": form["client_id"],
            "application_name": "shiptrack-tests",
            "api_products": "[Public Access]",
            "public_key": "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0=",
        }
    )


async def _refusal(request: web.Request, version: str) -> web.Response | None:
    """The answer when the call cannot be served: bad token, outage, slowness, broken body."""
    state = request.app["fake"].state
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    refused = state.get("reject_tokens") or token not in state.get("valid", set())
    if scheme != "Bearer" or refused:
        return web.json_response(
            _error(401, "Unauthorized", version=version),
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="https://api.usps.com"'},
        )
    if state.get("slow"):
        await asyncio.sleep(state["slow"])
    outage = state.get("outage")
    if outage:
        status = outage["status"]
        headers = {"Retry-After": outage["retry_after"]} if outage.get("retry_after") else {}
        message = {429: "Too Many Requests", 500: "Internal Server Error"}.get(
            status, "Service Unavailable"
        )
        return web.json_response(
            _error(status, message, version=version), status=status, headers=headers
        )
    if state.get("not_usps"):
        return web.Response(status=404, text="404: Not Found")
    if state.get("malformed") == "truncated":
        return web.Response(body=b'[{"trackingNumber": "9400111', content_type="application/json")
    if state.get("malformed") == "shape":
        return web.json_response({"trackingNumber": "9400", "trackingEvents": "none"})
    return None


def _bad_request_body(detail: str, parameter: str, *, version: str = "v3r2") -> Any:
    body = _error(400, "Bad Request", version=version)
    body["error"]["errors"][0].update(detail=detail, source={"parameter": parameter})
    return body


def _bad_request(detail: str, parameter: str, *, version: str = "v3r2") -> web.Response:
    return web.json_response(_bad_request_body(detail, parameter, version=version), status=400)


async def _track_v3r2(request: web.Request) -> web.Response:
    refused = await _refusal(request, "v3r2")
    if refused is not None:
        return refused
    state = request.app["fake"].state
    if request.content_type != "application/json":
        return _bad_request("The request body must be JSON.", "body")
    try:
        asked = json.loads(await request.read())
    except ValueError:
        return _bad_request("The request body is not valid JSON.", "body")
    if not isinstance(asked, list) or not 1 <= len(asked) <= 35:
        return _bad_request("Between 1 and 35 tracking requests are allowed.", "body")
    for item in asked:
        if not isinstance(item, dict) or set(item) - _REQUEST_FIELDS:
            return _bad_request("Unknown field in a tracking request.", "body")
        number = item.get("trackingNumber")
        if not isinstance(number, str) or not _VALID_NUMBER.fullmatch(number):
            return _bad_request(
                "Tracking ID, must be alphanumeric characters, string length is between 4 and 34.",
                "trackingNumber",
            )
    answers: list[dict[str, Any]] = []
    failed = False
    for item in asked:
        number = item["trackingNumber"]
        status = state.get("item_status", {}).get(number)
        pieces = pieces_of(state, number)
        if number == INVALID:
            failed = True
            refusal = _bad_request_body(INVALID_TEXT, "trackingNumber")
            answers.append({"statusCode": "400", "trackingNumber": number, **refusal})
        elif status is not None or not pieces:
            failed = True
            code = status or "404"
            answers.append(
                {
                    "statusCode": code,
                    "trackingNumber": number,
                    **_error(
                        int(code),
                        "The tracking number may be incorrect or the status update is not yet "
                        "available.",
                        code="150002" if code == "404" else code,
                    ),
                }
            )
        else:
            answers.extend(pieces)
    if failed:
        multi = [a if "error" in a else {"statusCode": "200", **a} for a in answers]
        return web.json_response(multi, status=207)
    return web.json_response(answers)


async def _track_v3(request: web.Request) -> web.Response:
    refused = await _refusal(request, "v3")
    if refused is not None:
        return refused
    state = request.app["fake"].state
    number = request.match_info["trackingNumber"]
    if number == INVALID:
        return _bad_request(INVALID_TEXT, "trackingNumber", version="v3")
    status = state.get("item_status", {}).get(number)
    if status is not None:
        return web.json_response(
            _error(int(status), "Bad Request", version="v3"), status=int(status)
        )
    pieces = pieces_of(state, number)
    if not pieces:
        return web.json_response(
            _error(
                400,
                "The tracking number may be incorrect or the status update is not yet available.",
                code="150002",
                version="v3",
            ),
            status=400,
        )
    newest = max(pieces, key=lambda piece: piece.get("mailingDate") or "")
    if request.query.get("expand") != "DETAIL":
        events = newest.get("trackingEvents", [])
        summaries = [e.get("eventType", "") for e in events] or ["No events"]
        return web.json_response({"trackingNumber": number, "eventSummaries": summaries})
    return web.json_response(as_v3(newest))


def app() -> web.Application:
    """The application; run it with ``tests.fakes.server.serve`` and use the URL as base_url."""
    application = web.Application()
    application.router.add_post("/oauth2/v3/token", _token)
    application.router.add_post("/tracking/v3r2/tracking", _track_v3r2)
    application.router.add_get("/tracking/v3/tracking/{trackingNumber}", _track_v3)
    return application
