"""The one exception hierarchy of shiptrack.

Every failure a client can see is a :class:`ShiptrackError`. Each subclass fixes the HTTP status and
the ShipEngine ``error_type``/``error_code`` it maps to, so the HTTP edge renders all of them with a
single handler (``shiptrack.api.errors``) and no other module decides what a client sees.

Only codes that are both in the official OpenAPI ``error_code`` enum and in the official Python
SDK's ``ErrorCode`` enum are used: the SDK refuses to build its exception for any other code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

#: The most entries one error answer lists, and the longest message and field name it echoes: a
#: request naming 5,000 unknown query parameters, or one 100 KB parameter name, gets a small answer.
MAX_LISTED_ERRORS = 20
MAX_ERROR_MESSAGE = 500
MAX_ERROR_FIELD_NAME = 100


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of a ShipEngine ``errors[]`` array."""

    error_type: str
    error_code: str
    message: str
    error_source: str = "shipengine"
    field_name: str | None = None
    carrier_id: str | None = None
    carrier_code: str | None = None

    def as_json(self) -> dict[str, str]:
        """The entry as ShipEngine serialises it (optional keys left out when unset)."""
        body = {
            "error_source": self.error_source,
            "error_type": self.error_type,
            "error_code": self.error_code,
            "message": self.message,
        }
        if self.field_name is not None:
            body["field_name"] = self.field_name
        if self.carrier_id is not None:
            body["carrier_id"] = self.carrier_id
        if self.carrier_code is not None:
            body["carrier_code"] = self.carrier_code
        return body


def listed_details(details: Sequence[ErrorDetail]) -> list[ErrorDetail]:
    """The entries an error answer shows, whatever was collected.

    At most :data:`MAX_LISTED_ERRORS`, each with its message and field name cut to
    :data:`MAX_ERROR_MESSAGE` and :data:`MAX_ERROR_FIELD_NAME` characters. When more were
    collected, the first ones are listed and the last entry (of the first one's type and code, so
    it stays a valid ShipEngine entry) says how many were left out.
    """
    shown = [_shortened(detail) for detail in details[:MAX_LISTED_ERRORS]]
    if len(details) > MAX_LISTED_ERRORS:
        left_out = len(details) - (MAX_LISTED_ERRORS - 1)
        shown[-1] = replace(
            shown[0],
            message=f"{left_out:,} more errors were left out; an answer lists at most "
            f"{MAX_LISTED_ERRORS - 1} of them",
            field_name=None,
            carrier_id=None,
            carrier_code=None,
        )
    return shown


def _shortened(detail: ErrorDetail) -> ErrorDetail:
    message = _cut(detail.message, MAX_ERROR_MESSAGE)
    field_name = _cut(detail.field_name, MAX_ERROR_FIELD_NAME) if detail.field_name else None
    if message is detail.message and field_name is detail.field_name:
        return detail
    return replace(detail, message=message, field_name=field_name)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ShiptrackError(Exception):
    """Base of every error a client can be shown."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "system"
    error_code: ClassVar[str] = "unspecified"
    error_source: ClassVar[str] = "shipengine"

    def __init__(
        self,
        message: str,
        *,
        field_name: str | None = None,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_name = field_name
        self._details = details
        self.headers = headers or {}

    @property
    def details(self) -> list[ErrorDetail]:
        """The ``errors[]`` entries of the response (one unless several were collected)."""
        if self._details:
            return self._details
        return [
            ErrorDetail(
                error_type=self.error_type,
                error_code=self.error_code,
                message=self.message,
                error_source=self.error_source,
                field_name=self.field_name,
            )
        ]


class ValidationFailed(ShiptrackError):
    """A field of the request has a wrong value."""

    status_code = 400
    error_type = "validation"
    error_code = "invalid_field_value"


class FieldRequired(ValidationFailed):
    """A required field of the request is missing."""

    error_code = "field_value_required"


class FieldTooLong(ValidationFailed):
    """A string field of the request is too long or too short."""

    error_code = "invalid_string_length"


class InvalidIdentifier(ValidationFailed):
    """An id is not of the ``se-…`` form."""

    error_code = "invalid_identifier"


class IdentifiersMustMatch(ValidationFailed):
    """Two identifiers given for the same thing disagree."""

    error_code = "identifiers_must_match"


class RequestBodyRequired(ValidationFailed):
    """The endpoint needs a JSON body and none was sent."""

    error_code = "request_body_required"


class CarrierNotSupported(ValidationFailed):
    """The carrier code is not one shiptrack can track."""

    error_code = "carrier_not_supported"


class CarrierNotConnected(ShiptrackError):
    """The account has no connection for the carrier."""

    status_code = 400
    error_type = "business_rules"
    error_code = "carrier_not_connected"


class NoTrackWebhook(ShiptrackError):
    """Tracking cannot start before the account has a ``track`` webhook."""

    status_code = 400
    error_type = "business_rules"
    error_code = "invalid_status"


class NotFound(ShiptrackError):
    """The resource does not exist in the caller's account."""

    status_code = 404
    error_type = "validation"
    error_code = "invalid_identifier"


class RouteNotFound(ShiptrackError):
    """No endpoint at this path."""

    status_code = 404
    error_type = "validation"
    error_code = "unspecified"


class MethodNotAllowed(ShiptrackError):
    """The path exists but not for this HTTP method."""

    status_code = 405
    error_type = "validation"
    error_code = "unspecified"


class Conflict(ShiptrackError):
    """The request would duplicate an existing resource."""

    status_code = 409
    error_type = "validation"
    error_code = "identifier_conflict"


class WebhookConflict(Conflict):
    """A webhook for the same event and URL already exists."""

    error_code = "webhook_event_type_conflict"


class PayloadTooLarge(ShiptrackError):
    """The request body is over the configured limit."""

    status_code = 413
    error_type = "validation"
    error_code = "unspecified"


class MalformedRequest(ShiptrackError):
    """The request is not HTTP/1.1 the server can read (a NUL in a header, bare LF line ends)."""

    status_code = 400
    error_type = "validation"
    error_code = "unspecified"


class UriTooLong(ShiptrackError):
    """The request line's URL (path and query string) is over the configured limit."""

    status_code = 414
    error_type = "validation"
    error_code = "unspecified"


class HeadersTooLarge(ShiptrackError):
    """The request's header fields are over the configured limit."""

    status_code = 431
    error_type = "validation"
    error_code = "unspecified"


class UnsupportedMediaType(ShiptrackError):
    """The request body is not JSON."""

    status_code = 415
    error_type = "validation"
    error_code = "unspecified"


class Unauthorized(ShiptrackError):
    """The API key is missing, unknown or revoked."""

    status_code = 401
    error_type = "security"
    error_code = "unauthorized"


class Forbidden(ShiptrackError):
    """The key is valid but may not do this (a production key asking for sandbox data)."""

    status_code = 403
    error_type = "security"
    error_code = "forbidden"


class RateLimited(ShiptrackError):
    """The account sent more requests than its limit allows."""

    status_code = 429
    error_type = "system"
    error_code = "rate_limit_exceeded"


class ServiceUnavailable(ShiptrackError):
    """A dependency (the database) cannot be reached right now; retrying later will work."""

    status_code = 503
    error_type = "system"
    error_code = "unspecified"


class CarrierCredentialsRejected(ShiptrackError):
    """The carrier refused the credentials given to connect it."""

    status_code = 400
    error_type = "integrations"
    error_code = "verification_failure"
    error_source = "carrier"


class CarrierUnavailable(ShiptrackError):
    """The carrier could not be asked right now (its API failed or its request budget is spent)."""

    status_code = 503
    error_type = "system"
    error_code = "unspecified"
    error_source = "carrier"


class InternalError(ShiptrackError):
    """An unexpected failure; details go to the log, never to the client."""

    status_code = 500
    error_type = "system"
    error_code = "unspecified"


class ConfigurationError(ShiptrackError):
    """The process is configured wrongly (a setting, the database, the secret key) and refuses to
    start; the message is the one line the operator reads. Never an API answer."""
