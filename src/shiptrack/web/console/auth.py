"""Signing in and out of the console."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from shiptrack.domain.apikeys import hash_api_key
from shiptrack.domain.timefmt import retry_after_header
from shiptrack.web.console.deps import CheckedFormDep, parts_of, sessions_of
from shiptrack.web.console.session import CSRF_FIELD, SIGN_IN_COOKIE, tokens_match
from shiptrack.web.forms import read_form
from shiptrack.web.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)

_MAX_KEY_LENGTH = 200
_HOME = "/console/packages"


def see_other(location: str) -> RedirectResponse:
    """The answer to a form that worked: go (GET) there."""
    return RedirectResponse(location, status_code=303)


@router.get("")
async def home(request: Request) -> Response:
    """The console's front door: the packages when signed in, else the sign-in form."""
    signed_in = await sessions_of(request).current(request) is not None
    return see_other(_HOME if signed_in else "/console/sign-in")


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    return _form(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the pasted key as the API does; on success open a session."""
    form = await read_form(request)
    if not tokens_match(request.cookies.get(SIGN_IN_COOKIE) or "", form.get(CSRF_FIELD)):
        return _form(request, "The form expired or did not come from this page; try again.", 403)
    key = form.get("api_key", "").strip()
    guard = request.app.state.console_bad_keys
    address = request.client.host if request.client else ""
    key_hash = hash_api_key(key)
    wait = guard.throttled(address, key_hash)
    if wait:
        headers = {"Retry-After": retry_after_header(wait)}
        return _form(request, "Too many wrong keys from your address; wait a minute.", 429, headers)
    account = None
    if key and len(key) <= _MAX_KEY_LENGTH:
        account = await parts_of(request).accounts.authenticate(key)
    if account is None:
        guard.failed(address, key_hash if key else None)
        return _form(request, "That API key is not valid (or was revoked).", 401)
    guard.succeeded(key_hash)
    response = see_other(_HOME)
    sessions_of(request).open(response, key)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, _form: CheckedFormDep) -> Response:
    """End the session."""
    response = see_other("/console/sign-in")
    sessions_of(request).end(response)
    return response


def _form(
    request: Request,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    sessions = sessions_of(request)
    token = sessions.sign_in_token(request)
    context = {"session": None, "flash": None, "error": error, "csrf_token": token}
    response = render(
        request, "console/sign_in.html", context, status_code=status_code, headers=headers
    )
    sessions.remember_sign_in_token(response, token)
    return response
