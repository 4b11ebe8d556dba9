"""The polling schedule (``shiptrack.domain.schedule``): when a package is checked next, when a
number that was never found expires, how a failing carrier is backed off, and when tracking stops.

The intervals are the README's table ("When packages are checked"): not found yet → a quarter of
the subscription's age between 5 minutes and 6 hours; accepted / in transit → 3 h; out for
delivery, delivery attempt or past the estimated delivery date → 30 min; pickup point → 6 h;
watched exception → 3 h; all ±10 % jitter, all divided by the (sandbox) clock speed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shiptrack.domain.schedule import MIN_INTERVAL, SchedulePolicy, stop_reason

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POLICY = SchedulePolicy()
MINUTE = 60.0
HOUR = 3600.0


def _no_jitter() -> float:
    """``rand`` at the middle of its range: the jitter factor is exactly 1."""
    return 0.5


@pytest.mark.parametrize(
    ("status_code", "status_detail_code", "expected"),
    [
        ("AC", "PICKED_UP", 3 * HOUR),
        ("AC", "DROPPED_OFF", 3 * HOUR),
        ("IT", "IN_TRANSIT", 3 * HOUR),
        ("IT", "HUB_SCAN_IN", 3 * HOUR),
        ("IT", "OUT_FOR_DELIVERY", 30 * MINUTE),
        ("AT", "ATTEMPTED_DELIVERY", 30 * MINUTE),
        ("SP", "DELIVERED_TO_PICKUP_POINT", 6 * HOUR),
        ("EX", "HELD_BY_CARRIER", 3 * HOUR),
    ],
)
def test_each_state_is_checked_at_the_readme_interval(
    status_code: str, status_detail_code: str, expected: float
) -> None:
    interval = POLICY.interval(
        status_code, status_detail_code, age=timedelta(days=1), past_estimated_delivery=False
    )
    assert interval == expected
    checked = POLICY.next_check(
        status_code, status_detail_code, now=NOW, age=timedelta(days=1), rand=_no_jitter
    )
    assert checked == NOW + timedelta(seconds=expected)


@pytest.mark.parametrize(
    ("status_code", "status_detail_code"),
    [("AC", "PICKED_UP"), ("IT", "IN_TRANSIT"), ("IT", "HUB_SCAN_OUT"), ("SP", None)],
)
def test_a_package_past_its_estimated_delivery_is_checked_every_30_minutes(
    status_code: str, status_detail_code: str | None
) -> None:
    late = POLICY.next_check(
        status_code,
        status_detail_code,
        now=NOW,
        age=timedelta(days=3),
        estimated_delivery=NOW - timedelta(minutes=1),
        rand=_no_jitter,
    )
    assert late == NOW + timedelta(minutes=30)


def test_a_package_before_its_estimated_delivery_keeps_its_state_interval() -> None:
    on_time = POLICY.next_check(
        "IT",
        "IN_TRANSIT",
        now=NOW,
        age=timedelta(days=1),
        estimated_delivery=NOW + timedelta(hours=1),
        rand=_no_jitter,
    )
    assert on_time == NOW + timedelta(hours=3)


@pytest.mark.parametrize("status_code", ["NY", "UN"])
@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), 5 * MINUTE),  # a fresh subscription: the 5 minute floor
        (timedelta(minutes=10), 5 * MINUTE),  # a quarter would be 2.5 minutes
        (timedelta(minutes=20), 5 * MINUTE),
        (timedelta(hours=1), 15 * MINUTE),
        (timedelta(hours=4), 1 * HOUR),
        (timedelta(hours=24), 6 * HOUR),
        (timedelta(days=10), 6 * HOUR),  # the 6 hour ceiling
    ],
)
def test_a_number_not_found_yet_is_checked_at_a_quarter_of_its_age_within_bounds(
    status_code: str, age: timedelta, expected: float
) -> None:
    assert POLICY.interval(status_code, None, age=age, past_estimated_delivery=False) == expected
    assert POLICY.next_check(
        status_code, None, now=NOW, age=age, rand=_no_jitter
    ) == NOW + timedelta(seconds=expected)


def test_jitter_stays_within_ten_percent_both_ways() -> None:
    def at(rand_value: float) -> timedelta:
        return (
            POLICY.next_check(
                "IT", "IN_TRANSIT", now=NOW, age=timedelta(1), rand=lambda: rand_value
            )
            - NOW
        )

    assert at(0.0) == timedelta(hours=3) * 0.9
    assert at(1.0) == timedelta(hours=3) * 1.1
    assert at(0.5) == timedelta(hours=3)
    assert at(0.25) == timedelta(hours=3) * 0.95

    generator = random.Random(7)
    waits = [
        POLICY.next_check("IT", None, now=NOW, age=timedelta(1), rand=generator.random) - NOW
        for _ in range(500)
    ]
    assert all(timedelta(hours=2.7) <= wait <= timedelta(hours=3.3) for wait in waits)
    # Packages started together spread out instead of polling in lockstep.
    assert len(set(waits)) > 400
    assert min(waits) < timedelta(hours=2.8)
    assert max(waits) > timedelta(hours=3.2)


def test_a_configured_jitter_is_honoured() -> None:
    steady = SchedulePolicy(jitter=0.0)
    assert steady.next_check("IT", None, now=NOW, age=timedelta(1), rand=lambda: 0.0) == (
        NOW + timedelta(hours=3)
    )
    wide = SchedulePolicy(jitter=0.5)
    assert wide.next_check("IT", None, now=NOW, age=timedelta(1), rand=lambda: 1.0) == (
        NOW + timedelta(hours=4.5)
    )


def test_configured_intervals_replace_the_defaults() -> None:
    policy = SchedulePolicy(in_transit=600, near_delivery=60, pickup_point=7200, exception=900)
    assert policy.interval("IT", "IN_TRANSIT", age=timedelta(1), past_estimated_delivery=False) == (
        600
    )
    assert policy.interval("AT", None, age=timedelta(1), past_estimated_delivery=False) == 60
    assert policy.interval("SP", None, age=timedelta(1), past_estimated_delivery=False) == 7200
    assert policy.interval("EX", None, age=timedelta(1), past_estimated_delivery=False) == 900


@pytest.mark.parametrize("speed", [1.0, 10.0, 4320.0])
def test_the_sandbox_speed_divides_every_interval(speed: float) -> None:
    in_transit = POLICY.next_check(
        "IT", "IN_TRANSIT", now=NOW, age=timedelta(days=1), speed=speed, rand=_no_jitter
    )
    assert in_transit - NOW == max(MIN_INTERVAL, timedelta(hours=3) / speed)
    pickup = POLICY.next_check(
        "SP", None, now=NOW, age=timedelta(days=1), speed=speed, rand=_no_jitter
    )
    assert pickup - NOW == max(MIN_INTERVAL, timedelta(hours=6) / speed)


def test_the_sandbox_speed_also_speeds_up_the_age_of_a_number_not_found() -> None:
    # One real hour at speed 4 is four journey hours: checked after a quarter of that (one
    # journey hour), which is 15 real minutes.
    waited = POLICY.next_check(
        "NY", None, now=NOW, age=timedelta(hours=1), speed=4, rand=_no_jitter
    )
    assert waited == NOW + timedelta(minutes=15)
    # The 6 hour ceiling is journey time too.
    capped = POLICY.next_check("NY", None, now=NOW, age=timedelta(days=5), speed=4, rand=_no_jitter)
    assert capped == NOW + timedelta(hours=6) / 4


def test_no_check_is_ever_scheduled_sooner_than_the_minimum_interval() -> None:
    for status_code, detail in [("IT", "OUT_FOR_DELIVERY"), ("NY", None), ("SP", None)]:
        checked = POLICY.next_check(
            status_code, detail, now=NOW, age=timedelta(0), speed=1e9, rand=lambda: 0.0
        )
        assert checked == NOW + MIN_INTERVAL
    backed_off = POLICY.backoff(1, now=NOW, speed=1e9, rand=lambda: 0.0)
    assert backed_off == NOW + MIN_INTERVAL
    honoured = POLICY.backoff(1, now=NOW, retry_after=1.0, speed=1e9)
    assert honoured == NOW + MIN_INTERVAL


def test_a_number_never_found_expires_after_30_days() -> None:
    assert not POLICY.expired("NY", age=timedelta(days=30) - timedelta(seconds=1))
    assert POLICY.expired("NY", age=timedelta(days=30))
    assert POLICY.expired("UN", age=timedelta(days=31))


@pytest.mark.parametrize("status_code", ["AC", "IT", "AT", "SP", "EX", "DE"])
def test_a_number_the_carrier_knows_never_expires(status_code: str) -> None:
    assert not POLICY.expired(status_code, age=timedelta(days=365))


def test_the_sandbox_speed_shortens_the_expiry() -> None:
    # At 720 times real speed, 30 journey days are one real hour.
    assert not POLICY.expired("NY", age=timedelta(minutes=59), speed=720)
    assert POLICY.expired("NY", age=timedelta(hours=1), speed=720)


def test_a_configured_expiry_replaces_the_default() -> None:
    policy = SchedulePolicy(expire_after=86400)
    assert not policy.expired("NY", age=timedelta(hours=23))
    assert policy.expired("NY", age=timedelta(days=1))


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (4, timedelta(minutes=8)),
        (6, timedelta(minutes=32)),
        (7, timedelta(hours=1)),  # 64 minutes, capped at the hour
        (30, timedelta(hours=1)),
    ],
)
def test_without_retry_after_the_backoff_doubles_from_a_minute_to_an_hour(
    failures: int, expected: timedelta
) -> None:
    assert POLICY.backoff(failures, now=NOW, rand=_no_jitter) == NOW + expected


def test_the_doubling_backoff_is_jittered_within_ten_percent() -> None:
    assert POLICY.backoff(2, now=NOW, rand=lambda: 0.0) == NOW + timedelta(minutes=2) * 0.9
    assert POLICY.backoff(2, now=NOW, rand=lambda: 1.0) == NOW + timedelta(minutes=2) * 1.1


@pytest.mark.parametrize("failures", [1, 5, 20])
def test_a_carriers_retry_after_is_honoured_exactly(failures: int) -> None:
    for rand_value in (0.0, 1.0):
        # A def, not a lambda: mypy cannot infer a lambda whose default binds the loop value.
        def rand(value: float = rand_value) -> float:
            return value

        waited = POLICY.backoff(failures, now=NOW, retry_after=120, rand=rand)
        assert waited == NOW + timedelta(seconds=120)


def test_a_retry_after_beyond_the_maximum_backoff_is_capped() -> None:
    assert POLICY.backoff(1, now=NOW, retry_after=7200) == NOW + timedelta(hours=1)
    assert SchedulePolicy(backoff_max=600).backoff(1, now=NOW, retry_after=7200) == (
        NOW + timedelta(minutes=10)
    )


def test_a_retry_after_of_zero_waits_at_least_a_second() -> None:
    assert POLICY.backoff(1, now=NOW, retry_after=0) == NOW + timedelta(seconds=1)


def test_the_sandbox_speed_divides_the_backoff() -> None:
    assert POLICY.backoff(1, now=NOW, speed=60, rand=_no_jitter) == NOW + timedelta(seconds=1)
    assert POLICY.backoff(1, now=NOW, retry_after=3600, speed=60) == NOW + timedelta(minutes=1)


def test_delivered_packages_stop_at_once() -> None:
    assert stop_reason("DE", status_since=NOW, now=NOW, exception_watch=None) == "delivered"
    assert (
        stop_reason("DE", status_since=NOW, now=NOW, exception_watch=timedelta(days=7))
        == "delivered"
    )


def test_exceptions_stop_at_once_unless_the_account_watches_them() -> None:
    assert stop_reason("EX", status_since=NOW, now=NOW, exception_watch=None) == "exception"


def test_a_watched_exception_is_followed_until_the_watch_runs_out() -> None:
    watch = timedelta(days=7)
    since = NOW - timedelta(days=6, hours=23)
    assert stop_reason("EX", status_since=since, now=NOW, exception_watch=watch) is None
    assert (
        stop_reason("EX", status_since=NOW - watch, now=NOW, exception_watch=watch) == "exception"
    )
    # Without knowing when the exception began there is nothing to count from: stop.
    assert stop_reason("EX", status_since=None, now=NOW, exception_watch=watch) == "exception"


@pytest.mark.parametrize("status_code", ["UN", "NY", "AC", "IT", "AT", "SP"])
def test_packages_on_their_way_keep_being_tracked(status_code: str) -> None:
    assert (
        stop_reason(
            status_code, status_since=NOW - timedelta(days=90), now=NOW, exception_watch=None
        )
        is None
    )
