"""What console pages depend on: the signed-in session, the CSRF check, the parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shiptrack.api.deps import ApiParts
from shiptrack.web.console.session import CSRF_FIELD, ConsoleSession, Sessions, tokens_match
from shiptrack.web.forms import read_form


class SignInRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in form."""


class CsrfRefused(Exception):
    """A changing form came without the session's CSRF token: refused with a 403 page."""


def parts_of(request: Request) -> ApiParts:
    """The parts the app serves from (the same as the API's)."""
    parts: ApiParts = request.app.state.parts
    return parts


def sessions_of(request: Request) -> Sessions:
    """The console's session keeper."""
    sessions: Sessions = request.app.state.sessions
    return sessions


async def _session(request: Request) -> ConsoleSession:
    session = await sessions_of(request).current(request)
    if session is None:
        raise SignInRequired()
    request.state.account = session.account  # the access log names the account
    return session


async def _checked_form(
    request: Request, session: Annotated[ConsoleSession, Depends(_session)]
) -> dict[str, str]:
    form = await read_form(request)
    if not tokens_match(session.csrf_token, form.get(CSRF_FIELD)):
        raise CsrfRefused()
    return form


async def _parts(request: Request) -> ApiParts:
    return parts_of(request)


SessionDep = Annotated[ConsoleSession, Depends(_session)]
#: A POSTed form whose CSRF token matched the session's (its fields, the token included).
CheckedFormDep = Annotated[dict[str, str], Depends(_checked_form)]
PartsDep = Annotated[ApiParts, Depends(_parts)]
