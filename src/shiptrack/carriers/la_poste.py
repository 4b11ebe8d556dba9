"""La Poste (letter mail, Colissimo and Chronopost) through the Suivi v2 API.

``GET {base}/idships/{id1,id2,…}?lang=en_GB`` with 1 to 10 ids, comma separated, and the
connection's ``api_key`` in the ``X-Okapi-Key`` header (La Poste's Okapi gateway key; there is no
token). ``base_url`` includes the API's path: production is ``https://api.laposte.fr/suivi/v2``,
the only server the spec names, so ``"test"`` is production too (La Poste's test keys are
production keys with a low quota).

What La Poste answers, and what it means here (the per-id reading is in ``la_poste_reading.py``):

- ``200`` (one id) or ``207`` multi-status (several ids): one object per id with its own
  ``returnCode``: ``200`` and a ``shipment``, ``400`` (the number is not valid: an invalid number),
  ``404``/``104``/… (not found). A ``207`` mixing found, unknown and invalid ids is read id by id;
  an id the answer does not name is not found (with one id asked, its one answer is about it).
- ``400`` / ``404`` for a single id: that id is invalid / not found, when the body names it. A
  ``400`` that names none of the ids asked refuses the request itself: with several ids, each is
  asked alone; with one, it is a transport error (never an invalid number on a guess).
- ``401``/``403`` (key refused), ``429`` (quota), ``5xx``, timeouts, other statuses and bodies that
  are not La Poste's JSON (a ``404`` from a gateway without ``returnCode``): transport errors; the
  connection backs off and no stored status changes.

Request budget. La Poste's portal gives the Suivi plan 10 calls a second (as read by a third
party; a karrio sample of the gateway's 429 says 100 a second). The quota belongs to the key,
which several connections or installations may share, so the default is **1 call a second**: a
tenth of the documented limit, and still 36,000 numbers an hour at 10 a call.
``requests_per_minute`` on the connection overrides it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.batches import ask_in_batches, distinct_numbers
from shiptrack.carriers.http import Answer, CredentialsRejected, HttpCarrier, check_transport
from shiptrack.carriers.la_poste_reading import (
    INVALID,
    Malformed,
    entries,
    entry_id,
    entry_message,
    return_code,
    shipment_report,
)
from shiptrack.domain.changes import NOT_FOUND, InvalidNumber

log = logging.getLogger("shiptrack.carriers.la_poste")

CARRIER = "La Poste"
#: Suivi v2 takes 1 to 10 ids per call ("ID of object (1 to 10, comma separated)").
BATCH_SIZE = 10
#: One call a second, never two at once (see the module docstring).
DEFAULT_BUDGET = Budget(requests_per_second=1.0, burst=1)
#: Labels in English; the spec's ``lang`` enum offers en_GB (fr_FR is the default).
LANG = "en_GB"
#: HTTP statuses whose body is La Poste's per-id JSON.
ANSWERED = frozenset({200, 207, 400, 404})
#: A well-formed id no item has, asked when credentials are checked.
PROBE_ID = "0A00000000000"


class LaPosteCarrier(HttpCarrier):
    """La Poste Suivi v2 (``X-Okapi-Key``), up to 10 ids a call."""

    carrier = CARRIER
    batch_size = BATCH_SIZE
    budget = DEFAULT_BUDGET

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One call per 10 ids; any transport error fails the whole batch. A 400 about the
        request, not about an id, asks each id on its own."""
        return await ask_in_batches(
            distinct_numbers(requests),
            BATCH_SIZE,
            lambda chunk: self._track_chunk(connection, chunk),
            refused_alone=f"{CARRIER} refused the request (HTTP 400)",
        )

    async def verify(self, connection: ConnectionContext) -> None:
        """One lookup of an id no item has: any answer in La Poste's JSON proves the key;
        ``401``/``403`` mean La Poste refused it."""
        answer = await self._ask(connection, [PROBE_ID], verifying=True)
        if answer.status in (401, 403):
            raise CredentialsRejected(f"{CARRIER} refused the api_key (HTTP {answer.status})")
        check_transport(answer, CARRIER)
        if answer.status not in ANSWERED:
            raise TransportError(
                f"{CARRIER} answered the credentials check with HTTP {answer.status}"
            )
        try:
            entries(answer.json(CARRIER))  # a host that does not answer like La Poste is not
        except Malformed as error:
            raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None

    async def _track_chunk(
        self, connection: ConnectionContext, chunk: list[str]
    ) -> dict[str, Result] | None:
        """The results of up to 10 ids; ``None`` when a 400 refuses the request as a whole."""
        answer = await self._ask(connection, chunk)
        check_transport(answer, CARRIER)
        if answer.status not in ANSWERED:
            log.warning("%s answered HTTP %s", CARRIER, answer.status)
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        try:
            found = entries(answer.json(CARRIER))
        except Malformed as error:
            raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None
        wanted = {number.upper(): number for number in chunk}
        results: dict[str, Result] = {}
        for entry in found:
            named = (entry_id(entry) or "").upper()
            number = wanted.get(named)
            if number is None and len(chunk) == 1 and len(found) == 1:
                # One id asked, one answer: it is about that id, whatever spelling it names (but
                # a 400 that names no id refuses the request, not the number).
                number = chunk[0] if named or answer.status != 400 else None
            if number is None:
                if answer.status == 400:
                    # What La Poste said goes to the log only: it is never repeated to clients.
                    log.warning("%s refused the request: %s", CARRIER, entry_message(entry))
                    return None
                continue
            results[number] = self._verdict(number, entry)
        for number in chunk:
            if number not in results:
                log.info("%s left %s out of its answer", CARRIER, number)
                results[number] = NOT_FOUND
        return results

    def _verdict(self, number: str, entry: dict[str, Any]) -> Result:
        code = return_code(entry)
        shipment = entry.get("shipment")
        if code is not None and 200 <= code < 300 and isinstance(shipment, dict):
            return shipment_report(shipment)
        message = entry_message(entry)
        if code == INVALID:
            log.info("%s says %s is not valid: %s", CARRIER, number, message)
            return InvalidNumber(CARRIER, str(code), message)
        if code is not None and code >= 500:
            log.warning("%s could not answer for %s (%s): %s", CARRIER, number, code, message)
        else:
            log.info("%s does not know %s (%s): %s", CARRIER, number, code, message)
        return NOT_FOUND

    async def _ask(
        self, connection: ConnectionContext, ids: list[str], *, verifying: bool = False
    ) -> Answer:
        key = connection.credentials.get("api_key")
        if not key:
            message = f"the {CARRIER} connection needs an api_key"
            raise CredentialsRejected(message) if verifying else TransportError(message)
        path = ",".join(quote(number, safe="") for number in ids)
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}/idships/{path}",
            params={"lang": LANG},
            headers={"X-Okapi-Key": key, "Accept": "application/json"},
        )
