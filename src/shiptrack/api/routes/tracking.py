"""``/v1/tracking``: start, stop and read package tracking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from shiptrack.api.deps import AccountDep, TrackingDep, strict_query
from shiptrack.api.models import TrackingInformationModel
from shiptrack.api.responses import JSON
from shiptrack.api.routes import EMPTY_204, ERRORS
from shiptrack.services.tracking import PackageRef

router = APIRouter(
    prefix="/v1/tracking",
    tags=["tracking"],
    responses=ERRORS,
)
_PACKAGE_QUERY = [Depends(strict_query("carrier_code", "tracking_number", "carrier_id"))]

CarrierCode = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        description="A carrier code such as `ups`, `fedex`, `usps`, `stamps_com`, `dhl_express`",
        examples=["stamps_com"],
    ),
]
TrackingNumber = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="The tracking number of the package"),
]
CarrierId = Annotated[
    str | None,
    Query(
        min_length=1,
        description="The connection to use instead of carrier_code (an se_id, at most 25 "
        "characters: longer ones are 400 invalid_identifier)",
        examples=["se-28529731"],
    ),
]


def _ref(
    carrier_code: str | None, tracking_number: str | None, carrier_id: str | None
) -> PackageRef:
    return PackageRef.parse(
        carrier_code=carrier_code, tracking_number=tracking_number, carrier_id=carrier_id
    )


@router.get(
    "",
    operation_id="get_tracking_log",
    dependencies=_PACKAGE_QUERY,
    summary="Get Tracking Information",
    response_class=JSON,
    responses={200: {"model": TrackingInformationModel}},
)
async def get_tracking_log(
    tracking: TrackingDep,
    account: AccountDep,
    carrier_code: CarrierCode = None,
    tracking_number: TrackingNumber = None,
    carrier_id: CarrierId = None,
) -> Response:
    """The package's tracking information, events most recent first."""
    ref = _ref(carrier_code, tracking_number, carrier_id)
    return Response(await tracking.get(account, ref), media_type="application/json")


@router.post(
    "/start",
    operation_id="start_tracking",
    dependencies=_PACKAGE_QUERY,
    summary="Start Tracking a Package",
    status_code=204,
    response_class=Response,
    responses=EMPTY_204,
)
async def start_tracking(
    tracking: TrackingDep,
    account: AccountDep,
    carrier_code: CarrierCode = None,
    tracking_number: TrackingNumber = None,
    carrier_id: CarrierId = None,
) -> Response:
    """Subscribe to the package's status changes, sent to the account's `track` webhooks.

    Idempotent: starting a package that is already tracked changes nothing.
    """
    await tracking.start(account, _ref(carrier_code, tracking_number, carrier_id))
    return Response(status_code=204)


@router.post(
    "/stop",
    operation_id="stop_tracking",
    dependencies=_PACKAGE_QUERY,
    summary="Stop Tracking a Package",
    status_code=204,
    response_class=Response,
    responses=EMPTY_204,
)
async def stop_tracking(
    tracking: TrackingDep,
    account: AccountDep,
    carrier_code: CarrierCode = None,
    tracking_number: TrackingNumber = None,
    carrier_id: CarrierId = None,
) -> Response:
    """Unsubscribe from the package. `404` if this account never tracked it; `204` if it did,
    even when tracking had already stopped (for example after delivery)."""
    await tracking.stop(account, _ref(carrier_code, tracking_number, carrier_id))
    return Response(status_code=204)
