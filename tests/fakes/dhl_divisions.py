"""A fake DHL "Shipment Tracking - Unified" API for the Parcel and eCommerce divisions: the same
``GET /track/shipments`` as :mod:`tests.fakes.dhl` (whose Express magic numbers, keys, errors and
state switches it keeps: any number it does not know itself is answered by that fake), plus
shipments of ``parcel-de``, ``post-de``, ``parcel-nl``, ``parcel-pl``, ``ecommerce`` and
``ecommerce-europe`` shaped as DHL's answers are (the shared samples: parcel-de in English and, as
DHL answers some Parcel Germany shipments whatever ``language`` asks, in German with
``Content-Language: de``; parcel-nl event codes with offsets; parcel-pl in Polish with ``Z``;
eCommerce with several shipments under one reference number).

Parcel Germany times carry no offset (German local time), as in DHL's answers. The German journey
runs over the change to summer time (2026-03-29), so reading it with a fixed offset would be wrong.

State switches: those of :mod:`tests.fakes.dhl` (``outage``, ``rate_limited``, ``as``, ``keys``,
``delay``), which follow the conventions of ``tests/carrier_kit.py``.

Magic numbers (besides :mod:`tests.fakes.dhl`'s):

========================  ========================================================================
:data:`DE_GERMAN`         parcel-de, German only: announced, posted at a Filiale, processed, in
                          the recipient's region, loaded onto the delivery vehicle, delivered
:data:`DE_GERMAN_STEPS`   the same journey cut after 1…5 events (newest first), to walk it with
                          ``fake.state["as"]``
:data:`DE_PACKSTATION`    parcel-de, German: ready for collection at a Packstation
:data:`DE_COLLECTED`      parcel-de, German: then collected from the Packstation by the recipient
:data:`DE_NOT_MET`        parcel-de, German: recipient not met (``failure``)
:data:`DE_RETURNING`      parcel-de, German: return to the sender started
:data:`DE_ENGLISH`        parcel-de in English (``Radefeld, Germany``; loaded onto the vehicle)
:data:`POST_DE_LETTER`    a Deutsche Post letter (``post-de``), German
:data:`NL_NOT_HOME`       parcel-nl: event codes, recipient not home, to a ParcelShop
:data:`NL_AT_PARCELSHOP`  parcel-nl: delivered at a ParcelShop, signature recorded
:data:`NL_RETURNED`       parcel-nl: storage ended at the ParcelShop, back at the shipper
:data:`PL_DELIVERED`      parcel-pl in Polish: attempt failed, waiting at a DHL terminal, delivered
:data:`ECOMMERCE`         eCommerce: two shipments with the number as id, the newer delivered
:data:`ECOMMERCE_EUROPE`  an ``ecommerce-europe`` shipment
:data:`EXPRESS_AND_PARCEL` an Express and a Parcel Germany shipment under one number
========================  ========================================================================
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from tests.fakes import dhl

DE_GERMAN = "00340434999100000005"
DE_GERMAN_STEPS = tuple(f"0034043499910000000{k}" for k in range(1, 5))
DE_PACKSTATION = "00340434999200000001"
DE_COLLECTED = "00340434999200000002"
DE_NOT_MET = "00340434999300000001"
DE_RETURNING = "00340434999400000001"
DE_ENGLISH = "00340434999500000001"
POST_DE_LETTER = "RR999000001DE"
NL_NOT_HOME = "3SHM99900000001"
NL_AT_PARCELSHOP = "3SHM99900000002"
NL_RETURNED = "3SHM99900000003"
PL_DELIVERED = "999000000001"
ECOMMERCE = "GM9991000000000001"
ECOMMERCE_EUROPE = "GM9991000000000002"
EXPRESS_AND_PARCEL = "9990000001"

LINK = dhl.LINK


def _event(
    timestamp: str,
    code: str,
    status: str,
    locality: str | None = None,
    *,
    country: str | None = None,
    postal: str | None = None,
    description: str | None = "same",
) -> dict[str, Any]:
    event: dict[str, Any] = {"timestamp": timestamp}
    if locality is not None or country is not None:
        address: dict[str, Any] = {}
        if country:
            address["countryCode"] = country
        if postal:
            address["postalCode"] = postal
        if locality:
            address["addressLocality"] = locality
        event["location"] = {"address": address}
    event["statusCode"] = code
    event["status"] = status
    if description == "same":
        event["description"] = status
    elif description is not None:
        event["description"] = description
    return event


def _shipment(
    number: str, service: str, events: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    shipment: dict[str, Any] = {"id": number, "service": service}
    if service in ("parcel-de", "post-de"):
        shipment["origin"] = {"address": {"countryCode": "DE"}}
        shipment["destination"] = {"address": {"countryCode": "DE"}}
    shipment["status"] = copy.deepcopy(events[0])
    shipment["details"] = {"totalNumberOfPieces": 1, "pieceIds": [number[-12:]]}
    shipment["events"] = copy.deepcopy(events)
    shipment.update(extra)
    return shipment


# --- Parcel Germany, in German (times: German local time, no offset) -----------------------------

GERMAN_JOURNEY = [
    _event("2026-03-30T10:47:00", "delivered", "Die Sendung wurde zugestellt.", "Deutschland"),
    _event(
        "2026-03-30T08:36:00",
        "transit",
        "Die Sendung wurde in das Zustellfahrzeug geladen. Die Zustellung erfolgt "
        "voraussichtlich heute.",
    ),
    _event(
        "2026-03-28T23:56:00",
        "transit",
        "Die Sendung ist in der Region des Empfängers angekommen und wird im nächsten Schritt "
        "zur Zustellbasis transportiert.",
        "Deutschland",
    ),
    _event(
        "2026-03-27T19:16:00",
        "transit",
        "Die Sendung wurde von DHL bearbeitet und wird für den Weitertransport in die Region "
        "des Empfängers vorbereitet.",
        "Deutschland",
    ),
    _event(
        "2026-03-27T16:14:00",
        "transit",
        "Die Sendung wurde vom Absender in der Filiale eingeliefert.",
        "Deutschland",
    ),
    _event(
        "2026-03-26T16:18:00",
        "pre-transit",
        "Die Sendung wurde elektronisch angekündigt. Sobald die Sendung von uns bearbeitet "
        "wurde, erhalten Sie weitere Informationen.",
    ),
]
#: The events each step of the German journey shows (newest first).
GERMAN_STEP_EVENTS = {
    DE_GERMAN_STEPS[0]: GERMAN_JOURNEY[5:],
    DE_GERMAN_STEPS[1]: GERMAN_JOURNEY[4:],
    DE_GERMAN_STEPS[2]: GERMAN_JOURNEY[2:],
    DE_GERMAN_STEPS[3]: GERMAN_JOURNEY[1:],
    DE_GERMAN: GERMAN_JOURNEY,
}
PACKSTATION_READY = _event(
    "2026-07-14T09:35:00",
    "transit",
    "Die Sendung liegt in der PACKSTATION 119 Musterstraße 2b 93049 Regensburg zur Abholung "
    "bereit.",
    "Regensburg",
)
ON_WAY_TO_PACKSTATION = _event(
    "2026-07-14T08:15:00", "transit", "Die Sendung befindet sich auf dem Weg zur PACKSTATION."
)
COLLECTED = _event(
    "2026-07-14T23:14:00",
    "delivered",
    "Der Empfänger hat die Sendung aus der PACKSTATION abgeholt.",
)
NOT_MET = _event(
    "2026-07-15T11:02:00",
    "failure",
    "Die Sendung konnte nicht zugestellt werden. Der Empfänger wurde nicht angetroffen.",
    "Deutschland",
)
RETURN_STARTED = _event(
    "2026-07-20T06:10:00",
    "transit",
    "Die Rücksendung an den Absender wurde eingeleitet.",
    "Deutschland",
)
STEM = GERMAN_JOURNEY[2:]

# --- Parcel Germany in English, the shared sample's wording ---------------------------------------

ENGLISH_JOURNEY = [
    _event(
        "2026-01-30T08:59:00",
        "delivered",
        "The shipment has been successfully delivered",
        "Germany",
    ),
    _event(
        "2026-01-30T07:42:00", "transit", "The shipment has been loaded onto the delivery vehicle"
    ),
    _event(
        "2026-01-30T03:53:00",
        "transit",
        "The shipment has been processed in the destination parcel center",
        "Radefeld, Germany",
    ),
    _event(
        "2026-01-29T18:57:00",
        "transit",
        "The shipment has been processed in the parcel center of origin",
        "Feucht, Germany",
    ),
    _event(
        "2026-01-28T21:36:00",
        "pre-transit",
        "The instruction data for this shipment have been provided by the sender to DHL "
        "electronically",
    ),
]

# --- Parcel Netherlands: event codes, times with offsets ------------------------------------------


def _nl(timestamp: str, code: str, status: str) -> dict[str, Any]:
    return _event(timestamp, code, status, description=None)


NL_STEM = [
    _nl("2026-09-03T10:06:19+02:00", "transit", "PARCEL_HANDED_OVER_TO_COURIER"),
    _nl("2026-09-03T10:06:19+02:00", "transit", "OUT_FOR_DELIVERY"),
    _nl("2026-09-03T07:35:35+02:00", "transit", "PARCEL_ARRIVED_AT_LOCAL_DEPOT"),
    _nl("2026-09-02T22:39:56+02:00", "transit", "PARCEL_SORTED_AT_HUB"),
    _nl("2026-09-02T20:57:16+02:00", "pre-transit", "PRENOTIFICATION_RECEIVED"),
]
NL_NOT_HOME_EVENTS = [
    _nl(
        "2026-09-03T11:33:05+02:00",
        "failure",
        "NOT_HOME_SYSTEM_INTERVENTION_DELIVERY_AT_PARCELSHOP",
    ),
    _nl("2026-09-03T11:33:04+02:00", "failure", "NOT_HOME"),
    *NL_STEM,
]
NL_PARCELSHOP_EVENTS = [
    _nl("2026-09-03T15:06:10+02:00", "transit", "SIGNATURE_RECORDED"),
    _nl("2026-09-03T15:06:10+02:00", "transit", "DELIVERED_AT_PARCELSHOP"),
    *NL_NOT_HOME_EVENTS,
]
NL_RETURNED_EVENTS = [
    _event("2026-09-20T10:24:00+02:00", "transit", "DELIVERED_AT_SHIPPER", "AMM", description=None),
    _nl("2026-09-18T08:42:00+02:00", "failure", "RETURNED_TO_SHIPPER"),
    _nl("2026-09-17T00:00:30+02:00", "failure", "STORAGE_PERIOD_ENDED_AT_PARCELSHOP"),
    *NL_PARCELSHOP_EVENTS,
]

# --- Parcel Poland, in Polish, times in UTC -------------------------------------------------------

PL_EVENTS = [
    _event(
        "2026-04-13T13:23:14Z",
        "delivered",
        "przesyłka doręczona do odbiorcy",
        "Rzeszów",
        description=None,
    ),
    _event(
        "2026-04-06T14:31:54Z",
        "transit",
        "przesyłka oczekuje na odbiór przez klienta w terminalu DHL",
        "Rzeszów",
        description=None,
    ),
    _event(
        "2026-04-04T11:49:31Z",
        "failure",
        "próba doręczenia zakończona niepowodzeniem. Odbiorcy nie było w domu w momencie "
        "doręczenia przesyłki",
        "Rzeszów",
        description=None,
    ),
]

# --- eCommerce: upper-case statuses, US offsets; pre-transit times without one -------------------


def _us(timestamp: str, code: str, status: str, city: str, postal: str) -> dict[str, Any]:
    return _event(timestamp, code, status, city, country="US", postal=postal, description=None)


ECOMMERCE_NEW = [
    {
        **_us("2026-08-26T13:04:00-05:00", "delivered", "DELIVERED", "Wilmette, IL, US", "60091"),
        "description": "IN/AT MAILBOX",
    },
    _us("2026-08-26T08:29:00-05:00", "transit", "OUT FOR DELIVERY", "Wilmette, IL, US", "60091"),
    _us(
        "2026-08-26T04:19:00-05:00",
        "transit",
        "ARRIVAL AT POST OFFICE",
        "Wilmette, IL, US",
        "60091",
    ),
    _us(
        "2026-08-19T17:23:06-07:00",
        "transit",
        "ARRIVAL AT DHL ECOMMERCE DISTRIBUTION CENTER",
        "Compton, CA, US",
        "90220",
    ),
    _event("2026-08-19T14:24:01", "pre-transit", "EN ROUTE TO DHL ECOMMERCE", description=None),
]
ECOMMERCE_OLD = [
    {
        **_us(
            "2026-05-18T15:45:00-04:00", "delivered", "DELIVERED", "Mechanicsville, VA, US", "23116"
        ),
        "description": "IN/AT MAILBOX",
    },
]


def _bodies() -> dict[str, tuple[list[dict[str, Any]], str]]:
    """Each magic number's shipments and the language DHL answers them in."""
    bodies: dict[str, tuple[list[dict[str, Any]], str]] = {
        number: ([_shipment(number, "parcel-de", events)], "de")
        for number, events in GERMAN_STEP_EVENTS.items()
    }
    bodies.update(
        {
            DE_PACKSTATION: (
                [
                    _shipment(
                        DE_PACKSTATION,
                        "parcel-de",
                        [PACKSTATION_READY, ON_WAY_TO_PACKSTATION, *STEM],
                    )
                ],
                "de",
            ),
            DE_COLLECTED: (
                [_shipment(DE_COLLECTED, "parcel-de", [COLLECTED, PACKSTATION_READY, *STEM])],
                "de",
            ),
            DE_NOT_MET: (
                [_shipment(DE_NOT_MET, "parcel-de", [NOT_MET, *GERMAN_JOURNEY[1:]])],
                "de",
            ),
            DE_RETURNING: (
                [
                    _shipment(
                        DE_RETURNING, "parcel-de", [RETURN_STARTED, NOT_MET, *GERMAN_JOURNEY[1:]]
                    )
                ],
                "de",
            ),
            DE_ENGLISH: ([_shipment(DE_ENGLISH, "parcel-de", ENGLISH_JOURNEY)], "en"),
            POST_DE_LETTER: (
                [_shipment(POST_DE_LETTER, "post-de", [GERMAN_JOURNEY[0], GERMAN_JOURNEY[3]])],
                "de",
            ),
            NL_NOT_HOME: ([_shipment(NL_NOT_HOME, "parcel-nl", NL_NOT_HOME_EVENTS)], "en"),
            NL_AT_PARCELSHOP: (
                [_shipment(NL_AT_PARCELSHOP, "parcel-nl", NL_PARCELSHOP_EVENTS)],
                "en",
            ),
            NL_RETURNED: ([_shipment(NL_RETURNED, "parcel-nl", NL_RETURNED_EVENTS)], "en"),
            PL_DELIVERED: ([_shipment(PL_DELIVERED, "parcel-pl", PL_EVENTS)], "pl"),
            ECOMMERCE: (
                [
                    _shipment(ECOMMERCE, "ecommerce", ECOMMERCE_OLD),
                    _shipment(ECOMMERCE, "ecommerce", ECOMMERCE_NEW),
                ],
                "en",
            ),
            ECOMMERCE_EUROPE: (
                [_shipment(ECOMMERCE_EUROPE, "ecommerce-europe", ECOMMERCE_NEW[1:])],
                "en",
            ),
            EXPRESS_AND_PARCEL: (
                [
                    _shipment(EXPRESS_AND_PARCEL, "parcel-de", ENGLISH_JOURNEY[1:]),
                    *dhl.BODIES[dhl.IN_TRANSIT],
                ],
                "en",
            ),
        }
    )
    return bodies


BODIES = _bodies()


async def _track(request: web.Request) -> web.Response:
    state: dict[str, Any] = request.app["fake"].state
    number = request.query.get("trackingNumber", "")
    source = state.get("as", {}).get(number, number)
    found = BODIES.get(source)
    key = request.headers.get("DHL-API-Key")
    blocked = (
        state.get("outage")
        or state.get("rate_limited")
        or key == dhl.FORBIDDEN_KEY
        or key not in state.get("keys", {dhl.VALID_KEY})
    )
    if found is None or blocked:
        # Express magic numbers, unknown numbers, keys and failure switches: as the Express fake.
        return await dhl._track(request)
    shipments, language = found
    moved = copy.deepcopy(shipments)
    for shipment in moved:
        shipment["id"] = number
    page = f"/shipments?trackingNumber={number}&offset=0&limit=5"
    return web.json_response(
        {"url": page, "firstUrl": page, "lastUrl": page, "shipments": moved},
        # DHL answers some services in their own language whatever ``language`` asks.
        headers={"Content-Language": language, "Link": LINK},
    )


def app() -> web.Application:
    """The application; point a connection's ``base_url`` at where it is served."""
    application = web.Application()
    application.router.add_get("/track/shipments", _track)
    return application
