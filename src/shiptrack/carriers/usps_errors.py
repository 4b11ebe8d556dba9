"""USPS's error answers: not found, an invalid number, or a failure (for ``carriers.usps``).

USPS answers errors in its ``ErrorMessage`` envelope (``{"apiVersion", "error": {"code", "message",
"errors": [{"status", "code", "title", "detail", "source": {"parameter"}}]}}``). A tracking error
code (``1500xx``) means USPS does not know the number (yet); an error whose ``source.parameter`` is
the tracking number means the number itself is invalid; anything else is a transport error.
"""

from __future__ import annotations

import logging
from typing import Any

from shiptrack.carriers.base import TransportError
from shiptrack.carriers.http import Answer, check_transport
from shiptrack.domain.changes import InvalidNumber

log = logging.getLogger("shiptrack.carriers.usps")


def _text(value: Any) -> str | None:
    """A non-empty string, or ``None`` (USPS sends numbers, nulls and empty strings alike)."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def error_body(answer: Answer) -> dict[str, Any] | None:
    """USPS's ``ErrorMessage`` envelope (``{"apiVersion", "error": {...}}``), if the body is one."""
    try:
        body = answer.json("USPS")
    except TransportError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body
    return None


def _error_codes(body: dict[str, Any]) -> list[str]:
    error = body["error"]
    codes = [_text(error.get("code"))]
    details = error.get("errors")
    if isinstance(details, list):
        codes += [_text(d.get("code")) for d in details if isinstance(d, dict)]
    return [c for c in codes if c]


#: The request parameter a USPS error names when it is about the tracking number itself.
_NUMBER_PARAMETERS = frozenset({"trackingnumber"})


def invalid_in(body: Any) -> InvalidNumber | None:
    """The invalid number an ``ErrorMessage`` (or a v3r2 per-number failure) reports: an error
    whose ``source.parameter`` is the tracking number. A tracking error code (``1500xx``, "may be
    incorrect or the status update is not yet available") is USPS not knowing it yet, not this."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    if any(code.startswith("1500") for code in _error_codes(body)):
        return None
    details = error.get("errors")
    for detail in details if isinstance(details, list) else []:
        source = detail.get("source") if isinstance(detail, dict) else None
        parameter = _text(source.get("parameter")) if isinstance(source, dict) else None
        if parameter is not None and parameter.lower() in _NUMBER_PARAMETERS:
            return InvalidNumber(
                "USPS",
                _text(detail.get("code")),
                _text(detail.get("detail")) or _text(detail.get("title")),
            )
    return None


def invalid_number(answer: Answer) -> InvalidNumber | None:
    """USPS's HTTP 400 about the one tracking number asked (see :func:`invalid_in`)."""
    if answer.status != 400:
        return None
    body = error_body(answer)
    return invalid_in(body) if body is not None else None


def not_found(answer: Answer, *, single: bool) -> bool:
    """Whether USPS said it does not know the number(s): a 404 in its error format, or, for a
    single number, a 400 with a tracking error code (150001 to 150012, "status not available")."""
    body = error_body(answer)
    if body is None:
        return False
    if answer.status == 404:
        return True
    return (
        answer.status == 400
        and single
        and any(code.startswith("1500") for code in _error_codes(body))
    )


def failure(answer: Answer) -> TransportError:
    """The error for an answer that is neither tracking data nor "not found"."""
    check_transport(answer, "USPS")
    body = error_body(answer)
    if body is not None:
        message = _text(body["error"].get("message")) or "no message"
        log.warning("USPS refused a tracking request (HTTP %s): %s", answer.status, message)
        return TransportError(f"USPS refused the tracking request (HTTP {answer.status})")
    log.warning(
        "USPS answered HTTP %s with a body that is not its own: %r",
        answer.status,
        answer.body[:120],
    )
    return TransportError(
        f"USPS answered HTTP {answer.status} with a body that is not a USPS answer"
    )
