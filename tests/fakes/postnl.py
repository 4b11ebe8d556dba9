"""A fake PostNL ShippingStatus API v2 (``GET /shipment/v2/status/barcode/{barcode}``), answering
as PostNL's OpenAPI examples and the captured answers in ``shared/spec/carriers/postnl`` do: JSON
converted from XML (one object where a list has one item, ``{}`` for an empty field), day-first
times without offset, ``200`` with ``Warnings`` code ``2`` "No shipment found" for a barcode it
does not know, ``400`` with a ``fault`` body, ``401`` for a wrong ``apikey``, ``429`` "Too many
requests. Rate limit exceeded!", ``500``.

Serve it with ``tests.fakes.server.serve(postnl.app())``; the connection's ``base_url`` is the
server's URL. The ``apikey`` header must be :data:`API_KEY`; anything else is 401.

Magic barcodes (any other barcode is not found):

======================  =========================================================================
:data:`DELIVERED`       the captured "completestatus3" answer: delivered, newest event ``01B``
                        (undocumented) read through its status 11
:data:`OUT_FOR_DELIVERY` PostNL's own "complete status" example: J05 driver en route, ETA window
:data:`CURRENT_ONLY`    the captured "currentstatus" answer: a status (2, accepted), no events
:data:`MAIN_BARCODE`    PostNL's multi-parcel example asked by its main barcode (two parcels)
:data:`SECOND_PARCEL`   that example's second parcel
:data:`ATTEMPTED`       sorted, out for delivery, J08 "Delivery unsuccessful, we'll try again"
:data:`LOCKER`          A27, then J23 "can be collected at the parcel locker"
:data:`OUTLET`          K70 failed attempt to a PostNL outlet, I08 waiting there, I02 collected
:data:`RETURNED`        H20 "Shipment returned to sender"
:data:`DST`             events either side of the 25 October 2026 change, one in the repeated hour
:data:`UNMAPPED`        an undocumented code with no status recorded at its time, then a J01
:data:`REFUSED`         400 ``fault`` (Validation Fault)
:data:`RATE_LIMITED`    429 with ``Retry-After: 7``
:data:`SERVER_ERROR`    500 with PostNL's ``fault`` body
:data:`NOT_JSON`        200 with HTML
:data:`SLOW`            :data:`DELIVERED`'s answer after ``fake.state["delay"]`` seconds
======================  =========================================================================

State: ``fake.state["outage"] = True`` answers 503 and ``fake.state["rate_limited"] = True`` 429
(both with ``Retry-After: 1``); :func:`revoke` makes every key refused (401); ``fake.state["as"] =
{barcode: magic}`` answers ``barcode`` with a magic barcode's data (to move a package on).
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

SPEC = Path("/work/shared/spec/carriers/postnl")
API_KEY = "postnl-key-0001"

DELIVERED = "3SABCD987516327"
OUT_FOR_DELIVERY = "3SDEVC288882229"
CURRENT_ONLY = "3SDEVC302392342"
MAIN_BARCODE = "3SDEVC7755088"
SECOND_PARCEL = "3SDEVC5672025"
ATTEMPTED = "3SFAKE000000002"
LOCKER = "3SFAKE000000003"
OUTLET = "3SFAKE000000004"
RETURNED = "3SFAKE000000005"
DST = "3SFAKE000000006"
UNMAPPED = "3SFAKE000000007"
REFUSED = "3SFAKE000000400"
RATE_LIMITED = "3SFAKE000000429"
SERVER_ERROR = "3SFAKE000000500"
NOT_JSON = "3SFAKE000000999"
SLOW = "3SFAKE000000998"

_SOON = {"Retry-After": "1"}
_NO_SHIPMENT = {"CompleteStatus": {}, "Warnings": [{"Message": "No shipment found", "Code": "2"}]}


def sample(name: str) -> Any:
    """The JSON body of a captured answer in ``samples/`` (``completestatus3``)."""
    text = (SPEC / "samples" / f"firstred-{name}.http").read_text()
    return json.loads(re.split(r"\r?\n\r?\n", text, maxsplit=1)[1])


def example(name: str) -> Any:
    """A response example of PostNL's OpenAPI file (``…SingleShipmentComplete``)."""
    spec = json.loads((SPEC / "ShippingStatus-openapi.json").read_text())
    return copy.deepcopy(spec["components"]["examples"][f"shippingstatusExample{name}"]["value"])


def _ev(code: str, description: str, when: str) -> dict[str, Any]:
    return {
        "Code": code,
        "Description": description,
        "DestinationLocationCode": {},
        "LocationCode": "171966",
        "RouteCode": {},
        "RouteName": {},
        "TimeStamp": when,
    }


def _st(code: str, description: str, phase: str, when: str) -> dict[str, Any]:
    return {
        "TimeStamp": when,
        "StatusCode": code,
        "StatusDescription": description,
        "PhaseCode": phase,
        "PhaseDescription": {"1": "Collection", "2": "Sorting", "3": "Distribution"}.get(
            phase, "Delivered"
        ),
    }


_RECEIVED = _ev("B01", "Shipment received by PostNL", "13-07-2026 22:10:00")
_SORTED = _ev("J01", "Shipment has been sorted", "14-07-2026 05:30:00")
_EN_ROUTE = _ev("J05", "Driver is en route", "14-07-2026 09:00:00")

#: (current status, events newest first) per made-up magic barcode.
SHIPMENTS: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    ATTEMPTED: (
        _st("8", "Shipment not delivered", "3", "14-07-2026 14:20:00"),
        [
            _ev("J08", "Delivery unsuccessful, we'll try again", "14-07-2026 14:20:00"),
            _EN_ROUTE,
            _SORTED,
            _RECEIVED,
        ],
    ),
    LOCKER: (
        _st("12", "Shipment at pick-up location", "4", "14-07-2026 11:00:00"),
        [
            _ev("J23", "Shipment can be collected at the parcel locker", "14-07-2026 11:00:00"),
            _ev("A27", "Shipment will be delivered to the parcel locker", "14-07-2026 05:31:00"),
            _SORTED,
            _RECEIVED,
        ],
    ),
    OUTLET: (
        _st("22", "Shipment picked up from post office", "4", "16-07-2026 17:45:00"),
        [
            _ev("I02", "Shipment collected at PostNL outlet", "16-07-2026 17:45:00"),
            _ev("I08", "Shipment available at PostNL outlet", "15-07-2026 10:00:00"),
            _ev(
                "K70",
                "Delivery unsuccessful, shipment will go to PostNL outlet",
                "14-07-2026 13:00:00",
            ),
            _EN_ROUTE,
            _RECEIVED,
        ],
    ),
    RETURNED: (
        _st("8", "Shipment not delivered", "3", "20-07-2026 15:00:00"),
        [
            _ev("H20", "Shipment returned to sender", "20-07-2026 15:00:00"),
            _SORTED,
            _RECEIVED,
        ],
    ),
    DST: (
        _st("5", "Shipment sorted", "2", "25-10-2026 03:30:00"),
        [
            _ev("J01", "Shipment has been sorted", "25-10-2026 03:30:00"),
            _ev("J06", "Shipment sorted in sorting centre", "25-10-2026 02:30:00"),
            _ev("B01", "Shipment received by PostNL", "24-10-2026 22:00:00"),
        ],
    ),
    UNMAPPED: (
        _st("5", "Shipment sorted", "2", "14-07-2026 05:30:00"),
        [_SORTED, _ev("ZZ9", "Something PostNL has not documented", "13-07-2026 23:00:00")],
    ),
}


def _made_up(barcode: str, source: str) -> dict[str, Any]:
    status, events = SHIPMENTS[source]
    return {
        "CompleteStatus": {
            "Shipment": {
                "MainBarcode": barcode,
                "Barcode": barcode,
                "ShipmentAmount": "1",
                "ShipmentCounter": "1",
                "ProductCode": "003085",
                "Event": events,
                "Status": status,
                "OldStatus": [status],
            }
        }
    }


def _rename(body: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """``body`` with barcode ``old`` written as ``new`` (a barcode answered as a magic one)."""
    return json.loads(json.dumps(body).replace(old, new))  # type: ignore[no-any-return]


def _answer(barcode: str, source: str) -> dict[str, Any]:
    if source == DELIVERED:
        return _rename(sample("completestatus3"), DELIVERED, barcode)
    if source == OUT_FOR_DELIVERY:
        return _rename(example("ResponseSingleShipmentComplete"), OUT_FOR_DELIVERY, barcode)
    if source == CURRENT_ONLY:
        return _rename(sample("currentstatus"), CURRENT_ONLY, barcode)
    if source in (MAIN_BARCODE, SECOND_PARCEL):
        multicollo: dict[str, Any] = example("ResponseMulticollo")
        return multicollo
    if source in SHIPMENTS:
        return _made_up(barcode, source)
    return _NO_SHIPMENT


def revoke(fake: FakeServer) -> None:
    """Refuse every API key (401) until ``fake.state`` is cleared."""
    fake.state["revoked"] = True


def _fault(text: str, code: str, status: int) -> web.Response:
    body = {"fault": {"faultstring": text, "detail": {"errorcode": code}}}
    return web.json_response(body, status=status)


async def _status(request: web.Request) -> web.Response:
    state: dict[str, Any] = request.app["fake"].state
    if state.get("outage"):
        body = {"message": "Service unavailable", "http_status_code": 503}
        return web.json_response(body, status=503, headers=_SOON)
    too_many = {"message": "Too many requests. Rate limit exceeded!", "http_status_code": 429}
    if state.get("rate_limited"):
        return web.json_response(too_many, status=429, headers=_SOON)
    if state.get("revoked") or request.headers.get("apikey") != API_KEY:
        message = "Invalid apikey"
        return web.json_response({"message": message, "http_status_code": 401}, status=401)
    barcode = request.match_info["barcode"]
    source = state.get("as", {}).get(barcode, barcode)
    if source == RATE_LIMITED:
        return web.json_response(too_many, status=429, headers={"Retry-After": "7"})
    if source == SERVER_ERROR:
        return _fault("Internal server error", "Internal Error", 500)
    if source == REFUSED:
        return _fault("Invalid barcode", "Validation Fault", 400)
    if source == NOT_JSON:
        return web.Response(text="<html>Gateway</html>", content_type="text/html")
    if source == SLOW:
        await asyncio.sleep(float(state.get("delay", 0)))
        source = DELIVERED
    return web.json_response(_answer(barcode, source))


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/shipment/v2/status/barcode/{barcode}", _status)
    return application
