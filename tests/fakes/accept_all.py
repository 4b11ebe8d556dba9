"""A carrier host that accepts any credentials and knows no package: enough to connect USPS, UPS,
FedEx, DHL, Canada Post, Australia Post, GLS, PostNL and La Poste connections in tests that are not
about the carriers themselves."""

from __future__ import annotations

from aiohttp import web


async def _token(request: web.Request) -> web.Response:
    return web.json_response(
        {"access_token": "fake-token", "token_type": "Bearer", "expires_in": "3599"}
    )


async def _dhl(request: web.Request) -> web.Response:
    return web.json_response(
        {"status": 404, "title": "No result found", "detail": "No shipment found"}, status=404
    )


async def _canada_post(request: web.Request) -> web.Response:
    return web.Response(
        body=(
            b'<messages xmlns="http://www.canadapost.ca/ws/track"><message><code>004</code>'
            b"<description>No Pin History</description></message></messages>"
        ),
        status=404,
        content_type="application/vnd.cpc.track-v2+xml",
    )


async def _australia_post(request: web.Request) -> web.Response:
    ids = [i for i in request.query.get("tracking_ids", "").split(",") if i]
    errors = [{"code": "ESB-10001", "name": "Invalid tracking ID"}]
    return web.json_response(
        {"tracking_results": [{"tracking_id": i, "errors": errors} for i in ids]}
    )


async def _gls(request: web.Request) -> web.Response:
    ids = [i for i in request.match_info["ids"].split(",") if i]
    parcels = [
        {"requested": i, "errorCode": "E_404_01", "errorMessage": "Resource Not Found"} for i in ids
    ]
    return web.json_response({"parcels": parcels})


async def _postnl(request: web.Request) -> web.Response:
    warning = [{"Message": "No shipment found", "Code": "2"}]
    return web.json_response({"CompleteStatus": {}, "Warnings": warning})


async def _la_poste(request: web.Request) -> web.Response:
    ids = [i for i in request.match_info["ids"].split(",") if i]
    entries = [{"returnCode": 104, "returnMessage": "Not yet available", "idShip": i} for i in ids]
    if len(entries) == 1:
        return web.json_response(entries[0], status=404)
    return web.json_response(entries, status=207)


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_post("/oauth2/v3/token", _token)  # USPS
    application.router.add_post("/security/v1/oauth/token", _token)  # UPS
    application.router.add_post("/oauth/token", _token)  # FedEx
    application.router.add_get("/track/shipments", _dhl)  # DHL
    application.router.add_get("/vis/track/pin/{pin}/detail", _canada_post)  # Canada Post
    application.router.add_get("/shipping/v1/track", _australia_post)  # Australia Post
    application.router.add_post("/oauth2/v2/token", _token)  # GLS
    application.router.add_get("/track-and-trace-v1/tracking/simple/trackids/{ids}", _gls)  # GLS
    application.router.add_get("/shipment/v2/status/barcode/{barcode}", _postnl)  # PostNL
    application.router.add_get("/idships/{ids}", _la_poste)  # La Poste
    return application
