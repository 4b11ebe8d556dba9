"""What every real carrier adapter shares: HTTP with timeouts, error classification, OAuth tokens.

Every failure to get an answer the adapter can read — a refused connection, a timeout, 401/403
that a fresh token does not cure, 429, 5xx, a body that is not the JSON the carrier documents —
becomes a :class:`~shiptrack.carriers.base.TransportError`: the connection backs off and no stored
status changes.

A ``base_url`` is the user's to set, so every call goes through the outbound guard
(``shiptrack.outbound``; the strict policy unless the registry passes the configured one), and an
error message names the carrier and the kind of failure only: never what was answered (a body, an
error text), never aiohttp's text (it names host and port). The details go to the server log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver

from shiptrack.carriers.base import CarrierAdapter, ConnectionContext, TransportError
from shiptrack.domain.delivery import parse_retry_after
from shiptrack.domain.outbound import STRICT, OutboundPolicy
from shiptrack.domain.timefmt import utcnow
from shiptrack.outbound.client import SocketFactory, guarded_session, refused_by_policy

log = logging.getLogger("shiptrack.carriers")

#: Refresh a token this long before the carrier says it expires.
TOKEN_MARGIN_SECONDS = 60.0


class CredentialsRejected(TransportError):
    """The carrier refused the connection's credentials (a token request answered 400/401/403)."""


class DestinationRefused(TransportError):
    """The outbound policy refused the connection's API address; nothing was sent."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A carrier's HTTP answer, read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self, carrier: str) -> Any:
        """The body as JSON; a malformed body is a transport error, never a crash."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            log.warning(
                "%s answered HTTP %s with a body that is not JSON: %r",
                carrier,
                self.status,
                self.body[:120],
            )
            raise TransportError(
                f"{carrier} answered HTTP {self.status} with a body that is not the JSON it "
                "documents"
            ) from None

    def retry_after(self) -> float | None:
        """Seconds the carrier asked to wait, if it said."""
        return parse_retry_after(self.headers.get("Retry-After"), utcnow())


class CarrierHttp:
    """One HTTP client per adapter and process (created lazily inside the event loop), behind the
    outbound guard: ``policy`` defaults to the strict one, so a forgotten wiring is safe.
    ``resolver`` and ``socket_factory`` replace the system's underneath the guard (tests)."""

    def __init__(
        self,
        carrier: str,
        *,
        policy: OutboundPolicy = STRICT,
        timeout: float = 20.0,
        connect_timeout: float = 5.0,
        resolver: AbstractResolver | None = None,
        socket_factory: SocketFactory | None = None,
    ) -> None:
        self.carrier = carrier
        self.policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._resolver = resolver
        self._socket_factory = socket_factory
        self._session: aiohttp.ClientSession | None = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request and read the whole answer (gzip included); redirects are answers,
        never followed."""
        if self._session is None or self._session.closed:
            self._session = guarded_session(
                self.policy,
                timeout=self._timeout,
                resolver=self._resolver,
                socket_factory=self._socket_factory,
            )
        started = time.perf_counter()
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                data=form,
                params=params,
                allow_redirects=False,
            ) as response:
                answer = Answer(response.status, dict(response.headers), await response.read())
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s %s %s: HTTP %d, %d bytes in %.0f ms",
                        self.carrier,
                        method,
                        _origin(url) + yarl.URL(url).path,
                        answer.status,
                        len(answer.body),
                        (time.perf_counter() - started) * 1000,
                    )
                return answer
        except TimeoutError:
            raise TransportError(f"{self.carrier} did not answer in time") from None
        except (aiohttp.ClientError, OSError) as error:
            if refused_by_policy(error):
                log.warning("%s: %s refused by the outbound policy", self.carrier, _origin(url))
                raise DestinationRefused(
                    f"{self.carrier} was not called: its API address is refused by the outbound "
                    "policy"
                ) from None
            log.warning("%s could not be reached: %s", self.carrier, error)
            raise TransportError(f"{self.carrier} could not be reached") from None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()


def _origin(url: str) -> str:
    """Scheme, host and port of ``url`` for the log (never user info, path or query)."""
    try:
        return str(yarl.URL(url).origin())
    except ValueError:
        return "an unreadable URL"


def check_transport(answer: Answer, carrier: str) -> None:
    """Raise for answers that say "the carrier could not answer now": 401/403, 429, 5xx."""
    if answer.status == 429:
        raise TransportError(
            f"{carrier} rate limit reached (HTTP 429)", retry_after=answer.retry_after()
        )
    if answer.status >= 500:
        raise TransportError(
            f"{carrier} failed with HTTP {answer.status}", retry_after=answer.retry_after()
        )
    if answer.status in (401, 403):
        raise TransportError(f"{carrier} refused the credentials (HTTP {answer.status})")


@dataclass(frozen=True, slots=True)
class Token:
    """An OAuth2 access token and when to stop using it (monotonic seconds)."""

    value: str
    refresh_at: float

    @classmethod
    def from_response(cls, body: Any, carrier: str) -> Token:
        """A token from an OAuth2 token response (``expires_in`` may be a string)."""
        try:
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
        except (KeyError, TypeError, ValueError):
            raise TransportError(f"{carrier} answered the token request without a token") from None
        margin = min(TOKEN_MARGIN_SECONDS, lifetime / 10)
        return cls(value, time.monotonic() + lifetime - margin)


class TokenCache:
    """OAuth2 tokens per connection, fetched once when many requests need one at the same time."""

    def __init__(self) -> None:
        self._tokens: dict[int, Token] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, connection_id: int, fetch: Callable[[], Awaitable[Token]]) -> str:
        """A valid token for the connection."""
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        async with lock:
            token = self._tokens.get(connection_id)
            if token is None or token.refresh_at <= time.monotonic():
                token = await fetch()
                self._tokens[connection_id] = token
            return token.value

    def forget(self, connection_id: int) -> None:
        """Drop a token the carrier no longer accepts."""
        self._tokens.pop(connection_id, None)


class HttpCarrier(CarrierAdapter):
    """Base of the real carriers: one :class:`CarrierHttp` per adapter and process, named after the
    carrier (the registry passes one guarded by the configured outbound policy)."""

    def __init__(self, http: CarrierHttp | None = None) -> None:
        self.http = http or CarrierHttp(self.carrier)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()


class OAuthCarrier(HttpCarrier):
    """Base of the OAuth2 client-credentials carriers (USPS, UPS, FedEx)."""

    def __init__(self, http: CarrierHttp | None = None) -> None:
        super().__init__(http)
        self.tokens = TokenCache()

    @abstractmethod
    async def fetch_token(self, connection: ConnectionContext) -> Token:
        """Ask the carrier for a token (each carrier's own request)."""

    def client_credentials(self, connection: ConnectionContext) -> tuple[str, str]:
        """The connection's ``client_id`` and ``client_secret`` (refused when either is missing)."""
        client_id = connection.credentials.get("client_id")
        client_secret = connection.credentials.get("client_secret")
        if not client_id or not client_secret:
            raise CredentialsRejected(
                f"the {self.carrier} connection has no client_id and client_secret"
            )
        return client_id, client_secret

    async def verify(self, connection: ConnectionContext) -> None:
        """Check the credentials by fetching a token (:class:`CredentialsRejected` if refused).

        Never through the cache: the connection being checked has no id yet, and two accounts
        connecting at once must not share each other's token.
        """
        await self.fetch_token(connection)

    async def authorized(
        self, connection: ConnectionContext, call: Callable[[str], Awaitable[Answer]]
    ) -> Answer:
        """Run ``call`` with a bearer token; on 401 fetch a new token and try once more."""
        fetch = lambda: self.fetch_token(connection)  # noqa: E731
        answer = await call(await self.tokens.get(connection.connection_id, fetch))
        if answer.status == 401:
            self.tokens.forget(connection.connection_id)
            answer = await call(await self.tokens.get(connection.connection_id, fetch))
        return answer

    def token_answer(self, answer: Answer) -> Token:
        """Read a token response, classifying refusals and outages."""
        if answer.status in (400, 401, 403):
            raise CredentialsRejected(
                f"{self.carrier} refused the client_id/client_secret (HTTP {answer.status})"
            )
        check_transport(answer, self.carrier)
        if answer.status != 200:
            raise TransportError(f"{self.carrier} token request failed with HTTP {answer.status}")
        return Token.from_response(answer.json(self.carrier), self.carrier)
