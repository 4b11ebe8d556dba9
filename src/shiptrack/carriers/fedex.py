"""FedEx: Track API v1 ("Basic Integrated Visibility") and FedEx tracking webhooks.

Polling
    ``POST {base}/oauth/token`` (form: ``grant_type=client_credentials``, ``client_id``,
    ``client_secret``) gives a bearer token that lasts about an hour; it is cached per connection
    and fetched again a minute before it expires, or at once when FedEx answers 401.
    ``POST {base}/track/v1/trackingnumbers`` asks for up to 30 numbers at a time with detailed
    scans. A number FedEx does not know is answered inside the 200, per number
    (``TRACKING.TRACKINGNUMBER.NOTFOUND``): it is "not found", never an error (so is any other
    per-number error that comes without shipment data). 401/403 (after one fresh token), 429,
    5xx, timeouts and bodies that are not the documented JSON are transport errors for the whole
    batch.

Which shipment of a number is followed, and how answers are normalised, is read in
``fedex_reading.py``.

Pushes
    FedEx tracking webhooks post Track API output (``output.completeTrackResults``), signed with
    ``fdx-signature`` = base64(HMAC-SHA256(security token, raw body)); the security token is the
    connection's ``webhook_secret``. A connection without one refuses every push.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.fedex_reading import Malformed, complete_results, error_text, result
from shiptrack.carriers.http import Answer, OAuthCarrier, Token
from shiptrack.domain.changes import CarrierReport
from shiptrack.domain.timefmt import utcnow

log = logging.getLogger("shiptrack.carriers.fedex")

TOKEN_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"
#: ``trackingInfo`` takes at most 30 numbers (Track API v1).
BATCH_SIZE = 30
SIGNATURE_HEADER = "fdx-signature"


class FedexCarrier(OAuthCarrier):
    """FedEx Track API v1; one instance serves every FedEx connection of a process.

    Default budget: one request per second, bursts of ten. FedEx allows each API project 1,400
    transactions per 10 seconds, but the tracking capability of a project also has a daily quota
    of 100,000 requests, and both are shared by everything that uses the project's credentials
    (several shiptrack connections, processes, or the customer's own systems). One call per second
    (30 numbers each) stays under the daily quota on its own — 86,400 calls, up to 2.6 million
    number checks a day — and a burst of ten is 1/140 of the 10-second limit.
    """

    carrier = "FedEx"
    batch_size = BATCH_SIZE
    budget = Budget(requests_per_second=1.0, burst=10)
    accepts_push = True

    # --- credentials --------------------------------------------------------------------------

    async def fetch_token(self, connection: ConnectionContext) -> Token:
        """An OAuth token for the connection's API key and secret key."""
        client_id, client_secret = self.client_credentials(connection)
        answer = await self.http.send(
            "POST",
            connection.base_url + TOKEN_PATH,
            headers={"Accept": "application/json"},
            form={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
        return self.token_answer(_inflated(answer))

    # --- polling ------------------------------------------------------------------------------

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One report (or not found) per number that FedEx answered for."""
        since = {request.tracking_number: request.since for request in requests}
        numbers = list(since)
        results: dict[str, Result] = {}
        for start in range(0, len(numbers), BATCH_SIZE):
            chunk = numbers[start : start + BATCH_SIZE]
            document = await self._ask(connection, chunk)
            try:
                answered = complete_results(document)
                for number in chunk:
                    shipments = answered.get(number.strip().upper())
                    if shipments is not None:
                        results[number] = result(shipments, since[number])
            except Malformed as error:
                raise TransportError(f"FedEx answered with an unreadable body: {error}") from None
        return results

    async def _ask(self, connection: ConnectionContext, numbers: list[str]) -> Any:
        payload = {
            "includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
        }

        async def call(token: str) -> Answer:
            return await self.http.send(
                "POST",
                connection.base_url + TRACK_PATH,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    "X-locale": "en_US",
                    "x-customer-transaction-id": str(uuid.uuid4()),
                },
                json_body=payload,
            )

        answer = _inflated(await self.authorized(connection, call))
        _raise_for_status(answer)
        return answer.json(self.carrier)

    # --- pushes -------------------------------------------------------------------------------

    async def read_push(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, CarrierReport]:
        """A FedEx tracking webhook, authenticated by its ``fdx-signature``."""
        secret = connection.credentials.get("webhook_secret")
        if not secret:
            raise PushRefused(
                "this FedEx connection has no webhook_secret (the webhook's security token), so "
                "its pushes cannot be authenticated"
            )
        signature = _header(headers, SIGNATURE_HEADER)
        if not signature:
            raise PushRefused(f"the {SIGNATURE_HEADER} header is missing")
        if not hmac.compare_digest(signature.strip().encode(), fdx_signature(secret, body)):
            raise PushRefused(f"the {SIGNATURE_HEADER} header does not match the body")
        try:
            document = json.loads(body)
            answered = complete_results(document)
        except (ValueError, UnicodeDecodeError) as error:
            raise PushRefused(
                f"the push is not FedEx tracking output: {error}", status_code=400
            ) from None
        reports: dict[str, CarrierReport] = {}
        try:
            for number, shipments in answered.items():
                answer = result(shipments, None)
                if isinstance(answer, CarrierReport) and number:
                    reports[number] = answer
        except Malformed as error:
            raise PushRefused(
                f"the push is not FedEx tracking output: {error}", status_code=400
            ) from None
        if not reports:
            raise PushRefused("the push carries no tracking data", status_code=400)
        return reports


def fdx_signature(secret: str, body: bytes) -> bytes:
    """What FedEx puts in ``fdx-signature``: base64(HMAC-SHA256(security token, raw body))."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _inflated(answer: Answer) -> Answer:
    """FedEx may send a gzip body without saying so; inflate it (a broken one stays as is and
    fails as unreadable)."""
    if answer.body[:2] == b"\x1f\x8b":
        try:
            return Answer(answer.status, answer.headers, gzip.decompress(answer.body))
        except (OSError, EOFError):
            return answer
    return answer


def _raise_for_status(answer: Answer) -> None:
    """Anything but 200 from the track endpoint is a transport error for the batch."""
    if answer.status == 200:
        return
    # FedEx's error codes and messages go to the log only: a client sees the kind of failure.
    detail = error_text(answer)
    if detail:
        log.warning("FedEx answered HTTP %s: %s", answer.status, detail)
    if answer.status == 429:
        wait = answer.retry_after()
        quota = "quota" in detail.lower()
        if wait is None and quota:
            wait = _until_midnight_utc()
        what = "daily quota" if quota else "rate limit"
        raise TransportError(f"FedEx {what} reached (HTTP 429)", retry_after=wait)
    if answer.status >= 500:
        raise TransportError(
            f"FedEx failed with HTTP {answer.status}", retry_after=answer.retry_after()
        )
    if answer.status in (401, 403):
        raise TransportError(f"FedEx refused the credentials (HTTP {answer.status})")
    raise TransportError(f"FedEx answered HTTP {answer.status}")


def _until_midnight_utc() -> float:
    """Seconds until FedEx's daily quota resets (00:00 GMT)."""
    now = utcnow()
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0, 0), tzinfo=UTC)
    return (midnight - now).total_seconds()
