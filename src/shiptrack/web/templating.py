"""The templates and the one way a page is rendered."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

#: Pages must never be cached by a shared cache: they can hold an account's data.
_NO_STORE = {"Cache-Control": "no-store"}


@cache
def environment() -> jinja2.Environment:
    """The templates shipped in ``shiptrack/web/templates``, autoescaped, loaded once."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shiptrack.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` rendered with ``context`` (plus ``request``), never stored by
    shared caches."""
    html = environment().get_template(template).render(request=request, **(context or {}))
    return HTMLResponse(html, status_code=status_code, headers={**_NO_STORE, **(headers or {})})
