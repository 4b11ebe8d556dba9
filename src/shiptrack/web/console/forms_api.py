"""Turning the console's HTML forms into the API's request bodies, so a form is checked by the
same models as ``POST /v1/…`` and its errors read the same."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shiptrack.api.errors import validation_detail
from shiptrack.domain.webhooks import (
    SHIPENGINE_SIGNATURE,
    SIGNATURE_SCHEMES,
    STANDARD_SIGNATURE,
    WebhookHeader,
)


def parse_headers(text: str) -> list[dict[str, str]]:
    """``Key: value`` lines (blank lines skipped) as the API's ``headers`` list. A line without
    a colon is a header without a value; the API's rules then say what is wrong with it."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        found.append({"key": key.strip(), "value": value.strip()})
    return found


def headers_text(headers: Iterable[WebhookHeader]) -> str:
    """A webhook's headers as the form's ``Key: value`` lines."""
    return "\n".join(f"{header.key}: {header.value}" for header in headers)


def optional_text(value: str | None) -> str | None:
    """A text field: left blank means not given."""
    value = (value or "").strip()
    return value or None


def optional_number(value: str | None, kind: type[int] | type[float]) -> int | float | str | None:
    """A number field: blank is not given, a number is that number, anything else is passed on
    as text for the model to refuse with its own message."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def webhook_body(form: Mapping[str, str], *, with_event: bool) -> dict[str, Any]:
    """The JSON body ``POST``/``PUT /v1/environment/webhooks`` would get from this form."""
    body: dict[str, Any] = {
        "url": (form.get("url") or "").strip(),
        "name": optional_text(form.get("name")),
        "store_id": optional_number(form.get("store_id"), int),
        "headers": parse_headers(form.get("headers") or ""),
        "signatures": signatures_of(form.get("signatures")),
    }
    if with_event:
        body["event"] = (form.get("event") or "").strip()
    return body


#: The console's signature choices, as the API's ``signatures`` lists.
SIGNATURE_CHOICES = {
    "both": list(SIGNATURE_SCHEMES),
    STANDARD_SIGNATURE: [STANDARD_SIGNATURE],
    SHIPENGINE_SIGNATURE: [SHIPENGINE_SIGNATURE],
}


def signatures_of(choice: str | None) -> list[str]:
    """The ``signatures`` of a console choice (both when none is given); an unknown choice is
    passed on as a scheme name for the API to refuse with its own message."""
    value = (choice or "both").strip()
    return SIGNATURE_CHOICES.get(value, [value])


def signatures_choice(signatures: tuple[str, ...]) -> str:
    """The console choice that shows a webhook's ``signatures``."""
    return "both" if signatures == SIGNATURE_SCHEMES else signatures[0]


def model_error_message(error: ValidationError) -> str:
    """The first problem of a request model's validation, worded as the API words it."""
    first = error.errors()[0]
    item = {**first, "loc": ("body", *first.get("loc", ()))}
    return validation_detail(dict(item)).message


def budget_text(requests_per_minute: float) -> str:
    """A request budget in the unit that reads best: ``60,000/min``, ``250/day`` (DHL's
    Starter plan would be ``0.17/min``)."""
    if requests_per_minute >= 1:
        return f"{_number(requests_per_minute)}/min"
    return f"{_number(requests_per_minute * 1440)}/day"


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def attempt_error(response_status: int | None, error: str | None) -> str | None:
    """What an attempt's error adds to its status (nothing when it only repeats it)."""
    if error is None or (response_status is not None and error == f"HTTP {response_status}"):
        return None
    return error


def when(moment: datetime | None, never: str = "—") -> str:
    """A time for a table cell, in UTC to the second."""
    if moment is None:
        return never
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class FormField:
    """One input of a connect form."""

    name: str
    label: str
    #: ``text`` or ``password`` (a credential is never shown back).
    kind: str = "text"
    hint: str = ""


def connect_fields(
    carrier_code: str, credential_fields: tuple[str, ...], *, push: bool, usps: bool
) -> list[FormField]:
    """The fields ``POST /v1/connections/carriers/{carrier_code}`` takes for this carrier."""
    fields = [FormField("nickname", "Nickname", hint="optional")]
    labels = {
        "client_id": "Client id",
        "client_secret": "Client secret",
        "api_key": "API key",
        "account_number": "Account number",
    }
    for name in credential_fields:
        fields.append(
            FormField(
                name,
                labels.get(name, name),
                "text" if name in ("client_id", "account_number") else "password",
            )
        )
    if "account_number" not in credential_fields:
        fields.append(FormField("account_number", "Account number", hint="optional"))
    fields.append(
        FormField("base_url", "Base URL", hint="optional: production (default), test, or a URL")
    )
    fields.append(
        FormField("requests_per_minute", "Requests per minute", hint="optional: own budget")
    )
    if push:
        fields.append(FormField("webhook_secret", "Push secret", "password", hint="optional"))
    if usps:
        fields.append(FormField("api_version", "API version", hint="optional: v3 or v3r2"))
    return fields


def connect_body(form: Mapping[str, str], fields: Iterable[FormField]) -> dict[str, Any]:
    """The JSON body the connect endpoint would get: the carrier's fields that were filled in."""
    body: dict[str, Any] = {}
    for field in fields:
        value: Any = optional_text(form.get(field.name))
        if field.name == "requests_per_minute":
            value = optional_number(form.get(field.name), float)
        if value is not None:
            body[field.name] = value
    return body
