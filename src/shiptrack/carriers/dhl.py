"""DHL Express, DHL Parcel and DHL eCommerce through DHL's "Shipment Tracking - Unified" API.

One class, :class:`DhlCarrier`, parametrised by its ``Division`` (``dhl_divisions``: the
``service`` values its carrier code owns); :class:`DhlParcelCarrier` and
:class:`DhlEcommerceCarrier` only name theirs. Every division uses the same key, host and budget.

One call per number:
``GET {base_url}/track/shipments?trackingNumber=…[&service=<hint>]&language=en`` with the
connection's key in the ``DHL-API-Key`` header (Express hints ``express``, eCommerce
``ecommerce``, Parcel no hint: its five services cannot be named in one). There is no OAuth and no
token.

What DHL answers, and what it means here:

- ``200`` with ``shipments[]``: the number is known. The list can hold shipments of several DHL
  divisions (``service`` is only a hint to DHL), so :func:`pick_shipment` chooses the division's
  own one explicitly — see its docstring for the rule. No shipment of the division in the list
  means the number is not (yet) known to it: not found.
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
from shiptrack.carriers.dhl_divisions import ECOMMERCE, EXPRESS, PARCEL, Division
from shiptrack.carriers.dhl_reading import pick_shipment, problem_detail, shipment_report
from shiptrack.carriers.http import (
    Answer,
    CredentialsRejected,
    HttpCarrier,
    check_transport,
)
from shiptrack.domain.changes import NOT_FOUND

log = logging.getLogger("shiptrack.carriers.dhl")

CARRIER = EXPRESS.carrier
TRACK_PATH = "/track/shipments"
#: DHL's Starter plan, which every new key gets.
STARTER_CALLS_PER_DAY = 250
STARTER_CALLS_PER_SECOND = 1
#: The default budget: the daily quota spread evenly, never two calls at once.
DEFAULT_BUDGET = Budget(requests_per_second=STARTER_CALLS_PER_DAY / 86400, burst=1)
#: A number no Express shipment has, asked when a key is checked: 404 (or 200) proves the key.
PROBE_NUMBER = "0000000000"


class DhlCarrier(HttpCarrier):
    """DHL Express tracking (Shipment Tracking - Unified, ``DHL-API-Key``); a subclass naming
    another :attr:`division` tracks that division's shipments with the same code."""

    division: Division = EXPRESS
    carrier = EXPRESS.carrier
    batch_size = 1
    budget = DEFAULT_BUDGET

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One call per number; any transport error fails the whole batch."""
        key = _api_key(connection)
        if key is None:
            raise TransportError(f"the {self.carrier} connection has no api_key")
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
            raise CredentialsRejected(f"an api_key is needed to connect {self.carrier}")
        answer = await self._ask(connection, key, PROBE_NUMBER)
        if answer.status in (401, 403):
            raise CredentialsRejected(f"{self.carrier} refused the API key (HTTP {answer.status})")
        check_transport(answer, self.carrier)
        if answer.status not in (200, 400, 404):
            raise TransportError(f"{self.carrier} answered the key check with HTTP {answer.status}")
        answer.json(self.carrier)  # a host that does not answer like DHL is not DHL

    async def _ask(self, connection: ConnectionContext, key: str, number: str) -> Answer:
        params = {"trackingNumber": number}
        if self.division.hint is not None:
            params["service"] = self.division.hint
        # English where the service has it (a preference only: DHL says which language it used in
        # Content-Language, and the phrase table reads German and Polish answers too).
        params["language"] = "en"
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}{TRACK_PATH}",
            params=params,
            headers={"DHL-API-Key": key, "Accept": "application/json"},
        )

    def _result(self, answer: Answer, number: str) -> Result:
        carrier = self.carrier
        check_transport(answer, carrier)
        if answer.status in (400, 404):
            problem = answer.json(carrier)
            if answer.status == 400:
                log.warning(
                    "%s refused to look up %s: %s", carrier, number, problem_detail(problem)
                )
            return NOT_FOUND
        if answer.status != 200:
            raise TransportError(f"{carrier} answered HTTP {answer.status}")
        body = answer.json(carrier)
        shipments = body.get("shipments") if isinstance(body, dict) else None
        if not isinstance(shipments, list):
            raise TransportError(f"{carrier} answered HTTP 200 without a shipments list")
        shipment = pick_shipment(shipments, number, self.division)
        if shipment is None:
            return NOT_FOUND
        return shipment_report(shipment, self.division)


class DhlParcelCarrier(DhlCarrier):
    """DHL Parcel Germany, Netherlands, Poland, UK and Deutsche Post letters (``dhl_parcel``)."""

    division = PARCEL
    carrier = PARCEL.carrier


class DhlEcommerceCarrier(DhlCarrier):
    """DHL eCommerce (``dhl_ecommerce``, ShipEngine's code)."""

    division = ECOMMERCE
    carrier = ECOMMERCE.carrier


def _api_key(connection: ConnectionContext) -> str | None:
    return connection.credentials.get("api_key") or None
