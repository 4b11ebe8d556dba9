"""A fake Canada Post Tracking web service (``GET /vis/track/pin/{pin}/detail``), answering XML as
the schema ``track.xsd`` describes it (namespace ``http://www.canadapost.ca/ws/track``):
``<tracking-detail>`` with every element of the schema, ``significant-events/occurrence`` with
``event-identifier``, ``event-date``, ``event-time``, ``event-time-zone``, ``event-description``,
``signatory-name``, ``event-site``, ``event-province`` and the retail location; errors as
``<messages>`` (``004`` "No Pin History" with 404, ``E002`` "AAA Authentication Failure" with 401).
Canada Post publishes no sample responses: the journeys are written for these tests. As in real
answers, event identifiers are zero-padded (``0174``) except the signature event (``20``), and
occurrences are not in time order.

Serve it with ``tests.fakes.server.serve(canada_post.app())`` and point a connection's
``base_url`` at it. HTTP Basic: :data:`USER` / :data:`PASSWORD` are accepted
(``fake.state["users"]`` replaces the accepted ``{(user, password)}`` set); :data:`FORBIDDEN_USER`
answers ``403``; anything else, or no ``Authorization``, ``401``. A request whose ``Accept`` is not
``application/vnd.cpc.track-v2+xml`` answers ``406``.

Magic PINs:

=========================  =====================================================================
:data:`DELIVERED`          Vancouver BC → Calgary AB → Toronto ON → Halifax NS, signed for
:data:`IN_TRANSIT`         accepted in Vancouver, processed in Calgary; an expected date
:data:`OUT_FOR_DELIVERY`   out for delivery in Halifax; a changed expected date
:data:`ST_JOHNS`           through Newfoundland (NDT, the half-hour zone)
:data:`DST_SPRING`         Toronto scans around the 2026-03-08 change, with and without a zone
:data:`DST_AUTUMN`         a Toronto scan in the repeated hour of 2026-11-01, without a zone
:data:`ZONE_FROM_PROVINCE` scans without ``event-time-zone``: BC, AB, NS, NL
:data:`NO_ZONE`            a scan abroad with neither zone nor province
:data:`PICKUP_POINT`       ready for pickup at a post office (retail name)
:data:`PARCEL_LOCKER`      ready for pickup at a parcel locker
:data:`COLLECTED`          ready at a post office, then picked up by the recipient
:data:`FAILED_ATTEMPT`     notice card left, customer not home
:data:`RETURNED`           being returned to the sender
:data:`REFUSED`            refused by the recipient
:data:`UNMAPPED`           a scan with an identifier the table does not know
:data:`NO_EVENTS`          a ``<tracking-detail>`` without occurrences
:data:`V2_NAMESPACE`       ``IN_TRANSIT``'s body in the ``track-v2`` namespace
:data:`BAD_PIN`            ``400`` with ``<messages>`` (Canada Post refuses the PIN)
:data:`RATE_LIMITED`       ``429`` with ``Retry-After: 7``
:data:`SERVER_ERROR`       ``500``
:data:`SLOW`               ``IN_TRANSIT``'s body after ``fake.state["delay"]`` s (2)
:data:`NOT_XML`            ``200`` with an HTML body
:data:`WRONG_ROOT`         ``200`` XML that is not a Canada Post answer
:data:`WITH_DOCTYPE`       ``200`` XML with an entity declaration
any other PIN              ``404`` ``004`` "No Pin History"
=========================  =====================================================================

State switches: ``fake.state["outage"] = True`` answers every lookup ``503`` with
``Retry-After: 1``; ``fake.state["rate_limited"] = True`` answers every lookup ``429`` with
``Retry-After: 1``;
``fake.state["as"] = {pin: magic}`` answers ``pin`` with the journey of the
magic PIN (its ``<pin>`` becomes ``pin``), to make a package move on.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

NAMESPACE = "http://www.canadapost.ca/ws/track"
V2 = "http://www.canadapost.ca/ws/track-v2"
MESSAGES = "http://www.canadapost.ca/ws/messages"
MEDIA_TYPE = "application/vnd.cpc.track-v2+xml"

USER = "6e93d53968881714"
PASSWORD = "0bfa9fcb9853d1f51ee57a"
FORBIDDEN_USER = "no-tracking-access"

DELIVERED = "7023210039414604"
IN_TRANSIT = "7023210039414611"
OUT_FOR_DELIVERY = "7023210039414628"
ST_JOHNS = "7023210039414635"
DST_SPRING = "7023210039414642"
DST_AUTUMN = "7023210039414659"
ZONE_FROM_PROVINCE = "7023210039414666"
NO_ZONE = "7023210039414673"
PICKUP_POINT = "7023210039414680"
PARCEL_LOCKER = "7023210039414697"
COLLECTED = "7023210039414703"
FAILED_ATTEMPT = "7023210039414710"
RETURNED = "7023210039414727"
REFUSED = "7023210039414734"
UNMAPPED = "7023210039414741"
NO_EVENTS = "7023210039414758"
V2_NAMESPACE = "7023210039414765"
BAD_PIN = "ABC"
RATE_LIMITED = "7023210000000429"
SERVER_ERROR = "7023210000000500"
SLOW = "7023210000000408"
NOT_XML = "7023210000000999"
WRONG_ROOT = "7023210000000998"
WITH_DOCTYPE = "7023210000000997"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One ``significant-events/occurrence``."""

    identifier: str
    date: str
    time: str
    zone: str
    description: str
    site: str = ""
    province: str = ""
    signer: str = ""
    retail_id: str = ""
    retail_name: str = ""

    def xml(self) -> str:
        """The element, every child present as in real answers (empty when unknown)."""
        fields = (
            ("event-identifier", self.identifier),
            ("event-date", self.date),
            ("event-time", self.time),
            ("event-time-zone", self.zone),
            ("event-description", self.description),
            ("signatory-name", self.signer),
            ("event-site", self.site),
            ("event-province", self.province),
            ("event-retail-location-id", self.retail_id),
            ("event-retail-name", self.retail_name),
        )
        inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
        return f"<occurrence>{inner}</occurrence>"


Ev = Occurrence

# --- journeys (listed as Canada Post lists them: not in time order) ----------------------------

ACCEPTED = Ev(
    "0100", "2026-04-27", "16:05:12", "PDT", "Item accepted at the Post Office", "VANCOUVER", "BC"
)
PROCESSED_CALGARY = Ev(
    "0100", "2026-04-28", "03:40:09", "MDT", "Item processed at postal facility", "CALGARY", "AB"
)
PROCESSED_TORONTO = Ev(
    "1401", "2026-04-29", "01:12:44", "EDT", "Item processed at postal facility", "TORONTO", "ON"
)
OFD_HALIFAX = Ev("0174", "2026-04-30", "07:48:30", "ADT", "Item out for delivery", "HALIFAX", "NS")
DELIVERED_HALIFAX = Ev(
    "1496", "2026-04-30", "13:22:05", "ADT", "Item successfully delivered", "HALIFAX", "NS"
)
SIGNATURE_HALIFAX = Ev(
    "20",
    "2026-04-30",
    "13:22:05",
    "ADT",
    "Signature image recorded for Online viewing",
    "HALIFAX",
    "NS",
    signer="M LEBLANC",
)
TRANSIT = [PROCESSED_CALGARY, ACCEPTED]

DST_SPRING_EVENTS = [
    # Without event-time-zone: the province's zone decides (EST before 02:00, EDT after).
    Ev("0100", "2026-03-08", "01:30:00", "", "Item processed at postal facility", "TORONTO", "ON"),
    Ev("1401", "2026-03-08", "03:30:00", "", "Item processed at postal facility", "TORONTO", "ON"),
    # With it: one minute apart across the change.
    Ev("0101", "2026-03-08", "01:59:00", "EST", "Item in transit", "MISSISSAUGA", "ON"),
    Ev("0102", "2026-03-08", "03:00:00", "EDT", "Item in transit", "MISSISSAUGA", "ON"),
]

_BODY = dict[str, Any]


def _journeys() -> dict[str, _BODY]:
    """Each magic PIN's header fields and occurrences."""
    return {
        DELIVERED: {
            "expected": "2026-04-30",
            "events": [
                SIGNATURE_HALIFAX,
                OFD_HALIFAX,
                DELIVERED_HALIFAX,
                PROCESSED_TORONTO,
                *TRANSIT,
            ],
            "signature": "true",
        },
        IN_TRANSIT: {"expected": "2026-05-01", "events": TRANSIT},
        OUT_FOR_DELIVERY: {
            "expected": "2026-04-29",
            "changed": "2026-04-30",
            "reason": "Weather delay",
            "events": [OFD_HALIFAX, PROCESSED_TORONTO, *TRANSIT],
        },
        ST_JOHNS: {
            "events": [
                Ev(
                    "0174",
                    "2026-05-04",
                    "08:15:00",
                    "NDT",
                    "Item out for delivery",
                    "ST. JOHN'S",
                    "NL",
                ),
                Ev(
                    "0100",
                    "2026-05-02",
                    "09:00:00",
                    "NDT",
                    "Item accepted at the Post Office",
                    "ST. JOHN'S",
                    "NL",
                ),
            ]
        },
        DST_SPRING: {"events": DST_SPRING_EVENTS},
        DST_AUTUMN: {
            "events": [
                Ev("0100", "2026-11-01", "01:30:00", "", "Item processed", "TORONTO", "ON"),
            ]
        },
        ZONE_FROM_PROVINCE: {
            "events": [
                Ev("0100", "2026-01-15", "10:00:00", "", "Item accepted", "VANCOUVER", "BC"),
                Ev("1401", "2026-01-16", "10:00:00", "", "Item processed", "EDMONTON", "AB"),
                Ev("1402", "2026-01-17", "10:00:00", "", "Item processed", "HALIFAX", "NS"),
                Ev("0174", "2026-01-18", "10:00:00", "", "Item out for delivery", "GANDER", "NL"),
            ]
        },
        NO_ZONE: {
            "events": [
                Ev("0101", "2026-04-29", "22:10:00", "", "Item in transit", "UNITED STATES", ""),
                ACCEPTED,
            ]
        },
        PICKUP_POINT: {
            "events": [
                Ev(
                    "1410",
                    "2026-04-30",
                    "11:02:00",
                    "ADT",
                    "Item available for pickup at Post Office",
                    "DARTMOUTH",
                    "NS",
                    retail_id="0000102030",
                    retail_name="SHOPPERS DRUG MART #192",
                ),
                OFD_HALIFAX,
                *TRANSIT,
            ]
        },
        PARCEL_LOCKER: {
            "events": [
                Ev(
                    "1701",
                    "2026-04-30",
                    "12:40:00",
                    "ADT",
                    "Item available for pickup at parcel locker",
                    "HALIFAX",
                    "NS",
                ),
                *TRANSIT,
            ]
        },
        COLLECTED: {
            "events": [
                Ev(
                    "1441",
                    "2026-05-02",
                    "15:31:00",
                    "ADT",
                    "Item picked up at Post Office by recipient",
                    "DARTMOUTH",
                    "NS",
                    signer="J SINGH",
                ),
                Ev(
                    "1410",
                    "2026-04-30",
                    "11:02:00",
                    "ADT",
                    "Item available for pickup at Post Office",
                    "DARTMOUTH",
                    "NS",
                ),
                *TRANSIT,
            ]
        },
        FAILED_ATTEMPT: {
            "events": [
                Ev(
                    "0168",
                    "2026-04-30",
                    "14:55:00",
                    "ADT",
                    "Attempted delivery; customer not home. Notice card left",
                    "HALIFAX",
                    "NS",
                ),
                OFD_HALIFAX,
                *TRANSIT,
            ]
        },
        RETURNED: {
            "events": [
                Ev(
                    "1491",
                    "2026-05-01",
                    "09:20:00",
                    "ADT",
                    "Item being returned to sender; incorrect address",
                    "HALIFAX",
                    "NS",
                ),
                OFD_HALIFAX,
                *TRANSIT,
            ]
        },
        REFUSED: {
            "events": [
                Ev(
                    "0150",
                    "2026-04-30",
                    "10:05:00",
                    "ADT",
                    "Item refused by recipient",
                    "HALIFAX",
                    "NS",
                ),
                OFD_HALIFAX,
                *TRANSIT,
            ]
        },
        UNMAPPED: {
            "events": [
                Ev("9876", "2026-04-29", "09:00:00", "EDT", "Special handling", "TORONTO", "ON"),
                *TRANSIT,
            ]
        },
        NO_EVENTS: {"events": []},
    }


JOURNEYS = _journeys()


def detail_xml(pin: str, journey: _BODY, namespace: str = NAMESPACE) -> str:
    """A ``<tracking-detail>`` body: every element of ``track.xsd``."""
    events = "".join(o.xml() for o in journey["events"])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<tracking-detail xmlns="{namespace}">'
        f"<pin>{escape(pin)}</pin>"
        "<active-exists>1</active-exists>"
        "<archive-exists/>"
        f"<changed-expected-date>{journey.get('changed', '')}</changed-expected-date>"
        "<destination-postal-id>B3H1Z2</destination-postal-id>"
        f"<expected-delivery-date>{journey.get('expected', '')}</expected-delivery-date>"
        "<changed-expected-delivery-reason>"
        f"{escape(journey.get('reason', ''))}</changed-expected-delivery-reason>"
        "<mailed-by-customer-number>0008765432</mailed-by-customer-number>"
        "<mailed-on-behalf-of-customer-number>0008765432</mailed-on-behalf-of-customer-number>"
        "<original-pin/>"
        "<service-name>Expedited Parcels</service-name>"
        "<service-name-2>Colis accélérés</service-name-2>"
        "<customer-ref-1>ORDER-1042</customer-ref-1>"
        "<customer-ref-2/>"
        "<return-pin/>"
        f"<signature-image-exists>{journey.get('signature', 'false')}</signature-image-exists>"
        "<suppress-signature>false</suppress-signature>"
        "<delivery-options><item><delivery-option>CH_SGN_OPTION</delivery-option>"
        "<delivery-option-description>Signature Required</delivery-option-description>"
        "</item></delivery-options>"
        f"<significant-events>{events}</significant-events>"
        "</tracking-detail>"
    )


def messages_xml(code: str, description: str, namespace: str = MESSAGES) -> str:
    """A ``<messages>`` body with one message."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<messages xmlns="{namespace}"><message><code>{code}</code>'
        f"<description>{escape(description)}</description></message></messages>"
    )


def _xml(body: str, status: int = 200, **headers: str) -> web.Response:
    return web.Response(body=body.encode(), status=status, content_type=MEDIA_TYPE, headers=headers)


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


async def _track(request: web.Request) -> web.Response:
    state: dict[str, Any] = request.app["fake"].state
    credentials = _credentials(request)
    if credentials is not None and credentials[0] == FORBIDDEN_USER:
        return _xml(messages_xml("E003", "Not authorized for this service"), 403)
    if credentials not in state.get("users", {(USER, PASSWORD)}):
        return _xml(messages_xml("E002", "AAA Authentication Failure"), 401)
    if request.headers.get("Accept") != MEDIA_TYPE:
        return _xml(messages_xml("E001", "Unsupported media type in Accept header"), 406)
    pin = request.match_info["pin"]
    if state.get("outage"):
        return _xml(messages_xml("Server", "Service Unavailable"), 503, **{"Retry-After": "1"})
    if pin == RATE_LIMITED or state.get("rate_limited"):
        wait = "7" if pin == RATE_LIMITED else "1"
        return _xml(messages_xml("Server", "Rate exceeded"), 429, **{"Retry-After": wait})
    if pin == SERVER_ERROR:
        return _xml(messages_xml("Server", "Internal Server Error"), 500)
    if pin == BAD_PIN:
        return _xml(messages_xml("001", "Invalid PIN or DNC", NAMESPACE), 400)
    if pin == NOT_XML:
        return web.Response(text="<html><body>Gateway</body></html>", content_type="text/html")
    if pin == WRONG_ROOT:
        return _xml('<?xml version="1.0"?><rates xmlns="http://example.com/other"/>')
    if pin == WITH_DOCTYPE:
        return _xml(
            '<?xml version="1.0"?><!DOCTYPE tracking-detail [<!ENTITY a "aaaaaaaa">]>'
            f'<tracking-detail xmlns="{NAMESPACE}"><pin>&a;</pin></tracking-detail>'
        )
    if pin == SLOW:
        await asyncio.sleep(float(state.get("delay", 2.0)))
    if pin == V2_NAMESPACE:
        return _xml(detail_xml(pin, JOURNEYS[IN_TRANSIT], V2))
    source = state.get("as", {}).get(pin, IN_TRANSIT if pin == SLOW else pin)
    journey = JOURNEYS.get(source)
    if journey is None:
        return _xml(messages_xml(NO_PIN_HISTORY_CODE, "No Pin History", NAMESPACE), 404)
    return _xml(detail_xml(pin, journey))


NO_PIN_HISTORY_CODE = "004"


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/vis/track/pin/{pin}/detail", _track)
    return application
