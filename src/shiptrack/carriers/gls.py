"""GLS through Track And Trace v1 (GLS Group API, ``api.gls-group.net``).

Token. OAuth2 client credentials from the Authentication API v2, ``POST {base}/oauth2/v2/token``
(form ``grant_type=client_credentials``, ``client_id``, ``client_secret``; GLS also takes them
in HTTP Basic). The Track And Trace spec's security scheme names ``…/oauth2/v1/token``, but the
Authentication API is the spec of the token endpoint itself and serves only ``/oauth2/v2`` (on
production and sandbox); v2 is used. Tokens last up to four hours; :class:`OAuthCarrier` caches
one per connection, renews it before ``expires_in`` and once more when GLS answers 401 (Apigee's
``steps.jwt.TokenExpired``). A refused token request (400 "Invalid client identifier", 401, 403)
refuses the connection.

Tracking. ``GET {base}/track-and-trace-v1/tracking/simple/trackids/{a,b,…}`` with up to 10 parcel
ids, ``Accept-Language: EN`` (the mapping reads English descriptions). What GLS answers:

- ``200`` ``parcels[]``: per id either the parcel or ``errorCode`` ``E_404_01`` (not found:
  ``NY``; also an id left out of the answer). ``E_400_01`` (GLS refuses that one id) is not found
  as well, so one bad id cannot stall the connection; ``E_400_02`` (too many ids) asks the batch
  again one id at a time; ``E_500_01`` (GLS failed on that parcel) fails the batch, so that no
  stored status changes on a failure.
- ``400`` (a problem body: "Provided … of size '11' is more than allowed limit of 10", or GLS
  refusing an id): the batch is asked again one id at a time, and an id refused on its own is
  not found.
- ``401``/``403`` after a fresh token, ``429`` (``policies.ratelimit.QuotaViolation``: the daily
  quota), ``5xx``, a ``404`` (a wrong ``base_url``: GLS answers unknown ids inside a 200),
  timeouts and bodies that are not that JSON: transport errors.

Hosts. ``production`` is ``https://api.gls-group.net``; ``test`` is the sandbox the specs name,
``https://api-sandbox.gls-group.net`` (GLS notes the two are identical and asks clients to use
production).

Budget. GLS allows 500 requests a day by default ("By default, clients are limited to 500
requests per day"): one call every 172.8 s, never two at once, i.e. up to 5,000 number checks a
day. ``requests_per_minute`` on the connection replaces it for a higher quota. Token requests
have their own limit (100,000 a day) and are not counted.

What the answers mean is read in ``gls_reading.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import quote

from shiptrack.carriers.base import Budget, ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.batches import ask_in_batches, distinct_numbers
from shiptrack.carriers.gls_reading import (
    PARCEL_FAILED,
    TOO_MANY_IDS,
    UNKNOWN_ID,
    Malformed,
    error_text,
    fault_code,
    parcel_report,
    parcels,
    pick,
)
from shiptrack.carriers.http import Answer, OAuthCarrier, Token
from shiptrack.domain.changes import NOT_FOUND

log = logging.getLogger("shiptrack.carriers.gls")

CARRIER = "GLS"
TOKEN_PATH = "/oauth2/v2/token"
TRACK_PATH = "/track-and-trace-v1/tracking/simple/trackids/"
#: Track And Trace takes at most 10 parcel ids per request.
BATCH_SIZE = 10
#: 500 requests a day, never two at once.
DEFAULT_BUDGET = Budget(requests_per_second=500 / 86400, burst=1)
#: Apigee's error code for the daily quota.
QUOTA_VIOLATION = "policies.ratelimit.QuotaViolation"


class GlsCarrier(OAuthCarrier):
    """GLS Track And Trace v1 (OAuth2 client credentials)."""

    carrier = CARRIER
    batch_size = BATCH_SIZE
    budget = DEFAULT_BUDGET

    async def fetch_token(self, connection: ConnectionContext) -> Token:
        """A token from the Authentication API v2 (credentials in the form body)."""
        client_id, client_secret = self.client_credentials(connection)
        answer = await self.http.send(
            "POST",
            connection.base_url.rstrip("/") + TOKEN_PATH,
            headers={"Accept": "application/json"},
            form={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
        return self.token_answer(answer)

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One request per 10 ids; any transport error fails the whole batch. Ids GLS refuses
        together are asked one at a time."""
        return await ask_in_batches(
            distinct_numbers(requests),
            BATCH_SIZE,
            lambda chunk: self._track_chunk(connection, chunk),
            # Never raised: a single id GLS refuses is not found (see _track_chunk).
            refused_alone=f"{CARRIER} refused a single id",
        )

    async def _track_chunk(
        self, connection: ConnectionContext, chunk: list[str]
    ) -> dict[str, Result] | None:
        """The results of ``chunk``; ``None`` when GLS took fewer ids than were sent."""
        answer = await self._ask(connection, chunk)
        _raise_for_status(answer)
        document = answer.json(CARRIER)
        if answer.status == 400:
            log.warning("%s answered HTTP 400: %s", CARRIER, error_text(document))
            if len(chunk) > 1:
                log.warning("%s refused %d ids at once; asking one at a time", CARRIER, len(chunk))
                return None
            # GLS refuses this one id: not found, so that one bad id cannot stall the connection.
            return {chunk[0]: NOT_FOUND}
        try:
            entries = parcels(document)
        except Malformed as error:
            raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None
        answered: dict[str, list[dict[str, object]]] = {}
        errors: dict[str, str] = {}
        for entry in entries:
            asked = str(entry.get("requested") or entry.get("unitno") or "").strip().upper()
            code = entry.get("errorCode")
            if code:
                errors[asked] = str(code)
                log.info("%s answered %s for %s: %s", CARRIER, code, asked, error_text(entry))
            else:
                answered.setdefault(asked, []).append(entry)
        if TOO_MANY_IDS in errors.values() and len(chunk) > 1:
            log.warning("%s took fewer than %d ids; asking one at a time", CARRIER, len(chunk))
            return None  # a single id answered E_400_02 is refused: not found, below
        results: dict[str, Result] = {}
        for number in chunk:
            key = number.upper()
            if key in answered:
                results[number] = parcel_report(pick(answered[key], key))
            elif errors.get(key) == PARCEL_FAILED:
                raise TransportError(f"{CARRIER} failed to read a parcel ({PARCEL_FAILED})")
            else:
                if key not in errors:
                    log.info("%s left %s out of its answer", CARRIER, number)
                elif errors[key] != UNKNOWN_ID:
                    log.warning("%s refused %s (%s): not found", CARRIER, number, errors[key])
                results[number] = NOT_FOUND
        return results

    async def _ask(self, connection: ConnectionContext, ids: list[str]) -> Answer:
        path = ",".join(quote(i, safe="") for i in ids)
        url = connection.base_url.rstrip("/") + TRACK_PATH + path

        async def call(token: str) -> Answer:
            return await self.http.send(
                "GET",
                url,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    "Accept-Language": "EN",
                },
            )

        return await self.authorized(connection, call)


def _raise_for_status(answer: Answer) -> None:
    """Anything but 200 and 400 from the tracking endpoint is a transport error for the batch;
    what GLS said goes to the log only."""
    if answer.status in (200, 400):
        return
    document = _quiet_json(answer)
    log.warning("%s answered HTTP %s: %s", CARRIER, answer.status, error_text(document))
    if answer.status == 429:
        quota = fault_code(document) == QUOTA_VIOLATION
        what = "daily quota" if quota else "rate limit"
        raise TransportError(
            f"{CARRIER} {what} reached (HTTP 429)", retry_after=answer.retry_after()
        )
    if answer.status >= 500:
        raise TransportError(
            f"{CARRIER} failed with HTTP {answer.status}", retry_after=answer.retry_after()
        )
    if answer.status in (401, 403):
        raise TransportError(f"{CARRIER} refused the credentials (HTTP {answer.status})")
    raise TransportError(f"{CARRIER} answered HTTP {answer.status}")


def _quiet_json(answer: Answer) -> object:
    try:
        return answer.json(CARRIER)
    except TransportError:
        return None
