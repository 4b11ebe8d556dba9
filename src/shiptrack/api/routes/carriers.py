"""``/v1/carriers`` and ``/v1/connections/carriers``: the account's carrier accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from shiptrack.api.deps import AccountDep, ConnectionsDep, strict_query
from shiptrack.api.errors import request_id_of
from shiptrack.api.models import (
    CarrierModel,
    CarriersResponse,
    ConnectCarrierBody,
    ConnectCarrierResponse,
)
from shiptrack.api.responses import JSON
from shiptrack.api.routes import EMPTY_204, ERRORS
from shiptrack.domain.accounts import Connection
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.ids import format_id
from shiptrack.services.connections import ConnectRequest

router = APIRouter(tags=["carriers"], responses=ERRORS, dependencies=[Depends(strict_query())])


def carrier_json(connection: Connection) -> dict[str, Any]:
    """The ShipEngine ``carrier`` object of a connection (label-only features all false)."""
    return {
        "carrier_id": format_id(connection.id),
        "carrier_code": connection.carrier_code,
        "account_number": connection.account_number,
        "requires_funded_amount": False,
        "balance": 0.0,
        "nickname": connection.nickname,
        "friendly_name": CARRIERS[connection.carrier_code].friendly_name,
        "funding_source_id": None,
        "primary": connection.primary,
        "has_multi_package_supporting_services": False,
        "allows_returns": False,
        "supports_label_messages": False,
        "disabled_by_billing_plan": False,
        "services": [],
        "packages": [],
        "options": [],
        "send_rates": False,
        "supports_user_managed_rates": False,
        "connection_status": "approved",
    }


@router.get(
    "/v1/carriers",
    operation_id="list_carriers",
    summary="List Carriers",
    response_class=JSON,
    responses={200: {"model": CarriersResponse}},
)
async def list_carriers(request: Request, connections: ConnectionsDep, account: AccountDep) -> JSON:
    """The carrier accounts connected to this account."""
    found = await connections.list_carriers(account)
    return JSON(
        {
            "carriers": [carrier_json(c) for c in found],
            "request_id": request_id_of(request),
            "errors": [],
        }
    )


@router.get(
    "/v1/carriers/{carrier_id}",
    operation_id="get_carrier_by_id",
    summary="Get Carrier By ID",
    response_class=JSON,
    responses={200: {"model": CarrierModel}},
)
async def get_carrier(connections: ConnectionsDep, account: AccountDep, carrier_id: str) -> JSON:
    """One connected carrier account."""
    return JSON(carrier_json(await connections.get_carrier(account, carrier_id)))


@router.delete(
    "/v1/carriers/{carrier_id}",
    operation_id="disconnect_carrier_by_id",
    summary="Disconnect Carrier by ID",
    status_code=204,
    response_class=Response,
    responses=EMPTY_204,
)
async def disconnect_by_id(
    connections: ConnectionsDep, account: AccountDep, carrier_id: str
) -> Response:
    """Disconnect a carrier account; its packages move or stop as with the connections route."""
    await connections.disconnect(account, carrier_id)
    return Response(status_code=204)


@router.post(
    "/v1/connections/carriers/{carrier_name}",
    operation_id="connect_carrier",
    summary="Connect a carrier account",
    response_class=JSON,
    responses={200: {"model": ConnectCarrierResponse}},
)
async def connect_carrier(
    connections: ConnectionsDep,
    account: AccountDep,
    carrier_name: str,
    body: ConnectCarrierBody | None = None,
) -> JSON:
    """Connect a carrier account with its API credentials (`client_id` and `client_secret` for
    UPS, FedEx, USPS and Stamps.com; `api_key` for DHL Express; the API user as `client_id` and its
    password as `client_secret` for Canada Post). Sandbox accounts connect simulated carriers and
    need no credentials. Credentials are encrypted at rest and never returned."""
    request = ConnectRequest(**(body.model_dump() if body else {}))
    connection_id = await connections.connect(account, carrier_name, request)
    return JSON({"carrier_id": format_id(connection_id)})


@router.delete(
    "/v1/connections/carriers/{carrier_name}/{carrier_id}",
    operation_id="disconnect_carrier",
    summary="Disconnect a carrier account",
    status_code=204,
    response_class=Response,
    responses=EMPTY_204,
)
async def disconnect_carrier(
    connections: ConnectionsDep, account: AccountDep, carrier_name: str, carrier_id: str
) -> Response:
    """Disconnect a carrier account. Packages it tracked move to another connection of the same
    carrier if the account has one, and stop tracking otherwise."""
    await connections.disconnect(account, carrier_id, carrier_name=carrier_name)
    return Response(status_code=204)
