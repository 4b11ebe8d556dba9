"""UPS: the Track API v1 (polling) and Track Alert (pushes).

Polling (``GET {base}/api/track/v1/details/{inquiryNumber}``, one number per request) uses an
OAuth2 client-credentials token fetched with HTTP Basic from ``{base}/security/v1/oauth/token``,
cached per connection (UPS tokens live about four hours) and refreshed before it expires; a 401
fetches a new token once and retries. Every request carries a fresh ``transId`` and
``transactionSrc: shiptrack``.

Normalisation (the decisions are in ``domain/mappings/ups.csv``):

- every activity is looked up by its 3-digit status code (``status:011``), then its 2-character
  activity code (``code:FS``), then its status type (``type:D``). An update (type ``U``) is looked
  up by its type first: whatever codes it carries it never changes the status.
- ``occurred_at`` is UTC from ``gmtDate``/``gmtTime``, else from the local time and ``gmtOffset``;
  without either it stays ``None`` and only ``carrier_occurred_at`` (the local wall time) is set.
- not found (HTTP 200 with warning ``TW0001``, HTTP 404 with UPS's error body, HTTP 400 ``TV1002``
  invalid inquiry number) is :data:`~shiptrack.domain.changes.NOT_FOUND`: the package is ``NY``.
- one number can answer several shipments or packages: the package whose ``trackingNumber`` is the
  number asked wins, then one whose alternate tracking number is; among several candidates the one
  with the most recent activity (a reused number's current use).

Pushes: UPS Track Alert fetches a token from
``POST /v1/carriers/push/ups/{carrier_id}/token`` (client_secret_basic: the connection's
``client_id`` and its ``webhook_secret``), then posts each event with ``Authorization: Bearer`` and
``x-api-key: <client id>``. The token is self-contained: connection id, expiry and a nonce, signed
with HMAC-SHA256 keyed by the webhook secret, so nothing is stored and a token for one connection is
worthless on another. A connection without a ``webhook_secret`` accepts no pushes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.http import (
    Answer,
    CarrierHttp,
    CredentialsRejected,
    OAuthCarrier,
    Token,
    check_transport,
)
from shiptrack.domain.changes import NOT_FOUND, CarrierReport
from shiptrack.domain.mapping import Mapped, table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

log = logging.getLogger("shiptrack.carriers.ups")

CARRIER = "UPS"
TOKEN_PATH = "/security/v1/oauth/token"
TRACK_PATH = "/api/track/v1/details/{number}"
TRACK_QUERY = {
    "locale": "en_US",
    "returnSignature": "false",
    "returnMilestones": "false",
    "returnPOD": "false",
}
#: What UPS sees in ``transactionSrc``.
TRANSACTION_SOURCE = "shiptrack"
#: A 400 that is about the number, not about the request: the number is treated as not found.
INVALID_NUMBER_CODES = frozenset({"TV1002"})
#: Status types looked up before any code: they never change the package's status.
TYPE_FIRST = frozenset({"U"})
#: Seconds a push token issued to UPS Track Alert stays valid.
PUSH_TOKEN_LIFETIME = 3600.0
_PUSH_TOKEN_CONTEXT = "shiptrack-ups-track-alert"
_OFFSET = re.compile(r"^([+-])(\d{1,2})[.:]?(\d{2})$")


def mapping_keys(status_type: str | None, code: str | None, status_code: str | None) -> list[str]:
    """The mapping-table keys of an activity, most decisive first."""
    keys = [
        *([f"status:{status_code}"] if status_code else []),
        *([f"code:{code}"] if code else []),
        *([f"type:{status_type}"] if status_type else []),
    ]
    if status_type in TYPE_FIRST:
        keys.insert(0, f"type:{status_type}")
    return keys


def map_activity(status_type: str | None, code: str | None, status_code: str | None) -> Mapped:
    """The ShipEngine status of a UPS activity (Track API) or event (Track Alert)."""
    return table("ups").lookup(mapping_keys(status_type, code, status_code))


class UpsCarrier(OAuthCarrier):
    """UPS Track API v1 and Track Alert."""

    carrier = CARRIER
    batch_size = 1
    #: UPS publishes no Track API limit; one request a second (86 400 a day, enough for about
    #: 10 000 packages in transit on the default 3-hour schedule) stays far from any gateway
    #: throttle. A connection's ``requests_per_minute`` overrides it; 429 + Retry-After is honoured.
    budget = Budget(requests_per_second=1.0, burst=1)
    accepts_push = True
    #: Track Alert fetches a token from shiptrack before it pushes.
    issues_push_tokens = True

    def __init__(
        self,
        http: CarrierHttp | None = None,
        *,
        clock: Callable[[], float] = time.time,
        push_token_lifetime: float = PUSH_TOKEN_LIFETIME,
    ) -> None:
        super().__init__(http or CarrierHttp(CARRIER))
        self.clock = clock
        self.push_token_lifetime = push_token_lifetime

    # --- OAuth ----------------------------------------------------------------------------------

    async def fetch_token(self, connection: ConnectionContext) -> Token:
        """A token from UPS's OAuth endpoint (client credentials in HTTP Basic)."""
        client_id = connection.credentials.get("client_id", "")
        client_secret = connection.credentials.get("client_secret", "")
        if ":" in client_id:  # HTTP Basic cannot carry it
            raise CredentialsRejected("UPS client_id must not contain ':'")
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        headers = {"Accept": "application/json", "Authorization": f"Basic {basic}"}
        if connection.account_number:
            headers["x-merchant-id"] = connection.account_number
        answer = await self.http.send(
            "POST",
            connection.base_url + TOKEN_PATH,
            headers=headers,
            form={"grant_type": "client_credentials"},
        )
        return self.token_answer(answer)

    # --- polling --------------------------------------------------------------------------------

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """One Track API request per number (UPS takes one inquiry number per request)."""
        results: dict[str, Result] = {}
        for request in requests:
            number = request.tracking_number
            url = connection.base_url + TRACK_PATH.format(number=quote(number, safe=""))

            async def call(token: str, url: str = url) -> Answer:
                headers = {
                    "Authorization": f"Bearer {token}",
                    "transId": uuid.uuid4().hex,
                    "transactionSrc": TRANSACTION_SOURCE,
                    "Accept": "application/json",
                }
                return await self.http.send("GET", url, headers=headers, params=TRACK_QUERY)

            answer = await self.authorized(connection, call)
            results[number] = read_track_answer(answer, number)
        return results

    # --- Track Alert ----------------------------------------------------------------------------

    def issue_push_token(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        """The OAuth token endpoint UPS Track Alert calls before pushing (client_secret_basic)."""
        client_id, secret = _push_credentials(connection)
        given = _basic_credentials(_header(headers, "authorization"))
        if given is None:
            raise PushRefused("the token request needs HTTP Basic client credentials")
        if not (_same(given[0], client_id) and _same(given[1], secret)):
            raise PushRefused("the client id or secret of the token request is wrong")
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            raise PushRefused("grant_type must be client_credentials", status_code=400)
        expires = int(self.clock() + self.push_token_lifetime)
        nonce = secrets.token_hex(8)
        signature = _push_signature(secret, connection.connection_id, client_id, expires, nonce)
        return {
            "access_token": f"{connection.connection_id}.{expires}.{nonce}.{signature}",
            "token_type": "Bearer",
            "expires_in": int(self.push_token_lifetime),
        }

    async def read_push(
        self, connection: ConnectionContext, headers: Mapping[str, str], body: bytes
    ) -> dict[str, CarrierReport]:
        """A Track Alert ``TrackingEventRequest``: one event for one number."""
        client_id, secret = _push_credentials(connection)
        self._check_push_token(connection, client_id, secret, _header(headers, "authorization"))
        api_key = _header(headers, "x-api-key")
        if api_key is not None and not _same(api_key, client_id):
            raise PushRefused("x-api-key is not this connection's client id")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise PushRefused("the push body is not JSON", status_code=400) from None
        if not isinstance(payload, dict):
            raise PushRefused("the push body is not a TrackingEventRequest", status_code=400)
        number = _text(payload.get("trackingNumber"))
        status = payload.get("activityStatus")
        if not number or not isinstance(status, dict):
            raise PushRefused(
                "a TrackingEventRequest needs trackingNumber and activityStatus", status_code=400
            )
        return {number: push_report(payload)}

    def _check_push_token(
        self, connection: ConnectionContext, client_id: str, secret: str, authorization: str | None
    ) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PushRefused("a Track Alert push needs an Authorization: Bearer token")
        parts = token.strip().split(".")
        if len(parts) != 4 or not (parts[1].isascii() and parts[1].isdigit()):
            raise PushRefused("the bearer token is not one shiptrack issued")
        connection_id, expires, nonce, signature = parts
        expected = _push_signature(secret, connection.connection_id, client_id, int(expires), nonce)
        if connection_id != str(connection.connection_id) or not _same(signature, expected):
            raise PushRefused("the bearer token is not valid for this connection")
        if int(expires) <= self.clock():
            raise PushRefused("the bearer token has expired")


# --- reading the Track API ----------------------------------------------------------------------


def read_track_answer(answer: Answer, number: str) -> Result:
    """What a Track API answer says about ``number``; :class:`TransportError` when it says
    nothing (auth failure, 429, 5xx, an unreadable body)."""
    check_transport(answer, CARRIER)
    if answer.status == 404:
        if _error_codes(answer) is not None:
            return NOT_FOUND
        raise TransportError("UPS answered HTTP 404 without its error body (wrong base URL?)")
    if answer.status == 400:
        codes = _error_codes(answer) or []
        if INVALID_NUMBER_CODES & set(codes):
            return NOT_FOUND
        log.warning("UPS refused a tracking request (HTTP 400 %s)", ", ".join(codes) or "?")
        raise TransportError("UPS refused the request (HTTP 400)")
    if answer.status != 200:
        raise TransportError(f"UPS answered HTTP {answer.status}")
    body = answer.json(CARRIER)
    response = body.get("trackResponse") if isinstance(body, dict) else None
    shipments = response.get("shipment") if isinstance(response, dict) else None
    if not isinstance(shipments, list) or not all(isinstance(s, dict) for s in shipments):
        raise TransportError("UPS answered a body that is not a TrackApiResponse")
    package = choose_package(shipments, number)
    if package is None:
        return NOT_FOUND
    return package_report(package, shipment_of(shipments, package))


def _packages(shipment: Mapping[str, Any]) -> list[dict[str, Any]]:
    packages = shipment.get("package")
    if packages is None:
        return []
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise TransportError("UPS answered a package list that is not a list of packages")
    return packages


def choose_package(shipments: list[dict[str, Any]], number: str) -> dict[str, Any] | None:
    """The package ``number`` stands for, or ``None`` when UPS answered none.

    The package whose ``trackingNumber`` is the number wins; else one whose
    ``alternateTrackingNumber`` is; else any package. Among several candidates (a number UPS
    answers with more than one shipment), the one with the most recent activity.
    """
    wanted = _canonical(number)
    packages = [p for s in shipments for p in _packages(s)]
    exact = [p for p in packages if _canonical(_text(p.get("trackingNumber"))) == wanted]
    alternate = [
        p
        for p in packages
        if any(
            isinstance(a, dict) and _canonical(_text(a.get("number"))) == wanted
            for a in _list(p.get("alternateTrackingNumber"))
        )
    ]
    candidates = exact or alternate or packages
    if not candidates:
        return None
    return max(candidates, key=_latest_activity)


def shipment_of(shipments: list[dict[str, Any]], package: dict[str, Any]) -> dict[str, Any]:
    """The shipment a package was listed in."""
    return next(s for s in shipments if any(p is package for p in _packages(s)))


def _latest_activity(package: Mapping[str, Any]) -> datetime:
    moments = [
        moment
        for activity in _list(package.get("activity"))
        if isinstance(activity, dict) and (moment := _moment(_activity_times(activity))) is not None
    ]
    return max(moments, default=datetime.min.replace(tzinfo=UTC))


def package_report(package: Mapping[str, Any], shipment: Mapping[str, Any]) -> CarrierReport:
    """A Track API package, normalised."""
    events = [activity_event(a) for a in _list(package.get("activity")) if isinstance(a, dict)]
    signer = _text(_dict(package.get("deliveryInformation")).get("receivedBy"))
    delivered = [e for e in events if e.status_code == StatusCode.DE]
    newest_delivery = max(delivered, key=_event_sort_key) if delivered else None
    if newest_delivery is not None and signer:
        events[events.index(newest_delivery)] = newest_delivery = replace(
            newest_delivery, signer=signer
        )

    dates = {
        _text(d.get("type")): _text(d.get("date"))
        for d in _list(package.get("deliveryDate"))
        if isinstance(d, dict)
    }
    times = _dict(package.get("deliveryTime"))
    time_type = _text(times.get("type"))
    estimated_day = dates.get("RDD") or dates.get("SDD")
    estimated = _local_text(
        estimated_day,
        _text(times.get("endTime")) if time_type in ("CMT", "EDW", "CDW", "IDW") else None,
    )
    actual = None
    if newest_delivery is not None and newest_delivery.occurred_at is not None:
        actual = format_utc(newest_delivery.occurred_at)
    elif dates.get("DEL"):
        actual = _local_text(
            dates["DEL"], _text(times.get("endTime")) if time_type == "DEL" else None
        )
    return CarrierReport(
        events=tuple(events),
        ship_date=_ship_date(shipment, events),
        estimated_delivery_date=estimated,
        actual_delivery_date=actual,
    )


def _ship_date(shipment: Mapping[str, Any], events: list[TrackEvent]) -> str | None:
    """``pickupDate`` when UPS gives it, else the time of the first acceptance scan."""
    pickup = _local_text(_text(shipment.get("pickupDate")), None)
    if pickup:
        return pickup
    accepted = [e for e in events if e.status_code == StatusCode.AC]
    if not accepted:
        return None
    first = min(accepted, key=_event_sort_key)
    return format_utc(first.occurred_at) or first.carrier_occurred_at


def activity_event(activity: Mapping[str, Any]) -> TrackEvent:
    """One Track API ``activity``, normalised."""
    status = _dict(activity.get("status"))
    address = _dict(_dict(activity.get("location")).get("address"))
    local, utc = _activity_times(activity)
    return _event(
        status_type=_text(status.get("type")),
        code=_text(status.get("code")),
        status_code=_status_code(status.get("statusCode")),
        description=_text(status.get("description")),
        simplified=_text(status.get("simplifiedTextDescription")),
        local=local,
        utc=utc,
        city=_text(address.get("city")),
        state=_text(address.get("stateProvince")),
        postal_code=_text(address.get("postalCode")),
        country=_country(address.get("countryCode"), address.get("country")),
    )


def _activity_times(activity: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    return event_times(
        local_date=_text(activity.get("date")),
        local_time=_text(activity.get("time")),
        gmt_date=_text(activity.get("gmtDate")),
        gmt_time=_text(activity.get("gmtTime")),
        offset=_text(activity.get("gmtOffset")),
    )


# --- reading a Track Alert push -----------------------------------------------------------------


def push_report(payload: Mapping[str, Any]) -> CarrierReport:
    """A Track Alert ``TrackingEventRequest``, normalised: one event."""
    status = _dict(payload.get("activityStatus"))
    location = _dict(payload.get("activityLocation"))
    local, utc = event_times(
        local_date=_text(payload.get("localActivityDate")),
        local_time=_text(payload.get("localActivityTime")),
        gmt_date=_text(payload.get("gmtActivityDate")),
        gmt_time=_text(payload.get("gmtActivityTime")),
        offset=_text(payload.get("gmtOffset")),
    )
    event = _event(
        status_type=_text(status.get("type")),
        code=_text(status.get("code")),
        status_code=_status_code(status.get("descriptionCode")),
        description=_text(status.get("description")),
        simplified=None,
        local=local,
        utc=utc,
        city=_text(location.get("city")),
        state=_text(location.get("stateProvince")),
        postal_code=_text(location.get("postalCode")),
        country=_country(location.get("country"), None),
    )
    delivered = event.status_code == StatusCode.DE
    signer = _text(payload.get("receivedBy"))
    if delivered and signer:
        event = replace(event, signer=signer)
    estimated = _local_text(
        _text(payload.get("scheduledDeliveryDate")),
        None if delivered else _text(payload.get("deliveryEndTime")),
    )
    actual = None
    if delivered and event.occurred_at is not None:
        actual = format_utc(event.occurred_at)
    elif payload.get("actualDeliveryDate"):
        actual = _local_text(
            _text(payload.get("actualDeliveryDate")), _text(payload.get("actualDeliveryTime"))
        )
    return CarrierReport(
        events=(event,), estimated_delivery_date=estimated, actual_delivery_date=actual
    )


# --- shared normalisation -----------------------------------------------------------------------


def _event(
    *,
    status_type: str | None,
    code: str | None,
    status_code: str | None,
    description: str | None,
    simplified: str | None,
    local: str | None,
    utc: datetime | None,
    city: str | None,
    state: str | None,
    postal_code: str | None,
    country: str | None,
) -> TrackEvent:
    mapped = map_activity(status_type, code, status_code)
    return TrackEvent(
        status_code=mapped.status_code.value,
        status_detail_code=mapped.status_detail_code,
        occurred_at=utc,
        carrier_occurred_at=local,
        description=description,
        city_locality=city,
        state_province=state,
        postal_code=postal_code,
        country_code=country,
        event_code=status_code,
        carrier_status_code=status_type,
        carrier_detail_code=code,
        carrier_status_description=simplified or description,
    )


def event_times(
    *,
    local_date: str | None,
    local_time: str | None,
    gmt_date: str | None,
    gmt_time: str | None,
    offset: str | None,
) -> tuple[str | None, datetime | None]:
    """(local wall time as ISO text without offset, UTC time or ``None``).

    UTC comes from the GMT date and time, else from the local time and the GMT offset
    (``-05:00`` in the Track API, ``-04.00`` in Track Alert). A local time without either stays
    local only: it is never labelled UTC.
    """
    local = _combine(local_date, local_time)
    shift = _offset(offset)
    gmt = _combine(gmt_date, gmt_time)
    utc = gmt.replace(tzinfo=UTC) if gmt is not None else None
    if utc is None and local is not None and shift is not None:
        utc = (local - shift).replace(tzinfo=UTC)
    if local is None and utc is not None and shift is not None:
        local = (utc + shift).replace(tzinfo=None)
    return (local.isoformat() if local is not None else None), utc


def _combine(day: str | None, clock: str | None) -> datetime | None:
    parsed_day = _date(day)
    parsed_time = _time(clock)
    if parsed_day is None or parsed_time is None:
        return None
    return datetime(parsed_day.year, parsed_day.month, parsed_day.day, *parsed_time)


def _date(value: str | None) -> date | None:
    """``YYYYMMDD``."""
    if not value or len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _time(value: str | None) -> tuple[int, int, int] | None:
    """``HHMMSS``, ``HH:MM:SS``, or ``HMMSS`` (UPS drops the leading zero in places)."""
    if not value:
        return None
    digits = value.strip().replace(":", "")
    if not digits.isdigit() or len(digits) > 6:
        return None
    digits = digits.zfill(6)
    hour, minute, second = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _offset(value: str | None) -> timedelta | None:
    match = _OFFSET.match(value.strip()) if value else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 23 or int(minutes) > 59:
        return None
    shift = timedelta(hours=int(hours), minutes=int(minutes))
    return -shift if sign == "-" else shift


def _local_text(day: str | None, clock: str | None) -> str | None:
    """A local date (and time) as ISO text without an offset; midnight when no time is given."""
    parsed_day = _date(day)
    if parsed_day is None:
        return None
    parsed_time = _time(clock) or (0, 0, 0)
    return datetime(parsed_day.year, parsed_day.month, parsed_day.day, *parsed_time).isoformat()


def _moment(times: tuple[str | None, datetime | None]) -> datetime | None:
    local, utc = times
    if utc is not None:
        return utc
    return datetime.fromisoformat(local).replace(tzinfo=UTC) if local else None


def _event_sort_key(event: TrackEvent) -> datetime:
    return _moment((event.carrier_occurred_at, event.occurred_at)) or datetime.min.replace(
        tzinfo=UTC
    )


def _status_code(value: Any) -> str | None:
    """UPS's 3-digit status code, zero-padded (Track Alert examples send ``021`` unquoted)."""
    text = _text(value)
    if text is None:
        return None
    return text.zfill(3) if text.isdigit() else text


def _country(*values: Any) -> str | None:
    for value in values:
        text = _text(value)
        if text and len(text) == 2 and text.isalpha():
            return text.upper()
    return None


def _text(value: Any) -> str | None:
    """A non-empty string from a JSON value (numbers are accepted; UPS is not strict)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _canonical(number: str | None) -> str:
    return "".join((number or "").split()).upper()


def _error_codes(answer: Answer) -> list[str] | None:
    """The codes of UPS's error body ``{"response": {"errors": [...]}}``; ``None`` without one."""
    try:
        body = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return None
    response = body.get("response") if isinstance(body, dict) else None
    errors = response.get("errors") if isinstance(response, dict) else None
    if not isinstance(errors, list):
        return None
    return [code for e in errors if isinstance(e, dict) and (code := _text(e.get("code")))]


# --- push authentication helpers ----------------------------------------------------------------


def _push_credentials(connection: ConnectionContext) -> tuple[str, str]:
    client_id = connection.credentials.get("client_id")
    secret = connection.credentials.get("webhook_secret")
    if not client_id or not secret:
        raise PushRefused("this UPS connection has no webhook_secret, so it accepts no pushes")
    return client_id, secret


def _push_signature(
    secret: str, connection_id: int, client_id: str, expires: int, nonce: str
) -> str:
    message = f"{_PUSH_TOKEN_CONTEXT}|{connection_id}|{client_id}|{expires}|{nonce}"
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
