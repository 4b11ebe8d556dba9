"""The routers, one per resource."""

from __future__ import annotations

from typing import Any

from shiptrack.api.models import ErrorResponseBody

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponseBody, "description": description}
    for status, description in (
        (400, "The request contained errors."),
        (401, "The API key is missing, invalid or revoked."),
        (404, "The specified resource does not exist."),
        (429, "The account exceeded its rate limit; see Retry-After."),
        (500, "An error occurred on shiptrack's side."),
    )
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponseBody,
        "description": "The request conflicts with an existing resource.",
    }
}
EMPTY_204: dict[int | str, dict[str, Any]] = {204: {"description": "The request was successful."}}
