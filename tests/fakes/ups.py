"""A fake UPS on 127.0.0.1: the OAuth token endpoint and the Track API v1, answering as UPS
documents them (``/work/shared/spec/carriers/ups/OAuthClientCredentials.yaml`` and
``Tracking.yaml``: schemas, the error envelope ``{"response": {"errors": [{"code", "message"}]}}``,
the not-found warning ``TW0001``), plus builders of the Track Alert pushes UPS sends
(``UPSTrackAlert.yaml`` ``webhooks.TrackingEvent`` examples).

Credentials: :data:`CLIENT_ID` / :data:`CLIENT_SECRET` (HTTP Basic on the token endpoint); any
other pair gets 401 ``250002``. Tokens have ``expires_in`` ``"14399"`` unless
``state["expires_in"]`` says otherwise. State switches:

- :func:`expire_tokens`: every token issued so far answers 401 ``251004`` "Bearer Token expired".
- ``state["expire_on_use"] = True``: every token expires on its first use.
- ``state["token_status"] = 429`` (or 500, ...): the token endpoint fails with that status.
- ``state["slow_seconds"]``: how long :data:`SLOW` takes to answer (3 s by default).
- ``state["rate_limited"] = {number, ...}``: those numbers answer 429 with ``Retry-After: 1``.

Magic tracking numbers (any other number is "Tracking Information Not Found", HTTP 200 + TW0001):

- :data:`DELIVERED`: label, pickup, departure, arrival, out for delivery, delivered; signed by
  :data:`SIGNER`; scan times in every shape UPS uses (GMT ``HH:MM:SS``, GMT ``HMMSS`` without its
  leading zero, offset only, local time only).
- :data:`IN_TRANSIT`: label, origin scan, arrival (local time only), departure; ``pickupDate``
  and an estimated delivery window.
- :data:`OUT_FOR_DELIVERY`: pickup, arrival, out for delivery (OT / 021).
- :data:`EXCEPTION`: type X, status code 050 "address information required".
- :data:`CUSTOMS`: type X, status code 092 "clearance in progress" (a live capture's shape).
- :data:`ATTEMPT`: type X, activity code 48, status code 022 (first attempt).
  :data:`ATTEMPT_AS_EXCEPTION`: type X, activity code 48 under the generic exception status code
  013. :data:`ATTEMPT_BY_WORDING`: type X with codes no table lists, "DELIVERY ATTEMPTED …" at
  the final attempt.
- :data:`PICKUP_POINT`: type D, activity code 2Q, status code 161 (UPS Access Point).
- :data:`LABEL_ONLY`: type M, activity code MP, status code 003.
- :data:`UPDATE`: a first attempt, then a newer 154 "delivery date updated" (type X).
- :data:`SEVERAL`: two shipments for one number, a delivered one from 2023 and the current one
  (listed second) in transit.
- :data:`MULTI_PIECE`: asked by its second package; the first package of the shipment (delivered,
  newer scans) is not the one asked for.
- :data:`ALTERNATE`: a USPS PIC (Ground Saver) that UPS lists as the alternate tracking number of
  one of two packages.
- :data:`NOT_FOUND`: HTTP 200, warning TW0001, no package. :data:`NOT_FOUND_404`: HTTP 404 with
  the TW0001 error body. :data:`NO_INFORMATION`: HTTP 404, error 151044 "No tracking information
  available". :data:`INVALID`: HTTP 400 TV1002 "Invalid inquiry number".
- :data:`RATE_LIMITED`: 429 with ``Retry-After: 7``. :data:`SERVER_ERROR`: 500 10004.
  :data:`UNAVAILABLE`: 503. :data:`BLOCKED`: 403 "Blocked Merchant".
- :data:`SLOW`: answers after ``state["slow_seconds"]``. :data:`MALFORMED`: 200 with an HTML body.
  :data:`WRONG_SHAPE`: 200 with JSON that is not a TrackApiResponse. :data:`PLAIN_404`: a 404
  without UPS's error body (what a proxy or a wrong base URL answers).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

CLIENT_ID = "ups-client-id"
CLIENT_SECRET = "ups-client-secret"

DELIVERED = "1ZDELIVERED0000001"
IN_TRANSIT = "1ZINTRANSIT0000001"
OUT_FOR_DELIVERY = "1ZOUTFORDELIVERY01"
EXCEPTION = "1ZEXCEPTION0000001"
CUSTOMS = "1ZCUSTOMS000000001"
ATTEMPT = "1ZATTEMPT000000001"
ATTEMPT_AS_EXCEPTION = "1ZATTEMPT000000013"
ATTEMPT_BY_WORDING = "1ZATTEMPT000000099"
PICKUP_POINT = "1ZACCESSPOINT00001"
LABEL_ONLY = "1ZLABELONLY0000001"
UPDATE = "1ZUPDATE0000000001"
SEVERAL = "1ZSEVERAL000000001"
MULTI_PIECE = "1ZMULTIPIECE000002"
MULTI_PIECE_LEAD = "1ZMULTIPIECE000001"
ALTERNATE = "92419900000033499522966220"
ALTERNATE_UPS = "1ZALTERNATE0000001"
NOT_FOUND = "1ZNOTFOUND00000001"
NOT_FOUND_404 = "1ZNOTFOUND00000404"
INVALID = "1ZINVALIDNUMBER"
NO_INFORMATION = "1ZNOINFORMATION001"
RATE_LIMITED = "1ZRATELIMITED00429"
SERVER_ERROR = "1ZSERVERERROR00500"
UNAVAILABLE = "1ZUNAVAILABLE00503"
BLOCKED = "1ZBLOCKEDMERCHANT1"
SLOW = "1ZSLOW000000000001"
MALFORMED = "1ZMALFORMED0000001"
WRONG_SHAPE = "1ZWRONGSHAPE000001"
PLAIN_404 = "1ZPLAIN40400000001"

#: ``Retry-After`` of :data:`RATE_LIMITED`.
RETRY_AFTER = 7
SIGNER = "JOHN DOE"

_counter = itertools.count(1)


def expire_tokens(fake: FakeServer) -> None:
    """Every token issued so far is now expired (the next call with one gets 401 251004)."""
    state = fake.state
    state.setdefault("expired", set()).update(state.get("tokens", set()))
    state.setdefault("tokens", set()).clear()


def tokens_issued(fake: FakeServer) -> int:
    """How many tokens the fake has issued."""
    return sum(1 for r in fake.requests if r.path == "/security/v1/oauth/token")


def track_requests(fake: FakeServer) -> list[str]:
    """The inquiry numbers asked for, in order."""
    prefix = "/api/track/v1/details/"
    return [r.path.removeprefix(prefix) for r in fake.requests if r.path.startswith(prefix)]


# --- the answers ---------------------------------------------------------------------------------


def _errors(code: str, message: str) -> dict[str, Any]:
    return {"response": {"errors": [{"code": code, "message": message}]}}


def _address(city: str | None, state: str | None, postal: str | None) -> dict[str, Any]:
    if city is None:
        return {}
    return {
        "location": {
            "address": {
                "city": city,
                "stateProvince": state,
                "postalCode": postal or "",
                "country": "US",
                "countryCode": "US",
            },
            "slic": "4321",
        }
    }


def activity(
    day: str,
    clock: str,
    status_type: str,
    code: str,
    description: str,
    status_code: str,
    *,
    where: tuple[str | None, str | None, str | None] = (None, None, None),
    gmt: tuple[str, str] | None = None,
    offset: str | None = None,
    simplified: str | None = None,
) -> dict[str, Any]:
    """One Track API ``Activity`` (only the GMT fields given are present)."""
    entry: dict[str, Any] = {
        **_address(*where),
        "status": {
            "type": status_type,
            "description": description,
            "code": code,
            "statusCode": status_code,
            **({"simplifiedTextDescription": simplified} if simplified else {}),
        },
        "date": day,
        "time": clock,
    }
    if gmt is not None:
        entry["gmtDate"], entry["gmtTime"] = gmt
    if offset is not None:
        entry["gmtOffset"] = offset
    return entry


def package(
    number: str,
    activities: list[dict[str, Any]],
    *,
    delivery_dates: Sequence[tuple[str, str]] = (),
    delivery_time: dict[str, str] | None = None,
    received_by: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Track API ``Package``."""
    newest = activities[0]["status"] if activities else {}
    entry: dict[str, Any] = {
        "trackingNumber": number,
        "currentStatus": {
            "description": newest.get("description", ""),
            "code": newest.get("statusCode", ""),
            "simplifiedTextDescription": newest.get("simplifiedTextDescription", ""),
        },
        "packageAddress": [
            {
                "type": "ORIGIN",
                "name": "SHIPPER INC",
                "address": {"city": "NASHVILLE", "stateProvince": "TN", "countryCode": "US"},
            },
            {
                "type": "DESTINATION",
                "name": "RECEIVER",
                "address": {"city": "ATLANTA", "stateProvince": "GA", "countryCode": "US"},
            },
        ],
        "weight": {"unitOfMeasurement": "LBS", "weight": "2.00"},
        "service": {"code": "003", "levelCode": "003", "description": "UPS Ground"},
        "referenceNumber": [{"type": "SHIPMENT", "number": "ORDER-1"}],
        "deliveryDate": [{"type": kind, "date": day} for kind, day in delivery_dates],
        "activity": activities,
        "packageCount": 1,
    }
    if delivery_time is not None:
        entry["deliveryTime"] = delivery_time
    if received_by is not None:
        entry["deliveryInformation"] = {"location": "Front Door", "receivedBy": received_by}
    entry.update(extra or {})
    return entry


def _shipment(number: str, *packages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"inquiryNumber": number, "package": list(packages), "userRelation": [], **extra}


def _found(*shipments: dict[str, Any]) -> dict[str, Any]:
    return {"trackResponse": {"shipment": list(shipments)}}


ATLANTA = ("ATLANTA", "GA", "30301")
LOUISVILLE = ("LOUISVILLE", "KY", "40201")
NASHVILLE = ("NASHVILLE", "TN", "37201")
HODGKINS = ("HODGKINS", "IL", "60525")
CHICAGO = ("CHICAGO", "IL", "60601")

LABEL = activity(
    "20240420",
    "093000",
    "M",
    "MP",
    "Shipper created a label, UPS has not received the package yet.",
    "003",
    simplified="Label Created",
)
PICKUP = activity(
    "20240421",
    "170000",
    "P",
    "PU",
    "Pickup Scan",
    "038",
    where=NASHVILLE,
    gmt=("20240421", "22:00:00"),
    offset="-05:00",
    simplified="Picked Up",
)
ARRIVAL = activity(
    "20240422",
    "043000",
    "I",
    "AR",
    "Arrived at Facility",
    "005",
    where=ATLANTA,
    gmt=("20240422", "83000"),  # UPS drops the leading zero of 08:30:00 (spec example "74700")
    offset="-04:00",
    simplified="On the Way",
)


def _delivered() -> dict[str, Any]:
    activities = [
        activity(
            "20240422",
            "143000",
            "D",
            "FS",
            "DELIVERED",
            "011",
            where=ATLANTA,
            gmt=("20240422", "18:30:00"),
            offset="-04:00",
            simplified="Delivered",
        ),
        activity(
            "20240422",
            "080500",
            "I",
            "OT",
            "Out For Delivery Today",
            "021",
            where=ATLANTA,
            gmt=("20240422", "12:05:00"),
            offset="-04:00",
            simplified="Out for Delivery",
        ),
        ARRIVAL,
        activity(  # only an offset: UTC is local time minus the offset
            "20240421",
            "220000",
            "I",
            "DP",
            "Departed from Facility",
            "005",
            where=LOUISVILLE,
            offset="-04:00",
            simplified="On the Way",
        ),
        PICKUP,
        LABEL,  # no GMT field at all: local time only
    ]
    return _found(
        _shipment(
            DELIVERED,
            package(
                DELIVERED,
                activities,
                delivery_dates=[("SDD", "20240422"), ("DEL", "20240422")],
                delivery_time={"type": "DEL", "endTime": "143000"},
                received_by=SIGNER,
            ),
        )
    )


def _in_transit() -> dict[str, Any]:
    activities = [
        activity(
            "20240420",
            "061500",
            "I",
            "DP",
            "Departed from Facility",
            "005",
            where=HODGKINS,
            gmt=("20240420", "11:15:00"),
            offset="-05:00",
        ),
        activity("20240420", "010000", "I", "AR", "Arrived at Facility", "005", where=HODGKINS),
        activity(
            "20240419",
            "190000",
            "I",
            "OR",
            "Origin Scan",
            "160",
            where=CHICAGO,
            gmt=("20240420", "00:00:00"),
            offset="-05:00",
        ),
        activity("20240419", "120000", "M", "MP", "Shipper created a label", "003"),
    ]
    return _found(
        _shipment(
            IN_TRANSIT,
            package(
                IN_TRANSIT,
                activities,
                delivery_dates=[("SDD", "20240423")],
                delivery_time={"type": "EDW", "startTime": "120000", "endTime": "160000"},
            ),
            pickupDate="20240419",  # not in the spec's schema, present in captured responses
        )
    )


def _simple(number: str, newest: dict[str, Any]) -> dict[str, Any]:
    return _found(_shipment(number, package(number, [newest, ARRIVAL, PICKUP, LABEL])))


def _newest(
    status_type: str, code: str, description: str, status_code: str, *, clock: str = "101500"
) -> dict[str, Any]:
    return activity(
        "20240422",
        clock,
        status_type,
        code,
        description,
        status_code,
        where=ATLANTA,
        gmt=("20240422", f"{int(clock[:2]) + 4:02d}{clock[2:]}"),
        offset="-04:00",
    )


ATTEMPT_ACTIVITY = _newest(
    "X",
    "48",
    "THE RECEIVER WAS NOT AVAILABLE FOR DELIVERY. WE'LL MAKE A SECOND ATTEMPT THE NEXT "
    "BUSINESS DAY.",
    "022",
)


def _update() -> dict[str, Any]:
    update = _newest("X", "UT", "The delivery date has been updated.", "154", clock="183000")
    return _found(
        _shipment(
            UPDATE,
            package(
                UPDATE,
                [update, ATTEMPT_ACTIVITY, ARRIVAL, PICKUP, LABEL],
                delivery_dates=[("SDD", "20240422"), ("RDD", "20240424")],
            ),
        )
    )


def _several() -> dict[str, Any]:
    old = package(
        SEVERAL,
        [
            activity(
                "20231103",
                "120000",
                "D",
                "FS",
                "DELIVERED",
                "011",
                where=ATLANTA,
                gmt=("20231103", "16:00:00"),
                offset="-04:00",
            )
        ],
    )
    current = package(SEVERAL, [ARRIVAL, PICKUP, LABEL])
    return _found(_shipment(SEVERAL, old), _shipment(SEVERAL, current))


def _multi_piece() -> dict[str, Any]:
    lead = package(
        MULTI_PIECE_LEAD,
        [_newest("D", "FS", "DELIVERED", "011", clock="150000"), ARRIVAL, PICKUP],
        extra={"packageCount": 2},
    )
    second = package(MULTI_PIECE, [ARRIVAL, PICKUP], extra={"packageCount": 2})
    return _found(_shipment(MULTI_PIECE_LEAD, lead, second))


def _alternate() -> dict[str, Any]:
    other = package(
        "1ZOTHERPACKAGE0001", [_newest("D", "FS", "DELIVERED", "011", clock="150000"), PICKUP]
    )
    mine = package(
        ALTERNATE_UPS,
        [
            _newest("I", "ZP", "Your package was forwarded to the U.S. Postal Service", "073"),
            PICKUP,
        ],
        extra={"alternateTrackingNumber": [{"type": "USPS_PIC", "number": ALTERNATE}]},
    )
    return _found(_shipment(ALTERNATE, other, mine))


_NOT_FOUND_BODY = _errors("TW0001", "Tracking Information Not Found")


def _not_found(number: str) -> dict[str, Any]:
    return _found(
        {
            "inquiryNumber": number,
            "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}],
        }
    )


def _answers() -> dict[str, Any]:
    return {
        DELIVERED: _delivered(),
        IN_TRANSIT: _in_transit(),
        OUT_FOR_DELIVERY: _simple(
            OUT_FOR_DELIVERY, _newest("I", "OT", "Out For Delivery Today", "021")
        ),
        EXCEPTION: _simple(
            EXCEPTION,
            _newest(
                "X",
                "AE",
                "The address is incomplete. We're attempting to obtain the complete address.",
                "050",
            ),
        ),
        CUSTOMS: _simple(CUSTOMS, _newest("X", "CI", "Customs Clearance in Progress", "092")),
        ATTEMPT: _simple(ATTEMPT, ATTEMPT_ACTIVITY),
        ATTEMPT_AS_EXCEPTION: _simple(
            ATTEMPT_AS_EXCEPTION,
            _newest("X", "48", "THE RECEIVER WAS NOT AVAILABLE FOR DELIVERY.", "013"),
        ),
        ATTEMPT_BY_WORDING: _simple(
            ATTEMPT_BY_WORDING,
            _newest(
                "X",
                "Q9",
                "DELIVERY ATTEMPTED. THE RECEIVER WAS NOT AVAILABLE AT THE TIME OF THE FINAL "
                "DELIVERY ATTEMPT.",
                "977",
            ),
        ),
        PICKUP_POINT: _simple(
            PICKUP_POINT,
            _newest(
                "D",
                "2Q",
                "Delivered to UPS Access Point™ and awaiting customer pickup",
                "161",
            ),
        ),
        LABEL_ONLY: _found(_shipment(LABEL_ONLY, package(LABEL_ONLY, [LABEL]))),
        UPDATE: _update(),
        SEVERAL: _several(),
        MULTI_PIECE: _multi_piece(),
        ALTERNATE: _alternate(),
    }


ANSWERS = _answers()


# --- handlers -----------------------------------------------------------------------------------


async def _token(request: web.Request) -> web.Response:
    state = request.app["fake"].state
    failing = state.get("token_status")
    if failing:
        headers = {"Retry-After": str(RETRY_AFTER)} if failing == 429 else {}
        message = "Quota Limit Exceeded" if failing == 429 else "Internal server error"
        return web.json_response(_errors(str(failing), message), status=failing, headers=headers)
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    if request.headers.get("Authorization") != expected:
        return web.json_response(
            _errors("250002", "Invalid Authentication Information."), status=401
        )
    form = await request.post()
    if not request.content_type.startswith("application/x-www-form-urlencoded"):
        return web.json_response(
            _errors("10007", "Requested Content Type is not supported"), status=400
        )
    if form.get("grant_type") != "client_credentials":
        return web.json_response(_errors("10001", "Invalid grant_type"), status=400)
    token = f"ups-token-{next(_counter)}"
    state.setdefault("tokens", set()).add(token)
    return web.json_response(
        {
            "token_type": "Bearer",
            "issued_at": "1713783600000",
            "client_id": CLIENT_ID,
            "access_token": token,
            "scope": "",
            "expires_in": state.get("expires_in", "14399"),
            "refresh_count": "0",
            "status": "approved",
        }
    )


async def _track(request: web.Request) -> web.StreamResponse:
    state = request.app["fake"].state
    authorization = request.headers.get("Authorization", "")
    token = authorization.removeprefix("Bearer ")
    if token in state.get("expired", set()):
        return web.json_response(_errors("251004", "Bearer Token expired (oauth)"), status=401)
    if not authorization.startswith("Bearer ") or token not in state.get("tokens", set()):
        return web.json_response(
            _errors("250002", "Invalid Authentication Information."), status=401
        )
    if state.get("expire_on_use"):
        state["tokens"].discard(token)
        state.setdefault("expired", set()).add(token)
        return web.json_response(_errors("251004", "Bearer Token expired (oauth)"), status=401)
    if not request.headers.get("transId"):
        return web.json_response(_errors("VSS002", "Missing transId"), status=400)
    if not request.headers.get("transactionSrc"):
        return web.json_response(_errors("VSS004", "Missing transactionSrc"), status=400)
    number = request.match_info["number"]
    if number in state.get("rate_limited", set()):
        return web.json_response(
            _errors("429", "Quota Limit Exceeded"), status=429, headers={"Retry-After": "1"}
        )
    if number == NOT_FOUND_404:
        return web.json_response(_NOT_FOUND_BODY, status=404)
    if number == INVALID:
        return web.json_response(_errors("TV1002", "Invalid inquiry number"), status=400)
    if number == NO_INFORMATION:
        return web.json_response(_errors("151044", "No tracking information available"), status=404)
    if number == RATE_LIMITED:
        return web.json_response(
            _errors("429", "Quota Limit Exceeded"),
            status=429,
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    if number == SERVER_ERROR:
        return web.json_response(
            _errors(
                "10004",
                "Something went wrong while processing your request, please try again later",
            ),
            status=500,
        )
    if number == UNAVAILABLE:
        return web.json_response(_errors("503", "Resource is not available"), status=503)
    if number == BLOCKED:
        return web.json_response(_errors("250003", "Blocked Merchant"), status=403)
    if number == SLOW:
        await asyncio.sleep(float(state.get("slow_seconds", 3)))
        return web.json_response(_not_found(number))
    if number == MALFORMED:
        return web.Response(
            text="<html><body>Service Temporarily Unavailable</body></html>",
            content_type="text/html",
        )
    if number == PLAIN_404:
        return web.Response(status=404, text="404: Not Found")
    if number == WRONG_SHAPE:
        return web.json_response({"trackResponse": {"shipment": "none"}})
    return web.json_response(ANSWERS.get(number) or _not_found(number))


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_post("/security/v1/oauth/token", _token)
    application.router.add_get("/api/track/v1/details/{number}", _track)
    return application


# --- Track Alert pushes (what UPS posts to the customer's URL) ------------------------------------


def out_for_delivery_push(number: str) -> dict[str, Any]:
    """The spec's "Out for delivery message" example, for ``number`` (plus the spec's gmtOffset
    example ``-04.00``)."""
    return {
        "trackingNumber": number,
        "localActivityDate": "20240423",
        "localActivityTime": "091519",
        "activityLocation": {
            "city": "Charlotte",
            "stateProvince": "NC",
            "postalCode": "30004",
            "country": "US",
        },
        "activityStatus": {
            "type": "I",
            "code": "OT",
            "description": "Out for Delivery",
            "descriptionCode": "021",
        },
        "scheduledDeliveryDate": "20240423",
        "gmtActivityDate": "20240423",
        "gmtActivityTime": "131519",
        "gmtOffset": "-04.00",
        "deliveryTimeDescription": "end of day",
    }


def delivered_push(number: str) -> dict[str, Any]:
    """The spec's "Delivery message" example, for ``number``."""
    return {
        "trackingNumber": number,
        "localActivityDate": "20240423",
        "localActivityTime": "095004",
        "activityLocation": {
            "city": "CHARLOTTE",
            "stateProvince": "NC",
            "postalCode": "28209",
            "country": "US",
        },
        "activityStatus": {
            "type": "D",
            "code": "FS",
            "description": "Delivered",
            "descriptionCode": "011",
        },
        "scheduledDeliveryDate": "20191014",
        "gmtActivityDate": "20240423",
        "gmtActivityTime": "135004",
        "actualDeliveryDate": "20240423",
        "actualDeliveryTime": "095004",
        "receivedBy": "John",
    }


def update_push(number: str) -> dict[str, Any]:
    """A type U event ("Updated Delivery Date or Time"): a new scheduled delivery date."""
    return {
        "trackingNumber": number,
        "localActivityDate": "20240423",
        "localActivityTime": "203000",
        "activityLocation": {"city": "Charlotte", "stateProvince": "NC", "country": "US"},
        "activityStatus": {
            "type": "U",
            "code": "UT",
            "description": "Your delivery date has been updated",
            "descriptionCode": "154",
        },
        "scheduledDeliveryDate": "20240426",
        "gmtActivityDate": "20240424",
        "gmtActivityTime": "003000",
        "gmtOffset": "-04.00",
    }
