"""Console sessions: what the cookie promises (HttpOnly, SameSite=Strict, Secure behind HTTPS,
an end) and what ends a session (expiry, tampering, a revoked key)."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.requests import Request
from starlette.responses import Response

from shiptrack.sealing import Sealer
from shiptrack.services.accounts import Accounts
from shiptrack.services.cache import TTLCache
from shiptrack.store.memory.store import MemoryStore
from shiptrack.web.console.session import SESSION_COOKIE, Sessions, tokens_match
from tests.support import HandClock


def _request(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/console", "headers": headers})


def _issued(sessions: Sessions, key: str) -> tuple[str, str]:
    response = Response()
    sessions.open(response, key)
    header = next(v for k, v in response.raw_headers if k == b"set-cookie").decode()
    morsel = SimpleCookie(header)[SESSION_COOKIE]
    return header, morsel.value


async def _setup(*, secure: bool = False) -> tuple[Sessions, Accounts, str, HandClock[float]]:
    accounts = Accounts(MemoryStore(), TTLCache(0))
    _account, new_key = await accounts.create(name="acme", sandbox=True)
    clock = HandClock(1_000_000.0)
    sessions = Sessions(
        Sealer("a-secret"), accounts, lifetime_seconds=3600, secure=secure, clock=clock
    )
    return sessions, accounts, new_key.key, clock


async def test_the_cookie_is_http_only_strict_scoped_to_the_console_and_ends() -> None:
    sessions, _, key, _ = await _setup()
    header, _ = _issued(sessions, key)
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Path=/console" in header
    assert "Max-Age=3600" in header
    assert "Secure" not in header
    assert key not in header  # the key travels sealed


async def test_behind_https_the_cookie_is_secure() -> None:
    sessions, _, key, _ = await _setup(secure=True)
    header, _ = _issued(sessions, key)
    assert "Secure" in header


async def test_a_session_is_read_back_until_it_expires() -> None:
    sessions, _, key, clock = await _setup()
    _, cookie = _issued(sessions, key)
    session = await sessions.current(_request(cookie))
    assert session is not None
    assert session.account.name == "acme"
    clock.now += 3601
    assert await sessions.current(_request(cookie)) is None


async def test_a_tampered_or_foreign_cookie_is_no_session() -> None:
    sessions, _, key, _ = await _setup()
    _, cookie = _issued(sessions, key)
    assert await sessions.current(_request(cookie[:-4] + "AAAA")) is None
    assert await sessions.current(_request("not-even-base64!")) is None
    other = Sessions(Sealer("another-secret"), sessions.accounts, lifetime_seconds=60, secure=False)
    assert await other.current(_request(cookie)) is None


async def test_revoking_the_key_ends_its_sessions() -> None:
    sessions, accounts, key, _ = await _setup()
    _, cookie = _issued(sessions, key)
    await accounts.revoke_key(key_id=None, key=key)
    assert await sessions.current(_request(cookie)) is None


def test_csrf_tokens_must_match_exactly() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("abc", None)
    assert not tokens_match("abc", "")
