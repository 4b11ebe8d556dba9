"""A fake Australia Post Shipping and Tracking API ("Track items",
``GET /shipping/v1/track?tracking_ids=a,b``), answering as the documentation samples in
``shared/spec/carriers/australiapost`` do: ``tracking_results[]`` with ``trackable_items`` (events
with ``location``, ``description``, ``date``) or ``errors`` (``ESB-10001`` "Invalid tracking ID");
a 400 ``51101 TOO_MANY_AP_TRACKING_IDS`` for more than 10 ids; 401 for refused credentials; 429
``API_002 Too many requests``; 500.

Serve it with ``tests.fakes.server.serve(australia_post.app())``; the connection's ``base_url`` is
the server's URL (or ``…/test``: the fake answers under both, as Australia Post's test host does).

Credentials: HTTP Basic :data:`API_KEY` / :data:`PASSWORD` with ``account-number``
:data:`ACCOUNT`; anything else 401.

Magic numbers (any other id is unknown: ESB-10001):

=====================  ==========================================================================
:data:`DELIVERED`      the documentation sample's item (7XX1000634011427), with offsets
:data:`ATTEMPTED`      out for delivery, then "Attempted delivery - Card left" (VIC, no offset)
:data:`LOCKER`         awaiting collection at a parcel locker (WA, no offset)
:data:`COLLECTED`      awaiting collection at a Post Office, then collected (QLD)
:data:`RETURNED`       "Returned to sender" (SA, no offset)
:data:`DST`            NSW scans without offsets either side of the 4 October 2026 change, NT
:data:`UNMAPPED`       wording the table does not know, then a newest scan read by the item status
:data:`RATE_LIMITED`   429 API_002
:data:`SERVER_ERROR`   500
:data:`NOT_JSON`       200 with HTML
=====================  ==========================================================================

State: ``fake.state["outage"] = True`` answers 503 and ``fake.state["rate_limited"] = True`` 429
API_002 (both with ``Retry-After: 1``), ``fake.state["revoked"] = True`` 401 to everyone;
``fake.state["max_ids"] = n`` lowers the 51101 limit; ``fake.state["as"] =
{number: magic}`` answers ``number`` with a magic number's data (to move a package on).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from aiohttp import web

SPEC = Path("/work/shared/spec/carriers/australiapost")
API_KEY = "ap-key-0001"
PASSWORD = "ap-password-0001"
ACCOUNT = "0007654321"

DELIVERED = "7XX1000634011427"
ATTEMPTED = "7XX1000000000002"
LOCKER = "7XX1000000000003"
COLLECTED = "7XX1000000000004"
RETURNED = "7XX1000000000005"
DST = "7XX1000000000006"
UNMAPPED = "7XX1000000000007"
RATE_LIMITED = "7XX1000000000429"
SERVER_ERROR = "7XX1000000000500"
NOT_JSON = "7XX1000000000999"

MAX_IDS = 10
_SOON = {"Retry-After": "1"}


def sample(name: str) -> Any:
    """A shared documentation sample, as JSON."""
    return json.loads((SPEC / name).read_text())


def _ev(description: str, date: str, location: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"description": description, "date": date}
    if location:
        event["location"] = location
    return event


def _delivered_item() -> dict[str, Any]:
    results = sample("track-items-response-doc-sample.json")["tracking_results"]
    return next(r for r in results if r["tracking_id"] == DELIVERED)


#: (item status, events newest first) per magic number (DELIVERED comes from the sample).
ITEMS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    ATTEMPTED: (
        "In transit",
        [
            _ev("Attempted delivery - Card left", "2026-07-14T11:20:00", "CARLTON VIC 3053"),
            _ev("Onboard for delivery", "2026-07-14T07:05:00", "CARLTON VIC 3053"),
            _ev("Received by Australia Post", "2026-07-13T16:00:00", "MELBOURNE VIC"),
        ],
    ),
    LOCKER: (
        "Awaiting collection",
        [
            _ev("Awaiting collection at Parcel Locker", "2026-07-15T09:30:00", "PERTH WA"),
            _ev("Item lodged at Post Office", "2026-07-13T10:00:00", "FREMANTLE WA"),
        ],
    ),
    COLLECTED: (
        "Delivered",
        [
            _ev("Collected", "2026-07-16T12:00:00", "BRISBANE QLD"),
            _ev("Awaiting collection at Post Office", "2026-07-15T08:00:00", "BRISBANE QLD"),
        ],
    ),
    RETURNED: (
        "In transit",
        [
            _ev("Returned to sender", "2026-07-20T15:00:00", "ADELAIDE SA 5000"),
            _ev("Received by Australia Post", "2026-07-10T09:00:00", "ADELAIDE SA"),
        ],
    ),
    DST: (
        "In transit",
        [
            _ev("In transit", "2026-10-04T03:30:00", "CHULLORA NSW"),
            _ev("Processed through Australia Post facility", "2026-10-04T01:30:00", "CHULLORA NSW"),
            _ev("Processed through facility", "2026-10-03T22:00:00", "DARWIN NT"),
        ],
    ),
    UNMAPPED: (
        "Possible delay",
        [
            _ev("Weather event affecting the area", "2026-07-21T10:00:00+10:00", "CAIRNS QLD"),
            _ev("Item scanned in an unusual way", "2026-07-20T10:00:00+10:00", "CAIRNS QLD"),
        ],
    ),
}


def _entry(number: str, source: str) -> dict[str, Any]:
    if source == DELIVERED:
        entry = dict(_delivered_item())
        entry["tracking_id"] = number
        return entry
    if source in ITEMS:
        status, events = ITEMS[source]
        return {
            "tracking_id": number,
            "status": status,
            "trackable_items": [
                {
                    "article_id": number,
                    "product_type": "eParcel",
                    "events": events,
                    "status": status,
                }
            ],
        }
    return {
        "tracking_id": number,
        "errors": [{"code": "ESB-10001", "name": "Invalid tracking ID"}],
    }


def _authorised(request: web.Request) -> bool:
    expected = base64.b64encode(f"{API_KEY}:{PASSWORD}".encode()).decode()
    return (
        request.headers.get("Authorization") == f"Basic {expected}"
        and request.headers.get("account-number") == ACCOUNT
    )


async def _track(request: web.Request) -> web.Response:
    state: dict[str, Any] = request.app["fake"].state
    if state.get("outage"):
        return web.json_response({"errors": [{"code": "503"}]}, status=503, headers=_SOON)
    if state.get("rate_limited"):
        body = {"errors": [{"code": "API_002", "name": "Too many requests"}]}
        return web.json_response(body, status=429, headers=_SOON)
    if state.get("revoked") or not _authorised(request):
        return web.json_response(
            {"errors": [{"code": "API_001", "name": "Unauthorized"}]}, status=401
        )
    ids = [i for i in request.query.get("tracking_ids", "").split(",") if i]
    if len(ids) > state.get("max_ids", MAX_IDS):
        return web.json_response(sample("track-items-too-many-ids-doc-sample.json"), status=400)
    aliases: dict[str, str] = state.get("as", {})
    sources = [aliases.get(i, i) for i in ids]
    if RATE_LIMITED in sources:
        body = {"errors": [{"code": "API_002", "name": "Too many requests"}]}
        return web.json_response(body, status=429, headers={"Retry-After": "7"})
    if SERVER_ERROR in sources:
        return web.json_response({"errors": [{"code": "500", "name": "Error"}]}, status=500)
    if NOT_JSON in sources:
        return web.Response(text="<html>Gateway</html>", content_type="text/html")
    return web.json_response(
        {"tracking_results": [_entry(i, s) for i, s in zip(ids, sources, strict=True)]}
    )


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/shipping/v1/track", _track)
    application.router.add_get("/test/shipping/v1/track", _track)
    return application
