"""UPS: the Track API v1 (polling) and Track Alert (pushes).

Polling (``GET {base}/api/track/v1/details/{inquiryNumber}``, one number per request) uses an
OAuth2 client-credentials token fetched with HTTP Basic from ``{base}/security/v1/oauth/token``,
cached per connection (UPS tokens live about four hours) and refreshed before it expires; a 401
fetches a new token once and retries. Every request carries a fresh ``transId`` and
``transactionSrc: shiptrack``.

What the answers say, and how they are normalised, is read in ``ups_reading.py``.

Pushes: UPS Track Alert fetches a token from
``POST /v1/carriers/push/ups/{carrier_id}/token`` (client_secret_basic: the connection's
``client_id`` and its ``webhook_secret``), then posts each event with ``Authorization: Bearer`` and
``x-api-key: <client id>``. The token is self-contained: connection id, expiry and a nonce, signed
with HMAC-SHA256 keyed by the webhook secret, so nothing is stored and a token for one connection is
worthless on another. A connection without a ``webhook_secret`` accepts no pushes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, quote

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
)
from shiptrack.carriers.http import (
    Answer,
    CarrierHttp,
    CredentialsRejected,
    OAuthCarrier,
    Token,
)
from shiptrack.carriers.ups_reading import CARRIER, read_push_body, read_track_answer
from shiptrack.domain.changes import CarrierReport

TOKEN_PATH = "/security/v1/oauth/token"
TRACK_PATH = "/api/track/v1/details/{number}"
TRACK_QUERY = {
    "locale": "en_US",
    "returnSignature": "false",
    "returnMilestones": "false",
    "returnPOD": "false",
}
#: What UPS sees in ``transactionSrc``.
TRANSACTION_SOURCE = "shiptrack"
#: Seconds a push token issued to UPS Track Alert stays valid.
PUSH_TOKEN_LIFETIME = 3600.0
_PUSH_TOKEN_CONTEXT = "shiptrack-ups-track-alert"


class UpsCarrier(OAuthCarrier):
    """UPS Track API v1 and Track Alert."""

    carrier = CARRIER
    batch_size = 1
    #: UPS publishes no Track API limit; one request a second (86 400 a day, enough for about
    #: 10 000 packages in transit on the default 3-hour schedule) stays far from any gateway
    #: throttle. A connection's ``requests_per_minute`` overrides it; 429 + Retry-After is honoured.
    budget = Budget(requests_per_second=1.0, burst=1)
    accepts_push = True
    #: Track Alert fetches a token from shiptrack before it pushes.
    issues_push_tokens = True

    def __init__(
        self,
        http: CarrierHttp | None = None,
        *,
        clock: Callable[[], float] = time.time,
        push_token_lifetime: float = PUSH_TOKEN_LIFETIME,
    ) -> None:
        super().__init__(http or CarrierHttp(CARRIER))
        self.clock = clock
        self.push_token_lifetime = push_token_lifetime

    # --- OAuth ----------------------------------------------------------------------------------

    async def fetch_token(self, connection: ConnectionContext) -> Token:
        """A token from UPS's OAuth endpoint (client credentials in HTTP Basic)."""
        client_id = connection.credentials.get("client_id", "")
        client_secret = connection.credentials.get("client_secret", "")
        if ":" in client_id:  # HTTP Basic cannot carry it
            raise CredentialsRejected("UPS client_id must not contain ':'")
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        headers = {"Accept": "application/json", "Authorization": f"Basic {basic}"}
        if connection.account_number:
            headers["x-merchant-id"] = connection.account_number
        answer = await self.http.send(
            "POST",
            connection.base_url + TOKEN_PATH,
            headers=headers,
            form={"grant_type": "client_credentials"},
        )
        return self.token_answer(answer)

    # --- polling --------------------------------------------------------------------------------

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One Track API request per number (UPS takes one inquiry number per request)."""
        results: dict[str, Result] = {}
        for request in requests:
            number = request.tracking_number
            url = connection.base_url + TRACK_PATH.format(number=quote(number, safe=""))

            async def call(token: str, url: str = url) -> Answer:
                headers = {
                    "Authorization": f"Bearer {token}",
                    "transId": uuid.uuid4().hex,
                    "transactionSrc": TRANSACTION_SOURCE,
                    "Accept": "application/json",
                }
                return await self.http.send("GET", url, headers=headers, params=TRACK_QUERY)

            answer = await self.authorized(connection, call)
            results[number] = read_track_answer(answer, number)
        return results

    # --- Track Alert ----------------------------------------------------------------------------

    def issue_push_token(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        """The OAuth token endpoint UPS Track Alert calls before pushing (client_secret_basic)."""
        client_id, secret = _push_credentials(connection)
        given = _basic_credentials(_header(headers, "authorization"))
        if given is None:
            raise PushRefused("the token request needs HTTP Basic client credentials")
        if not (_same(given[0], client_id) and _same(given[1], secret)):
            raise PushRefused("the client id or secret of the token request is wrong")
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            raise PushRefused("grant_type must be client_credentials", status_code=400)
        expires = int(self.clock() + self.push_token_lifetime)
        nonce = secrets.token_hex(8)
        signature = _push_signature(secret, connection.connection_id, client_id, expires, nonce)
        return {
            "access_token": f"{connection.connection_id}.{expires}.{nonce}.{signature}",
            "token_type": "Bearer",
            "expires_in": int(self.push_token_lifetime),
        }

    async def read_push(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, CarrierReport]:
        """A Track Alert ``TrackingEventRequest``: one event for one number."""
        client_id, secret = _push_credentials(connection)
        self._check_push_token(connection, client_id, secret, _header(headers, "authorization"))
        api_key = _header(headers, "x-api-key")
        if api_key is not None and not _same(api_key, client_id):
            raise PushRefused("x-api-key is not this connection's client id")
        number, report = read_push_body(body)
        return {number: report}

    def _check_push_token(
        self, connection: ConnectionContext, client_id: str, secret: str, authorization: str | None
    ) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PushRefused("a Track Alert push needs an Authorization: Bearer token")
        parts = token.strip().split(".")
        if len(parts) != 4 or not (parts[1].isascii() and parts[1].isdigit()):
            raise PushRefused("the bearer token is not one shiptrack issued")
        connection_id, expires, nonce, signature = parts
        expected = _push_signature(secret, connection.connection_id, client_id, int(expires), nonce)
        if connection_id != str(connection.connection_id) or not _same(signature, expected):
            raise PushRefused("the bearer token is not valid for this connection")
        if int(expires) <= self.clock():
            raise PushRefused("the bearer token has expired")


# --- push authentication helpers ----------------------------------------------------------------


def _push_credentials(connection: ConnectionContext) -> tuple[str, str]:
    client_id = connection.credentials.get("client_id")
    secret = connection.credentials.get("webhook_secret")
    if not client_id or not secret:
        raise PushRefused("this UPS connection has no webhook_secret, so it accepts no pushes")
    return client_id, secret


def _push_signature(
    secret: str, connection_id: int, client_id: str, expires: int, nonce: str
) -> str:
    message = f"{_PUSH_TOKEN_CONTEXT}|{connection_id}|{client_id}|{expires}|{nonce}"
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
