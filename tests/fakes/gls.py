"""A fake GLS Group API: the Authentication API v2 (``POST /oauth2/v2/token``) and Track And Trace
v1 (``GET /track-and-trace-v1/tracking/simple/trackids/{a,b,…}``), answering as the specs in
``shared/spec/carriers/gls`` document: ``parcels[]`` with each parcel (``requested``, ``unitno``,
``status``, ``events``) or a per-id ``errorCode`` ``E_404_01`` "Resource Not Found"; a 400
problem body for more than 10 ids; Apigee fault bodies for 401 (``steps.jwt.TokenExpired``) and 429
(``policies.ratelimit.QuotaViolation``); 500.

Serve it with ``tests.fakes.server.serve(gls.app())``; the connection's ``base_url`` is the
server's URL.

Credentials: :data:`CLIENT_ID` / :data:`CLIENT_SECRET`, in the form body or HTTP Basic, as the
Authentication API takes them; others are refused ``400`` "Invalid client identifier". Tokens it
issued are accepted by the tracking route; any other bearer is ``401``.

Magic numbers (any other id is unknown: E_404_01):

=======================  =====================================================================
:data:`DELIVERED_PS`     the spec's ParcelShop sample (42249028960), with offsets
:data:`PREADVICE`        the spec's pre-advice sample (36301917596)
:data:`IN_TRANSIT`       handed over and at a parcel center in Germany, no offsets
:data:`DELIVERED`        out for delivery, then delivered (France, no offsets)
:data:`ATTEMPTED`        out for delivery, then not delivered: consignee not at home (Austria)
:data:`LOCKER`           delivered into a parcel locker, a code the table does not list (Poland)
:data:`RETURNED`         not delivered, then on its way back to the sender (Italy)
:data:`DST`              German scans without offsets either side of the 29 March 2026 change
:data:`UNMAPPED`         a code the table does not know, newest read by the parcel status
:data:`TWO_PARCELS`      answered as two parcels; the one whose unitno is the id asked is read
:data:`LEFT_OUT`         left out of the answer altogether
:data:`REFUSED`          a request with it is refused: 400 problem body
:data:`PARCEL_FAILED`    a per-id ``E_500_01``
:data:`RATE_LIMITED`     429 QuotaViolation, ``Retry-After: 7``
:data:`SERVER_ERROR`     500
:data:`NOT_JSON`         200 with HTML
:data:`SLOW`             answers after ``fake.state["delay"]`` seconds
=======================  =====================================================================

State: ``fake.state["outage"] = True`` answers 503 and ``fake.state["rate_limited"] = True`` 429
(both with ``Retry-After: 1``, on every route); ``fake.state["revoked"] = True`` refuses the
credentials (401 on the token route and on tracking, also for tokens issued before);
``fake.state["expire_tokens"] = True`` answers 401 ``TokenExpired`` to every token issued so far;
``fake.state["max_ids"] = n`` lowers the 10-id limit; ``fake.state["as"] = {number: magic}``
answers ``number`` with a magic number's data (to move a package on); ``fake.state["delay"]``.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from aiohttp import web

CLIENT_ID = "gls-client-0001"
CLIENT_SECRET = "gls-secret-0001"

DELIVERED_PS = "42249028960"
PREADVICE = "36301917596"
IN_TRANSIT = "91000000001"
DELIVERED = "91000000002"
ATTEMPTED = "91000000003"
LOCKER = "91000000004"
RETURNED = "91000000005"
DST = "91000000006"
UNMAPPED = "91000000007"
TWO_PARCELS = "91000000010"
LEFT_OUT = "91000000404"
REFUSED = "91000000400"
PARCEL_FAILED = "91000000501"
RATE_LIMITED = "91000000429"
SERVER_ERROR = "91000000500"
NOT_JSON = "91000000999"
SLOW = "91000000777"

MAX_IDS = 10
TOKEN_PATH = "/oauth2/v2/token"
TRACK_PREFIX = "/track-and-trace-v1/tracking/simple/trackids/"
_SOON = {"Retry-After": "1"}
#: Tokens the fake issued (still accepted unless expired or the credentials revoked).
TOKENS = web.AppKey("tokens", set[str])
_HANDED_OVER = "The parcel was handed over to GLS."
_PREADVICE_TEXT = (
    "The parcel data was entered into the GLS IT system; the parcel was not yet handed over to GLS."
)


def _ev(code: str, description: str, when: str, country: str, city: str = "") -> dict[str, Any]:
    return {
        "code": code,
        "city": city,
        "postalCode": "",
        "country": country,
        "description": description,
        "eventDateTime": when,
    }


#: (parcel status, events newest first) per magic number; the spec's samples as documented.
PARCELS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    DELIVERED_PS: (
        "DELIVEREDPS",
        [
            _ev(
                "DELIVD.PARCELSHOP",
                "The parcel has been delivered at the ParcelShop (see ParcelShop information).",
                "2025-02-10T15:13:46+0100",
                "",
            ),
            _ev("INTIAL.NORMAL", _HANDED_OVER, "2025-02-10T15:11:12+0100", "DE"),
            _ev(
                "INTIAL.E48_DATA",
                "The parcel was provided by the sender for collection by GLS.",
                "2025-02-10T15:08:44+0100",
                "DE",
            ),
            _ev("INTIAL.PREADVICE", _PREADVICE_TEXT, "2025-02-10T15:08:43+0100", "DE"),
        ],
    ),
    PREADVICE: (
        "PREADVICE",
        [
            _ev(
                "INTIAL.E48_DATA",
                "The parcel was provided by the sender for collection by GLS.",
                "2024-10-11T15:24:52+0200",
                "DE",
            ),
            _ev("INTIAL.PREADVICE", _PREADVICE_TEXT, "2024-10-11T15:24:51+0200", "DE"),
        ],
    ),
    IN_TRANSIT: (
        "INTRANSIT",
        [
            _ev(
                "INBOUD.NORMAL",
                "The parcel has reached the parcel center.",
                "2026-07-14T05:10:00",
                "DE",
                "Neuenstein",
            ),
            _ev("INTIAL.NORMAL", _HANDED_OVER, "2026-07-13T17:45:00", "DE", "Berlin"),
        ],
    ),
    DELIVERED: (
        "DELIVERED",
        [
            _ev("DELIVD.NORMAL", "The parcel has been delivered.", "2026-07-16T11:02:00", "FR"),
            _ev(
                "OUTDEL.NORMAL",
                "The parcel is expected to be delivered during the day.",
                "2026-07-16T07:30:00",
                "FR",
                "Paris",
            ),
            _ev("INTIAL.NORMAL", _HANDED_OVER, "2026-07-14T18:00:00", "FR", "Lyon"),
        ],
    ),
    ATTEMPTED: (
        "NOTDELIVERED",
        [
            _ev(
                "NOTDEL.NOTATHOME",
                "The parcel could not be delivered as the consignee was not at home.",
                "2026-07-16T12:15:00",
                "AT",
                "Wien",
            ),
            _ev(
                "OUTDEL.NORMAL",
                "The parcel is expected to be delivered during the day.",
                "2026-07-16T07:00:00",
                "AT",
                "Wien",
            ),
        ],
    ),
    LOCKER: (
        "DELIVEREDPS",
        [
            _ev(
                "DELIVD.PARCELLOCK",
                "The parcel has been delivered to the GLS ParcelLocker.",
                "2026-07-17T09:40:00+0200",
                "PL",
                "Warszawa",
            ),
            _ev("INTIAL.NORMAL", _HANDED_OVER, "2026-07-15T16:00:00+0200", "PL"),
        ],
    ),
    RETURNED: (
        "INTRANSIT",
        [
            _ev(
                "RETURN.NORMAL",
                "The parcel is being returned to the sender.",
                "2026-07-20T10:00:00",
                "IT",
                "Milano",
            ),
            _ev("INTIAL.NORMAL", _HANDED_OVER, "2026-07-10T09:00:00", "IT", "Milano"),
        ],
    ),
    DST: (
        "INTRANSIT",
        [
            _ev(
                "OUTBOD.NORMAL",
                "The parcel has left the parcel center.",
                "2026-03-29T03:30:00",
                "DE",
            ),
            _ev(
                "INBOUD.NORMAL",
                "The parcel has reached the parcel center.",
                "2026-03-29T01:30:00",
                "DE",
            ),
        ],
    ),
    UNMAPPED: (
        "INDELIVERY",
        [
            _ev(
                "XXXXXX.NEWKIND",
                "Something GLS has just started saying.",
                "2026-07-21T08:00:00+0200",
                "DE",
            ),
            _ev("YYYYYY.OTHER", "Another unknown event.", "2026-07-20T08:00:00+0200", "DE"),
        ],
    ),
}
#: What the second parcel of :data:`TWO_PARCELS` answers (its unitno is another number).
_OTHER_PARCEL: tuple[str, list[dict[str, Any]]] = (
    "DELIVERED",
    [_ev("DELIVD.NORMAL", "The parcel has been delivered.", "2026-07-22T10:00:00+0200", "DE")],
)


def _entry(number: str, source: str) -> list[dict[str, Any]]:
    if source == TWO_PARCELS:
        ours = _parcel(number, number, *PARCELS[IN_TRANSIT])
        other = _parcel(number, "91000000099", *_OTHER_PARCEL)
        return [other, ours]  # the newer one first: the adapter must not just take the newest
    if source == LEFT_OUT:
        return []
    if source == PARCEL_FAILED:
        return [
            {"requested": number, "errorCode": "E_500_01", "errorMessage": "Internal Server Error"}
        ]
    if source in PARCELS:
        return [_parcel(number, number, *PARCELS[source])]
    return [{"requested": number, "errorCode": "E_404_01", "errorMessage": "Resource Not Found"}]


def _parcel(
    requested: str, unitno: str, status: str, events: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "requested": requested,
        "unitno": unitno,
        "status": status,
        "statusDateTime": events[0]["eventDateTime"],
        "events": events,
    }


def _fault(status: int, text: str, code: str, **headers: str) -> web.Response:
    body = {"fault": {"faultstring": text, "detail": {"errorcode": code}}}
    return web.json_response(body, status=status, headers=headers)


def _problem(status: int, title: str, detail: str, instance: str) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return web.json_response({**body, "instance": instance}, status=status)


def _switched(state: dict[str, Any]) -> web.Response | None:
    """What the outage and rate-limit switches answer on every route."""
    if state.get("outage"):
        return web.json_response({"errors": [{"type": "503"}]}, status=503, headers=_SOON)
    if state.get("rate_limited"):
        return _fault(
            429, "Rate limit quota violation", "policies.ratelimit.QuotaViolation", **_SOON
        )
    return None


def _client(request: web.Request, form: Any) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return user, password
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


async def _token(request: web.Request) -> web.Response:
    fake = request.app["fake"]
    state: dict[str, Any] = fake.state
    switched = _switched(state)
    if switched is not None:
        return switched
    form = await request.post()
    if state.get("revoked"):
        return _fault(401, "Invalid client credentials", "oauth.v2.InvalidClientIdentifier")
    if form.get("grant_type") != "client_credentials":
        errors = [{"message": "Unsupported grant type", "type": "400"}]
        return web.json_response({"errors": errors}, status=400)
    if _client(request, form) != (CLIENT_ID, CLIENT_SECRET):
        errors = [{"message": "Invalid client identifier", "type": "400"}]
        return web.json_response({"errors": errors}, status=400)
    token = f"gls-token-{uuid.uuid4().hex}"
    request.app[TOKENS].add(token)
    return web.json_response({"token_type": "Bearer", "access_token": token, "expires_in": 14400})


async def _track(request: web.Request) -> web.Response:
    fake = request.app["fake"]
    state: dict[str, Any] = fake.state
    switched = _switched(state)
    if switched is not None:
        return switched
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if state.get("revoked") or bearer not in request.app[TOKENS]:
        return _fault(401, "Invalid access token", "keymanagement.service.invalid_access_token")
    if state.get("expire_tokens"):
        request.app[TOKENS].clear()
        state["expire_tokens"] = False
        return _fault(401, "The Token has expired: policy(Verify-JWT)", "steps.jwt.TokenExpired")
    ids = [i for i in request.match_info["ids"].split(",") if i]
    if len(ids) > state.get("max_ids", MAX_IDS):
        detail = f"Provided references of size '{len(ids)}' is more than allowed limit of 10"
        return _problem(400, "Bad Request", detail, request.path)
    aliases: dict[str, str] = state.get("as", {})
    sources = [aliases.get(i, i) for i in ids]
    if REFUSED in sources:
        return _problem(400, "Bad Request", "Failed to read the parcel ids", request.path)
    if RATE_LIMITED in sources:
        return _fault(
            429,
            "Rate limit quota violation. Quota limit  exceeded.",
            "policies.ratelimit.QuotaViolation",
            **{"Retry-After": "7"},
        )
    if SERVER_ERROR in sources:
        return _problem(500, "Internal Server Error", "Failed", request.path)
    if NOT_JSON in sources:
        return web.Response(text="<html>Gateway</html>", content_type="text/html")
    if SLOW in sources:
        await asyncio.sleep(float(state.get("delay", 0)))
    entries = [e for i, s in zip(ids, sources, strict=True) for e in _entry(i, s)]
    return web.json_response({"parcels": entries})


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application[TOKENS] = set()
    application.router.add_post(TOKEN_PATH, _token)
    application.router.add_get(TRACK_PREFIX + "{ids}", _track)
    return application
