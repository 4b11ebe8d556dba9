"""A carrier's word that a tracking number is invalid (``domain.changes.InvalidNumber``), decided
without I/O.

Covers what a user sees of such a number: it becomes ``UN`` / ``TRACKING_EXPIRED`` at the first
such answer (one notification, not one per check), shows the carrier's code and text and, in
``last_error``, who said the number is invalid; it is asked again as a number not found is, and
tracking stops (``invalid_number``) after ``INVALID_NUMBER_CONFIRMATIONS`` answers in a row; any
other answer starts the count again, and a package the carrier once found is never taken for
invalid on its word.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shiptrack.domain.changes import (
    INVALID_NUMBER_DETAIL,
    NOT_FOUND,
    CarrierReport,
    InvalidNumber,
    Known,
    event_identity,
    observe,
)
from shiptrack.domain.check import CheckOutcome, CheckPolicy, ClaimedPackage, decide
from shiptrack.domain.schedule import INVALID_NUMBER_CONFIRMATIONS, SchedulePolicy
from shiptrack.domain.statuses import STATUS_DETAIL_DESCRIPTIONS
from shiptrack.domain.tracking import Subscription, TrackEvent

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
POLICY = CheckPolicy(schedule=SchedulePolicy(jitter=0))
INVALID = InvalidNumber("UPS", "TV1002", "Invalid inquiry number")


def new_package() -> ClaimedPackage:
    return ClaimedPackage(
        subscription=Subscription(
            id=7,
            account_id=1,
            connection_id=3,
            carrier_code="ups",
            tracking_number="1ZINVALIDNUMBER",
            active=True,
        ),
        created_at=T0,
        status_since=None,
        announce=True,
        settled=False,
        lease_until=T0,
    )


def after(claimed: ClaimedPackage, outcome: CheckOutcome) -> ClaimedPackage:
    """The package as the next check claims it: what this check wrote."""
    state = outcome.package
    return replace(
        claimed,
        subscription=replace(
            claimed.subscription,
            status_code=state.status_code,
            status_detail_code=state.status_detail_code,
            carrier_status_code=state.carrier_status_code,
            carrier_status_description=state.carrier_status_description,
            sequence=state.sequence,
            last_error=state.last_error,
        ),
        status_since=state.status_since,
        announce=False,
        settled=True,
        invalid_checks=state.invalid_checks,
    )


def walk(answers: list[object]) -> list[CheckOutcome]:
    """Each answer in turn, each check at the time the previous one scheduled."""
    package, now, outcomes = new_package(), T0, []
    for answer in answers:
        outcome = decide(package, (), answer, POLICY, now)  # type: ignore[arg-type]
        outcomes.append(outcome)
        if outcome.package.next_check_at is None:
            break
        package, now = after(package, outcome), outcome.package.next_check_at
    return outcomes


def test_the_detail_code_is_one_of_shipengines() -> None:
    # shiptrack never sends a detail code outside ShipEngine's enum; the closest one is used.
    assert INVALID_NUMBER_DETAIL in STATUS_DETAIL_DESCRIPTIONS


def test_the_first_invalid_answer_makes_the_package_unknown_with_the_carriers_verdict() -> None:
    [outcome] = walk([INVALID])

    state = outcome.package
    assert (state.status_code, state.status_detail_code) == ("UN", "TRACKING_EXPIRED")
    assert state.carrier_status_code == "TV1002"
    assert state.carrier_status_description == "Invalid inquiry number"
    assert (
        state.last_error
        == "UPS says the tracking number is invalid (TV1002 Invalid inquiry number)"
    )
    assert state.active and state.invalid_checks == 1
    [notice] = outcome.notices
    assert (notice.change.previous_status, notice.change.status_code) == ("UN", "UN")
    assert notice.change.status_detail_code == "TRACKING_EXPIRED"
    assert notice.package.last_error == state.last_error


def test_tracking_stops_after_the_confirmations_with_one_notification_only() -> None:
    outcomes = walk([INVALID] * 10)

    assert len(outcomes) == INVALID_NUMBER_CONFIRMATIONS == 3
    assert [len(o.notices) for o in outcomes] == [1, 0, 0]
    assert [o.package.invalid_checks for o in outcomes] == [1, 2, 3]
    last = outcomes[-1].package
    assert last.stop_reason == "invalid_number" and last.next_check_at is None
    assert (last.status_code, last.status_detail_code) == ("UN", "TRACKING_EXPIRED")
    assert last.last_error is not None and "invalid" in last.last_error


def test_confirmations_are_spaced_as_any_number_not_found() -> None:
    outcomes = walk([INVALID] * 3)
    not_found = walk([NOT_FOUND] * 3)

    assert [o.package.next_check_at for o in outcomes[:2]] == [
        o.package.next_check_at for o in not_found[:2]
    ]
    assert all(o.package.checked_at < o.package.next_check_at for o in outcomes[:2])  # type: ignore[operator]


@pytest.mark.parametrize(
    "interruption", ["not_found", "found"], ids=["not-found-again", "found-after-all"]
)
def test_any_other_answer_starts_the_count_again(interruption: str) -> None:
    other: object = NOT_FOUND
    if interruption == "found":
        other = CarrierReport(events=())  # the carrier knows the number (no scan yet)
    outcomes = walk([INVALID, INVALID, other, INVALID, INVALID])

    assert [o.package.invalid_checks for o in outcomes] == [1, 2, 0, 1, 2]
    assert all(o.package.active for o in outcomes)
    assert outcomes[2].package.last_error is None
    if interruption == "not_found":
        # Back to "not yet in system", and invalid again at the next invalid answer.
        assert [(o.package.status_code, len(o.notices)) for o in outcomes] == [
            ("UN", 1),
            ("UN", 0),
            ("NY", 1),
            ("UN", 1),
            ("UN", 0),
        ]


def test_a_number_the_carrier_once_found_is_not_taken_for_invalid() -> None:
    scan = TrackEvent(
        status_code="IT",
        status_detail_code="IN_TRANSIT",
        occurred_at=T0 + timedelta(hours=3),
        event_code="005",
    )
    known = Known(
        status_code="IT",
        status_detail_code="IN_TRANSIT",
        sequence=2,
        settled=True,
        newest_event_at=scan.occurred_at,
        identities=frozenset({event_identity(scan)}),
    )

    observation = observe(known, INVALID)

    assert observation.invalid is None and observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == ("IT", "IN_TRANSIT")


def test_an_invalid_number_past_the_expiry_stops_as_invalid_not_expired() -> None:
    package = replace(
        new_package(), settled=True, announce=False, invalid_checks=INVALID_NUMBER_CONFIRMATIONS - 1
    )
    package = replace(
        package,
        subscription=replace(
            package.subscription, status_code="UN", status_detail_code="TRACKING_EXPIRED"
        ),
    )

    outcome = decide(package, (), INVALID, POLICY, T0 + timedelta(days=40))

    assert outcome.notices == ()
    assert outcome.package.stop_reason == "invalid_number"


def test_the_verdict_names_the_carrier_even_without_a_code() -> None:
    assert InvalidNumber("USPS").verdict() == "USPS says the tracking number is invalid"
