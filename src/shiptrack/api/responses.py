"""JSON and error responses, rendered the one way ShipEngine clients expect."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from shiptrack.domain.errors import ShiptrackError, listed_details
from shiptrack.serialization import dump_json

REQUEST_ID_HEADER = "x-request-id"


class JSON(Response):
    """A JSON response from plain data (already shaped by the caller, not validated again)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dump_json(content)


def new_request_id() -> str:
    """A request id: a UUID, as ShipEngine's ``request_id`` is."""
    return str(uuid.uuid4())


def error_payload(error: ShiptrackError, request_id: str) -> bytes:
    """The ShipEngine ``error_response_body`` for an error.

    Every error answer is rendered here, so every route lists a bounded number of errors, each of
    a bounded length (``domain.errors.listed_details``).
    """
    listed = listed_details(error.details)
    return dump_json({"request_id": request_id, "errors": [detail.as_json() for detail in listed]})


def error_response(error: ShiptrackError, request_id: str) -> Response:
    """The HTTP response for an error, with the request id in the body and in a header."""
    headers = {**error.headers, REQUEST_ID_HEADER: request_id}
    return Response(
        error_payload(error, request_id),
        status_code=error.status_code,
        headers=headers,
        media_type="application/json",
    )
