"""``GET /metrics``: the process's metrics in Prometheus's text format (no API key).

Not part of the ShipEngine API, and left out of the OpenAPI document: it is for Prometheus, not
for API clients (README, "Operations > Metrics"). Outside ``/v1``, so the edge asks no API key and
no account's rate limit counts it. Only mounted when ``SHIPTRACK_METRICS`` is on.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from shiptrack.api.deps import ExpositionDep
from shiptrack.metrics.exposition import unauthorized

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request, exposition: ExpositionDep) -> Response:
    """The metrics; ``401`` without ``Authorization: Bearer <SHIPTRACK_METRICS_TOKEN>`` when a
    token is set."""
    if not exposition.authorized(request.headers.get("authorization")):
        raise unauthorized()
    body, content_type = exposition.render(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})
