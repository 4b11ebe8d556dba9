"""Australia Post through the Shipping and Tracking API ("Track items").

``GET {base}/shipping/v1/track?tracking_ids=a,b,…`` with up to 10 ids, HTTP Basic auth of the
connection's ``api_key`` and ``client_secret`` (the API password), and the connection's
``account_number`` in the ``account-number`` header. There is no token. ``base_url`` is the host
(``https://digitalapi.auspost.com.au``; ``"test"`` is ``https://digitalapi.auspost.com.au/test``).

What Australia Post answers, and what it means here:

- ``200`` ``tracking_results[]``: per id, either ``trackable_items`` (its events) or ``errors``
  (``ESB-10001`` "Invalid tracking ID"). Australia Post documents no error that tells an id it
  does not know from a malformed one, so an id with errors is not found (``NY``), never invalid.
  An id left out of the answer is not found as well.
- ``400`` ``errors[{code: 51101, TOO_MANY_AP_TRACKING_IDS}]``: more ids than Australia Post takes
  in one request (it documents 10; a lower limit on an account would say this too): the batch is
  asked again one id at a time, so the connection does not stall.
- ``401``/``403`` (credentials refused), ``429`` (``API_002`` "Too many requests"), ``5xx``,
  timeouts, other refusals and bodies that are not that JSON: transport errors; the connection
  backs off and no stored status changes.

What the answers mean is read in ``australia_post_reading.py``.

Request budget. 10 requests a minute, as Australia Post's Track items documentation is
transcribed (a third-party copy; not checked); ``requests_per_minute`` on the connection
overrides it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence

from shiptrack.carriers.australia_post_reading import (
    TOO_MANY_IDS,
    Malformed,
    error_codes,
    error_text,
    result_report,
    tracking_results,
)
from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.batches import ask_in_batches, distinct_numbers
from shiptrack.carriers.http import Answer, CredentialsRejected, HttpCarrier, check_transport
from shiptrack.domain.changes import NOT_FOUND

log = logging.getLogger("shiptrack.carriers.australia_post")

CARRIER = "Australia Post"
TRACK_PATH = "/shipping/v1/track"
#: "Track items" takes at most 10 ids (more: 400 51101).
BATCH_SIZE = 10
#: 10 requests a minute, never two at once.
DEFAULT_BUDGET = Budget(requests_per_second=10 / 60, burst=1)
#: An id no item has, asked when credentials are checked: any documented answer proves them.
PROBE_ID = "7XX1000"


class AustraliaPostCarrier(HttpCarrier):
    """Australia Post Track items (HTTP Basic plus ``account-number``)."""

    carrier = CARRIER
    batch_size = BATCH_SIZE
    budget = DEFAULT_BUDGET

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One request per 10 ids; any transport error fails the whole batch. 51101 (fewer ids
        are taken than documented) asks each id on its own."""
        return await ask_in_batches(
            distinct_numbers(requests),
            BATCH_SIZE,
            lambda chunk: self._track_chunk(connection, chunk),
            refused_alone=f"{CARRIER} refused a single id ({TOO_MANY_IDS})",
        )

    async def verify(self, connection: ConnectionContext) -> None:
        """One lookup of an id no item has: a documented answer proves the API key, password and
        account number; ``401``/``403`` mean Australia Post refused them."""
        answer = await self._ask(connection, [PROBE_ID], verifying=True)
        if answer.status in (401, 403):
            raise CredentialsRejected(
                f"{CARRIER} refused the api_key/client_secret and account_number "
                f"(HTTP {answer.status})"
            )
        check_transport(answer, CARRIER)
        if answer.status not in (200, 400):
            raise TransportError(
                f"{CARRIER} answered the credentials check with HTTP {answer.status}"
            )
        document = answer.json(CARRIER)  # a host that does not answer like Australia Post is not
        if answer.status == 200:
            try:
                tracking_results(document)
            except Malformed as error:
                raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None

    async def _track_chunk(
        self, connection: ConnectionContext, chunk: list[str]
    ) -> dict[str, Result] | None:
        """The results of up to 10 ids; ``None`` when Australia Post says there are too many."""
        answer = await self._ask(connection, chunk)
        check_transport(answer, CARRIER)
        document = answer.json(CARRIER)
        if answer.status == 400 and TOO_MANY_IDS in error_codes(document):
            log.warning("%s refused %d ids at once (%s)", CARRIER, len(chunk), TOO_MANY_IDS)
            return None
        if answer.status != 200:
            # What the carrier said goes to the log only: an answer is never repeated to clients.
            detail = error_text(document.get("errors") if isinstance(document, dict) else None)
            log.warning("%s answered HTTP %s: %s", CARRIER, answer.status, detail)
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        try:
            entries = tracking_results(document)
        except Malformed as error:
            raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None
        wanted = {number.upper(): number for number in chunk}
        results: dict[str, Result] = {}
        for entry in entries:
            asked = str(entry.get("tracking_id") or "").strip().upper()
            number = wanted.get(asked)
            if number is None:
                continue
            report = result_report(entry)
            if report is None:
                log.info(
                    "%s does not know %s: %s", CARRIER, number, error_text(entry.get("errors"))
                )
                results[number] = NOT_FOUND
            else:
                results[number] = report
        for number in chunk:
            if number not in results:
                log.info("%s left %s out of its answer", CARRIER, number)
                results[number] = NOT_FOUND
        return results

    async def _ask(
        self, connection: ConnectionContext, ids: list[str], *, verifying: bool = False
    ) -> Answer:
        key = connection.credentials.get("api_key")
        password = connection.credentials.get("client_secret")
        account = connection.account_number
        if not key or not password or not account:
            message = f"the {CARRIER} connection needs api_key, client_secret and account_number"
            raise CredentialsRejected(message) if verifying else TransportError(message)
        token = base64.b64encode(f"{key}:{password}".encode()).decode("ascii")
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}{TRACK_PATH}",
            params={"tracking_ids": ",".join(ids)},
            headers={
                "Authorization": f"Basic {token}",
                "account-number": account,
                "Accept": "application/json",
            },
        )
