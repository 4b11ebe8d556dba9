"""``GET /v1/tracking/detect``: which carriers a tracking number can belong to (extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shiptrack.api.deps import AccountDep, TrackingDep, strict_query
from shiptrack.api.responses import JSON
from shiptrack.api.routes import ERRORS
from shiptrack.domain.errors import FieldRequired

router = APIRouter(prefix="/v1/tracking/detect", tags=["tracking"], responses=ERRORS)


@router.get(
    "",
    operation_id="detect_carrier",
    summary="Detect a tracking number's carrier (shiptrack extension)",
    dependencies=[Depends(strict_query("tracking_number"))],
    response_class=JSON,
)
async def detect_carrier(
    tracking: TrackingDep,
    account: AccountDep,
    tracking_number: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The number; whitespace and dashes are ignored, letters may be lower case",
            examples=["1Z 999 AA1 01 2345 6784"],
        ),
    ] = None,
) -> JSON:
    """Every format the number matches, ranked: validated check digits first, then carriers
    this account has connected, then the rest. Each candidate says its carrier (`carrier_code`
    is null for a courier shiptrack cannot track), the format, whether its check digit
    validated, a confidence, this account's connection to the carrier (`carrier_id`) and the
    carrier's tracking page. No match is an empty list, not an error."""
    if tracking_number is None or not tracking_number.strip():
        raise FieldRequired("tracking_number is required", field_name="tracking_number")
    return JSON(await tracking.detect(account, tracking_number))
