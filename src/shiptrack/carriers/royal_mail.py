"""Royal Mail through its Tracking API v2 (Tracking for Server-side app, Swagger 1.0.36).

Every call sends the connection's ``client_id`` as ``X-IBM-Client-Id``, its ``client_secret`` as
``X-IBM-Client-Secret`` and ``X-Accept-RMG-Terms: yes`` (without it Royal Mail answers 400 E0004).
There is no token. The base URL is the host (``https://api.royalmail.net``; the Swagger names the
same host for production and development, so ``"test"`` is that host too).

Polling, per batch of up to 30 numbers:

1. ``GET {base}/mailpieces/v2/summary?mailPieceId=a,b,…`` (at most 30, comma separated) says, per
   number, whether Royal Mail knows it (``status`` ``200`` with a ``summary``) or not (an ``error``
   such as ``E1142`` "Barcode reference … isn't recognised"): not known is not found (``NY``).
2. ``GET {base}/mailpieces/v2/{id}/events`` for each number whose summary changed: the adapter
   :attr:`~RoyalMailCarrier.compares_with_stored`, so the engine tells it when each number's
   newest stored scan happened, and a summary whose ``lastEventDateTime`` is not later than that
   is :data:`~shiptrack.domain.changes.UNCHANGED` without a second call. Numbers with nothing
   stored yet, those whose state must be announced (first check, restart), and summaries without
   a last event time get their events fetched. The summary also saves one call per unknown
   number, and stops a batch early when the credentials, the rate limit or Royal Mail fail.

Errors come in Royal Mail's own body (``httpCode``, ``httpMessage``, ``moreInformation``,
``errors[{errorCode, errorDescription, …}]``) and mean:

- 404 (``E1142`` and other per-number codes), or a 400 for one number (a barcode Royal Mail
  refuses): not found, so that one unusable number cannot stall the connection. A summary 400
  that names no numbers is retried number by number through ``/events``.
- 400 ``E0004`` (header validation): Royal Mail refused the request itself: a transport error.
- 401 (invalid client id or secret), 403 ``E0016`` (access denied), 429, 5xx (``E0009``), timeouts
  and bodies that are not that JSON: transport errors; the connection backs off and no stored
  status changes.

What the answers mean is read in ``royal_mail_reading.py``.

Request budget. Royal Mail publishes no number for this API, only the 429 it answers. The budget
paces :meth:`RoyalMailCarrier.track` calls, and one call is up to 31 requests (a summary and up to
30 event histories when every item moved), so the default is one call every 10 seconds: at most
about 3 requests a second and 259,200 number checks a day. A connection sets
``requests_per_minute`` for more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from shiptrack.carriers.base import Budget, ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.http import Answer, CredentialsRejected, HttpCarrier, check_transport
from shiptrack.carriers.royal_mail_reading import (
    Malformed,
    compact,
    error_codes,
    error_text,
    events_report,
    piece_error,
    piece_ids,
    piece_known,
    piece_last_event_at,
    summary_pieces,
)
from shiptrack.domain.changes import NOT_FOUND, UNCHANGED

log = logging.getLogger("shiptrack.carriers.royal_mail")

CARRIER = "Royal Mail"
BASE_PATH = "/mailpieces/v2"
#: The summary operation takes at most 30 numbers.
BATCH_SIZE = 30
#: Royal Mail's code for a request without ``X-Accept-RMG-Terms`` (a refusal of the request).
HEADER_REFUSED = "E0004"
#: A barcode no item has, asked when credentials are checked (an answer proves them).
PROBE_NUMBER = "AA000000000GB"


class RoyalMailCarrier(HttpCarrier):
    """Royal Mail Tracking API v2 (``X-IBM-Client-Id`` / ``X-IBM-Client-Secret``)."""

    carrier = CARRIER
    batch_size = BATCH_SIZE
    budget = Budget(requests_per_second=0.1, burst=1)
    compares_with_stored = True

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """A summary per 30 numbers, then the events of each number whose summary shows an event
        newer than the newest stored one."""
        stored = {request.tracking_number: request.newest_event_at for request in requests}
        numbers = list(stored)
        results: dict[str, Result] = {}
        for start in range(0, len(numbers), BATCH_SIZE):
            chunk = numbers[start : start + BATCH_SIZE]
            known = await self._summary(connection, chunk, results)
            for number, last_event_at in known.items():
                newest = stored[number]
                if newest is not None and last_event_at is not None and last_event_at <= newest:
                    results[number] = UNCHANGED
                else:
                    results[number] = await self._events(connection, number)
        return results

    async def verify(self, connection: ConnectionContext) -> None:
        """One summary of a barcode no item has: any Royal Mail answer but 401/403 proves the
        client id and secret."""
        answer = await self._get(connection, "/summary", {"mailPieceId": PROBE_NUMBER})
        if answer.status in (401, 403):
            raise CredentialsRejected(
                f"{CARRIER} refused the client_id/client_secret (HTTP {answer.status})"
            )
        check_transport(answer, CARRIER)
        document = answer.json(CARRIER)  # a host that does not answer like Royal Mail is not it
        if answer.status == 400 and HEADER_REFUSED in error_codes(document):
            raise TransportError(f"{CARRIER} refused the request (HTTP 400 {HEADER_REFUSED})")
        if answer.status not in (200, 400, 404):
            raise TransportError(
                f"{CARRIER} answered the credentials check with HTTP {answer.status}"
            )

    async def _summary(
        self, connection: ConnectionContext, chunk: list[str], results: dict[str, Result]
    ) -> dict[str, datetime | None]:
        """Ask the summary of ``chunk``; record the numbers Royal Mail does not know in
        ``results`` and return those it knows, with when each one's last event happened."""
        answer = await self._get(connection, "/summary", {"mailPieceId": ",".join(chunk)})
        check_transport(answer, CARRIER)
        if answer.status not in (200, 400, 404):
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        document = answer.json(CARRIER)
        codes = error_codes(document)
        if answer.status == 400 and HEADER_REFUSED in codes:
            log.warning("%s refused the summary request: %s", CARRIER, error_text(document))
            raise TransportError(f"{CARRIER} refused the request (HTTP 400 {HEADER_REFUSED})")
        try:
            pieces = summary_pieces(document)
        except Malformed as error:
            if answer.status == 404:
                # Nothing asked is known: a 404 without pieces is about the whole list.
                results.update(dict.fromkeys(chunk, NOT_FOUND))
                return {}
            if answer.status == 400:
                # A refusal that names no number: ask each number on its own, so that one bad
                # barcode does not hide the others.
                log.warning("%s refused a summary: %s", CARRIER, error_text(document))
                return dict.fromkeys(chunk)
            raise TransportError(f"{CARRIER} answered with an unreadable body: {error}") from None
        by_id = {compact(number): number for number in chunk}
        known: dict[str, datetime | None] = {}
        for piece in pieces:
            matches = [by_id[i] for i in piece_ids(piece) if i in by_id]
            for number in dict.fromkeys(matches):
                if piece_known(piece):
                    known[number] = piece_last_event_at(piece)
                else:
                    log.info("%s does not know %s: %s", CARRIER, number, piece_error(piece))
                    results[number] = NOT_FOUND
        missing = [n for n in chunk if n not in results and n not in known]
        if missing:
            log.warning("%s left %d numbers out of its summary", CARRIER, len(missing))
        return known

    async def _events(self, connection: ConnectionContext, number: str) -> Result:
        answer = await self._get(connection, f"/{quote(number, safe='')}/events", None)
        check_transport(answer, CARRIER)
        if answer.status in (400, 404):
            document = answer.json(CARRIER)
            if HEADER_REFUSED in error_codes(document):
                raise TransportError(f"{CARRIER} refused the request (HTTP 400 {HEADER_REFUSED})")
            if answer.status == 400:
                log.warning("%s refused to look up %s: %s", CARRIER, number, error_text(document))
            return NOT_FOUND
        if answer.status != 200:
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        try:
            return events_report(answer.json(CARRIER))
        except Malformed as error:
            raise TransportError(f"{CARRIER} answered with an unreadable body: {error}") from None

    async def _get(
        self, connection: ConnectionContext, path: str, params: dict[str, str] | None
    ) -> Answer:
        client_id = connection.credentials.get("client_id")
        client_secret = connection.credentials.get("client_secret")
        if not client_id or not client_secret:
            raise CredentialsRejected(
                f"the {CARRIER} connection has no client_id and client_secret"
            )
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}{BASE_PATH}{path}",
            params=params,
            headers={
                "X-IBM-Client-Id": client_id,
                "X-IBM-Client-Secret": client_secret,
                "X-Accept-RMG-Terms": "yes",
                "Accept": "application/json",
            },
        )
