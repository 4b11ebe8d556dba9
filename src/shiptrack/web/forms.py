"""Reading an HTML form's body (``application/x-www-form-urlencoded``) without a multipart
parser: the console's forms send nothing else."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

#: The edge already refuses bodies over ``SHIPTRACK_MAX_BODY_BYTES``; forms are far smaller.
_MAX_FIELDS = 200


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields (the last value of a repeated one); empty for any other body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    return dict(pairs)


async def read_form_lists(request: Request) -> dict[str, list[str]]:
    """The form's fields with every value of a repeated one (checkboxes)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(body, keep_blank_values=True, max_num_fields=_MAX_FIELDS):
        fields.setdefault(name, []).append(value)
    return fields
