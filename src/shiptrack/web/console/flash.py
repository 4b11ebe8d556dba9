"""Messages after a form worked, and a secret shown exactly once.

A changing form answers with a 303 redirect; what it says afterwards travels as a short code in the
``done`` query parameter (``?done=created``), looked up in a fixed table, so a link can never make a
page say something of its own. A secret (a new webhook's, a rotated one) cannot travel in a URL
(history, logs): it rides in a sealed ``HttpOnly`` cookie scoped to the page that shows it, which
that page reads once and deletes in the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from shiptrack.sealing import SealingError
from shiptrack.web.console.deps import sessions_of

FLASH_PARAMETER = "done"
SECRET_COOKIE = "shiptrack_console_secret"
_SECRET_OWNER = "console-secret-once"
#: Long enough to follow the redirect, short enough not to linger.
_SECRET_SECONDS = 120


@dataclass(frozen=True)
class Flash:
    """A line at the top of a page: ``ok`` or ``error``."""

    text: str
    kind: str = "ok"


MESSAGES: dict[str, Flash] = {
    "webhook-created": Flash("Webhook created."),
    "webhook-saved": Flash("Webhook saved."),
    "webhook-deleted": Flash("Webhook deleted."),
    "test-queued": Flash("Test event queued; it appears below once sent."),
    "secret-rotated": Flash(
        "Secret rotated. The previous secret keeps signing for the overlap period."
    ),
    "redelivery-queued": Flash("Delivery queued again."),
    "redelivery-busy": Flash(
        "That delivery is being attempted right now; try again in a moment.", "error"
    ),
    "carrier-connected": Flash("Carrier connected."),
    "carrier-disconnected": Flash("Carrier disconnected."),
}


def with_flash(path: str, code: str) -> str:
    """``path`` with the flash ``code`` (one of :data:`MESSAGES`)."""
    assert code in MESSAGES, code
    return f"{path}?{urlencode({FLASH_PARAMETER: code})}"


def flash_of(request: Request) -> Flash | None:
    """The message the request's ``done`` parameter names (unknown codes say nothing)."""
    return MESSAGES.get(request.query_params.get(FLASH_PARAMETER, ""))


def hand_over_secret(request: Request, response: Response, secret: str, path: str) -> None:
    """Put ``secret`` in a sealed cookie that only ``path`` receives, for :func:`take_secret`."""
    sessions = sessions_of(request)
    sealed = sessions.sealer.seal({"secret": secret, "path": path}, owner=_SECRET_OWNER)
    response.set_cookie(
        SECRET_COOKIE,
        sealed,
        max_age=_SECRET_SECONDS,
        path=path,
        httponly=True,
        samesite="strict",
        secure=sessions.secure,
    )


def read_secret(request: Request, path: str) -> str | None:
    """The secret handed over to ``path``, if any (the page that shows it calls
    :func:`forget_secret` on its answer: shown once)."""
    cookie = request.cookies.get(SECRET_COOKIE)
    if not cookie or len(cookie) > 4096:
        return None
    sessions = sessions_of(request)
    try:
        document = sessions.sealer.open(cookie, owner=_SECRET_OWNER)
    except (SealingError, ValueError):
        return None
    secret = document.get("secret")
    if document.get("path") != path or not isinstance(secret, str):
        return None
    return secret


def forget_secret(request: Request, response: Response, path: str) -> None:
    """Delete the handed-over secret's cookie with ``response``."""
    if SECRET_COOKIE in request.cookies:
        secure = sessions_of(request).secure
        response.delete_cookie(SECRET_COOKIE, path=path, secure=secure, httponly=True)
