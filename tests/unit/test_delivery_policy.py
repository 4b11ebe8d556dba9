"""Webhook retry rules (``shiptrack.domain.delivery``): when a failed delivery is tried again.

The README ("Retries, order, health"): retries after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h (±20 %), then the delivery fails for good (8 attempts in all); a ``Retry-After`` asking for
more time than the schedule is honoured up to a day, one asking for less is ignored; an endpoint
that has only failed for 5 days is disabled. ``parse_retry_after`` reads delta-seconds and HTTP
dates, and anything unreadable as absent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.delivery import RetryPolicy, parse_retry_after

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy()
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0

#: The README's schedule: the wait after the 1st, 2nd, ... 7th failed attempt.
DOCUMENTED = [5, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]


def _fixed(value: float) -> Callable[[], float]:
    """An injected ``rand``: 0 is the earliest jitter, 0.5 none, 1 the latest."""
    return lambda: value


def _wait(
    attempts_made: int,
    *,
    rand: float = 0.5,
    retry_after: float | None = None,
    policy: RetryPolicy = POLICY,
) -> float | None:
    """Seconds until the next attempt, or ``None`` when the policy gives up."""
    moment = policy.next_attempt(attempts_made, now=NOW, retry_after=retry_after, rand=_fixed(rand))
    return None if moment is None else (moment - NOW).total_seconds()


# The schedule


@pytest.mark.parametrize(("attempts_made", "expected"), list(enumerate(DOCUMENTED, start=1)))
def test_each_failed_attempt_is_retried_after_the_documented_wait(
    attempts_made: int, expected: float
) -> None:
    assert _wait(attempts_made) == pytest.approx(expected)


@pytest.mark.parametrize(("attempts_made", "expected"), list(enumerate(DOCUMENTED, start=1)))
def test_the_wait_varies_by_at_most_twenty_percent(attempts_made: int, expected: float) -> None:
    assert _wait(attempts_made, rand=0.0) == pytest.approx(expected * 0.8)
    assert _wait(attempts_made, rand=1.0) == pytest.approx(expected * 1.2)
    assert _wait(attempts_made, rand=0.75) == pytest.approx(expected * 1.1)


def test_the_wait_is_jittered_by_default() -> None:
    waits = set()
    for _ in range(50):
        moment = POLICY.next_attempt(3, now=NOW)
        assert moment is not None
        wait = (moment - NOW).total_seconds()
        assert 0.8 * 30 * MINUTE <= wait <= 1.2 * 30 * MINUTE
        waits.add(wait)
    # Endpoints that failed together do not all come back at the same instant.
    assert len(waits) > 1


@pytest.mark.parametrize("attempts_made", [8, 9, 20])
def test_after_the_eighth_attempt_the_delivery_is_given_up(attempts_made: int) -> None:
    assert _wait(attempts_made) is None


def test_a_receiver_asking_for_more_time_cannot_keep_a_given_up_delivery_alive() -> None:
    assert _wait(8, retry_after=60) is None


def test_the_last_retry_comes_about_27_hours_after_the_first_failure() -> None:
    total = 0.0
    attempts = 1
    while (wait := _wait(attempts)) is not None:
        total += wait
        attempts += 1
    assert attempts == 8  # the 8th attempt is the last
    assert total == pytest.approx(99305)  # 27 h 35 min 5 s


def test_a_configured_schedule_is_followed_and_sets_the_number_of_attempts() -> None:
    fast = RetryPolicy(schedule=(0.3, 0.6, 1.0), jitter=0)
    assert [_wait(n, policy=fast, rand=0.0) for n in range(1, 5)] == [
        pytest.approx(0.3),
        pytest.approx(0.6),
        pytest.approx(1.0),
        None,
    ]


# Retry-After


def test_a_longer_retry_after_is_honoured() -> None:
    # The schedule says 5 s (6 s at most with jitter); the receiver asks for 2 minutes.
    assert _wait(1, retry_after=120, rand=1.0) == pytest.approx(120)
    assert _wait(4, retry_after=3 * HOUR) == pytest.approx(3 * HOUR)


def test_a_shorter_retry_after_never_makes_a_retry_come_sooner() -> None:
    assert _wait(3, retry_after=60) == pytest.approx(30 * MINUTE)
    assert _wait(3, retry_after=60, rand=0.0) == pytest.approx(24 * MINUTE)
    assert _wait(2, retry_after=0) == pytest.approx(5 * MINUTE)


def test_retry_after_is_capped_at_a_day() -> None:
    assert _wait(1, retry_after=3 * DAY) == pytest.approx(DAY)
    assert _wait(7, retry_after=float("inf")) == pytest.approx(DAY)


def test_the_retry_after_cap_is_configurable() -> None:
    policy = RetryPolicy(retry_after_max=HOUR)
    assert _wait(1, retry_after=5 * HOUR, policy=policy) == pytest.approx(HOUR)
    # The cap limits the receiver, not the schedule: a 10 h step stays 10 h.
    assert _wait(6, retry_after=5 * HOUR, policy=policy) == pytest.approx(10 * HOUR)


# Disabling


def test_an_endpoint_that_is_not_failing_is_never_disabled() -> None:
    assert POLICY.disable(None, NOW) is False


@pytest.mark.parametrize(
    ("failing_for", "disabled"),
    [
        (timedelta(0), False),
        (timedelta(days=4, hours=23, minutes=59, seconds=59), False),
        (timedelta(days=5), True),
        (timedelta(days=30), True),
    ],
)
def test_an_endpoint_failing_for_five_days_is_disabled(
    failing_for: timedelta, disabled: bool
) -> None:
    assert POLICY.disable(NOW - failing_for, NOW) is disabled


def test_the_disable_threshold_is_configurable() -> None:
    policy = RetryPolicy(disable_after=HOUR)
    assert policy.disable(NOW - timedelta(minutes=59), NOW) is False
    assert policy.disable(NOW - timedelta(hours=1), NOW) is True


# parse_retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0", 0.0), (" 30 ", 30.0), ("86400", 86400.0), ("007", 7.0)],
)
def test_delta_seconds_are_read(header: str, seconds: float) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_an_http_date_is_read_as_the_seconds_until_then() -> None:
    header = format_datetime(NOW + timedelta(minutes=90), usegmt=True)
    assert header == "Mon, 02 Mar 2026 13:30:00 GMT"
    assert parse_retry_after(header, NOW) == 90 * MINUTE


def test_an_http_date_with_an_offset_is_converted_to_utc() -> None:
    assert parse_retry_after("Mon, 02 Mar 2026 14:00:00 +0100", NOW) == HOUR


def test_an_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Mon, 02 Mar 2026 11:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("header", [None, "", "   "])
def test_an_absent_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, NOW) is None


@pytest.mark.parametrize(
    "header",
    [
        "soon",
        "-5",
        "1.5",
        "1e3",
        "inf",
        "12 seconds",
        "Mon, 32 Foo 2026 25:00:00 GMT",
        "²",  # a Unicode digit is not delta-seconds (and must not crash the dispatcher)
        "١٢",  # Arabic-Indic digits: neither
    ],
)
def test_an_unreadable_retry_after_is_ignored(header: str) -> None:
    assert parse_retry_after(header, NOW) is None


@given(
    st.text(max_size=40)
    | st.text(alphabet=st.characters(categories=("Nd", "No", "Zs")), min_size=1, max_size=8)
)
def test_no_retry_after_value_makes_parsing_fail(header: str) -> None:
    # The value comes from any receiver on the internet: it is read or ignored, never an error.
    seconds = parse_retry_after(header, NOW)
    assert seconds is None or seconds >= 0
