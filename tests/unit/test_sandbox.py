"""The sandbox carrier (``shiptrack.carriers.sandbox`` and ``carriers.scenarios``) on an injected
clock, and the mapping tables it normalises with (``shiptrack.domain.mapping``).

Covers: every scenario's documented status walk is what a subscriber sees when the adapter's
answers, checked at any pace over the journey, go through change detection; the magic numbers are
the README's, unique per carrier and already in canonical form; unknown numbers, never-found
numbers, scans not yet made, the carrier outage (``Retry-After`` ending within the outage), scan
times in UTC and carrier wall time (and the scan without an offset), the sped-up clock; and the
mapping table: it loads, uses only official detail codes, and a bad table is refused.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shiptrack.carriers.base import ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.sandbox import SandboxCarrier
from shiptrack.carriers.scenarios import (
    DEFAULT_SCENARIO,
    NUMBER_FORMATS,
    SCENARIOS,
    Scenario,
    sandbox_number,
    scenario_for,
)
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.changes import (
    NOT_FOUND,
    CarrierReport,
    Known,
    event_identity,
    event_moment,
    expiry,
    observe,
)
from shiptrack.domain.mapping import NOT_MAPPED, UNMAPPED, Mapped, parse_table, table
from shiptrack.domain.schedule import SchedulePolicy
from shiptrack.domain.statuses import STATUS_DETAIL_DESCRIPTIONS, StatusCode
from shiptrack.domain.tracking import normalise_tracking_number
from tests.support import HandClock

README = Path(__file__).parents[2] / "README.md"
SINCE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = SchedulePolicy()
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def _context(carrier_code: str = "ups") -> ConnectionContext:
    return ConnectionContext(connection_id=1, carrier_code=carrier_code, simulated=True)


async def _ask(
    scenario: Scenario | str,
    journey_hours: float,
    *,
    carrier_code: str = "ups",
    speed: float = 1.0,
) -> Result:
    """What the sandbox says about a scenario's number ``journey_hours`` into its journey."""
    number = scenario if isinstance(scenario, str) else sandbox_number(carrier_code, scenario)
    clock = HandClock(SINCE + timedelta(hours=journey_hours / speed))
    carrier = SandboxCarrier(speed=speed, clock=clock)
    answers = await carrier.track(_context(carrier_code), [TrackRequest(number, since=SINCE)])
    assert set(answers) == {number}
    return answers[number]


async def _report(
    scenario: Scenario | str,
    journey_hours: float,
    *,
    carrier_code: str = "ups",
    speed: float = 1.0,
) -> CarrierReport:
    result = await _ask(scenario, journey_hours, carrier_code=carrier_code, speed=speed)
    assert isinstance(result, CarrierReport)
    return result


def _moments(report: CarrierReport) -> list[datetime]:
    moments = [event_moment(event) for event in report.events]
    assert all(moment is not None for moment in moments)
    return [moment for moment in moments if moment is not None]


# --- the documented journeys -------------------------------------------------------------------


async def _replay(scenario: Scenario, every_hours: float, carrier_code: str) -> list[str]:
    """Check the number every ``every_hours`` of journey time as the engine does (first check at
    once, state carried from check to check, never-found numbers expiring, never stopping) and
    return the status codes a subscriber is told, consecutive repeats collapsed."""
    clock = HandClock(SINCE)
    carrier = SandboxCarrier(speed=1.0, clock=clock)
    number = sandbox_number(carrier_code, scenario)
    last_hour = max((step.visible_from for step in scenario.steps), default=0) + 24
    if scenario.never_found:
        last_hour = 31 * 24
    known = Known(
        status_code="UN", status_detail_code=None, sequence=0, settled=False, newest_event_at=None
    )
    told: list[str] = []
    hours = 0.0
    while hours <= last_hour:
        clock.now = SINCE + timedelta(hours=hours)
        hours += every_hours
        try:
            answers = await carrier.track(
                _context(carrier_code), [TrackRequest(number, since=SINCE)]
            )
        except TransportError:
            continue
        observation = observe(known, answers[number])
        changes = list(observation.changes)
        newest = known.newest_event_at
        for _, event in observation.new_events:
            moment = event_moment(event)
            if event.status_code != "UN" and moment is not None:
                newest = moment if newest is None else max(newest, moment)
        final = changes[-1] if changes else None
        known = Known(
            status_code=final.status_code if final else observation.status_code,
            status_detail_code=(
                final.status_detail_code if final else observation.status_detail_code
            ),
            sequence=final.sequence if final else known.sequence,
            settled=True,
            newest_event_at=newest,
            identities=known.identities | {key for key, _ in observation.new_events},
        )
        if POLICY.expired(known.status_code, age=clock.now - SINCE):
            changes.append(expiry(known))
            told.extend(change.status_code for change in changes)
            break
        told.extend(change.status_code for change in changes)
    return [code for i, code in enumerate(told) if i == 0 or told[i - 1] != code]


@pytest.mark.parametrize("every_hours", [0.5, 7.0, 25.0])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
async def test_each_scenario_walks_its_documented_statuses(
    scenario: Scenario, every_hours: float
) -> None:
    walk = await _replay(scenario, every_hours, "ups")
    assert walk == scenario.status_walk()


@pytest.mark.parametrize("carrier_code", sorted(NUMBER_FORMATS))
async def test_every_carrier_code_plays_the_same_journeys(carrier_code: str) -> None:
    for scenario in SCENARIOS:
        assert scenario_for(carrier_code, sandbox_number(carrier_code, scenario)) is scenario
    walk = await _replay(BY_NAME["failed_attempt"], 3.0, carrier_code)
    assert walk == ["NY", "AC", "IT", "AT", "IT", "DE"]


def _readme_scenarios() -> dict[str, list[str]]:
    text = README.read_text()
    section = text[text.index("### The sandbox carrier") :]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"`[a-z_]+`", cells[0]):
            rows[cells[0].strip("`")] = [cell.strip("`") for cell in cells[1:6]]
    return rows


def test_the_readme_lists_every_scenario_with_its_numbers_and_walk() -> None:
    documented = _readme_scenarios()
    assert set(documented) == set(BY_NAME)
    for name, (ups, fedex, usps, dhl, walk) in documented.items():
        scenario = BY_NAME[name]
        assert sandbox_number("ups", scenario) == ups
        assert sandbox_number("fedex", scenario) == fedex
        assert sandbox_number("usps", scenario) == usps
        assert sandbox_number("stamps_com", scenario) == usps
        assert sandbox_number("dhl_express", scenario) == dhl
        assert walk.split(" → ") == scenario.status_walk(), name


# --- numbers -----------------------------------------------------------------------------------


def test_sandbox_numbers_cover_every_supported_carrier() -> None:
    assert set(NUMBER_FORMATS) == set(CARRIERS)


@pytest.mark.parametrize("carrier_code", sorted(NUMBER_FORMATS))
def test_sandbox_numbers_are_unique_and_already_canonical(carrier_code: str) -> None:
    numbers = [sandbox_number(carrier_code, scenario) for scenario in SCENARIOS]
    assert len(set(numbers)) == len(SCENARIOS)
    for number in numbers:
        # What a user types is trimmed and upper-cased; the magic number must survive that.
        assert normalise_tracking_number(number) == number
        assert normalise_tracking_number(f"  {number.lower()} ") == number
        assert len(number) <= 64


def test_scenario_numbers_and_names_are_unique() -> None:
    assert len({s.number for s in SCENARIOS}) == len(SCENARIOS)
    assert len(BY_NAME) == len(SCENARIOS)


@pytest.mark.parametrize(
    ("carrier_code", "number"),
    [
        ("ups", "1Z999AA10123456784"),
        ("ups", "799900000004"),  # a FedEx sandbox number asked of UPS
        ("fedex", "1ZSANDBOX0000004"),
        ("dhl_express", "9990000099"),
        ("usps", "9400100000000000000099"),
    ],
)
async def test_any_other_number_is_a_plain_delivery(carrier_code: str, number: str) -> None:
    assert scenario_for(carrier_code, number) is DEFAULT_SCENARIO
    assert DEFAULT_SCENARIO.name == "delivered"
    report = await _report(number, 60, carrier_code=carrier_code)
    observation = observe(
        Known("UN", None, sequence=0, settled=False, newest_event_at=None), report
    )
    assert (observation.status_code, observation.status_detail_code) == ("DE", "DELIVERED")


async def test_a_one_off_lookup_of_an_unknown_number_is_a_completed_delivery() -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    carrier = SandboxCarrier(clock=HandClock(now))
    answers = await carrier.track(_context(), [TrackRequest("1Z999AA10123456784")])
    report = answers["1Z999AA10123456784"]
    assert isinstance(report, CarrierReport)
    newest = max(report.events, key=lambda e: event_moment(e) or SINCE)
    assert newest.status_code == "DE"
    assert newest.occurred_at is not None
    assert newest.occurred_at < now


# --- what the carrier answers ------------------------------------------------------------------


@pytest.mark.parametrize("journey_hours", [0, 1, 100, 24 * 365])
async def test_a_never_found_number_is_never_found(journey_hours: float) -> None:
    assert await _ask(BY_NAME["never_found"], journey_hours) is NOT_FOUND


async def test_a_number_is_not_found_before_its_first_scan() -> None:
    late = BY_NAME["late_first_scan"]
    assert await _ask(late, 0) is NOT_FOUND
    assert await _ask(late, 7.99) is NOT_FOUND
    report = await _report(late, 8)
    assert [event.event_code for event in report.events] == ["LABEL"]


async def test_the_carrier_reports_only_the_scans_made_so_far_newest_first() -> None:
    report = await _report(BY_NAME["delivered"], 21)
    assert [event.event_code for event in report.events] == [
        "ARRIVE",
        "DEPART",
        "PICKUP",
        "LABEL",
    ]
    moments = _moments(report)
    assert moments == sorted(moments, reverse=True)


async def test_the_report_carries_ship_and_estimated_delivery_dates() -> None:
    report = await _report(BY_NAME["delivered"], 50)
    assert report.ship_date == "2026-03-02T11:00:00Z"  # the pickup, three hours in
    assert report.estimated_delivery_date == "2026-03-04T08:00:00Z"  # 48 hours in
    assert report.actual_delivery_date is None
    before_pickup = await _report(BY_NAME["delivered"], 1)
    assert before_pickup.ship_date is None


async def test_scan_times_are_utc_and_the_carriers_local_wall_time() -> None:
    scenario = BY_NAME["delivered"]
    report = await _report(scenario, 50)
    steps = {(step.code, step.description): step for step in scenario.steps}
    assert len(report.events) == len(scenario.steps)
    for event in report.events:
        step = steps[(str(event.event_code), str(event.description))]
        assert step.place.utc_offset is not None
        offset = datetime.strptime(step.place.utc_offset.replace(":", ""), "%z").utcoffset()
        assert offset is not None
        assert event.occurred_at == SINCE + timedelta(hours=step.hours)
        assert event.occurred_at.utcoffset() == timedelta(0)
        assert event.carrier_occurred_at is not None
        local = datetime.fromisoformat(event.carrier_occurred_at)
        assert local.tzinfo is None  # the carrier's wall time, as the carrier writes it
        assert local == (event.occurred_at + offset).replace(tzinfo=None)
        assert (event.city_locality, event.postal_code, event.country_code) == (
            step.place.city,
            step.place.postal_code,
            step.place.country,
        )


async def test_new_york_and_austin_scans_show_their_own_wall_times() -> None:
    report = await _report(BY_NAME["delivered"], 50)
    by_code = {event.event_code: event for event in report.events}
    # Picked up in Austin 3 h in (11:00 UTC, 05:00 CST); delivered in New York 46 h in
    # (06:00 UTC on the 4th, 01:00 EST).
    assert by_code["PICKUP"].carrier_occurred_at == "2026-03-02T05:00:00.000"
    assert by_code["DELIVERED"].carrier_occurred_at == "2026-03-04T01:00:00.000"
    assert by_code["DELIVERED"].signer == "J SMITH"


async def test_the_scan_without_an_offset_has_only_wall_time() -> None:
    report = await _report(BY_NAME["duplicates_out_of_order"], 50)
    newark = [event for event in report.events if event.city_locality == "NEWARK"]
    assert newark
    for event in newark:
        assert event.occurred_at is None
        assert event.carrier_occurred_at == "2026-03-02T13:00:00.000"
    assert all(e.occurred_at is not None for e in report.events if e.city_locality != "NEWARK")


async def test_the_duplicating_carrier_repeats_every_scan_in_a_scrambled_order() -> None:
    report = await _report(BY_NAME["duplicates_out_of_order"], 50)
    counts = Counter(event_identity(event) for event in report.events)
    assert set(counts.values()) == {2}
    moments = _moments(report)
    assert moments != sorted(moments, reverse=True)
    # The Memphis arrival (20 h in) is only reported from hour 30.
    memphis_arrival = ("ARRIVE", "MEMPHIS")
    early = await _report(BY_NAME["duplicates_out_of_order"], 29.9)
    assert memphis_arrival not in {(e.event_code, e.city_locality) for e in early.events}
    late = await _report(BY_NAME["duplicates_out_of_order"], 30)
    [arrival, _] = [e for e in late.events if (e.event_code, e.city_locality) == memphis_arrival]
    assert arrival.occurred_at == SINCE + timedelta(hours=20)


async def test_the_unmapped_scan_keeps_its_raw_code_and_text() -> None:
    report = await _report(BY_NAME["unmapped_scan"], 40)
    [odd] = [event for event in report.events if event.event_code == "ZX9"]
    assert (odd.status_code, odd.status_detail_code) == ("UN", NOT_MAPPED)
    assert odd.carrier_status_code == "ZX9"
    assert odd.carrier_detail_code == "ZX9"
    assert odd.carrier_status_description == "Carrier-specific scan"
    assert odd.description == "Carrier-specific scan"


async def test_a_sped_up_clock_plays_the_journey_faster() -> None:
    speed = 3600.0  # one journey hour per real second
    report = await _report(BY_NAME["delivered"], 50, speed=speed)
    delivered = next(event for event in report.events if event.event_code == "DELIVERED")
    assert delivered.occurred_at == SINCE + timedelta(seconds=46)
    assert report.estimated_delivery_date == "2026-03-02T08:00:48Z"
    # Not delivered yet 45 journey hours in.
    early = await _report(BY_NAME["delivered"], 45, speed=speed)
    assert "DELIVERED" not in {event.event_code for event in early.events}


async def test_scan_times_keep_milliseconds_at_high_speed() -> None:
    report = await _report(BY_NAME["delivered"], 50, speed=36000)
    times = {event.occurred_at for event in report.events}
    assert len(times) == len(report.events)  # scans stay apart and in order
    assert all(t is not None and t.microsecond % 1000 == 0 for t in times)


# --- the outage --------------------------------------------------------------------------------


@pytest.mark.parametrize("journey_hours", [10, 12, 23.5, 23.99])
@pytest.mark.parametrize("speed", [1.0, 60.0, 36000.0])
async def test_during_the_outage_the_carrier_answers_503_with_retry_after_within_it(
    journey_hours: float, speed: float
) -> None:
    with pytest.raises(TransportError) as raised:
        await _ask(BY_NAME["carrier_outage"], journey_hours, speed=speed)
    error = raised.value
    assert "503" in error.message
    assert error.retry_after is not None
    # Retry-After is on the carrier's clock (journey seconds), at most an hour, at least a second.
    assert 1.0 <= error.retry_after <= 3600.0
    retry_at_hours = journey_hours + error.retry_after / 3600
    assert retry_at_hours <= 24 + 1 / 3600
    if journey_hours >= 23:
        assert retry_at_hours == pytest.approx(24, abs=1 / 3600)


async def test_before_and_after_the_outage_the_carrier_answers() -> None:
    outage = BY_NAME["carrier_outage"]
    # Floats, as declared: mypy's equality narrowing takes ``== (10, 24)`` to rule out the
    # tuple[float, float] and calls the rest of the test unreachable.
    assert outage.outage == (10.0, 24.0)
    assert isinstance(await _ask(outage, 9.99), CarrierReport)
    assert isinstance(await _ask(outage, 24), CarrierReport)


async def test_the_outage_fails_the_whole_batch_of_the_connection() -> None:
    clock = HandClock(SINCE + timedelta(hours=12))
    carrier = SandboxCarrier(clock=clock)
    requests = [
        TrackRequest(sandbox_number("ups", BY_NAME["delivered"]), since=SINCE),
        TrackRequest(sandbox_number("ups", BY_NAME["carrier_outage"]), since=SINCE),
    ]
    with pytest.raises(TransportError):
        await carrier.track(_context(), requests)
    # A batch without the outage number is answered.
    answers = await carrier.track(_context(), requests[:1])
    assert isinstance(answers[requests[0].tracking_number], CarrierReport)


# --- mapping tables ----------------------------------------------------------------------------


def test_the_sandbox_mapping_table_uses_only_official_codes() -> None:
    mapping = table("sandbox")
    assert mapping.rows
    for key, mapped in mapping.rows.items():
        assert mapped.status_detail_code in STATUS_DETAIL_DESCRIPTIONS, key
        assert mapped.status_code in set(StatusCode), key
        assert mapped.known
    assert table("sandbox") is mapping  # read once


def test_every_scenario_scan_is_mapped_except_the_deliberately_unmapped_one() -> None:
    mapping = table("sandbox")
    codes = {step.code for scenario in SCENARIOS for step in scenario.steps}
    assert {code for code in codes if not mapping.lookup([code]).known} == {"ZX9"}


def test_an_unknown_key_is_unmapped() -> None:
    mapping = table("sandbox")
    assert mapping.lookup(["NO_SUCH_CODE"]) == UNMAPPED
    assert mapping.lookup([None]) == UNMAPPED
    assert mapping.lookup([]) == UNMAPPED
    assert Mapped(StatusCode.UN, NOT_MAPPED) == UNMAPPED
    assert not UNMAPPED.known


def test_the_most_specific_known_key_wins() -> None:
    mapping = table("sandbox")
    assert mapping.lookup(["OFD:LATE", "OFD"]) == Mapped(StatusCode.IT, "OUT_FOR_DELIVERY")
    assert mapping.lookup([None, "DELIVERED", "OFD"]) == Mapped(StatusCode.DE, "DELIVERED")


def test_out_for_delivery_and_pickup_point_map_as_shipengine_does() -> None:
    mapping = table("sandbox")
    assert mapping.lookup(["OFD"]) == Mapped(StatusCode.IT, "OUT_FOR_DELIVERY")
    assert mapping.lookup(["PICKUP_POINT"]) == Mapped(StatusCode.SP, "DELIVERED_TO_PICKUP_POINT")
    assert mapping.lookup(["COLLECTED"]) == Mapped(
        StatusCode.DE, "PARCEL_COLLECTED_FROM_PICKUP_POINT"
    )


HEADER = "key,status_code,status_detail_code,note\n"


def test_a_valid_table_parses() -> None:
    parsed = parse_table(
        "acme", HEADER + "D1,DE,DELIVERED,\nX:7, EX ,HELD_BY_CARRIER ,held at customs\n"
    )
    assert parsed.carrier == "acme"
    assert parsed.lookup(["D1"]) == Mapped(StatusCode.DE, "DELIVERED")
    assert parsed.lookup(["X:7"]) == Mapped(StatusCode.EX, "HELD_BY_CARRIER")


def test_a_table_with_an_unknown_detail_code_is_refused() -> None:
    with pytest.raises(ValueError, match=r"acme\.csv line 3: unknown status_detail_code 'LOST'"):
        parse_table("acme", HEADER + "D1,DE,DELIVERED,\nL,EX,LOST,\n")


def test_a_table_with_an_unknown_status_code_is_refused() -> None:
    with pytest.raises(ValueError, match=r"acme\.csv line 2: unknown status_code 'XX'"):
        parse_table("acme", HEADER + "D1,XX,DELIVERED,\n")


def test_a_table_giving_a_key_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"acme\.csv line 4: key 'D1' given twice"):
        parse_table(
            "acme", HEADER + "D1,DE,DELIVERED,\nA,AT,ATTEMPTED_DELIVERY,\nD1,IT,IN_TRANSIT,\n"
        )
