"""The outer edge of every request: request id, head and body limits, content type, API key, rate
limit.

A plain ASGI middleware, so that these checks cost little and run before FastAPI parses anything:
a request without a valid key gets ``401`` whatever else is wrong with it, and a body over the limit
is refused before it is read in full. A client address that keeps sending wrong keys is throttled
(``api.ratelimit.BadKeyGuard``). ``shiptrack serve`` refuses an oversized URL or header section
before the app sees it (``api.protocol``); the same limits are checked here for a server that
does not (the app run by another ASGI server).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shiptrack.api.errors import log_server_error
from shiptrack.api.ratelimit import BadKeyGuard, RateLimiter
from shiptrack.api.responses import REQUEST_ID_HEADER, error_response, new_request_id
from shiptrack.domain.apikeys import hash_api_key
from shiptrack.domain.errors import (
    PayloadTooLarge,
    RateLimited,
    ShiptrackError,
    Unauthorized,
    UnsupportedMediaType,
)
from shiptrack.domain.ids import format_id
from shiptrack.domain.limits import field_bytes, headers_too_large, url_too_long
from shiptrack.domain.timefmt import retry_after_header
from shiptrack.logs import log_context
from shiptrack.services.accounts import Accounts
from shiptrack.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Every path under /v1 needs an API key, but carrier pushes, which carriers authenticate their way.
_AUTHENTICATED_PREFIX = "/v1/"
_CARRIER_PUSH_PREFIX = "/v1/carriers/push/"
_NON_JSON_PREFIXES = (_CARRIER_PUSH_PREFIX, "/console/")
_MAX_KEY_LENGTH = 200
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Edge:
    """ASGI middleware; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, accounts: Accounts, limiter: RateLimiter
    ) -> None:
        self.app = app
        self.accounts = accounts
        self.limiter = limiter
        self.max_body = settings.max_body_bytes
        self.max_url = settings.max_url_bytes
        self.max_headers = settings.max_header_bytes
        self.default_limit = settings.rate_limit_per_minute
        self.bad_keys = BadKeyGuard(settings.auth_failures_per_minute)
        self.access_log = AccessLog() if settings.access_log else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            # ShipEngine's own docs call /v1/tracking/stop/ with a trailing slash.
            scope["path"] = path.rstrip("/") or "/"
        with log_context(request_id=request_id):
            if self.access_log is None:
                await self._serve(scope, receive, send, request_id)
                return
            started = time.perf_counter()
            status = 0

            async def send_noting_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self._serve(scope, receive, send_noting_status, request_id)
            finally:
                self.access_log.write(scope, status, time.perf_counter() - started)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        try:
            self._check_head(scope)
            # The key first: a request without a valid key is 401 whatever else is wrong with it.
            path = scope["path"]
            if path.startswith(_AUTHENTICATED_PREFIX) and not path.startswith(_CARRIER_PUSH_PREFIX):
                scope["state"]["account"] = await self._account(scope)
            receive = await self._checked_body(scope, receive)
        except ShiptrackError as error:
            # A 503 here (the database away while checking the key) is logged as the app's are.
            log_server_error(error, request_id)
            await error_response(error, request_id)(scope, receive, send)
            return

        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name == header[0] for name, _ in headers):
                    headers.append(header)
                message["headers"] = headers
            await send(message)

        account = scope["state"].get("account")
        with log_context(account_id=format_id(account.id) if account is not None else None):
            await self.app(scope, receive, send_with_request_id)

    def _check_head(self, scope: Scope) -> None:
        """Refuse a URL or header section over the limits ``api.protocol`` applies."""
        path = scope.get("raw_path") or scope["path"].encode()
        if len(path) + len(scope.get("query_string", b"")) > self.max_url:
            raise url_too_long(self.max_url)
        if sum(field_bytes(name, value) for name, value in scope["headers"]) > self.max_headers:
            raise headers_too_large(self.max_headers)

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        """Refuse oversized and non-JSON bodies; hand the app a body that was read in full."""
        headers = _headers(scope)
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = 0
            if length > self.max_body:
                raise PayloadTooLarge(_too_large(self.max_body))
        if declared in (None, b"0") and b"transfer-encoding" not in headers:
            return receive
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; let the app see the disconnect.
                return _replay(message, receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(_too_large(self.max_body))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # Carriers post what they post (UPS fetches its push token with a form body), and the
        # console's pages post HTML forms.
        json_only = not scope["path"].startswith(_NON_JSON_PREFIXES)
        if json_only and body and scope["method"] in _BODY_METHODS:
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type and not (
                content_type == b"application/json" or content_type.endswith(b"+json")
            ):
                raise UnsupportedMediaType(
                    f"Request bodies must be JSON (Content-Type: application/json), got "
                    f"{content_type.decode('latin-1')[:80]!r}"
                )
        return _replay({"type": "http.request", "body": body, "more_body": False}, receive)

    async def _account(self, scope: Scope) -> Any:
        key = _headers(scope).get(b"api-key", b"").decode("latin-1").strip()
        if not key:
            raise Unauthorized(
                "The API key is missing. Send it in the API-Key header. "
                "Please see https://www.shipengine.com/docs/auth"
            )
        key_hash = hash_api_key(key)
        address = scope["client"][0] if scope.get("client") else ""
        wait = self.bad_keys.throttled(address, key_hash)
        if wait:
            raise RateLimited(
                "Too many requests with a wrong API key came from your address; retry after the "
                "seconds in Retry-After. Please see https://www.shipengine.com/docs/auth",
                headers={"Retry-After": retry_after_header(wait)},
            )
        looked_up = len(key) <= _MAX_KEY_LENGTH and not self.bad_keys.known_bad(key_hash)
        account = await self.accounts.authenticate(key) if looked_up else None
        if account is None:
            self.bad_keys.failed(address, key_hash if looked_up else None)
            raise Unauthorized(
                "The API key is invalid. Please see https://www.shipengine.com/docs/auth"
            )
        self.bad_keys.succeeded(key_hash)
        wait = self.limiter.acquire(account.id, account.rate_limit_per_minute or self.default_limit)
        if wait:
            raise RateLimited(
                "You have exceeded the rate limit. Please see "
                "https://www.shipengine.com/docs/rate-limits",
                headers={"Retry-After": retry_after_header(wait)},
            )
        return account


class AccessLog:
    """One line per request on the ``shiptrack.access`` logger (``SHIPTRACK_ACCESS_LOG``), in the
    process's log format: client, method, path with query, status and milliseconds, with the
    request's ``request_id`` and ``account_id``."""

    #: Longest path and query written (a client can send 8 KB of URL).
    MAX_TARGET = 300

    def __init__(self) -> None:
        self.log = logging.getLogger("shiptrack.access")

    def write(self, scope: Scope, status: int, seconds: float) -> None:
        """Log one answered (or abandoned: status 0) request."""
        if not self.log.isEnabledFor(logging.INFO):
            return
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        client = scope.get("client")
        account = scope.get("state", {}).get("account")
        self.log.info(
            '%s "%s %s" %d %.1fms',
            client[0] if client else "-",
            scope["method"],
            target[: self.MAX_TARGET].decode("latin-1"),
            status,
            seconds * 1000,
            extra={"account_id": format_id(account.id) if account is not None else None},
        )


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope["headers"])


def _too_large(limit: int) -> str:
    return f"The request body is larger than the {limit} bytes this server accepts"


def _replay(first: Message, then: Receive) -> Receive:
    """A ``receive`` that yields ``first``, then whatever the client sends next (a disconnect)."""
    pending: list[Message] = [first]

    async def receive() -> Message:
        if pending:
            return pending.pop()
        return await then()

    return receive
