"""Canada Post through its Tracking web service (REST, XML).

One call per number: ``GET {base_url}/vis/track/pin/{pin}/detail`` with
``Accept: application/vnd.cpc.track-v2+xml``, ``Accept-Language: en-CA`` and HTTP Basic auth of the
connection's API user (``client_id``) and password (``client_secret``). There is no token. The
``account_number`` (customer number) is kept on the connection; tracking does not need it.

What Canada Post answers, and what it means here:

- ``200`` ``<tracking-detail>``: the PIN is known (with no ``occurrence`` yet: not yet in system).
- ``404`` ``<messages>`` (``004`` "No Pin History"): not found, the package is ``NY``.
- ``400`` ``<messages>``: Canada Post refuses to look this PIN up (a malformed number): not found as
  well, so that one unusable number cannot stall the connection.
- ``401``/``403`` (``E002`` "AAA Authentication Failure"), ``429``, ``5xx``, timeouts and bodies
  that are not Canada Post's XML (a ``404`` without its ``<messages>`` is a wrong ``base_url``,
  not an unknown number): transport errors — the connection backs off and no stored status changes.

How the XML is read, mapped and timed is in ``canada_post_reading.py``.

Request budget. Canada Post publishes no limit for the Tracking service, so the default is as
cautious as UPS's: one request per second per connection, never two at once
(``requests_per_minute`` on the connection overrides it).
"""

from __future__ import annotations

import base64
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from urllib.parse import quote

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.canada_post_reading import (
    NotCanadaPostXml,
    detail_report,
    is_messages,
    messages,
    parse,
)
from shiptrack.carriers.http import Answer, CredentialsRejected, HttpCarrier, check_transport
from shiptrack.domain.changes import NOT_FOUND

log = logging.getLogger("shiptrack.carriers.canada_post")

CARRIER = "Canada Post"
TRACK_PATH = "/vis/track/pin/{pin}/detail"
MEDIA_TYPE = "application/vnd.cpc.track-v2+xml"
#: No published limit: one request per second, never two at once.
DEFAULT_BUDGET = Budget(requests_per_second=1.0, burst=1)
#: A PIN no item has, asked when credentials are checked: a 404 (or 200, 400) proves them.
PROBE_PIN = "0000000000000000"


class CanadaPostCarrier(HttpCarrier):
    """Canada Post tracking (Tracking web service, HTTP Basic)."""

    carrier = CARRIER
    batch_size = 1
    budget = DEFAULT_BUDGET

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One call per number; any transport error fails the whole batch."""
        authorization = _authorization(connection)
        if authorization is None:
            raise TransportError(f"the {CARRIER} connection has no client_id and client_secret")
        results: dict[str, Result] = {}
        for request in requests:
            answer = await self._ask(connection, authorization, request.tracking_number)
            results[request.tracking_number] = self._result(answer, request.tracking_number)
        return results

    async def verify(self, connection: ConnectionContext) -> None:
        """One lookup of a PIN that does not exist proves the API user and password (``404``,
        ``400`` or ``200`` in Canada Post's XML); ``401``/``403`` mean Canada Post refused them."""
        authorization = _authorization(connection)
        if authorization is None:
            raise CredentialsRejected(
                f"an API user (client_id) and password (client_secret) are needed to connect "
                f"{CARRIER}"
            )
        answer = await self._ask(connection, authorization, PROBE_PIN)
        if answer.status in (401, 403):
            raise CredentialsRejected(
                f"{CARRIER} refused the API user and password (HTTP {answer.status})"
            )
        check_transport(answer, CARRIER)
        if answer.status not in (200, 400, 404):
            raise TransportError(
                f"{CARRIER} answered the credentials check with HTTP {answer.status}"
            )
        _xml(answer)  # a host that does not answer like Canada Post is not Canada Post

    async def _ask(self, connection: ConnectionContext, authorization: str, pin: str) -> Answer:
        path = TRACK_PATH.format(pin=quote(pin, safe=""))
        return await self.http.send(
            "GET",
            f"{connection.base_url.rstrip('/')}{path}",
            headers={
                "Authorization": authorization,
                "Accept": MEDIA_TYPE,
                "Accept-Language": "en-CA",
            },
        )

    def _result(self, answer: Answer, number: str) -> Result:
        check_transport(answer, CARRIER)
        if answer.status not in (200, 400, 404):
            raise TransportError(f"{CARRIER} answered HTTP {answer.status}")
        root = _xml(answer)
        if is_messages(root):
            found = messages(root)
            if answer.status == 200:
                # Not documented; read like the 404 it stands for.
                log.warning("%s answered HTTP 200 with messages for %s", CARRIER, number)
            if answer.status == 400:
                log.warning(
                    "%s refused to look up %s: %s",
                    CARRIER,
                    number,
                    "; ".join(f"{m.code} {m.description}" for m in found) or "no message",
                )
            return NOT_FOUND
        if answer.status != 200:
            raise TransportError(f"{CARRIER} answered HTTP {answer.status} with tracking details")
        return detail_report(root)


def _xml(answer: Answer) -> ET.Element:
    try:
        return parse(answer.body)
    except NotCanadaPostXml as error:
        log.warning(
            "%s answered HTTP %s with a body that is not its XML (%s): %r",
            CARRIER,
            answer.status,
            error,
            answer.body[:120],
        )
        raise TransportError(
            f"{CARRIER} answered HTTP {answer.status} with a body that is not the XML it documents"
        ) from None


def _authorization(connection: ConnectionContext) -> str | None:
    user = connection.credentials.get("client_id")
    password = connection.credentials.get("client_secret")
    if not user or not password:
        return None
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"
