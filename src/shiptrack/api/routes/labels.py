"""``/v1/labels/{label_id}/track``: ShipEngine's tracking by label, which shiptrack cannot offer."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shiptrack.api.deps import AccountDep, strict_query
from shiptrack.api.responses import JSON
from shiptrack.api.routes import ERRORS
from shiptrack.domain.errors import NotFound
from shiptrack.domain.ids import parse_id

router = APIRouter(prefix="/v1/labels", tags=["tracking"], responses=ERRORS)


@router.get(
    "/{label_id}/track",
    operation_id="get_tracking_log_from_label",
    summary="Get Label Tracking Information (always 404: shiptrack creates no labels)",
    response_class=JSON,
    dependencies=[Depends(strict_query())],
)
async def track_label(account: AccountDep, label_id: str) -> JSON:
    """shiptrack tracks packages by carrier and tracking number; it never creates labels, so no
    label id exists. Answered with a clear 404 instead of an unknown-route error."""
    parse_id(label_id, field_name="label_id")
    raise NotFound(
        f"Label {label_id} was not found: shiptrack creates no labels. Track the package with "
        "GET /v1/tracking?carrier_code=…&tracking_number=…",
        field_name="label_id",
    )
