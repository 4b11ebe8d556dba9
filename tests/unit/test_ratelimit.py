"""The per-account rate limiter and the throttle on addresses sending wrong API keys."""

from __future__ import annotations

import pytest

from shiptrack.api.ratelimit import BAD_KEY_SECONDS, BadKeyGuard, RateLimiter, client_group
from shiptrack.domain.timefmt import retry_after_header
from tests.support import HandClock


def test_a_full_minute_of_requests_may_come_at_once_then_one_per_interval() -> None:
    clock = HandClock(1000.0)
    limiter = RateLimiter(clock)
    assert all(limiter.acquire(1, 60) == 0 for _ in range(60))
    wait = limiter.acquire(1, 60)
    assert 0.99 < wait <= 1.0
    clock.now += wait
    assert limiter.acquire(1, 60) == 0
    assert limiter.acquire(1, 60) > 0


def test_accounts_do_not_share_an_allowance() -> None:
    limiter = RateLimiter(HandClock(1000.0))
    for _ in range(3):
        limiter.acquire(1, 3)
    assert limiter.acquire(1, 3) > 0
    assert limiter.acquire(2, 3) == 0


def test_refused_requests_do_not_use_up_the_allowance() -> None:
    clock = HandClock(1000.0)
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


def test_a_flood_of_keys_makes_the_limiter_forget_the_least_recently_seen() -> None:
    limiter = RateLimiter(HandClock(1000.0), max_tracked=100)
    assert limiter.acquire("first", 1) == 0
    assert limiter.acquire("first", 1) > 0
    for n in range(1000):
        assert limiter.acquire(f"flood-{n}", 1) == 0
    # The oldest entry was forgotten (it starts over); the newest are still held to their limit.
    assert limiter.acquire("first", 1) == 0
    assert limiter.acquire("flood-999", 1) > 0


def test_delay_tells_the_wait_without_taking_anything() -> None:
    clock = HandClock(1000.0)
    limiter = RateLimiter(clock)
    assert limiter.delay("a", 2) == 0
    limiter.acquire("a", 2)
    assert limiter.delay("a", 2) == 0
    limiter.acquire("a", 2)
    assert limiter.delay("a", 2) == pytest.approx(30)
    assert limiter.delay("a", 2) == pytest.approx(30)
    clock.now += 30
    assert limiter.delay("a", 2) == 0


# --- Wrong API keys ----------------------------------------------------------------------------


def fail(guard: BadKeyGuard, address: str, times: int, prefix: str = "bad") -> None:
    for n in range(times):
        guard.failed(address, f"{prefix}-{address}-{n}")


def test_an_address_may_fail_its_budget_at_once_then_waits() -> None:
    clock = HandClock(1000.0)
    guard = BadKeyGuard(3, clock=clock)
    fail(guard, "192.0.2.1", 2)
    assert guard.throttled("192.0.2.1", "next") == 0
    fail(guard, "192.0.2.1", 1, prefix="third")
    wait = guard.throttled("192.0.2.1", "next")
    assert wait == pytest.approx(20)  # 3 a minute: one more failure every 20 s
    clock.now += wait
    assert guard.throttled("192.0.2.1", "next") == 0


def test_refused_requests_do_not_deepen_the_wait() -> None:
    clock = HandClock(1000.0)
    guard = BadKeyGuard(3, clock=clock)
    fail(guard, "192.0.2.1", 3)
    wait = guard.throttled("192.0.2.1", "next")
    for _ in range(100):  # what the edge does with a throttled request: refuse, count nothing
        assert guard.throttled("192.0.2.1", "next") == pytest.approx(wait)


def test_a_key_that_worked_still_passes_from_a_throttled_address() -> None:
    guard = BadKeyGuard(3, clock=HandClock(1000.0))
    guard.succeeded("good")
    fail(guard, "192.0.2.1", 3)
    assert guard.throttled("192.0.2.1", "good") == 0
    assert guard.throttled("192.0.2.1", "never-seen") > 0


def test_a_key_that_worked_and_then_failed_is_no_longer_let_through() -> None:
    guard = BadKeyGuard(3, clock=HandClock(1000.0))
    guard.succeeded("revoked")
    fail(guard, "192.0.2.1", 2)
    guard.failed("192.0.2.1", "revoked")
    assert guard.throttled("192.0.2.1", "revoked") > 0
    assert guard.known_bad("revoked")


def test_other_addresses_are_not_throttled() -> None:
    guard = BadKeyGuard(3, clock=HandClock(1000.0))
    fail(guard, "192.0.2.1", 3)
    assert guard.throttled("192.0.2.2", "key") == 0
    assert guard.throttled("2001:db8::1", "key") == 0


def test_a_failed_key_is_remembered_for_a_minute() -> None:
    clock = HandClock(1000.0)
    guard = BadKeyGuard(100, clock=clock)
    guard.failed("192.0.2.1", "wrong")
    guard.failed("192.0.2.1", None)  # a key that was not looked up (too long) is not stored
    assert guard.known_bad("wrong")
    clock.now += BAD_KEY_SECONDS - 1
    assert guard.known_bad("wrong")
    clock.now += 1
    assert not guard.known_bad("wrong")


def test_the_remembered_keys_are_bounded() -> None:
    guard = BadKeyGuard(100, clock=HandClock(1000.0), remembered_keys=3)
    for key in ("k1", "k2", "k3", "k4"):
        guard.failed("192.0.2.1", key)
    assert [guard.known_bad(key) for key in ("k1", "k2", "k3", "k4")] == [False, True, True, True]


def test_a_flood_of_addresses_is_bounded() -> None:
    guard = BadKeyGuard(1, clock=HandClock(1000.0), max_addresses=100)
    guard.failed("192.0.2.1", None)
    assert guard.throttled("192.0.2.1", "key") > 0
    for n in range(1000):
        guard.failed(f"10.0.{n // 256}.{n % 256}", None)
    assert guard.throttled("192.0.2.1", "key") == 0  # forgotten: it starts over


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::2", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("not-an-address", "not-an-address"),
        ("", ""),
    ],
)
def test_an_ipv6_client_is_counted_by_its_64(address: str, group: str) -> None:
    assert client_group(address) == group
