"""The sandbox journeys: what each magic tracking number does, as data.

Hours are journey time from the moment the account subscribed; ``SHIPTRACK_SANDBOX_SPEED``
divides them (4320 plays a three-day journey in a minute). Codes are the sandbox carrier's own,
mapped by ``domain/mappings/sandbox.csv`` like any carrier's.
"""

from __future__ import annotations

from dataclasses import dataclass

from shiptrack.domain.carriers import tracking_code_for
from shiptrack.domain.mapping import table


@dataclass(frozen=True, slots=True)
class Place:
    """Where a scan happened, with the place's UTC offset (``None``: the carrier gives none)."""

    city: str
    state: str
    postal_code: str
    country: str
    utc_offset: str | None


AUSTIN = Place("AUSTIN", "TX", "78756", "US", "-06:00")
MEMPHIS = Place("MEMPHIS", "TN", "38118", "US", "-06:00")
NEW_YORK = Place("NEW YORK", "NY", "10001", "US", "-05:00")
NEWARK_NO_OFFSET = Place("NEWARK", "NJ", "07102", "US", None)


@dataclass(frozen=True, slots=True)
class Step:
    """One scan of a journey."""

    hours: float
    code: str
    description: str
    place: Place
    #: When the carrier starts reporting the scan (a late, out-of-order scan), if not at once.
    revealed_hours: float | None = None
    signer: str | None = None

    @property
    def visible_from(self) -> float:
        """Journey hours from which the carrier reports this scan."""
        return self.hours if self.revealed_hours is None else self.revealed_hours


@dataclass(frozen=True, slots=True)
class Scenario:
    """A journey a sandbox tracking number walks through."""

    number: int
    name: str
    description: str
    steps: tuple[Step, ...] = ()
    never_found: bool = False
    #: Journey hours during which the carrier answers 503 for every number of the connection.
    outage: tuple[float, float] | None = None
    #: The carrier repeats every scan and lists them in a scrambled order.
    duplicates: bool = False
    estimated_delivery_hours: float | None = None

    def status_walk(self) -> list[str]:
        """The status codes a subscriber sees, in order."""
        if self.never_found:
            return ["NY", "UN"]
        mapping = table("sandbox")
        walk: list[str] = []
        if self.steps and min(s.visible_from for s in self.steps) > 0:
            walk.append("NY")
        for step in sorted(self.steps, key=lambda s: s.hours):
            mapped = mapping.lookup([step.code])
            if mapped.known and (not walk or walk[-1] != mapped.status_code):
                walk.append(mapped.status_code.value)
        return walk


def _route(*extra: Step, until: float = 34) -> tuple[Step, ...]:
    base = (
        Step(0, "LABEL", "Shipping label created", AUSTIN),
        Step(3, "PICKUP", "Picked up by the carrier", AUSTIN),
        Step(5, "DEPART", "Departed facility", AUSTIN),
        Step(20, "ARRIVE", "Arrived at hub", MEMPHIS),
        Step(23, "DEPART", "Departed hub", MEMPHIS),
        Step(34, "ARRIVE", "Arrived at destination facility", NEW_YORK),
    )
    return tuple(s for s in base if s.hours <= until) + extra


_DELIVERED = Step(46, "DELIVERED", "Delivered, front door", NEW_YORK, signer="J SMITH")
_OFD = Step(40, "OFD", "Out for delivery", NEW_YORK)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        1,
        "delivered",
        "Plain delivery: label, pickup, hubs, delivered with a signature.",
        _route(_DELIVERED),
        estimated_delivery_hours=48,
    ),
    Scenario(
        2,
        "out_for_delivery",
        "Out for delivery in the morning, delivered in the afternoon.",
        _route(_OFD, _DELIVERED),
        estimated_delivery_hours=48,
    ),
    Scenario(
        3,
        "failed_attempt",
        "A delivery attempt fails (nobody home); delivered on the next day's run.",
        _route(
            _OFD,
            Step(44, "ATTEMPT", "Delivery attempted, no access to the building", NEW_YORK),
            Step(64, "OFD", "Out for delivery", NEW_YORK),
            Step(68, "DELIVERED", "Delivered, left with the concierge", NEW_YORK, signer="DESK"),
        ),
        estimated_delivery_hours=48,
    ),
    Scenario(
        4,
        "exception_returned",
        "Address problem at destination, then returned to the sender.",
        _route(
            Step(40, "ADDRESS_ISSUE", "Incorrect address, contacting the sender", NEW_YORK),
            Step(44, "RTS", "Returning to sender", NEW_YORK),
            Step(90, "RETURNED", "Returned to sender", AUSTIN),
        ),
    ),
    Scenario(
        5,
        "exception_recovered",
        "Held at a hub (exception), released, then delivered. Seen only by accounts that keep "
        "watching exceptions; others stop at the exception.",
        (
            *_route(until=20),
            Step(22, "HELD", "Held at the hub, operational issue", MEMPHIS),
            Step(30, "DEPART", "Released, departed hub", MEMPHIS),
            Step(40, "ARRIVE", "Arrived at destination facility", NEW_YORK),
            Step(44, "OFD", "Out for delivery", NEW_YORK),
            Step(48, "DELIVERED", "Delivered, mailroom", NEW_YORK, signer="MAILROOM"),
        ),
    ),
    Scenario(
        6,
        "pickup_point",
        "Delivered to a pickup point (SP), collected by the recipient two days later (DE).",
        _route(
            Step(
                40, "PICKUP_POINT", "Delivered to the pickup point, awaiting collection", NEW_YORK
            ),
            Step(60, "COLLECTED", "Collected from the pickup point", NEW_YORK, signer="A JONES"),
        ),
    ),
    Scenario(
        7,
        "never_found",
        "The carrier never knows the number: NY, then expired (UN, TRACKING_EXPIRED) after 30 "
        "days of journey time.",
        never_found=True,
    ),
    Scenario(
        8,
        "duplicates_out_of_order",
        "The carrier repeats every scan, lists them scrambled, reports the Memphis arrival ten "
        "hours late and gives one scan without a UTC offset; each scan is stored once and the "
        "status never goes back.",
        (
            Step(0, "LABEL", "Shipping label created", AUSTIN),
            Step(3, "PICKUP", "Picked up by the carrier", AUSTIN),
            Step(5, "DEPART", "Departed facility", NEWARK_NO_OFFSET),
            Step(20, "ARRIVE", "Arrived at hub", MEMPHIS, revealed_hours=30),
            Step(23, "DEPART", "Departed hub", MEMPHIS),
            _OFD,
            _DELIVERED,
        ),
        duplicates=True,
    ),
    Scenario(
        9,
        "carrier_outage",
        "The carrier answers 503 with Retry-After between hours 10 and 24; statuses do not "
        "change during the outage and tracking catches up after it.",
        _route(_OFD, _DELIVERED),
        outage=(10, 24),
    ),
    Scenario(
        10,
        "unmapped_scan",
        "A scan with a code the mapping table does not know: kept as UN / "
        "CARRIER_STATUS_NOT_MAPPED with its raw code, and the package stays in transit.",
        _route(
            Step(36, "ZX9", "Carrier-specific scan", NEW_YORK),
            _DELIVERED,
        ),
    ),
    Scenario(
        11,
        "late_first_scan",
        "Not in the carrier's system for the first 8 hours (NY), then a normal delivery.",
        (
            Step(8, "LABEL", "Shipping label created", AUSTIN),
            Step(12, "DROPOFF", "Dropped off at a carrier location", AUSTIN),
            Step(20, "ARRIVE", "Arrived at hub", MEMPHIS),
            Step(40, "OFD", "Out for delivery", NEW_YORK),
            Step(46, "DELIVERED", "Delivered, front door", NEW_YORK, signer="J SMITH"),
        ),
    ),
)

#: Tracking number patterns per carrier code; ``{n}`` is the scenario number.
NUMBER_FORMATS: dict[str, str] = {
    "ups": "1ZSANDBOX{n:07d}",
    "fedex": "7999{n:08d}",
    "usps": "94001000000000{n:08d}",
    "stamps_com": "94001000000000{n:08d}",
    "dhl_express": "999{n:07d}",
    "canada_post": "70239990000{n:05d}",
    "royal_mail": "SB{n:09d}GB",
    "australia_post": "7XX99900{n:08d}",
    "gls": "GLS99{n:07d}",
    "postnl": "3SSBOX{n:09d}",
    "la_poste": "LP{n:09d}FR",
    "dhl_parcel": "003404349990{n:08d}",
    "dhl_ecommerce": "GM99900{n:011d}",
}
DEFAULT_SCENARIO = SCENARIOS[0]


def sandbox_number(carrier_code: str, scenario: Scenario) -> str:
    """The tracking number that walks ``scenario`` on a carrier."""
    return NUMBER_FORMATS[carrier_code].format(n=scenario.number)


_BY_NUMBER = {
    (code, sandbox_number(code, scenario)): scenario
    for code in NUMBER_FORMATS
    for scenario in SCENARIOS
}


def scenario_for(carrier_code: str, tracking_number: str) -> Scenario:
    """The journey of a sandbox number; any other number is a plain delivery."""
    return _BY_NUMBER.get((carrier_code, tracking_number), DEFAULT_SCENARIO)


def scenario_carriers(tracking_number: str) -> list[str]:
    """The carrier codes (as packages are stored: ``usps`` for ``stamps_com``) whose sandbox
    scenario numbers include ``tracking_number``; none for any other number."""
    return sorted(
        {tracking_code_for(code) for code, number in _BY_NUMBER if number == tracking_number}
    )
