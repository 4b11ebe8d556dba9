"""``/v1/carriers/push/{carrier_name}/{carrier_id}``: where carriers push tracking updates.

No API key: each carrier authenticates its pushes its own way (UPS: an OAuth token it fetched from
the ``/token`` endpoint below with the connection's credentials; FedEx: an HMAC signature).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from shiptrack.api.deps import PushesDep, strict_query
from shiptrack.api.responses import JSON
from shiptrack.api.routes import ERRORS
from shiptrack.engine import push

router = APIRouter(prefix="/v1/carriers/push", tags=["carrier push"], responses=ERRORS)
_NO_QUERY = [Depends(strict_query())]


@router.post(
    "/{carrier_name}/{carrier_id}",
    operation_id="receive_carrier_push",
    summary="Receive a carrier's tracking push (UPS Track Alert, FedEx webhook)",
    response_class=JSON,
    dependencies=_NO_QUERY,
)
async def receive_push(
    pushes: PushesDep, request: Request, carrier_name: str, carrier_id: str
) -> JSON:
    """Authenticated as the carrier specifies; recorded like a poll. `401` for a bad signature or
    token, `404` when the account tracks none of the numbers (nothing is stored then)."""
    body = await request.body()
    updated = await push.receive(pushes, carrier_name, carrier_id, request.headers, body)
    return JSON({"updated": updated})


@router.post(
    "/{carrier_name}/{carrier_id}/token",
    operation_id="issue_carrier_push_token",
    summary="OAuth token for a carrier's pushes (UPS Track Alert)",
    response_class=JSON,
    dependencies=_NO_QUERY,
)
async def issue_token(
    pushes: PushesDep, request: Request, carrier_name: str, carrier_id: str
) -> JSON:
    """UPS fetches a token here (client credentials, HTTP Basic) before it pushes."""
    body = await request.body()
    return JSON(await push.issue_token(pushes, carrier_name, carrier_id, request.headers, body))
