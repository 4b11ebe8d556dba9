"""The exception handlers: every failure leaves as a ShipEngine error body, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from shiptrack.api.responses import error_response, new_request_id
from shiptrack.domain.errors import (
    ErrorDetail,
    InternalError,
    MethodNotAllowed,
    RouteNotFound,
    ShiptrackError,
    ValidationFailed,
)

log = logging.getLogger("shiptrack.api")


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(ShiptrackError, _shiptrack_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)


def request_id_of(request: Request) -> str:
    """The id the edge gave this request (a fresh one if the edge did not run)."""
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id or new_request_id()


def log_server_error(error: ShiptrackError, request_id: str) -> None:
    """Log an error answered with a 5xx (the database away, a carrier down) with its cause."""
    if error.status_code >= 500:
        log.error("request %s failed: %s", request_id, error, exc_info=error.__cause__)


async def _shiptrack_error(request: Request, error: ShiptrackError) -> Response:
    log_server_error(error, request_id_of(request))
    return error_response(error, request_id_of(request))


async def _http_error(request: Request, error: HTTPException) -> Response:
    mapped: ShiptrackError
    if error.status_code == 404:
        mapped = RouteNotFound(f"There is no endpoint at {request.method} {request.url.path}")
    elif error.status_code == 405:
        allowed = _allowed_methods(request) or (error.headers or {}).get("Allow", "")
        mapped = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}",
            headers={"Allow": allowed},
        )
    elif error.status_code == 400:
        # FastAPI's answer to a body it cannot decode at all (not UTF-8, for one): a client error
        # like malformed JSON, not a "system" one.
        mapped = ValidationFailed(f"The request body is not valid JSON: {error.detail}")
    else:
        mapped = ShiptrackError(str(error.detail))
        mapped.status_code = error.status_code  # type: ignore[misc]
    return error_response(mapped, request_id_of(request))


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method served at the request's path.

    FastAPI makes one route per method, and Starlette's own ``Allow`` names only the first route
    that matched the path (``GET`` alone for a webhook, which also takes ``PUT`` and ``DELETE``).
    """
    scope = request.scope
    probe = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**probe, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    )


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    details = [validation_detail(item) for item in error.errors()]
    return error_response(
        ValidationFailed(details[0].message, details=details), request_id_of(request)
    )


async def _unexpected_error(request: Request, error: Exception) -> Response:
    request_id = request_id_of(request)
    log.exception("request %s failed unexpectedly", request_id)
    return error_response(
        InternalError("An unexpected error occurred; it has been logged with this request_id"),
        request_id,
    )


def validation_detail(item: dict[str, Any]) -> ErrorDetail:
    """One pydantic/FastAPI validation error as a ShipEngine error entry naming its field."""
    where, *path = item.get("loc", ("body",))
    field = field_name(path)
    kind = item.get("type", "")
    code, message = "invalid_field_value", f"{field}: {item.get('msg', 'invalid value')}"
    if kind == "json_invalid":
        reason = (item.get("ctx") or {}).get("error", "malformed JSON")
        field, message = None, f"The request body is not valid JSON: {reason}"
    elif kind == "missing" and where == "body" and not path:
        code, message = "request_body_required", "This endpoint needs a JSON body"
    elif kind == "missing":
        code, message = "field_value_required", f"{field} is required"
    elif not path and where == "body":
        message = "The request body must be a JSON object"
    elif kind == "string_too_short" and (item.get("ctx") or {}).get("min_length") == 1:
        code, message = "field_value_required", f"{field} must not be empty"
    elif kind in ("string_too_short", "string_too_long"):
        code = "invalid_string_length"
    elif kind == "extra_forbidden":
        message = f"{field} is not a field of this request"
    return ErrorDetail(error_type="validation", error_code=code, message=message, field_name=field)


def field_name(path: Sequence[int | str]) -> str | None:
    """``["headers", 0, "key"]`` → ``headers[0].key``."""
    name = ""
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or None
