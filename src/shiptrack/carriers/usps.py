"""USPS tracking (Stamps.com connections too): OAuth2 client credentials, Tracking v3r2 or v3.

Requests (paths below the connection's resolved ``base_url``):

- token: ``POST /oauth2/v3/token`` with ``{"client_id", "client_secret", "grant_type":
  "client_credentials"}``; the token is cached per connection and fetched again shortly before its
  ``expires_in`` runs out; a 401 on a tracking call fetches a new one and tries once more.
- **v3r2** (the default): ``POST /tracking/v3r2/tracking`` with up to 35 ``{"trackingNumber"}``.
  ``200`` is an array of tracking details; ``207`` mixes details (``statusCode "200"``) and
  per-number failures (``statusCode "404"``: not found).
- **v3** (``options["api_version"] == "v3"``): ``GET /tracking/v3/tracking/{n}?expand=DETAIL``, one
  number per request, asked one after another. USPS answers an unknown number with a ``400``
  carrying a tracking error code ``1500xx`` (or a ``404``): not found.

Anything else that keeps USPS from answering (auth refused, 429, 5xx, a timeout, a body that is not
the documented JSON) is a :class:`TransportError` for the whole batch.

Normalisation:

- Each scan maps by its ``eventCode`` (``domain/mappings/usps.csv``), then by its wording (customs
  scans), and, for the newest scan only, by the item's ``statusCategory``. ``43`` (Picked Up) is a
  collection by the addressee when an older scan of the item is ``14``/``16`` (held for pickup).
- ``carrier_occurred_at`` is USPS's local ``eventTimestamp`` without any offset. ``occurred_at`` is
  UTC only when the offset is known: written in ``eventTimestamp``, given as ``GMTOffset``, or
  implied by a ``GMTTimestamp`` that agrees with the local time (USPS sometimes sends one with a
  wrong date, which is then ignored).
- When USPS lists several mail pieces under one number (IMpb numbers are reused), the piece with the
  latest mailing date is the package; on a tie, the one with the newest scan; then the first listed.
"""

from __future__ import annotations

import html
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from shiptrack.carriers import usps_errors
from shiptrack.carriers.base import (
    Budget,
    ConnectionContext,
    Result,
    TrackRequest,
    TransportError,
)
from shiptrack.carriers.http import (
    Answer,
    CarrierHttp,
    OAuthCarrier,
    Token,
)
from shiptrack.domain.changes import (
    NOT_FOUND,
    CarrierReport,
    InvalidNumber,
    event_moment,
    newest_first,
)
from shiptrack.domain.mapping import table
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import TrackEvent

log = logging.getLogger("shiptrack.carriers.usps")

#: Numbers per v3r2 request (the spec's ``maxItems``).
BATCH_SIZE = 35

#: USPS's published default quota is about 60 requests per hour per application. Six calls may go
#: at once (one engine round of 200 packages at 35 per call); the steady rate is 54 an hour, so no
#: rolling hour ever holds more than 60 calls, burst included.
BUDGET = Budget(requests_per_second=54 / 3600, burst=6)

#: What USPS accepts as a tracking number ("alphanumeric characters, between 4 and 34").
_VALID_NUMBER = re.compile(r"[A-Z0-9]{4,34}")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET = re.compile(r"([+-]?)(\d{1,2})(?::?(\d{2}))?")
_WORDS = re.compile(r"[^a-z0-9]+")
_TAGS = re.compile(r"<[^>]*>")
#: Scans after which a "43 Picked Up" is the addressee collecting the item.
_HELD_FOR_PICKUP = frozenset({"14", "16"})
#: A GMT time agrees with a local time when they differ by whole quarter hours, give or take this
#: (USPS local times are to the minute, GMT times to the second).
_ROUNDING = timedelta(minutes=2)
_QUARTER = timedelta(minutes=15)
_WIDEST_OFFSET = timedelta(hours=14)
_US_NAMES = frozenset({"US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA"})
#: The state codes of the USPS specs (states, territories, military "states").
_US_STATES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AA AE AL AK AP AS AZ AR CA CO CT DE DC FM FL GA GU HI ID IL IN IA KS KY LA ME MH MD MA MI "
        "MN MS MO MP MT NE NV NH NJ NM NY NC ND OH OK OR PW PA PR RI SC SD TN TX UT VT VI VA WA WV "
        "WI WY",
    )
)


class UspsCarrier(OAuthCarrier):
    """USPS Tracking v3r2 (or v3) for ``usps`` and ``stamps_com`` connections."""

    carrier = "USPS"
    batch_size = BATCH_SIZE
    budget = BUDGET
    # No push: USPS tracking is polled, and the inherited read_push refuses every push (404).

    def __init__(self, http: CarrierHttp | None = None) -> None:
        super().__init__(http)
        self.mapping = table("usps")

    def batch_size_for(self, connection: ConnectionContext) -> int:
        """Numbers one request can carry on this connection: 35 on v3r2, 1 on v3."""
        return 1 if _api_version(connection) == "v3" else BATCH_SIZE

    async def fetch_token(self, connection: ConnectionContext) -> Token:
        """``POST /oauth2/v3/token`` with the connection's client id and secret."""
        client_id, client_secret = self.client_credentials(connection)
        answer = await self.http.send(
            "POST",
            f"{_base(connection)}/oauth2/v3/token",
            headers={"Accept": "application/json"},
            json_body={
                "client_id": client_id,
                "client_secret": client_secret,
                "grant_type": "client_credentials",
            },
        )
        return self.token_answer(answer)

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        """A report or ``NOT_FOUND`` per number; :class:`TransportError` when USPS cannot answer."""
        results: dict[str, Result] = {}
        # USPS numbers are letters and digits; a number written with dashes is asked without them.
        asked: dict[str, list[str]] = defaultdict(list)
        for request in requests:
            number = request.tracking_number
            query = number.replace("-", "").upper()
            if _VALID_NUMBER.fullmatch(query):
                asked[query].append(number)
            else:
                results[number] = NOT_FOUND  # USPS cannot know it
        queries = list(asked)
        found: dict[str, Result] = {}
        if _api_version(connection) == "v3":
            for query in queries:
                found[query] = await self._ask_v3(connection, query)
        else:
            for start in range(0, len(queries), BATCH_SIZE):
                found.update(await self._ask_v3r2(connection, queries[start : start + BATCH_SIZE]))
        for query, numbers in asked.items():
            for number in numbers:
                results[number] = found.get(query, NOT_FOUND)
        return results

    # --- the two API versions ---------------------------------------------------------------

    async def _ask_v3r2(
        self, connection: ConnectionContext, queries: list[str]
    ) -> dict[str, Result]:
        url = f"{_base(connection)}/tracking/v3r2/tracking"
        body = [{"trackingNumber": query} for query in queries]

        async def call(token: str) -> Answer:
            return await self.http.send("POST", url, headers=_headers(token), json_body=body)

        answer = await self.authorized(connection, call)
        if answer.status in (200, 207):
            items = answer.json(self.carrier)
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise TransportError(
                    f"USPS answered HTTP {answer.status} without the documented array of "
                    "tracking details"
                )
            return self._read_items(queries, items)
        invalid = usps_errors.invalid_number(answer) if len(queries) == 1 else None
        if invalid is not None:
            return {queries[0]: invalid}
        if usps_errors.not_found(answer, single=len(queries) == 1):
            return dict.fromkeys(queries, NOT_FOUND)
        raise usps_errors.failure(answer)

    async def _ask_v3(self, connection: ConnectionContext, query: str) -> Result:
        url = f"{_base(connection)}/tracking/v3/tracking/{quote(query, safe='')}"

        async def call(token: str) -> Answer:
            return await self.http.send(
                "GET", url, headers=_headers(token), params={"expand": "DETAIL"}
            )

        answer = await self.authorized(connection, call)
        if answer.status == 200:
            detail = answer.json(self.carrier)
            if not isinstance(detail, dict):
                raise TransportError(
                    "USPS answered HTTP 200 without the documented tracking object"
                )
            return self._report(detail)
        invalid = usps_errors.invalid_number(answer)
        if invalid is not None:
            return invalid
        if usps_errors.not_found(answer, single=True):
            return NOT_FOUND
        raise usps_errors.failure(answer)

    def _read_items(self, queries: list[str], items: list[dict[str, Any]]) -> dict[str, Result]:
        wanted = set(queries)
        pieces: dict[str, list[dict[str, Any]]] = defaultdict(list)
        invalid_numbers: dict[str, InvalidNumber] = {}
        for item in items:
            number = (_text(item.get("trackingNumber")) or "").replace("-", "").upper()
            if not number and len(queries) == 1:
                number = queries[0]
            if number not in wanted:
                continue
            status = _text(item.get("statusCode")) or "200"
            if status.startswith("2"):
                pieces[number].append(item)
            elif status == "400" and (invalid := usps_errors.invalid_in(item)) is not None:
                invalid_numbers[number] = invalid
            elif status == "429" or status.startswith("5"):
                # The status is the answer's: repeated only when it is a plain HTTP status.
                shown = status if re.fullmatch(r"[0-9]{3}", status) else "5xx"
                raise TransportError(f"USPS could not answer for {number} (status {shown})")
            # Any other per-number failure (404 not found, 400 not trackable): USPS knows nothing.
        results: dict[str, Result] = {}
        for query in queries:
            found = [(self._report(piece), _mailed(piece)) for piece in pieces.get(query, [])]
            results[query] = (
                _latest_piece(found) if found else invalid_numbers.get(query, NOT_FOUND)
            )
        return results

    # --- normalisation ------------------------------------------------------------------------

    def _report(self, detail: dict[str, Any]) -> CarrierReport:
        raw = detail.get("trackingEvents")
        if raw is None:
            raw = []
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            raise TransportError("USPS answered with trackingEvents that are not a list of events")
        category = _words(detail.get("statusCategory"))
        events = [
            self._event(scan, older=raw[index + 1 :], category=category if index == 0 else None)
            for index, scan in enumerate(raw)
        ]
        expectation = detail.get("deliveryDateExpectation")
        expected = expectation if isinstance(expectation, dict) else {}
        estimated = _first_date(
            expected.get("expectedDeliveryDate"),
            expected.get("predictedDeliveryDate"),
            expected.get("guaranteedDeliveryDate"),
            detail.get("expectedDeliveryTimeStamp"),
            detail.get("expectedDeliveryDate"),
            detail.get("predictedDeliveryDate"),
            detail.get("predictedDeliveryTimeStamp"),
            detail.get("guaranteedDeliveryTimeStamp"),
            detail.get("guaranteedDeliveryDate"),
        )
        mailed = _date_text(_mailed(detail))
        accepted = [e for e in newest_first(events) if e.status_code == StatusCode.AC]
        mapped = [e for e in newest_first(events) if e.status_code != StatusCode.UN]
        delivered = mapped[0] if mapped and mapped[0].status_code == StatusCode.DE else None
        return CarrierReport(
            events=tuple(events),
            ship_date=mailed or (_when(accepted[-1]) if accepted else None),
            estimated_delivery_date=estimated,
            actual_delivery_date=_when(delivered) if delivered else None,
        )

    def _event(
        self, scan: dict[str, Any], *, older: list[dict[str, Any]], category: str | None
    ) -> TrackEvent:
        code = _code(scan)
        wording = _words(scan.get("eventType"))
        keys: list[str | None] = []
        if code == "43" and any(_code(previous) in _HELD_FOR_PICKUP for previous in older):
            keys.append("43:after_pickup_point")
        keys.append(code)
        keys.append(f"text:{wording}" if wording else None)
        keys.append(f"category:{category}" if category else None)
        mapped = self.mapping.lookup(keys)
        occurred_at, local = _times(scan)
        description = _clean(scan.get("eventType"))
        state = _text(scan.get("eventState"))
        postal_code = _text(scan.get("eventZIPCode")) or _text(scan.get("eventZIP"))
        return TrackEvent(
            status_code=mapped.status_code,
            status_detail_code=mapped.status_detail_code,
            occurred_at=occurred_at,
            carrier_occurred_at=local,
            description=description,
            city_locality=_clean(scan.get("eventCity")),
            state_province=state,
            postal_code=postal_code,
            country_code=_country(scan.get("eventCountry"), state, postal_code),
            company_name=_clean(scan.get("firm")),
            signer=_clean(scan.get("recipientName")) or _clean(scan.get("name")),
            event_code=code,
            carrier_detail_code=_text(scan.get("reasonCode")) or _text(scan.get("actionCode")),
            carrier_status_code=code,
            carrier_status_description=description,
        )


def _latest_piece(pieces: list[tuple[CarrierReport, str | None]]) -> CarrierReport:
    """The mail piece a number stands for now, among ``(report, mailing date)`` pairs: the latest
    mailing date, then the newest scan, then the first listed."""

    def newest_scan(report: CarrierReport) -> datetime:
        moments = [m for e in report.events if (m := event_moment(e)) is not None]
        return max(moments, default=datetime.min.replace(tzinfo=UTC))

    report, _ = max(pieces, key=lambda piece: (piece[1] or "", newest_scan(piece[0])))
    return report


# --- answers ------------------------------------------------------------------------------------


def _api_version(connection: ConnectionContext) -> str:
    return "v3" if connection.options.get("api_version") == "v3" else "v3r2"


def _base(connection: ConnectionContext) -> str:
    if not connection.base_url:
        raise TransportError("the USPS connection has no API base URL")
    return connection.base_url.rstrip("/")


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


# --- fields -------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A non-empty string, or ``None`` (USPS sends numbers, nulls and empty strings alike)."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _clean(value: Any) -> str | None:
    """USPS text without its HTML (``mailClass`` carries ``<SUP>&#153;</SUP>``)."""
    text = _text(value)
    if text is None:
        return None
    return " ".join(html.unescape(_TAGS.sub("", text)).split()) or None


def _words(value: Any) -> str | None:
    """Text as a mapping key: lower case, words separated by single spaces."""
    text = _clean(value)
    if text is None:
        return None
    return _WORDS.sub(" ", text.lower()).strip() or None


def _mailed(detail: dict[str, Any]) -> str | None:
    """When the piece was mailed: ``mailingDate`` (v3r2) or ``mailPieceIntakeDate`` (v3)."""
    return _text(detail.get("mailingDate")) or _text(detail.get("mailPieceIntakeDate"))


def _code(scan: dict[str, Any]) -> str | None:
    code = _text(scan.get("eventCode"))
    return code.upper() if code else None


def _country(value: Any, state: str | None, postal_code: str | None) -> str | None:
    """An ISO country code: as given when it is one; US for "United States" and for domestic scans
    (a US state or ZIP Code and no country)."""
    text = _text(value)
    if text is not None:
        upper = text.upper()
        if upper in _US_NAMES:
            return "US"
        return upper if len(upper) == 2 and upper.isalpha() else None
    if (state and state.upper() in _US_STATES) or (postal_code and postal_code[:5].isdigit()):
        return "US"
    return None


def _offset(value: Any) -> timedelta | None:
    """``GMTOffset`` (``-7:00``, ``-05:00``, ``+0530``) as a timedelta."""
    text = _text(value)
    match = _OFFSET.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    span = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if span > _WIDEST_OFFSET:
        return None
    return -span if sign == "-" else span


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _times(scan: dict[str, Any]) -> tuple[datetime | None, str | None]:
    """``(occurred_at in UTC or None, carrier_occurred_at as local wall time)`` of one scan."""
    text = _text(scan.get("eventTimestamp"))
    date_only = bool(text and _DATE_ONLY.fullmatch(text))
    parsed = _parse(text) if text else None
    local = parsed.replace(tzinfo=None, microsecond=0) if parsed else None
    offset = parsed.utcoffset() if parsed and parsed.tzinfo else _offset(scan.get("GMTOffset"))
    wall = local.isoformat(timespec="seconds") if local else None
    if local is not None and offset is not None and not date_only:
        return (local - offset).replace(tzinfo=UTC), wall
    gmt_text = _text(scan.get("GMTTimestamp"))
    gmt = _parse(gmt_text) if gmt_text else None
    if gmt is None:
        return None, wall
    gmt = gmt.replace(tzinfo=UTC) if gmt.tzinfo is None else gmt.astimezone(UTC)
    if local is None:
        return gmt, None
    gap = local - gmt.replace(tzinfo=None)
    if date_only:
        # The scan happened during that local day: GMT lies between 14 h before and 38 h after.
        agrees = -_WIDEST_OFFSET - timedelta(days=1) <= gap <= _WIDEST_OFFSET
        return (gmt if agrees else None), wall
    quarters = round(gap / _QUARTER)
    implied = quarters * _QUARTER
    if abs(implied) <= _WIDEST_OFFSET and abs(gap - implied) <= _ROUNDING:
        return (local - implied).replace(tzinfo=UTC), wall
    return None, wall  # a GMT time that contradicts the local one (USPS's wrong-date GMT)


def _date_text(value: Any) -> str | None:
    """A USPS date or date-time as ShipEngine date-time text: UTC when an offset is given, else
    the local value as given (a date alone becomes midnight, without offset)."""
    text = _text(value)
    if text is None:
        return None
    if _DATE_ONLY.fullmatch(text):
        try:
            return f"{date.fromisoformat(text).isoformat()}T00:00:00"
        except ValueError:
            return None
    parsed = _parse(text)
    if parsed is None:
        return None  # e.g. a guaranteed delivery given as "3 Business Days"
    if parsed.tzinfo is not None:
        return format_utc(parsed)
    return parsed.replace(microsecond=0).isoformat(timespec="seconds")


def _first_date(*values: Any) -> str | None:
    for value in values:
        found = _date_text(value)
        if found is not None:
            return found
    return None


def _when(event: TrackEvent) -> str | None:
    """An event's time as ShipEngine date-time text: UTC when known, else the local wall time."""
    return format_utc(event.occurred_at) or event.carrier_occurred_at
