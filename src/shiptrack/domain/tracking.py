"""A tracked package as the domain sees it, and its ShipEngine ``TrackingInformation`` form."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shiptrack.domain.errors import FieldRequired, FieldTooLong, ValidationFailed
from shiptrack.domain.statuses import StatusCode, status_description, status_detail_description
from shiptrack.domain.timefmt import format_utc


@dataclass(frozen=True, slots=True)
class TrackEvent:
    """One carrier scan, normalised.

    ``occurred_at`` is UTC and set only when the carrier gave an offset; ``carrier_occurred_at`` is
    the carrier's local wall time as ISO-8601 text, without an offset when the carrier gave none.
    """

    status_code: str
    occurred_at: datetime | None = None
    carrier_occurred_at: str | None = None
    description: str | None = None
    city_locality: str | None = None
    state_province: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    company_name: str | None = None
    signer: str | None = None
    event_code: str | None = None
    carrier_detail_code: str | None = None
    status_detail_code: str | None = None
    carrier_status_code: str | None = None
    carrier_status_description: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    proof_of_delivery_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``track_event`` object, every field present."""
        return {
            "occurred_at": format_utc(self.occurred_at),
            "carrier_occurred_at": self.carrier_occurred_at,
            "description": self.description,
            "city_locality": self.city_locality,
            "state_province": self.state_province,
            "postal_code": self.postal_code,
            "country_code": self.country_code,
            "company_name": self.company_name,
            "signer": self.signer,
            "event_code": self.event_code,
            "carrier_detail_code": self.carrier_detail_code,
            "status_code": self.status_code,
            "status_detail_code": self.status_detail_code,
            "status_description": status_description(self.status_code),
            "status_detail_description": status_detail_description(self.status_detail_code),
            "carrier_status_code": self.carrier_status_code,
            "carrier_status_description": self.carrier_status_description,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "proof_of_delivery_url": self.proof_of_delivery_url,
        }


@dataclass(frozen=True, slots=True)
class Subscription:
    """One account's watch on one package, with the package's current state."""

    id: int
    account_id: int
    connection_id: int
    carrier_code: str
    tracking_number: str
    active: bool
    status_code: str = StatusCode.UN
    status_detail_code: str | None = None
    carrier_status_code: str | None = None
    carrier_detail_code: str | None = None
    carrier_status_description: str | None = None
    ship_date: str | None = None
    estimated_delivery_date: str | None = None
    actual_delivery_date: str | None = None
    exception_description: str | None = None
    sequence: int = 0
    next_check_at: datetime | None = None
    last_checked_at: datetime | None = None
    last_error: str | None = None
    stop_reason: str | None = None
    created_at: datetime | None = None
    #: Names the package's public tracking page, ``/t/{public_token}`` (128 random bits); ``None``
    #: for a package looked up live and never stored.
    public_token: str | None = None


#: What a public page token looks like: ``secrets.token_urlsafe(16)`` gives 22 characters; the
#: column holds up to 32. Anything else names no page and is refused before the store is asked.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,32}")


def new_public_token() -> str:
    """A package's public page token: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def is_public_token(text: str) -> bool:
    """Whether ``text`` has the shape of a public page token (it may still name no page)."""
    return _TOKEN.fullmatch(text) is not None


def public_url(base_url: str, token: str | None) -> str | None:
    """The package's public tracking page (``None`` for a package without one)."""
    return f"{base_url.rstrip('/')}/t/{token}" if token else None


def tracking_information(
    subscription: Subscription,
    events: list[TrackEvent],
    *,
    tracking_url: str,
    public_base_url: str | None,
) -> dict[str, Any]:
    """The ShipEngine ``TrackingInformation`` object, every schema field present, plus
    shiptrack's ``public_url`` (the package's public page, which ShipEngine clients ignore;
    ``null`` without a token or without ``public_base_url``).

    ``events`` must already be most recent first. Fields the carrier has not given yet are
    ``null``, as ShipEngine sends them.
    """
    head = tracking_head(subscription, tracking_url=tracking_url, public_base_url=public_base_url)
    head["events"] = [event.as_json() for event in events]
    return head


def tracking_head(
    subscription: Subscription, *, tracking_url: str, public_base_url: str | None
) -> dict[str, Any]:
    """Every field of :func:`tracking_information` but ``events``."""
    status = subscription.status_code
    return {
        "tracking_number": subscription.tracking_number,
        "tracking_url": tracking_url,
        "status_code": status,
        "status_detail_code": subscription.status_detail_code,
        "status_description": status_description(status),
        "status_detail_description": status_detail_description(subscription.status_detail_code),
        "carrier_code": subscription.carrier_code,
        "carrier_id": subscription.connection_id,
        "carrier_status_code": subscription.carrier_status_code,
        "carrier_detail_code": subscription.carrier_detail_code,
        "carrier_status_description": subscription.carrier_status_description,
        "ship_date": subscription.ship_date,
        "estimated_delivery_date": subscription.estimated_delivery_date,
        "actual_delivery_date": subscription.actual_delivery_date,
        "exception_description": subscription.exception_description,
        "public_url": (
            public_url(public_base_url, subscription.public_token) if public_base_url else None
        ),
    }


_MAX_TRACKING_NUMBER = 64
#: Checked before upper-casing, and ASCII only: Unicode case mapping turns U+017F (long s) into
#: ``S``, U+0131 (dotless i) into ``I`` and U+FB00 (the ff ligature) into ``FF``, and
#: ``str.isalnum`` takes fullwidth and Arabic-Indic digits, so a looser check would let
#: ``1Z\u017fandbox0000001`` name another package, ``1ZSANDBOX0000001``.
_ALLOWED = frozenset(string.ascii_letters + string.digits + "-")
#: Only ASCII spaces, tabs and line breaks are trimmed (``str.strip()`` would also drop Unicode
#: spaces and the ASCII separator controls, which are refused instead).
_TRIMMED = " \t\r\n"


def normalise_tracking_number(raw: str) -> str:
    """The canonical form of a tracking number: trimmed and upper-cased.

    Every supported carrier treats tracking numbers case-insensitively, so ``1z…`` and ``1Z…``
    must be one package. Anything but ASCII letters, digits and ``-`` is refused before the
    number is upper-cased, which keeps one package from having two names and the number safe to
    put in URLs and logs.
    """
    number = raw.strip(_TRIMMED)
    if not number:
        raise FieldRequired("tracking_number must not be empty", field_name="tracking_number")
    if len(number) > _MAX_TRACKING_NUMBER:
        raise FieldTooLong(
            f"tracking_number is {len(number)} characters long; at most "
            f"{_MAX_TRACKING_NUMBER} are allowed",
            field_name="tracking_number",
        )
    if not _ALLOWED.issuperset(number):
        raise ValidationFailed(
            "tracking_number may contain only the ASCII letters A-Z, the digits 0-9 and '-'",
            field_name="tracking_number",
        )
    return number.upper()


@dataclass(frozen=True, slots=True)
class StartRequest:
    """One package to start watching."""

    account_id: int
    connection_id: int
    carrier_code: str
    tracking_number: str
