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

Several shipments for one number
    FedEx reuses tracking numbers, and gives a held parcel's re-delivery a shipment of its own, so
    ``trackResults`` can hold several shipments (``trackingNumberUniqueId``) for one number. Each
    shipment *starts* at the earliest of its ship, pickup, tender and data-received dates and its
    oldest scan. The adapter follows:

    1. without a subscription time (a one-off lookup, or a push): the shipment that started last;
    2. with one (``since``): the shipment that started last among those that started no later than
       :data:`FOLLOW_ON_WINDOW` after the subscription — the subscribed parcel or its later leg,
       never a stranger who gets the number months later; if every shipment started later than
       that, the one that started first;
    3. shipments carrying only an ``error`` are ignored; when none has any date, FedEx's first.

Timestamps
    Scan times are ISO-8601 with the local offset: ``occurred_at`` is their UTC instant and
    ``carrier_occurred_at`` the local wall time. A time FedEx sends without an offset keeps only
    ``carrier_occurred_at``. Shipment dates at local midnight are dates, reported as
    ``YYYY-MM-DDT00:00:00`` (FedEx writes date-only values as ``T00:00:00-06:00``).

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
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.http import Answer, CarrierHttp, OAuthCarrier, Token
from shiptrack.domain.changes import NOT_FOUND, CarrierReport
from shiptrack.domain.mapping import table
from shiptrack.domain.timefmt import format_utc, utcnow
from shiptrack.domain.tracking import TrackEvent

log = logging.getLogger("shiptrack.carriers.fedex")

TOKEN_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"
#: ``trackingInfo`` takes at most 30 numbers (Track API v1).
BATCH_SIZE = 30
#: A shipment of the subscribed number that starts this long after the subscription is still
#: followed (a re-delivery leg); later ones belong to someone who got the number again.
FOLLOW_ON_WINDOW = timedelta(days=30)
SIGNATURE_HEADER = "fdx-signature"

#: Dates that say when a shipment started (besides its oldest scan).
_START_DATES = ("SHIP", "ACTUAL_PICKUP", "ACTUAL_TENDER", "SHIPMENT_DATA_RECEIVED")
_STAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?"
)


class _Malformed(ValueError):
    """A body that is not the JSON FedEx documents."""


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

    def __init__(self, http: CarrierHttp | None = None) -> None:
        super().__init__(http)
        self.mapping = table("fedex")

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
                answered = _complete_results(document)
                for number in chunk:
                    shipments = answered.get(number.strip().upper())
                    if shipments is not None:
                        results[number] = self.result(shipments, since[number])
            except _Malformed as error:
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

    def result(self, shipments: list[Any], since: datetime | None) -> Result:
        """What the answer for one number means: the chosen shipment's report, or not found."""
        usable = [s for s in shipments if _has_data(s)]
        if not usable:
            return NOT_FOUND
        return self.report(choose_shipment(usable, since))

    def report(self, shipment: Mapping[str, Any]) -> CarrierReport:
        """One shipment (a ``trackResult``) normalised."""
        dates = _dates(shipment)
        details = _object(shipment.get("deliveryDetails"))
        signer = _text(details.get("signedByName")) or _text(details.get("receivedByName"))
        scans = _list(shipment.get("scanEvents"))
        events = [self.scan_event(_object(scan), signer) for scan in scans]
        latest = _object(shipment.get("latestStatusDetail"))
        if not events and _text(latest.get("code") or latest.get("derivedCode")):
            events = [self.status_event(latest, dates, signer)]
        window = _object(_object(shipment.get("estimatedDeliveryTimeWindow")).get("window"))
        standard = _object(_object(shipment.get("standardTransitTimeWindow")).get("window"))
        estimated = _first(
            dates.get("ESTIMATED_DELIVERY"),
            _text(window.get("ends")),
            _text(window.get("begins")),
            dates.get("APPOINTMENT_DELIVERY"),
            dates.get("COMMITMENT"),
            _text(standard.get("ends")),
        )
        return CarrierReport(
            events=tuple(events),
            ship_date=report_date(
                _first(dates.get("SHIP"), dates.get("ACTUAL_PICKUP"), dates.get("ACTUAL_TENDER"))
            ),
            estimated_delivery_date=report_date(estimated),
            actual_delivery_date=report_date(dates.get("ACTUAL_DELIVERY")),
        )

    def scan_event(self, scan: Mapping[str, Any], signer: str | None) -> TrackEvent:
        """One ``scanEvents`` entry."""
        event_type = (_text(scan.get("eventType")) or "").upper() or None
        exception_code = _text(scan.get("exceptionCode"))
        derived = _text(scan.get("derivedStatusCode"))
        mapped = self.mapping.lookup(_keys(event_type, exception_code, derived))
        occurred_at, local = parse_moment(_text(scan.get("date")))
        place = _object(scan.get("scanLocation"))
        return TrackEvent(
            status_code=mapped.status_code,
            status_detail_code=mapped.status_detail_code,
            occurred_at=occurred_at,
            carrier_occurred_at=local,
            description=_described(
                _text(scan.get("eventDescription")), _text(scan.get("exceptionDescription"))
            ),
            city_locality=_text(place.get("city")),
            state_province=_text(place.get("stateOrProvinceCode")),
            postal_code=_text(place.get("postalCode")),
            country_code=_text(place.get("countryCode")),
            signer=signer if event_type == "DL" else None,
            event_code=event_type,
            carrier_detail_code=exception_code,
            carrier_status_code=derived,
            carrier_status_description=_text(scan.get("derivedStatus")),
        )

    def status_event(
        self, latest: Mapping[str, Any], dates: Mapping[str, str], signer: str | None
    ) -> TrackEvent:
        """The shipment's latest status as an event, for a shipment FedEx lists no scan for."""
        code = (_text(latest.get("code")) or "").upper() or None
        derived = _text(latest.get("derivedCode"))
        reasons = [_object(item) for item in _list(latest.get("ancillaryDetails"))]
        reason = _text(reasons[0].get("reason")) if reasons else None
        mapped = self.mapping.lookup(_keys(code, reason, derived))
        delivered = code == "DL" or (code is None and derived == "DL")
        occurred_at, local = parse_moment(dates.get("ACTUAL_DELIVERY") if delivered else None)
        place = _object(latest.get("scanLocation"))
        return TrackEvent(
            status_code=mapped.status_code,
            status_detail_code=mapped.status_detail_code,
            occurred_at=occurred_at,
            carrier_occurred_at=local,
            description=_described(
                _text(latest.get("description")),
                _text(reasons[0].get("reasonDescription")) if reasons else None,
            ),
            city_locality=_text(place.get("city")),
            state_province=_text(place.get("stateOrProvinceCode")),
            postal_code=_text(place.get("postalCode")),
            country_code=_text(place.get("countryCode")),
            signer=signer if delivered else None,
            event_code=code,
            carrier_detail_code=reason,
            carrier_status_code=derived,
            carrier_status_description=_text(latest.get("statusByLocale")),
        )

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
            answered = _complete_results(document)
        except (ValueError, UnicodeDecodeError) as error:
            raise PushRefused(
                f"the push is not FedEx tracking output: {error}", status_code=400
            ) from None
        reports: dict[str, CarrierReport] = {}
        try:
            for number, shipments in answered.items():
                result = self.result(shipments, None)
                if isinstance(result, CarrierReport) and number:
                    reports[number] = result
        except _Malformed as error:
            raise PushRefused(
                f"the push is not FedEx tracking output: {error}", status_code=400
            ) from None
        if not reports:
            raise PushRefused("the push carries no tracking data", status_code=400)
        return reports


# --- reading FedEx's JSON ---------------------------------------------------------------------


def fdx_signature(secret: str, body: bytes) -> bytes:
    """What FedEx puts in ``fdx-signature``: base64(HMAC-SHA256(security token, raw body))."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())


def _complete_results(document: Any) -> dict[str, list[Any]]:
    """``completeTrackResults`` by upper-cased tracking number (Track API output, or the same
    without the ``output`` envelope)."""
    if not isinstance(document, dict):
        raise _Malformed("the body is not a JSON object")
    output = document.get("output", document)
    complete = output.get("completeTrackResults") if isinstance(output, dict) else None
    if not isinstance(complete, list):
        raise _Malformed("output.completeTrackResults is missing")
    answered: dict[str, list[Any]] = {}
    for entry in complete:
        if not isinstance(entry, dict):
            raise _Malformed("a completeTrackResults entry is not an object")
        shipments = entry.get("trackResults", [])
        if not isinstance(shipments, list) or not all(isinstance(s, dict) for s in shipments):
            raise _Malformed("trackResults is not a list of objects")
        number = _text(entry.get("trackingNumber"))
        if number is None and shipments:
            info = _object(shipments[0].get("trackingNumberInfo"))
            number = _text(info.get("trackingNumber"))
        answered.setdefault((number or "").upper(), []).extend(shipments)
    return answered


def _has_data(shipment: Mapping[str, Any]) -> bool:
    """Whether a ``trackResult`` describes a shipment (not only a per-number ``error``)."""
    return bool(
        shipment.get("scanEvents")
        or shipment.get("latestStatusDetail")
        or shipment.get("dateAndTimes")
    )


def choose_shipment(
    shipments: Sequence[Mapping[str, Any]], since: datetime | None
) -> Mapping[str, Any]:
    """The shipment a subscription made at ``since`` follows (see the module docstring)."""
    dated = [
        (start, index, shipment)
        for index, shipment in enumerate(shipments)
        if (start := shipment_start(shipment)) is not None
    ]
    if not dated:
        return shipments[0]

    def latest(candidates: list[tuple[datetime, int, Mapping[str, Any]]]) -> Mapping[str, Any]:
        return max(candidates, key=lambda c: (c[0], -c[1]))[2]

    if since is None:
        return latest(dated)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    eligible = [c for c in dated if c[0] <= since + FOLLOW_ON_WINDOW]
    if eligible:
        return latest(eligible)
    return min(dated, key=lambda c: (c[0], c[1]))[2]


def shipment_start(shipment: Mapping[str, Any]) -> datetime | None:
    """When a shipment started: its earliest start date or scan (UTC; local time when FedEx gave
    no offset)."""
    dates = _dates(shipment)
    stamps = [dates.get(kind) for kind in _START_DATES]
    stamps += [_text(_object(scan).get("date")) for scan in _list(shipment.get("scanEvents"))]
    moments = [m for stamp in stamps if (m := _moment(stamp)) is not None]
    return min(moments, default=None)


def parse_moment(stamp: str | None) -> tuple[datetime | None, str | None]:
    """A FedEx timestamp as (UTC instant when it has an offset, local wall time without offset).

    Accepts ``2024-04-26T07:50:00-07:00``, ``...Z``, ``2024-08-15T00:00:00`` (no offset: local time
    only), ``2024-08-12T15:18:10 -0500`` and a bare date.
    """
    if not stamp:
        return None, None
    match = _STAMP.fullmatch(stamp.strip())
    if match is None:
        return None, None
    clock = match["time"] or "00:00:00"
    try:
        local = datetime.fromisoformat(f"{match['date']}T{clock}")
    except ValueError:
        return None, None
    wall = local.isoformat()
    offset = match["offset"]
    if offset is None:
        return None, wall
    if offset == "Z":
        zone = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if shift >= timedelta(hours=24):
            return None, wall
        zone = timezone(sign * shift)
    return local.replace(tzinfo=zone).astimezone(UTC), wall


def report_date(stamp: str | None) -> str | None:
    """A shipment date as shiptrack reports it: a local-midnight value is a date
    (``YYYY-MM-DDT00:00:00``); a time with an offset is UTC; a time without one stays local."""
    occurred_at, local = parse_moment(stamp)
    if local is None:
        return None
    wall = datetime.fromisoformat(local)
    if wall.time() == time(0, 0):
        return wall.isoformat()
    return format_utc(occurred_at) if occurred_at is not None else local


def _moment(stamp: str | None) -> datetime | None:
    occurred_at, local = parse_moment(stamp)
    if occurred_at is not None:
        return occurred_at
    return datetime.fromisoformat(local).replace(tzinfo=UTC) if local else None


def _dates(shipment: Mapping[str, Any]) -> dict[str, str]:
    """``dateAndTimes`` by type (the first of each type)."""
    dates: dict[str, str] = {}
    for item in _list(shipment.get("dateAndTimes")):
        entry = _object(item)
        kind, value = _text(entry.get("type")), _text(entry.get("dateTime"))
        if kind and value:
            dates.setdefault(kind.upper(), value)
    return dates


def _keys(code: str | None, detail: str | None, derived: str | None) -> list[str | None]:
    """Mapping keys, most specific first: ``code:detail``, ``code``, ``derived:code``."""
    return [
        f"{code}:{detail.upper()}" if code and detail else None,
        code,
        f"derived:{derived.upper()}" if derived else None,
    ]


def _described(description: str | None, reason: str | None) -> str | None:
    """The event text with FedEx's exception reason when it adds something."""
    if reason and reason != description:
        return f"{description}: {reason}" if description else reason
    return description


def _text(value: Any) -> str | None:
    """A leaf value as text; empty and non-scalar values are ``None``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def _object(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"expected a list, got {type(value).__name__}")
    return value


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


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
    detail = _error_text(answer)
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


def _error_text(answer: Answer) -> str:
    """FedEx's ``errors[]`` as ``CODE message; ...`` (empty when the body has none)."""
    try:
        document = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code, message = _text(error.get("code")), _text(error.get("message"))
            parts.append(" ".join(part for part in (code, message) if part))
    return "; ".join(part for part in parts if part)[:300]


def _until_midnight_utc() -> float:
    """Seconds until FedEx's daily quota resets (00:00 GMT)."""
    now = utcnow()
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0, 0), tzinfo=UTC)
    return (midnight - now).total_seconds()
