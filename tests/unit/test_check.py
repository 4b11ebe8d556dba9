"""The decider of one check (``shiptrack.domain.check.decide``): what a carrier's answer makes of a
claimed package.

Covers what the engine writes after a check, without a database: the package's new state and its
carrier codes and dates, when it is checked next (by status, past its estimated delivery, on a
sandbox clock) or why it stops (delivered, exception, exception watch, expiry), which scans are
added to its history, and the notices: one per status change with the next sequence, the package as
it was at each change (an earlier change of the same check shows its own scan's codes and only the
scans up to it), a restart's announcement of an unchanged status, and a carrier's "nothing newer"
(``UNCHANGED``) keeping everything as it is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shiptrack.domain.changes import (
    NOT_FOUND,
    UNCHANGED,
    CarrierReport,
    StoredEvent,
    event_identity,
    newest_moment,
)
from shiptrack.domain.check import CheckPolicy, ClaimedPackage, decide
from shiptrack.domain.schedule import SchedulePolicy
from shiptrack.domain.tracking import Subscription, TrackEvent

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=30)
#: No jitter, so that every next check is exact.
SCHEDULE = SchedulePolicy(jitter=0)
POLICY = CheckPolicy(schedule=SCHEDULE)


def scan(hours: float, status: str, detail: str, *, code: str = "") -> TrackEvent:
    return TrackEvent(
        status_code=status,
        status_detail_code=detail,
        occurred_at=T0 + timedelta(hours=hours),
        description=f"{detail} scan",
        city_locality="DENVER",
        event_code=code or detail[:2],
        carrier_status_code=code or detail[:2],
        carrier_detail_code=f"{code or detail[:2]}-D",
        carrier_status_description=f"{detail} (carrier text)",
    )


PICKED_UP = scan(1, "AC", "PICKED_UP", code="PU")
IN_TRANSIT = scan(5, "IT", "IN_TRANSIT", code="IT")
OUT_FOR_DELIVERY = scan(20, "IT", "OUT_FOR_DELIVERY", code="OD")
DELIVERED = scan(24, "DE", "DELIVERED", code="DL")
HELD = scan(22, "EX", "HELD_BY_CARRIER", code="HC")


def stored(*events: TrackEvent) -> tuple[StoredEvent, ...]:
    return tuple((event_identity(event), event) for event in events)


def claimed(
    status: str = "UN",
    detail: str | None = None,
    *,
    sequence: int = 0,
    settled: bool = False,
    status_since: datetime | None = None,
    **fields: Any,
) -> ClaimedPackage:
    return ClaimedPackage(
        subscription=Subscription(
            id=7,
            account_id=1,
            connection_id=3,
            carrier_code="ups",
            tracking_number="1Z999AA10123456784",
            active=True,
            status_code=status,
            status_detail_code=detail,
            sequence=sequence,
            **fields,
        ),
        created_at=T0,
        status_since=status_since,
        announce=not settled,
        settled=settled,
        lease_until=NOW,
    )


def report(*events: TrackEvent, **dates: str) -> CarrierReport:
    return CarrierReport(events=tuple(events), **dates)


IN_TRANSIT_PACKAGE = claimed(
    "IT",
    "IN_TRANSIT",
    sequence=2,
    settled=True,
    status_since=T0 + timedelta(hours=5),
    carrier_status_code="IT",
)


def test_the_first_check_records_the_status_the_carrier_gives_and_its_scans() -> None:
    outcome = decide(claimed(), (), report(PICKED_UP, IN_TRANSIT), POLICY, NOW)

    package = outcome.package
    assert (package.status_code, package.status_detail_code) == ("IT", "IN_TRANSIT")
    assert package.carrier_status_code == "IT"
    assert package.carrier_detail_code == "IT-D"
    assert package.carrier_status_description == "IN_TRANSIT (carrier text)"
    assert package.sequence == 1
    assert package.status_since == NOW
    assert package.checked_at == NOW
    assert package.active and package.stop_reason is None
    assert package.next_check_at == NOW + timedelta(seconds=SCHEDULE.in_transit)
    assert outcome.history == stored(PICKED_UP, IN_TRANSIT)
    [notice] = outcome.notices
    assert (notice.change.previous_status, notice.change.status_code) == ("UN", "IT")
    assert notice.change.sequence == 1
    assert notice.package.status_code == "IT"
    assert notice.events == (IN_TRANSIT, PICKED_UP)


def test_a_check_with_nothing_new_writes_no_history_and_notifies_nothing() -> None:
    history = stored(PICKED_UP, IN_TRANSIT)

    outcome = decide(IN_TRANSIT_PACKAGE, history, report(IN_TRANSIT, PICKED_UP), POLICY, NOW)

    assert outcome.history is None
    assert outcome.notices == ()
    assert outcome.package.sequence == 2
    # The status has not changed since it was reached: its "since" stays.
    assert outcome.package.status_since == T0 + timedelta(hours=5)
    assert outcome.package.next_check_at == NOW + timedelta(seconds=SCHEDULE.in_transit)


def test_each_change_of_one_check_is_notified_with_the_package_as_it_was_then() -> None:
    history = stored(PICKED_UP, IN_TRANSIT)
    answer = report(PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED)

    outcome = decide(IN_TRANSIT_PACKAGE, history, answer, POLICY, NOW)

    assert [n.change.sequence for n in outcome.notices] == [3, 4]
    earlier, latest = outcome.notices
    assert (earlier.package.status_code, earlier.package.status_detail_code) == (
        "IT",
        "OUT_FOR_DELIVERY",
    )
    assert earlier.package.carrier_status_code == "OD"
    assert earlier.package.actual_delivery_date is None
    assert earlier.events == (OUT_FOR_DELIVERY, IN_TRANSIT, PICKED_UP)
    assert latest.package.status_code == "DE"
    assert latest.package.carrier_status_code == "DL"
    assert latest.package.actual_delivery_date == "2026-05-05T08:00:00Z"
    assert latest.events == (DELIVERED, OUT_FOR_DELIVERY, IN_TRANSIT, PICKED_UP)
    assert latest.change.previous_status == "IT"
    assert outcome.history == stored(PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED)


def test_delivery_stops_tracking() -> None:
    outcome = decide(IN_TRANSIT_PACKAGE, (), report(DELIVERED), POLICY, NOW)

    assert outcome.package.stop_reason == "delivered"
    assert not outcome.package.active
    assert outcome.package.next_check_at is None
    assert outcome.notices[-1].package.stop_reason == "delivered"
    assert outcome.notices[-1].package.active is False


def test_an_exception_stops_tracking_unless_the_account_watches_exceptions() -> None:
    assert decide(IN_TRANSIT_PACKAGE, (), report(HELD), POLICY, NOW).package.stop_reason == (
        "exception"
    )

    watching = replace(POLICY, exception_watch=timedelta(days=3))
    outcome = decide(IN_TRANSIT_PACKAGE, (), report(HELD), watching, NOW)
    assert outcome.package.active
    assert outcome.package.exception_description == "HELD_BY_CARRIER scan"
    assert outcome.package.next_check_at == NOW + timedelta(seconds=SCHEDULE.exception)


def test_a_watched_exception_stops_once_the_watch_is_over() -> None:
    held = claimed("EX", "HELD_BY_CARRIER", sequence=3, settled=True, status_since=NOW)
    watching = replace(POLICY, exception_watch=timedelta(days=3))

    still = decide(held, stored(HELD), report(HELD), watching, NOW + timedelta(days=2))
    over = decide(held, stored(HELD), report(HELD), watching, NOW + timedelta(days=3))

    assert still.package.active
    assert over.package.stop_reason == "exception"
    assert over.notices == ()


def test_a_package_past_its_estimated_delivery_is_checked_more_often() -> None:
    on_time = decide(
        IN_TRANSIT_PACKAGE,
        (),
        report(IN_TRANSIT, estimated_delivery_date="2026-05-09"),
        POLICY,
        NOW,
    )
    # A date without a time means that day: it is late only once the day is over.
    due_today = decide(
        IN_TRANSIT_PACKAGE,
        (),
        report(IN_TRANSIT, estimated_delivery_date="2026-05-05T00:00:00"),
        POLICY,
        NOW,
    )
    late = decide(
        IN_TRANSIT_PACKAGE,
        (),
        report(IN_TRANSIT, estimated_delivery_date="2026-05-04T00:00:00"),
        POLICY,
        NOW,
    )

    assert on_time.package.next_check_at == NOW + timedelta(seconds=SCHEDULE.in_transit)
    assert due_today.package.next_check_at == NOW + timedelta(seconds=SCHEDULE.in_transit)
    assert late.package.next_check_at == NOW + timedelta(seconds=SCHEDULE.near_delivery)
    assert late.package.estimated_delivery_date == "2026-05-04T00:00:00"


def test_a_sandbox_clock_brings_the_next_check_closer() -> None:
    fast = replace(POLICY, speed=3600)

    outcome = decide(IN_TRANSIT_PACKAGE, (), report(IN_TRANSIT), fast, NOW)

    assert outcome.package.next_check_at == NOW + timedelta(seconds=SCHEDULE.in_transit / 3600)


def test_a_number_never_found_expires_with_one_last_change() -> None:
    not_yet = claimed("NY", None, sequence=1, settled=True, status_since=T0)
    month = timedelta(seconds=SCHEDULE.expire_after)

    young = decide(not_yet, (), NOT_FOUND, POLICY, T0 + month / 2)
    old = decide(not_yet, (), NOT_FOUND, POLICY, T0 + month)

    assert young.notices == () and young.package.active
    [notice] = old.notices
    assert (notice.change.status_code, notice.change.status_detail_code) == (
        "UN",
        "TRACKING_EXPIRED",
    )
    assert notice.change.sequence == 2
    assert old.package.stop_reason == "expired"
    assert old.package.next_check_at is None


def test_a_first_check_past_the_expiry_chains_not_yet_found_then_expired() -> None:
    # First checked a month after the start (the workers were down): the check finds it not in
    # the carrier's system and expires it at once; the expiry follows the NY it just recorded.
    never_checked = claimed("UN", None, sequence=0)
    month = timedelta(seconds=SCHEDULE.expire_after)

    outcome = decide(never_checked, (), NOT_FOUND, POLICY, T0 + month)

    assert [
        (n.change.sequence, n.change.previous_status, n.change.status_code) for n in outcome.notices
    ] == [(1, "UN", "NY"), (2, "NY", "UN")]
    assert outcome.package.stop_reason == "expired"


def test_a_restart_announces_the_unchanged_status_with_the_next_sequence() -> None:
    restarted = replace(IN_TRANSIT_PACKAGE, settled=False, announce=True)

    outcome = decide(restarted, stored(PICKED_UP, IN_TRANSIT), report(IN_TRANSIT), POLICY, NOW)

    [notice] = outcome.notices
    assert (notice.change.previous_status, notice.change.status_code) == ("IT", "IT")
    assert notice.change.sequence == 3
    assert outcome.package.sequence == 3


def test_a_carrier_that_stops_finding_a_known_package_keeps_what_it_said() -> None:
    known = replace(
        IN_TRANSIT_PACKAGE,
        subscription=replace(
            IN_TRANSIT_PACKAGE.subscription,
            carrier_detail_code="IT-D",
            ship_date="2026-05-04",
        ),
    )

    outcome = decide(known, stored(IN_TRANSIT), NOT_FOUND, POLICY, NOW)

    assert outcome.notices == ()
    assert outcome.package.status_code == "IT"
    assert outcome.package.carrier_status_code == "IT"
    assert outcome.package.carrier_detail_code == "IT-D"
    assert outcome.package.ship_date == "2026-05-04"


def test_a_carrier_that_saw_nothing_newer_keeps_the_package_as_it_is() -> None:
    known = replace(
        IN_TRANSIT_PACKAGE,
        subscription=replace(
            IN_TRANSIT_PACKAGE.subscription,
            carrier_detail_code="IT-D",
            carrier_status_description="IN_TRANSIT (carrier text)",
            ship_date="2026-05-04",
            estimated_delivery_date="2026-05-06",
        ),
    )

    outcome = decide(known, stored(PICKED_UP, IN_TRANSIT), UNCHANGED, POLICY, NOW)

    assert outcome.history is None
    assert outcome.notices == ()
    package = outcome.package
    assert (package.status_code, package.status_detail_code, package.sequence) == (
        "IT",
        "IN_TRANSIT",
        2,
    )
    assert (package.carrier_status_code, package.carrier_detail_code) == ("IT", "IT-D")
    assert package.carrier_status_description == "IN_TRANSIT (carrier text)"
    assert (package.ship_date, package.estimated_delivery_date) == ("2026-05-04", "2026-05-06")
    assert package.status_since == T0 + timedelta(hours=5)
    assert package.checked_at == NOW
    assert package.next_check_at == NOW + timedelta(seconds=SCHEDULE.in_transit)
    assert package.last_error is None and package.invalid_checks == 0


def test_nothing_newer_on_a_restart_still_announces_the_status() -> None:
    restarted = replace(IN_TRANSIT_PACKAGE, settled=False, announce=True)

    outcome = decide(restarted, stored(PICKED_UP, IN_TRANSIT), UNCHANGED, POLICY, NOW)

    [notice] = outcome.notices
    assert (notice.change.previous_status, notice.change.status_code) == ("IT", "IT")
    assert notice.change.sequence == 3
    assert notice.events == (IN_TRANSIT, PICKED_UP)


def test_the_newest_stored_moment_counts_unmapped_scans_too() -> None:
    unmapped = scan(9, "UN", "CARRIER_STATUS_NOT_MAPPED", code="ZZ")
    assert newest_moment([PICKED_UP, unmapped, IN_TRANSIT]) == T0 + timedelta(hours=9)
    assert newest_moment([]) is None
