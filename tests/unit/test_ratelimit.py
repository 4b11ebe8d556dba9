"""The per-account rate limiter."""

from __future__ import annotations

from shiptrack.api.ratelimit import RateLimiter
from shiptrack.domain.timefmt import retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_minute_of_requests_may_come_at_once_then_one_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    assert all(limiter.acquire(1, 60) == 0 for _ in range(60))
    wait = limiter.acquire(1, 60)
    assert 0.99 < wait <= 1.0
    clock.now += wait
    assert limiter.acquire(1, 60) == 0
    assert limiter.acquire(1, 60) > 0


def test_accounts_do_not_share_an_allowance() -> None:
    limiter = RateLimiter(Clock())
    for _ in range(3):
        limiter.acquire(1, 3)
    assert limiter.acquire(1, 3) > 0
    assert limiter.acquire(2, 3) == 0


def test_refused_requests_do_not_use_up_the_allowance() -> None:
    clock = Clock()
    limiter = RateLimiter(clock)
    for _ in range(2):
        limiter.acquire(1, 2)
    for _ in range(50):
        assert limiter.acquire(1, 2) > 0
    clock.now += 30
    assert limiter.acquire(1, 2) == 0


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"
    assert retry_after_header(59.0) == "59"
