"""Webhook registrations and the rules their fields follow."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Literal
from urllib.parse import urlsplit

from shiptrack.domain.errors import ErrorDetail, FieldTooLong, ValidationFailed

WEBHOOK_EVENTS = (
    "batch",
    "carrier_connected",
    "order_source_refresh_complete",
    "rate",
    "report_complete",
    "sales_orders_imported",
    "track",
)
#: The signatures a delivery can carry: ShipEngine's RSA scheme (``x-shipengine-rsa-sha256-*``)
#: and Standard Webhooks' HMAC (``webhook-signature``). A webhook carries both unless it says
#: otherwise (``signatures``, a shiptrack extension): the RSA one is the costly one to make.
SHIPENGINE_SIGNATURE = "shipengine"
STANDARD_SIGNATURE = "standard"
SIGNATURE_SCHEMES = (SHIPENGINE_SIGNATURE, STANDARD_SIGNATURE)
MAX_URL_LENGTH = 2048
MAX_HEADERS = 20
MAX_HEADER_VALUE_LENGTH = 1024

# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$")
# Headers shiptrack sets itself on every delivery: a custom header must not replace them.
_RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}
)
_RESERVED_PREFIXES = ("webhook-", "x-shipengine-", "x-shiptrack-")


@dataclass(frozen=True, slots=True)
class WebhookHeader:
    """A custom header sent with every delivery of a webhook."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Webhook:
    """A URL that receives one event type for one account."""

    id: int
    account_id: int
    url: str
    event: str
    name: str | None = None
    store_id: int | None = None
    headers: tuple[WebhookHeader, ...] = field(default_factory=tuple)
    #: Since when every delivery failed (``None`` after a success).
    failing_since: datetime | None = None
    #: When shiptrack stopped sending after long failure; an update re-enables.
    disabled_at: datetime | None = None
    #: The signatures its deliveries carry (:data:`SIGNATURE_SCHEMES` by default).
    signatures: tuple[str, ...] = SIGNATURE_SCHEMES


class Keep(Enum):
    """A field an update leaves as it is (``None`` would clear it)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """What an update changes of a webhook (:data:`KEEP`: unchanged). Any update re-enables it."""

    url: str | Literal[Keep.KEEP] = KEEP
    name: str | Literal[Keep.KEEP] | None = KEEP
    store_id: int | Literal[Keep.KEEP] | None = KEEP
    headers: tuple[WebhookHeader, ...] | Literal[Keep.KEEP] = KEEP
    signatures: tuple[str, ...] | Literal[Keep.KEEP] = KEEP


def check_url(url: str, *, field_name: str = "url") -> str:
    """An absolute ``http``/``https`` URL with a host, or a validation error."""
    if len(url) > MAX_URL_LENGTH:
        raise FieldTooLong(
            f"{field_name} is {len(url)} characters long; at most {MAX_URL_LENGTH} are allowed",
            field_name=field_name,
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in url):
        raise ValidationFailed(
            f"{field_name} must be an absolute http:// or https:// URL, got {url[:80]!r}",
            field_name=field_name,
        )
    return url


def check_signatures(values: list[str], *, field_name: str = "signatures") -> tuple[str, ...]:
    """The signature schemes a webhook asked for, in :data:`SIGNATURE_SCHEMES` order: at least
    one (an unsigned delivery could not be told from a forged one), each known, none twice."""
    if not values:
        raise ValidationFailed(
            f"{field_name} must name at least one of {', '.join(SIGNATURE_SCHEMES)}: "
            "a delivery is always signed",
            field_name=field_name,
        )
    for index, value in enumerate(values):
        if value not in SIGNATURE_SCHEMES:
            raise ValidationFailed(
                f"{value[:40]!r} is not a signature scheme; use {' or '.join(SIGNATURE_SCHEMES)}",
                field_name=f"{field_name}[{index}]",
            )
        if values.index(value) != index:
            raise ValidationFailed(f"{value!r} is given twice", field_name=f"{field_name}[{index}]")
    return tuple(scheme for scheme in SIGNATURE_SCHEMES if scheme in values)


def check_headers(headers: list[WebhookHeader], *, field_name: str = "headers") -> None:
    """Refuse header lists that could not be sent as given or would override ours."""
    problems: list[ErrorDetail] = []
    if len(headers) > MAX_HEADERS:
        problems.append(_invalid(f"at most {MAX_HEADERS} custom headers are allowed", field_name))
    seen: set[str] = set()
    for index, header in enumerate(headers):
        where = f"{field_name}[{index}]"
        lowered = header.key.lower()
        if not _HEADER_NAME.fullmatch(header.key):
            problems.append(_invalid(f"{header.key[:40]!r} is not a valid header name", where))
        elif lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            problems.append(
                _invalid(f"{header.key!r} is set by shiptrack and cannot be overridden", where)
            )
        elif lowered in seen:
            problems.append(_invalid(f"header {header.key!r} is given twice", where))
        seen.add(lowered)
        if len(header.value) > MAX_HEADER_VALUE_LENGTH or any(
            ord(ch) < 32 and ch != "\t" for ch in header.value
        ):
            problems.append(
                _invalid(
                    f"the value of {header.key[:40]!r} must be at most "
                    f"{MAX_HEADER_VALUE_LENGTH} characters with no control characters",
                    f"{where}.value",
                )
            )
    if problems:
        raise ValidationFailed(problems[0].message, details=problems)


def _invalid(message: str, field_name: str) -> ErrorDetail:
    return ErrorDetail(
        error_type="validation",
        error_code="invalid_field_value",
        message=message,
        field_name=field_name,
    )
