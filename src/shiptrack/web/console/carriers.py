"""The carriers page: the account's connections with their health (last success, last error,
back-off, what is left of the request budget), and connecting or disconnecting one with the same
validation and credential check as ``/v1/connections/carriers``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from shiptrack.api.models import ConnectCarrierBody
from shiptrack.domain.carriers import CARRIERS, carrier_kind
from shiptrack.domain.errors import ShiptrackError
from shiptrack.domain.ids import format_id
from shiptrack.services.connections import PUSH_CARRIERS, ConnectRequest
from shiptrack.web.console.auth import see_other
from shiptrack.web.console.deps import CheckedFormDep, PartsDep, SessionDep
from shiptrack.web.console.flash import flash_of, with_flash
from shiptrack.web.console.forms_api import (
    FormField,
    budget_text,
    connect_body,
    connect_fields,
    model_error_message,
    when,
)
from shiptrack.web.console.session import ConsoleSession
from shiptrack.web.templating import render

router = APIRouter(prefix="/console/carriers", include_in_schema=False)


def fields_of(carrier_code: str) -> list[FormField]:
    """The connect form of one carrier."""
    kind = CARRIERS[carrier_code]
    return connect_fields(
        kind.code,
        kind.credential_fields,
        push=kind.code in PUSH_CARRIERS,
        usps=kind.tracking_code == "usps",
    )


@router.get("")
async def carriers_page(request: Request, session: SessionDep, parts: PartsDep) -> Response:
    """The account's connections and a connect form per carrier."""
    return await _page(request, session, parts)


async def _page(
    request: Request,
    session: ConsoleSession,
    parts: PartsDep,
    *,
    failed: str | None = None,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    kept = {
        field.name: value
        for field in (fields_of(failed) if failed else [])
        if field.kind != "password" and (value := (form or {}).get(field.name))
    }
    context: dict[str, Any] = {
        "session": session,
        "section": "carriers",
        "flash": flash_of(request),
        "when": when,
        "budget_text": budget_text,
        "format_id": format_id,
        "connections": await parts.connections.health(session.account),
        "kinds": [(kind, fields_of(kind.code)) for kind in CARRIERS.values()],
        "failed": failed,
        "form": kept,
        "error": error,
    }
    return render(request, "console/carriers.html", context, status_code=status_code)


@router.post("/{carrier_name}")
async def connect(
    request: Request,
    session: SessionDep,
    parts: PartsDep,
    form: CheckedFormDep,
    carrier_name: str,
) -> Response:
    """Connect a carrier account, as ``POST /v1/connections/carriers/{carrier_name}`` does (a
    production account's credentials are checked with the carrier first)."""
    kind = carrier_kind(carrier_name, field_name="carrier_name")
    try:
        body = ConnectCarrierBody.model_validate(connect_body(form, fields_of(kind.code)))
        await parts.connections.connect(
            session.account, kind.code, ConnectRequest(**body.model_dump())
        )
    except ValidationError as error:
        message = model_error_message(error)
        return await _page(
            request, session, parts, failed=kind.code, form=form, error=message, status_code=400
        )
    except ShiptrackError as error:
        if error.status_code >= 500 and error.status_code != 503:
            raise
        return await _page(
            request,
            session,
            parts,
            failed=kind.code,
            form=form,
            error=error.message,
            status_code=error.status_code,
        )
    return see_other(with_flash("/console/carriers", "carrier-connected"))


@router.post("/{carrier_id}/disconnect")
async def disconnect(
    session: SessionDep, parts: PartsDep, _form: CheckedFormDep, carrier_id: str
) -> Response:
    """Disconnect a carrier account; its packages move to another connection of the carrier or
    stop."""
    await parts.connections.disconnect(session.account, carrier_id)
    return see_other(with_flash("/console/carriers", "carrier-disconnected"))
