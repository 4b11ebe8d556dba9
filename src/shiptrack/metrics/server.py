"""The HTTP server of ``shiptrack worker --metrics-port``: ``GET /metrics`` and nothing else.

A worker serves no API, so it gets a server of its own, on aiohttp (already shiptrack's HTTP
client), with the same answers as the API's ``/metrics``: the same token rule and the same
ShipEngine-format errors.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from shiptrack.domain.errors import RouteNotFound, ShiptrackError, listed_details
from shiptrack.metrics.exposition import Exposition, unauthorized
from shiptrack.serialization import dump_json

_EXPOSITION = web.AppKey("exposition", Exposition)


async def start_metrics_server(exposition: Exposition, *, host: str, port: int) -> web.AppRunner:
    """Serve ``/metrics`` on ``host:port`` until the returned runner is cleaned up; ``OSError``
    when the port cannot be bound."""
    app = web.Application()
    app[_EXPOSITION] = exposition
    app.router.add_get("/metrics", _metrics)
    app.router.add_route("*", "/{path:.*}", _not_found)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def _metrics(request: web.Request) -> web.Response:
    exposition = request.app[_EXPOSITION]
    if not exposition.authorized(request.headers.get("Authorization")):
        return _error(unauthorized())
    body, content_type = exposition.render(request.headers.get("Accept"))
    response = web.Response(body=body)
    # Set as a header: aiohttp's content_type= would not take the version and charset parameters.
    response.headers["Content-Type"] = content_type
    return response


async def _not_found(request: web.Request) -> web.Response:
    return _error(
        RouteNotFound(
            f"There is no endpoint at {request.method} {request.path[:200]}; "
            "a worker serves GET /metrics only"
        )
    )


def _error(error: ShiptrackError) -> web.Response:
    """A ShipEngine-format error, with its request id in the body and the header."""
    request_id = str(uuid.uuid4())
    body = {
        "request_id": request_id,
        "errors": [detail.as_json() for detail in listed_details(error.details)],
    }
    return web.Response(
        body=dump_json(body),
        status=error.status_code,
        content_type="application/json",
        headers={**error.headers, "x-request-id": request_id},
    )
