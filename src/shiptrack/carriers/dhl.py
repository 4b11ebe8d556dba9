"""DHL Express through DHL's "Shipment Tracking - Unified" API.

One call per number: ``GET {base_url}/track/shipments?trackingNumber=…&service=express&language=en``
with the connection's key in the ``DHL-API-Key`` header. There is no OAuth and no token.

What DHL answers, and what it means here:

- ``200`` with ``shipments[]``: the number is known. The list can hold shipments of several DHL
  divisions (``service`` is only a hint to DHL), so :func:`pick_shipment` chooses the Express one
  explicitly — see its docstring for the rule. No Express shipment in the list means the number is
  not (yet) known to DHL Express: not found.
- ``404`` (``application/problem+json``, "No result found"): not found, the package is ``NY``.
- ``400``: DHL refuses to look this number up (a malformed number): not found as well, so that one
  unusable number cannot stall the whole connection.
- ``401``/``403`` (bad or revoked key), ``429`` (per-second limit or daily quota), ``5xx``, timeouts
  and bodies that are not the JSON DHL documents: transport errors — the connection backs off and
  no stored status changes.

What the answers mean and how they are normalised is read in ``dhl_reading.py``.

Request budget. A new key is on DHL's Starter plan: 1 call per second and 250 calls per day (the day
resets at 00:00 GMT). The default budget spreads the daily quota evenly: one call every 345.6 s, in
bursts of one, so a connection never exceeds 250 calls in any 24 hours nor 1 call per second. A
connection on a bigger plan sets ``requests_per_minute`` (e.g. 0.69 for Standard's 1 000 calls/day).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.dhl_reading import SERVICE, pick_shipment, problem_detail, shipment_report
from shiptrack.carriers.http import (
    Answer,
    CredentialsRejected,
    HttpCarrier,
    check_transport,
)
from shiptrack.domain.changes import NOT_FOUND

log = logging.getLogger("shiptrack.carriers.dhl")

CARRIER = "DHL Express"
TRACK_PATH = "/track/shipments"
#: DHL's Starter plan, which every new key gets.
STARTER_CALLS_PER_DAY = 250
STARTER_CALLS_PER_SECOND = 1
#: The default budget: the daily quota spread evenly, never two calls at once.
DEFAULT_BUDGET = Budget(requests_per_second=STARTER_CALLS_PER_DAY / 86400, burst=1)
#: A number no Express shipment has, asked when a key is checked: 404 (or 200) proves the key.
PROBE_NUMBER = "0000000000"


class DhlCarrier(HttpCarrier):
    """DHL Express tracking (Shipment Tracking - Unified, ``DHL-API-Key``)."""

    carrier = CARRIER
    batch_size = 1
    budget = DEFAULT_BUDGET

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One call per number; any transport error fails the whole batch."""
        key = _api_key(connection)
        if key is None:
            raise TransportError(f"the {CARRIER} connection has no api_key")
        results: dict[str, Result] = {}
        for request in requests:
            answer = await self._ask(connection, key, request.tracking_number)
            results[request.tracking_number] = self._result(answer, request.tracking_number)
        return results

    async def verify(self, connection: ConnectionContext) -> None:
        """DHL has no token to fetch: one lookup of a number that does not exist proves the key
        (``404``/``200``); ``401``/``403`` mean DHL refused it."""
        key = _api_key(connection)
        if key is None:
            raise CredentialsRejected(f"an api_key is needed to connect {CARRIER}")
        answer = await self._ask(connection, key, PROBE_NUMBER)
        if answer.status in (401, 403):
            raise CredentialsRejected(f"{CARRIER} refused the API key (HTTP {answer.status})")
        check_transport(answer, CARRIER)
        if answer.status not in (200, 400, 404):
            raise TransportError(f"{CARRIER} answered the key check with HTTP {answer.status}")
        answer.json(CARRIER)  # a host that does not answer like DHL is not DHL

    async def _ask(self, connection: ConnectionContext, key: str, number: str) -> Answer:
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}{TRACK_PATH}",
            params={"trackingNumber": number, "service": SERVICE, "language": "en"},
            headers={"DHL-API-Key": key, "Accept": "application/json"},
        )

    def _result(self, answer: Answer, number: str) -> Result:
        check_transport(answer, CARRIER)
        if answer.status in (400, 404):
            problem = answer.json(CARRIER)
            if answer.status == 400:
                log.warning(
                    "%s refused to look up %s: %s", CARRIER, number, problem_detail(problem)
                )
            return NOT_FOUND
        if answer.status != 200:
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        body = answer.json(CARRIER)
        shipments = body.get("shipments") if isinstance(body, dict) else None
        if not isinstance(shipments, list):
            raise TransportError(f"{CARRIER} answered HTTP 200 without a shipments list")
        shipment = pick_shipment(shipments, number)
        if shipment is None:
            return NOT_FOUND
        return shipment_report(shipment)


def _api_key(connection: ConnectionContext) -> str | None:
    return connection.credentials.get("api_key") or None
