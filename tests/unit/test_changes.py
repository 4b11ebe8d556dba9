"""Change detection (``shiptrack.domain.changes``): what a carrier's answer changes for a package.

Covers the README's "How changes are detected": the first check records one change to the newest
mapped scan's status; an announce repeats the current status; later checks record every transition
among the new scans oldest first (detail-only changes included, repeats excluded); repeated or
scrambled scans are stored once; out-of-order and unmapped scans never decide the status; leaving
``DE`` is a correction; "not found" and expiry; ordering by the carrier's wall time when a scan has
no UTC time; and the identity that makes a scan that scan. A property test replays random
histories, split into successive checks as the engine carries them, and checks the invariants.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiptrack.domain.changes import (
    NOT_FOUND,
    CarrierReport,
    Change,
    Known,
    NotFoundYet,
    StoredEvent,
    event_identity,
    event_moment,
    expiry,
    newest_first,
    observe,
)
from shiptrack.domain.check import CheckPolicy, ClaimedPackage, decide, known
from shiptrack.domain.schedule import SchedulePolicy
from shiptrack.domain.tracking import Subscription, TrackEvent

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NEW_YORK = timezone(timedelta(hours=-5))

State = tuple[str, str | None]

LABEL: State = ("NY", "SHIPMENT_CREATED")
PICKED_UP: State = ("AC", "PICKED_UP")
IN_TRANSIT: State = ("IT", "IN_TRANSIT")
HUB_IN: State = ("IT", "HUB_SCAN_IN")
OUT_FOR_DELIVERY: State = ("IT", "OUT_FOR_DELIVERY")
ATTEMPTED: State = ("AT", "ATTEMPTED_DELIVERY")
DELIVERED: State = ("DE", "DELIVERED")
HELD: State = ("EX", "HELD_BY_CARRIER")
PICKUP_POINT: State = ("SP", "DELIVERED_TO_PICKUP_POINT")
NOT_MAPPED: State = ("UN", "CARRIER_STATUS_NOT_MAPPED")


def scan(
    hours: float,
    state: State,
    *,
    code: str | None = None,
    city: str = "NEW YORK",
    description: str | None = None,
    utc: bool = True,
) -> TrackEvent:
    """A scan ``hours`` after T0 in New York; ``utc=False``: the carrier gave only wall time."""
    moment = T0 + timedelta(hours=hours)
    local = moment.astimezone(NEW_YORK).replace(tzinfo=None)
    raw_code = code or (state[1] or state[0])
    return TrackEvent(
        status_code=state[0],
        status_detail_code=state[1],
        occurred_at=moment if utc else None,
        carrier_occurred_at=local.isoformat(timespec="milliseconds"),
        description=description or f"{raw_code} at {city}",
        city_locality=city,
        postal_code="10001",
        country_code="US",
        event_code=raw_code,
        carrier_status_code=raw_code,
        carrier_detail_code=raw_code,
    )


def report(*events: TrackEvent) -> CarrierReport:
    return CarrierReport(events=tuple(events))


FIRST = Known(
    status_code="UN", status_detail_code=None, sequence=0, settled=False, newest_event_at=None
)


#: The package as it is when tracking starts, not yet checked.
STARTED = ClaimedPackage(
    subscription=Subscription(
        id=1, account_id=1, connection_id=1, carrier_code="ups", tracking_number="1Z", active=True
    ),
    created_at=T0,
    status_since=None,
    announce=False,
    settled=False,
    lease_until=None,
)
POLICY = CheckPolicy(schedule=SchedulePolicy())


def check(
    claimed: ClaimedPackage,
    history: tuple[StoredEvent, ...],
    answer: CarrierReport | NotFoundYet,
) -> tuple[ClaimedPackage, tuple[StoredEvent, ...], list[Change]]:
    """One check through the engine's decider, and the package as the next check claims it."""
    outcome = decide(claimed, history, answer, POLICY, T0 + timedelta(days=1))
    state = outcome.package
    subscription = dataclasses.replace(
        claimed.subscription,
        status_code=state.status_code,
        status_detail_code=state.status_detail_code,
        sequence=state.sequence,
    )
    after = dataclasses.replace(
        claimed, subscription=subscription, status_since=state.status_since, settled=True
    )
    grown = outcome.history if outcome.history is not None else history
    return after, grown, [notice.change for notice in outcome.notices]


def known_after(answer: CarrierReport | NotFoundYet) -> Known:
    """What change detection knows of a package once its first check recorded ``answer``."""
    claimed, history, _ = check(STARTED, (), answer)
    return known(claimed, history)


def states(changes: list[Change]) -> list[tuple[str | None, str, str | None]]:
    return [(c.previous_status, c.status_code, c.status_detail_code) for c in changes]


# --- the first check ---------------------------------------------------------------------------


def test_a_package_delivered_before_tracking_started_gives_one_change() -> None:
    history = [
        scan(0, LABEL),
        scan(3, PICKED_UP),
        scan(20, HUB_IN),
        scan(40, OUT_FOR_DELIVERY),
        scan(46, DELIVERED),
    ]

    observation = observe(FIRST, report(*reversed(history)))

    [change] = observation.changes
    assert change.sequence == 1
    assert (change.previous_status, change.status_code, change.status_detail_code) == (
        "UN",
        "DE",
        "DELIVERED",
    )
    assert change.occurred_at == T0 + timedelta(hours=46)
    assert change.correction is False
    assert change.event == history[-1]
    assert (observation.status_code, observation.status_detail_code) == DELIVERED
    assert observation.defining_event == history[-1]
    # Every scan is new, and stored.
    assert [event for _, event in observation.new_events] == list(reversed(history))
    # The carrier gave no delivery date: the delivering scan's time is it.
    assert observation.actual_delivery_date == "2026-03-04T06:00:00Z"


def test_a_carrier_given_delivery_date_is_kept() -> None:
    carrier = CarrierReport(
        events=(scan(46, DELIVERED),), actual_delivery_date="2026-03-04T05:59:00Z"
    )
    assert observe(FIRST, carrier).actual_delivery_date == "2026-03-04T05:59:00Z"


def test_the_first_check_of_a_package_in_transit_reports_where_it_is_now() -> None:
    observation = observe(FIRST, report(scan(20, HUB_IN), scan(3, PICKED_UP), scan(0, LABEL)))
    assert states(observation.changes) == [("UN", "IT", "HUB_SCAN_IN")]
    assert observation.actual_delivery_date is None


def test_the_first_check_with_an_empty_history_is_not_yet_in_system() -> None:
    observation = observe(FIRST, report())
    assert states(observation.changes) == [("UN", "NY", None)]
    assert observation.defining_event is None


def test_a_resumed_package_announces_its_current_status_even_when_unchanged() -> None:
    history = [scan(3, PICKED_UP), scan(20, IN_TRANSIT)]
    identities = frozenset(event_identity(e) for e in history)
    announcing = Known(
        status_code="IT",
        status_detail_code="IN_TRANSIT",
        sequence=3,
        settled=False,
        newest_event_at=T0 + timedelta(hours=20),
        identities=identities,
    )

    observation = observe(announcing, report(*history))

    [change] = observation.changes
    assert change.sequence == 4
    assert (change.previous_status, change.status_code, change.status_detail_code) == (
        "IT",
        "IT",
        "IN_TRANSIT",
    )
    assert change.correction is False
    assert observation.new_events == []


def test_an_announce_that_finds_a_delivered_package_moved_on_is_a_correction() -> None:
    announcing = Known(
        status_code="DE",
        status_detail_code="DELIVERED",
        sequence=5,
        settled=False,
        newest_event_at=T0 + timedelta(hours=46),
    )
    observation = observe(announcing, report(scan(46, DELIVERED), scan(50, IN_TRANSIT)))
    [change] = observation.changes
    assert (change.previous_status, change.status_code, change.correction) == ("DE", "IT", True)


# --- later checks ------------------------------------------------------------------------------


def _in_transit_since(hours: float = 20) -> tuple[Known, list[TrackEvent]]:
    history = [scan(0, LABEL), scan(3, PICKED_UP), scan(hours, IN_TRANSIT)]
    known = known_after(report(*history))
    assert known.status_code == "IT"
    assert known.sequence == 1
    return known, history


def test_a_later_check_records_every_transition_among_new_scans_oldest_first() -> None:
    known, history = _in_transit_since()
    new = [
        scan(40, OUT_FOR_DELIVERY),
        scan(44, ATTEMPTED),
        scan(64, OUT_FOR_DELIVERY),
        scan(68, DELIVERED),
    ]

    observation = observe(known, report(*reversed(history + new)))

    assert states(observation.changes) == [
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "AT", "ATTEMPTED_DELIVERY"),
        ("AT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "DE", "DELIVERED"),
    ]
    assert [c.sequence for c in observation.changes] == [2, 3, 4, 5]
    assert [c.occurred_at for c in observation.changes] == [e.occurred_at for e in new]
    assert [c.event for c in observation.changes] == new
    assert not any(c.correction for c in observation.changes)
    assert (observation.status_code, observation.status_detail_code) == DELIVERED
    assert observation.defining_event == new[-1]
    assert sorted(_moment(event) for _, event in observation.new_events) == [
        _moment(e) for e in new
    ]


def test_out_for_delivery_is_a_change_from_in_transit() -> None:
    known, history = _in_transit_since()
    observation = observe(known, report(scan(40, OUT_FOR_DELIVERY), *history))
    [change] = observation.changes
    assert (change.previous_status, change.status_code, change.status_detail_code) == (
        "IT",
        "IT",
        "OUT_FOR_DELIVERY",
    )
    assert change.sequence == 2


def test_a_new_scan_with_the_same_status_is_not_a_change() -> None:
    known, history = _in_transit_since()
    onward = scan(30, IN_TRANSIT, city="PHILADELPHIA", code="TRANSIT2")

    observation = observe(known, report(onward, *history))

    assert observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == IN_TRANSIT
    assert [event for _, event in observation.new_events] == [onward]
    # The newest scan still defines the package's carrier codes and texts.
    assert observation.defining_event == onward


def test_repeated_states_among_new_scans_are_collapsed() -> None:
    known, history = _in_transit_since()
    new = [
        scan(30, HUB_IN, city="PHILADELPHIA"),
        scan(34, HUB_IN, city="NEWARK"),
        scan(40, OUT_FOR_DELIVERY),
        scan(41, OUT_FOR_DELIVERY, city="JERSEY CITY"),
    ]
    observation = observe(known, report(*new, *history))
    assert states(observation.changes) == [
        ("IT", "IT", "HUB_SCAN_IN"),
        ("IT", "IT", "OUT_FOR_DELIVERY"),
    ]
    assert len(observation.new_events) == 4


def test_a_check_with_nothing_new_changes_nothing() -> None:
    known, history = _in_transit_since()
    observation = observe(known, report(*history))
    assert observation.changes == []
    assert observation.new_events == []
    assert (observation.status_code, observation.status_detail_code) == IN_TRANSIT


# --- duplicates, order, out-of-order scans -----------------------------------------------------


def test_repeated_and_scrambled_scans_are_stored_once() -> None:
    history = [scan(0, LABEL), scan(3, PICKED_UP), scan(20, HUB_IN), scan(40, OUT_FOR_DELIVERY)]
    scrambled = [history[2], history[0], history[3], history[1], *history, history[2]]

    observation = observe(FIRST, report(*scrambled))

    keys = [key for key, _ in observation.new_events]
    assert len(keys) == len(set(keys)) == 4
    assert {event for _, event in observation.new_events} == set(history)
    assert all(key == event_identity(event) for key, event in observation.new_events)
    assert states(observation.changes) == [("UN", "IT", "OUT_FOR_DELIVERY")]


def test_scans_already_stored_are_not_new() -> None:
    known, history = _in_transit_since()
    assert known.identities == {event_identity(e) for e in history}
    fresh = scan(40, OUT_FOR_DELIVERY)
    observation = observe(known, report(*history, fresh, *history))
    assert observation.new_events == [(event_identity(fresh), fresh)]


def test_a_scan_older_than_the_newest_known_is_stored_but_changes_nothing() -> None:
    known, history = _in_transit_since(hours=23)
    late = scan(20, HUB_IN, city="MEMPHIS")  # reported ten hours late, older than the newest

    observation = observe(known, report(*history, late))

    assert observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == IN_TRANSIT
    assert observation.new_events == [(event_identity(late), late)]


def test_a_late_scan_does_not_take_a_delivered_package_back() -> None:
    delivered = [scan(3, PICKED_UP), scan(46, DELIVERED)]
    known = known_after(report(*delivered))
    late = scan(30, IN_TRANSIT, city="MEMPHIS")
    observation = observe(known, report(late, *delivered))
    assert observation.changes == []
    assert observation.status_code == "DE"
    assert [event for _, event in observation.new_events] == [late]


def test_only_scans_newer_than_the_newest_known_change_the_status() -> None:
    known, history = _in_transit_since(hours=23)
    late = scan(20, HELD, city="MEMPHIS")
    newer = scan(40, OUT_FOR_DELIVERY)
    observation = observe(known, report(newer, late, *history))
    assert states(observation.changes) == [("IT", "IT", "OUT_FOR_DELIVERY")]
    assert {event for _, event in observation.new_events} == {late, newer}


# --- unmapped scans ----------------------------------------------------------------------------


def test_an_unmapped_scan_is_kept_but_never_decides_the_status() -> None:
    known, history = _in_transit_since()
    odd = scan(36, NOT_MAPPED, code="ZX9")

    observation = observe(known, report(odd, *history))

    assert observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == IN_TRANSIT
    assert observation.new_events == [(event_identity(odd), odd)]
    assert observation.defining_event is None


def test_the_first_check_ignores_an_unmapped_newest_scan() -> None:
    history = [scan(3, PICKED_UP), scan(20, IN_TRANSIT), scan(36, NOT_MAPPED, code="ZX9")]
    observation = observe(FIRST, report(*history))
    assert states(observation.changes) == [("UN", "IT", "IN_TRANSIT")]
    assert observation.defining_event == history[1]
    assert len(observation.new_events) == 3


def test_a_first_check_with_only_unmapped_scans_is_unknown_not_mapped() -> None:
    observation = observe(FIRST, report(scan(1, NOT_MAPPED, code="ZX9")))
    assert states(observation.changes) == [("UN", "UN", "CARRIER_STATUS_NOT_MAPPED")]
    assert len(observation.new_events) == 1


def test_unmapped_scans_between_mapped_ones_do_not_break_the_transitions() -> None:
    known, history = _in_transit_since()
    new = [
        scan(36, NOT_MAPPED, code="ZX9"),
        scan(40, OUT_FOR_DELIVERY),
        scan(42, NOT_MAPPED, code="ZX8"),
        scan(46, DELIVERED),
        scan(47, NOT_MAPPED, code="ZX7"),
    ]
    observation = observe(known, report(*new, *history))
    assert states(observation.changes) == [
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "DE", "DELIVERED"),
    ]
    assert observation.status_code == "DE"


# --- corrections -------------------------------------------------------------------------------


def test_leaving_delivered_through_a_newer_scan_is_a_correction() -> None:
    delivered = [scan(3, PICKED_UP), scan(46, DELIVERED)]
    known = known_after(report(*delivered))
    assert known.status_code == "DE"

    observation = observe(known, report(scan(50, IN_TRANSIT, city="NEWARK"), *delivered))

    [change] = observation.changes
    assert (change.previous_status, change.status_code) == ("DE", "IT")
    assert change.correction is True
    assert change.sequence == 2
    assert observation.status_code == "IT"


def test_only_the_change_that_leaves_delivered_is_a_correction() -> None:
    delivered = [scan(3, PICKED_UP), scan(46, DELIVERED)]
    known = known_after(report(*delivered))
    new = [scan(50, IN_TRANSIT), scan(55, OUT_FOR_DELIVERY), scan(60, DELIVERED)]
    observation = observe(known, report(*new, *delivered))
    assert [(c.status_code, c.correction) for c in observation.changes] == [
        ("IT", True),
        ("IT", False),
        ("DE", False),
    ]


def test_delivered_then_collected_is_not_a_correction() -> None:
    known, history = _in_transit_since()
    new = [scan(40, PICKUP_POINT), scan(60, ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"))]
    observation = observe(known, report(*new, *history))
    assert [(c.previous_status, c.status_code, c.correction) for c in observation.changes] == [
        ("IT", "SP", False),
        ("SP", "DE", False),
    ]


# --- not found and expiry ----------------------------------------------------------------------


def test_a_number_not_found_on_the_first_check_is_not_yet_in_system() -> None:
    observation = observe(FIRST, NOT_FOUND)
    [change] = observation.changes
    assert (change.sequence, change.previous_status, change.status_code) == (1, "UN", "NY")
    assert change.status_detail_code is None
    assert change.occurred_at is None
    assert change.event is None
    assert (observation.status_code, observation.status_detail_code) == ("NY", None)
    assert observation.carrier_found is False
    assert observation.new_events == []


def test_a_number_still_not_found_changes_nothing() -> None:
    known = known_after(NOT_FOUND)
    observation = observe(known, NOT_FOUND)
    assert observation.changes == []
    assert observation.status_code == "NY"


def test_a_known_package_the_carrier_stops_finding_keeps_its_status() -> None:
    known, _ = _in_transit_since()
    observation = observe(known, NOT_FOUND)
    assert observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == IN_TRANSIT
    assert observation.carrier_found is False
    assert observation.new_events == []


def test_not_found_is_one_value() -> None:
    assert NotFoundYet() is NOT_FOUND
    assert repr(NOT_FOUND) == "NOT_FOUND"


def test_a_number_found_after_a_while_moves_on_from_not_yet_in_system() -> None:
    known = known_after(NOT_FOUND)
    observation = observe(known, report(scan(8, LABEL), scan(12, PICKED_UP)))
    assert states(observation.changes) == [
        ("NY", "NY", "SHIPMENT_CREATED"),
        ("NY", "AC", "PICKED_UP"),
    ]
    assert [c.sequence for c in observation.changes] == [2, 3]


def test_expiry_is_one_more_change_to_tracking_expired() -> None:
    known = known_after(NOT_FOUND)
    change = expiry(known)
    assert change == Change(
        sequence=2,
        previous_status="NY",
        status_code="UN",
        status_detail_code="TRACKING_EXPIRED",
        occurred_at=None,
        correction=False,
        event=None,
    )


# --- time and ordering -------------------------------------------------------------------------


def test_a_scan_without_utc_time_is_ordered_by_the_carriers_wall_time() -> None:
    history = [scan(3, PICKED_UP), scan(30, OUT_FOR_DELIVERY, utc=False), scan(20, IN_TRANSIT)]
    observation = observe(FIRST, report(*history))
    # The wall-time scan is the newest by its wall time; it decides the status.
    assert states(observation.changes) == [("UN", "IT", "OUT_FOR_DELIVERY")]
    assert observation.changes[0].occurred_at is None


def test_an_old_scan_without_utc_time_is_out_of_order() -> None:
    known, history = _in_transit_since(hours=30)
    # Hour 2 in New York wall time is still well before the newest known scan.
    old = scan(2, HELD, utc=False)
    observation = observe(known, report(old, *history))
    assert observation.changes == []
    assert [event for _, event in observation.new_events] == [old]


def test_a_new_scan_without_utc_time_is_a_change_in_order() -> None:
    known, history = _in_transit_since(hours=20)
    new = [scan(40, OUT_FOR_DELIVERY, utc=False), scan(46, DELIVERED)]
    observation = observe(known, report(*new, *history))
    assert states(observation.changes) == [
        ("IT", "IT", "OUT_FOR_DELIVERY"),
        ("IT", "DE", "DELIVERED"),
    ]


def test_event_moment_prefers_utc_and_falls_back_to_wall_time() -> None:
    timed = scan(5, IN_TRANSIT)
    assert event_moment(timed) == T0 + timedelta(hours=5)
    wall = scan(5, IN_TRANSIT, utc=False)
    # Wall time without an offset is read as if it were UTC: five hours "earlier" in New York.
    assert event_moment(wall) == T0 + timedelta(hours=5) - timedelta(hours=5)
    with_offset = dataclasses.replace(wall, carrier_occurred_at="2026-03-02T10:00:00-05:00")
    assert event_moment(with_offset) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    unreadable = dataclasses.replace(wall, carrier_occurred_at="yesterday")
    assert event_moment(unreadable) is None
    assert event_moment(TrackEvent(status_code="IT")) is None


def test_newest_first_orders_scans_as_shipengine_lists_them() -> None:
    a, b, c = scan(1, LABEL), scan(5, PICKED_UP), scan(20, IN_TRANSIT)
    wall = scan(12, HUB_IN, utc=False)  # New York wall time, read as UTC: sorts as hour 7
    timeless = TrackEvent(status_code="UN", description="no time given")
    ordered = newest_first([b, timeless, a, c, wall])
    assert ordered == [c, wall, b, a, timeless]
    assert newest_first([]) == []


# --- event identity ----------------------------------------------------------------------------


def test_the_same_scan_has_the_same_identity() -> None:
    first = scan(20, IN_TRANSIT)
    again = scan(20, IN_TRANSIT)
    assert first is not again
    assert event_identity(first) == event_identity(again)
    assert event_identity(first) == event_identity(first)
    # The same instant written in another offset is the same scan.
    shifted = dataclasses.replace(first, occurred_at=_moment(first).astimezone(NEW_YORK))
    assert event_identity(shifted) == event_identity(first)


def test_a_scan_keeps_its_identity_when_the_mapping_table_changes() -> None:
    first = scan(20, IN_TRANSIT, code="TRANSIT")
    remapped = dataclasses.replace(first, status_code="UN", status_detail_code="INFORMATION")
    assert event_identity(remapped) == event_identity(first)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", T0 + timedelta(hours=20, seconds=1)),
        ("occurred_at", None),
        ("carrier_occurred_at", "2026-03-03T00:00:01.000"),
        ("carrier_status_code", "OTHER"),
        ("carrier_detail_code", "OTHER"),
        ("event_code", "OTHER"),
        ("description", "Arrived at another hub"),
        ("city_locality", "NEWARK"),
        ("postal_code", "07102"),
        ("country_code", "CA"),
    ],
)
def test_each_identifying_field_tells_scans_apart(field: str, value: Any) -> None:
    base = scan(20, IN_TRANSIT)
    other = dataclasses.replace(base, **{field: value})
    assert event_identity(other) != event_identity(base)


# --- properties over random histories ----------------------------------------------------------

MAPPED_STATES: list[State] = [
    LABEL,
    PICKED_UP,
    IN_TRANSIT,
    HUB_IN,
    OUT_FOR_DELIVERY,
    ATTEMPTED,
    DELIVERED,
    HELD,
    PICKUP_POINT,
]


@st.composite
def histories(draw: st.DrawFn) -> list[TrackEvent]:
    """A chronological list of distinct mapped scans (some without UTC time)."""
    count = draw(st.integers(min_value=1, max_value=8))
    gaps = draw(st.lists(st.integers(1, 30), min_size=count, max_size=count))
    chosen = draw(st.lists(st.sampled_from(MAPPED_STATES), min_size=count, max_size=count))
    utc = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    hours = [sum(gaps[: i + 1]) for i in range(count)]
    # A wall-time-only scan sorts by its New York wall time read as UTC (five hours early):
    # scans at least ten hours apart keep the history's order either way.
    return [
        scan(hour * 10, state, utc=flag, city=f"CITY{i}")
        for i, (hour, state, flag) in enumerate(zip(hours, chosen, utc, strict=True))
    ]


def _moment(event: TrackEvent) -> datetime:
    moment = event_moment(event)
    assert moment is not None
    return moment


@st.composite
def checks(draw: st.DrawFn) -> tuple[list[TrackEvent], list[list[TrackEvent]]]:
    """A history, and what the carrier reports at each successive check: the scans it knows by
    then (revealed in any order), repeated and scrambled."""
    history = draw(histories())
    reveal = draw(st.permutations(history))
    cuts = sorted(draw(st.lists(st.integers(1, len(reveal)), max_size=4)))
    bounds = [*cuts, len(reveal)]
    reports: list[list[TrackEvent]] = []
    for bound in bounds:
        visible = list(reveal[:bound])
        repeated = visible + draw(st.lists(st.sampled_from(visible), max_size=len(visible)))
        reports.append(draw(st.permutations(repeated)))
    return history, reports


def _replay(reports: list[list[TrackEvent]]) -> tuple[Known, list[Change], list[TrackEvent]]:
    """Successive checks of one package through the engine's decider."""
    history: tuple[StoredEvent, ...]
    claimed, history = STARTED, ()
    changes: list[Change] = []
    for events in reports:
        claimed, history, made = check(claimed, history, report(*events))
        changes.extend(made)
    return known(claimed, history), changes, [event for _, event in history]


@settings(deadline=None)  # no timing: CI machines are slow and busy
@given(checks())
def test_any_order_and_split_ends_in_the_newest_scans_status(
    case: tuple[list[TrackEvent], list[list[TrackEvent]]],
) -> None:
    history, reports = case
    newest = max(history, key=_moment)

    known, changes, stored = _replay(reports)

    assert (known.status_code, known.status_detail_code) == (
        newest.status_code,
        newest.status_detail_code,
    )
    # Sequences are contiguous from 1, and each change starts where the previous one ended.
    assert [c.sequence for c in changes] == list(range(1, len(changes) + 1))
    assert changes[0].previous_status == "UN"
    for before, after in itertools.pairwise(changes):
        assert after.previous_status == before.status_code
        assert (after.status_code, after.status_detail_code) != (
            before.status_code,
            before.status_detail_code,
        )
    # Every scan is stored exactly once, however often and in whatever order it was reported.
    assert sorted(map(event_identity, stored)) == sorted(map(event_identity, history))
    assert known.identities == {event_identity(e) for e in history}


@st.composite
def chronological_checks(draw: st.DrawFn) -> tuple[list[TrackEvent], list[int]]:
    """A history the carrier reveals in order, and after how many scans each check happens."""
    history = draw(histories())
    cuts = draw(st.lists(st.integers(1, len(history)), max_size=len(history)))
    return history, sorted({*cuts, len(history)})


@settings(deadline=None)
@given(chronological_checks(), st.randoms(use_true_random=False))
def test_scans_revealed_in_order_give_every_transition_after_the_first_check(
    case: tuple[list[TrackEvent], list[int]], rng: random.Random
) -> None:
    history, bounds = case
    reports = []
    for bound in bounds:
        visible = history[:bound] * 2
        rng.shuffle(visible)
        reports.append(visible)

    _, changes, _ = _replay(reports)

    # The first check collapses what was already there into its newest state; every later scan
    # that differs from the state before it is a change, in the order the scans happened.
    already_there = history[bounds[0] - 1]
    expected_states: list[State] = [(already_there.status_code, already_there.status_detail_code)]
    expected_events = [already_there]
    for event in history[bounds[0] :]:
        state = (event.status_code, event.status_detail_code)
        if state != expected_states[-1]:
            expected_states.append(state)
            expected_events.append(event)
    assert [(c.status_code, c.status_detail_code) for c in changes] == expected_states
    assert [c.event for c in changes] == expected_events
    assert [c.occurred_at for c in changes] == [e.occurred_at for e in expected_events]
