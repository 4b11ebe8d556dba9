"""Errors on pages answer as pages, not as ShipEngine JSON: a person reads them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shiptrack.domain.errors import ShiptrackError
from shiptrack.web.templating import render

#: Sent with every public tracking page, its errors too: the token in the URL is the key to the
#: page, so it must not leak through a Referer, a search engine or a shared cache.
PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}

#: Paths whose errors are pages.
PAGE_PREFIXES = ("/console", "/t/")

_TITLES = {
    400: "That did not work",
    401: "Sign in again",
    403: "Refused",
    404: "Not found",
    405: "Not allowed",
    429: "Too many requests",
}


def is_page(request: Request) -> bool:
    """Whether the request is for a page (its errors are pages too)."""
    path = request.url.path
    return path == "/console" or path.startswith(PAGE_PREFIXES)


def error_page(request: Request, status_code: int, message: str) -> Response:
    """A plain page saying what went wrong."""
    title = _TITLES.get(status_code, "Something went wrong")
    context: dict[str, object]
    if request.url.path.startswith("/t/"):
        template, context = "public/error.html", {"lang": "en"}
    else:
        template, context = "console/error.html", {"session": None, "flash": None}
    context |= {"title": title, "message": message}
    headers = PUBLIC_HEADERS if request.url.path.startswith("/t/") else None
    return render(request, template, context, status_code=status_code, headers=headers)


def shiptrack_error_page(request: Request, error: ShiptrackError) -> Response:
    """The page for a use case's error (the same status as the API would answer)."""
    return error_page(request, error.status_code, error.message)


def sign_in_redirect() -> Response:
    """Where a page without a live session sends the browser."""
    return RedirectResponse("/console/sign-in", status_code=303)
