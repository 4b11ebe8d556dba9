"""Console sessions: a sealed, expiring cookie holding the API key it was opened with, and the
CSRF token every changing form must carry.

The key is checked again on every request (``Accounts.authenticate``, cached like the API's), so
a revoked key ends its sessions within ``SHIPTRACK_CACHE_SECONDS``. The cookie is ``HttpOnly``,
``SameSite=Strict`` and ``Secure`` when the server is reached over HTTPS
(``SHIPTRACK_PUBLIC_BASE_URL``).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shiptrack.domain.accounts import Account
from shiptrack.sealing import Sealer, SealingError
from shiptrack.services.accounts import Accounts

SESSION_COOKIE = "shiptrack_console"
#: Before sign-in there is no session: the sign-in form's token lives in a cookie of its own.
SIGN_IN_COOKIE = "shiptrack_console_sign_in"
CSRF_FIELD = "csrf_token"
_OWNER = "console-session"
_PATH = "/console"


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in operator: the account, the key it signed in with, the form token."""

    account: Account
    key: str
    csrf_token: str
    expires_at: float


class Sessions:
    """Opens, reads and ends console sessions."""

    def __init__(
        self,
        sealer: Sealer,
        accounts: Accounts,
        *,
        lifetime_seconds: float,
        secure: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sealer = sealer
        self.accounts = accounts
        self.lifetime = lifetime_seconds
        self.secure = secure
        self.clock = clock

    def open(self, response: Response, key: str) -> None:
        """Set a new session cookie for ``key`` on ``response`` (the key was checked)."""
        expires_at = self.clock() + self.lifetime
        document = {"key": key, "csrf": new_token(), "exp": expires_at}
        self._set(response, SESSION_COOKIE, self.sealer.seal(document, owner=_OWNER))
        response.delete_cookie(SIGN_IN_COOKIE, path=_PATH)

    def end(self, response: Response) -> None:
        """Remove the session cookie."""
        response.delete_cookie(SESSION_COOKIE, path=_PATH, secure=self.secure, httponly=True)

    async def current(self, request: Request) -> ConsoleSession | None:
        """The request's live session: sealed by this server, not expired, its key not revoked."""
        document = self._read(request.cookies.get(SESSION_COOKIE))
        if document is None:
            return None
        key, csrf, expires_at = document.get("key"), document.get("csrf"), document.get("exp")
        if not isinstance(key, str) or not isinstance(csrf, str):
            return None
        if not isinstance(expires_at, int | float) or expires_at <= self.clock():
            return None
        account = await self.accounts.authenticate(key)
        if account is None:
            return None
        return ConsoleSession(account=account, key=key, csrf_token=csrf, expires_at=expires_at)

    def sign_in_token(self, request: Request) -> str:
        """The sign-in form's CSRF token: the one in its cookie, or a new one."""
        token = request.cookies.get(SIGN_IN_COOKIE)
        return token if token and len(token) <= 64 else new_token()

    def remember_sign_in_token(self, response: Response, token: str) -> None:
        """Set the sign-in form's token cookie (for an hour)."""
        self._set(response, SIGN_IN_COOKIE, token, max_age=3600)

    def _set(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age if max_age is not None else int(self.lifetime),
            path=_PATH,
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )

    def _read(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie or len(cookie) > 4096:
            return None
        try:
            return self.sealer.open(cookie, owner=_OWNER)
        except (SealingError, ValueError):  # not ours, tampered with, or not base64 at all
            return None


def new_token() -> str:
    """A CSRF token: 256 random bits."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    """Whether a form carried the expected CSRF token (compared in constant time)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
