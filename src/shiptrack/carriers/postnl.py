"""PostNL through the ShippingStatus API v2 (OpenAPI 3.0.1, version V2).

``GET {base}/shipment/v2/status/barcode/{barcode}?detail=true&language=EN``, one barcode per
call, with the connection's ``api_key`` in the ``apikey`` header. There is no token. ``base_url``
is the host (``https://api.postnl.nl``; ``"test"`` is the sandbox, ``https://api-sandbox.postnl.nl``,
which needs a sandbox key). ``detail=true`` asks for the events and earlier statuses
(``CompleteStatus``), ``language=EN`` for English descriptions (PostNL's default is Dutch).

What PostNL answers, and what it means here:

- ``200`` with a shipment: the barcode's events (read in ``postnl_reading.py``).
- ``200`` with no shipment and warning ``2`` "No shipment found": not found (``NY``). PostNL
  documents no error or warning that says a barcode is malformed or cannot be one of its own, so
  shiptrack never reports a PostNL number as invalid (see docs/carriers.md, "Invalid numbers").
- ``400`` in PostNL's ``fault`` body (``Validation Fault``; the one documented text is "no barcode
  supplied in path"): PostNL refused to look the barcode up. Not found as well, so one unusable
  number cannot stall the connection.
- ``401`` ("Invalid apikey") and ``403``, ``405``, ``429`` ("Too many requests. Rate limit
  exceeded!"), ``5xx``, timeouts, any other status (a ``404`` is a wrong ``base_url``, not an
  unknown barcode: PostNL answers those with a ``200``) and bodies that are not PostNL's JSON:
  transport errors; the connection backs off and no stored status changes.

Request budget. PostNL publishes no number for this API, only its ``429``. One call is one
barcode, so the default is cautious: 1 request a second, never two at once (86,400 barcode checks
a day: about 10,000 parcels in transit on the default 3-hour schedule), the same as the other
carriers without a published limit (UPS, Canada Post). ``requests_per_minute`` on the connection
overrides it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shiptrack.carriers.base import Budget, ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.http import Answer, CredentialsRejected, HttpCarrier, check_transport
from shiptrack.carriers.postnl_reading import (
    Malformed,
    pick_shipment,
    shipment_report,
    shipments,
    warnings,
)
from shiptrack.domain.changes import NOT_FOUND

log = logging.getLogger("shiptrack.carriers.postnl")

CARRIER = "PostNL"
BARCODE_PATH = "/shipment/v2/status/barcode/"
#: One barcode per call; PostNL publishes no limit, so one call a second, never two at once.
DEFAULT_BUDGET = Budget(requests_per_second=1.0, burst=1)
#: A barcode no parcel has, asked when the API key is checked: any PostNL answer proves the key.
PROBE_BARCODE = "3SXXXX000000000"


class PostNLCarrier(HttpCarrier):
    """PostNL ShippingStatus v2 (``apikey`` header)."""

    carrier = CARRIER
    budget = DEFAULT_BUDGET

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One call per barcode; any transport error fails the whole batch."""
        results: dict[str, Result] = {}
        for number in dict.fromkeys(request.tracking_number for request in requests):
            results[number] = await self._track_one(connection, number)
        return results

    async def verify(self, connection: ConnectionContext) -> None:
        """One lookup of a barcode no parcel has: a ``200`` in PostNL's JSON, or a ``400`` in JSON
        (a refused key is answered ``401`` before the request is validated: PostNL's 401 names the
        ``apikey`` header), proves the API key; ``401``/``403`` mean PostNL refused it."""
        answer = await self._get(connection, PROBE_BARCODE, verifying=True)
        if answer.status in (401, 403):
            raise CredentialsRejected(f"{CARRIER} refused the api_key (HTTP {answer.status})")
        check_transport(answer, CARRIER)
        if answer.status not in (200, 400):
            raise TransportError(
                f"{CARRIER} answered the credentials check with HTTP {answer.status}"
            )
        document = answer.json(CARRIER)  # a host that does not answer like PostNL is not it
        if answer.status == 200:
            try:
                shipments(document)
            except Malformed as error:
                raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None

    async def _track_one(self, connection: ConnectionContext, number: str) -> Result:
        answer = await self._get(connection, number)
        check_transport(answer, CARRIER)
        if answer.status == 400:
            document = answer.json(CARRIER)
            fault = _fault(document)
            if fault is None:
                raise TransportError(f"{CARRIER} answered HTTP 400 without its error body")
            # What the carrier said goes to the log only: an answer is never repeated to clients.
            log.warning("%s refused to look up %s: %s", CARRIER, number, fault)
            return NOT_FOUND
        if answer.status != 200:
            log.warning("%s answered HTTP %s for %s", CARRIER, answer.status, number)
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        document = answer.json(CARRIER)
        try:
            found = shipments(document)
        except Malformed as error:
            raise TransportError(f"{CARRIER} answered an unreadable body: {error}") from None
        shipment = pick_shipment(found, number)
        if shipment is None:
            log.info("%s does not know %s: %s", CARRIER, number, warnings(document) or "no detail")
            return NOT_FOUND
        return shipment_report(shipment)

    async def _get(
        self, connection: ConnectionContext, barcode: str, *, verifying: bool = False
    ) -> Answer:
        key = connection.credentials.get("api_key")
        if not key:
            message = f"the {CARRIER} connection has no api_key"
            raise CredentialsRejected(message) if verifying else TransportError(message)
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}{BARCODE_PATH}{quote(barcode, safe='')}",
            params={"detail": "true", "language": "EN"},
            headers={"apikey": key, "Accept": "application/json"},
        )


def _fault(document: Any) -> str | None:
    """What a ``400`` ``fault`` body says (``Validation Fault: no barcode supplied in path``);
    ``None`` when the body is not one."""
    fault = document.get("fault") if isinstance(document, dict) else None
    if not isinstance(fault, dict):
        return None
    detail = fault.get("detail")
    code = detail.get("errorcode") if isinstance(detail, dict) else None
    return ": ".join(str(part) for part in (code, fault.get("faultstring")) if part) or "fault"
