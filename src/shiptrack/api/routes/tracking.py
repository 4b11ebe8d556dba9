"""``/v1/tracking``: start, stop and read package tracking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response
from starlette.routing import Route

from shiptrack.api.deps import (
    AccountDep,
    ApiParts,
    TrackingDep,
    account_of,
    check_query,
    strict_query,
)
from shiptrack.api.models import TrackingInformationModel
from shiptrack.api.responses import JSON
from shiptrack.api.routes import EMPTY_204, ERRORS
from shiptrack.domain.errors import ErrorDetail, ValidationFailed
from shiptrack.services.tracking import PackageRef

router = APIRouter(
    prefix="/v1/tracking",
    tags=["tracking"],
    responses=ERRORS,
)
#: The tracking endpoints' query parameters, with their shortest and longest lengths (``None``: no
#: limit here; ``carrier_id`` has its own check).
PACKAGE_PARAMETERS: dict[str, tuple[int, int | None]] = {
    "carrier_code": (1, 40),
    "tracking_number": (1, 200),
    "carrier_id": (1, None),
}
_PACKAGE_QUERY = [Depends(strict_query(*PACKAGE_PARAMETERS))]

CarrierCode = Annotated[
    str | None,
    Query(
        min_length=PACKAGE_PARAMETERS["carrier_code"][0],
        max_length=PACKAGE_PARAMETERS["carrier_code"][1],
        description="A carrier code such as `ups`, `fedex`, `usps`, `stamps_com`, `dhl_express`",
        examples=["stamps_com"],
    ),
]
TrackingNumber = Annotated[
    str | None,
    Query(
        min_length=PACKAGE_PARAMETERS["tracking_number"][0],
        max_length=PACKAGE_PARAMETERS["tracking_number"][1],
        description="The tracking number of the package",
    ),
]
CarrierId = Annotated[
    str | None,
    Query(
        min_length=PACKAGE_PARAMETERS["carrier_id"][0],
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


def package_query(request: Request) -> PackageRef:
    """The package a tracking request names, checked as the declared parameters are (the same
    ``400`` answers, in the same order), without FastAPI's dependency solving."""
    items = request.query_params.multi_items()
    check_query(items, tuple(PACKAGE_PARAMETERS))
    values = dict(items)
    problems: list[ErrorDetail] = []
    for name, (shortest, longest) in PACKAGE_PARAMETERS.items():
        value = values.get(name)
        if value is None:
            continue
        if len(value) < shortest:
            problems.append(
                ErrorDetail(
                    "validation",
                    "field_value_required",
                    f"{name} must not be empty",
                    field_name=name,
                )
            )
        elif longest is not None and len(value) > longest:
            message = f"{name}: String should have at most {longest} characters"
            problems.append(
                ErrorDetail("validation", "invalid_string_length", message, field_name=name)
            )
    if problems:
        raise ValidationFailed(problems[0].message, details=problems)
    return _ref(values.get("carrier_code"), values.get("tracking_number"), values.get("carrier_id"))


async def _lean_get_tracking_log(request: Request) -> Response:
    parts: ApiParts = request.app.state.parts
    ref = package_query(request)
    answer = await parts.tracking.get(account_of(request), ref)
    return Response(answer, media_type="application/json")


async def _lean_start_tracking(request: Request) -> Response:
    parts: ApiParts = request.app.state.parts
    await parts.tracking.start(account_of(request), package_query(request))
    return Response(status_code=204)


def lean_routes() -> list[Route]:
    """``GET /v1/tracking`` and ``POST /v1/tracking/start`` as served, the two endpoints clients
    call most: ahead of the documented routes above, the same answers without FastAPI's
    parameter and dependency solving, which cost half the CPU of a kept answer (BENCHMARKS.md,
    0f). The documented routes stay for the OpenAPI document."""
    routes = [
        Route(router.prefix, _lean_get_tracking_log, methods=["GET"]),
        Route(f"{router.prefix}/start", _lean_start_tracking, methods=["POST"]),
    ]
    for route in routes:
        route.methods = set(route.methods or ()) - {"HEAD"}  # Starlette adds HEAD to GET
    return routes


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
