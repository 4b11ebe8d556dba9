"""Mounting the pages on the app: their routers, the stylesheet, and errors answered as pages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from shiptrack.api.ratelimit import BadKeyGuard
from shiptrack.domain.errors import ShiptrackError
from shiptrack.web import public
from shiptrack.web.console import auth, carriers, packages, webhooks
from shiptrack.web.console.deps import CsrfRefused, SignInRequired
from shiptrack.web.console.session import Sessions
from shiptrack.web.errors import error_page, is_page, shiptrack_error_page, sign_in_redirect
from shiptrack.web.static import static_mount

log = logging.getLogger("shiptrack.web")

Handler = Callable[[Request, Exception], Awaitable[Response]]

ROUTERS = [auth.router, packages.router, webhooks.router, carriers.router, public.router]


def install(app: FastAPI, sessions: Sessions, *, auth_failures_per_minute: int) -> None:
    """Serve the console, the public page and ``/static`` from ``app`` (after the API's error
    handlers are installed: pages wrap them)."""
    app.state.sessions = sessions
    app.state.console_bad_keys = BadKeyGuard(auth_failures_per_minute)
    for router in ROUTERS:
        app.include_router(router)
    app.router.routes.append(static_mount())

    async def signed_out(_request: Request, _error: Exception) -> Response:
        return sign_in_redirect()

    async def csrf_refused(request: Request, _error: Exception) -> Response:
        message = "The form did not carry this session's CSRF token; reload the page and retry."
        return error_page(request, 403, message)

    app.add_exception_handler(SignInRequired, signed_out)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    _answer_pages_with_pages(app)


def _answer_pages_with_pages(app: FastAPI) -> None:
    api = app.exception_handlers

    def wrapped(api_handler: Handler, page: Handler) -> Handler:
        async def handler(request: Request, error: Exception) -> Response:
            if is_page(request):
                return await page(request, error)
            return await api_handler(request, error)

        return handler

    async def shiptrack_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ShiptrackError)
        if error.status_code >= 500:
            log.error("page %s failed: %s", request.url.path, error, exc_info=error.__cause__)
        return shiptrack_error_page(request, error)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404:
            return error_page(request, 404, "There is no page here.")
        if error.status_code == 405:
            return error_page(request, 405, f"{request.method} is not allowed here.")
        return error_page(request, error.status_code, str(error.detail))

    async def invalid(request: Request, _error: Exception) -> Response:
        return error_page(request, 400, "The page was asked for with a value it cannot use.")

    async def unexpected(request: Request, _error: Exception) -> Response:
        log.exception("page %s failed unexpectedly", request.url.path)
        return error_page(request, 500, "Something went wrong on our side; it has been logged.")

    for kind, page in (
        (ShiptrackError, shiptrack_error),
        (HTTPException, http_error),
        (RequestValidationError, invalid),
        (Exception, unexpected),
    ):
        app.add_exception_handler(kind, wrapped(api[kind], page))  # type: ignore[arg-type]
