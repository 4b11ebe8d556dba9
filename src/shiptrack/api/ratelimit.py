"""Request rate limits held in the memory of one API process: per account (GCRA), and a throttle on
client addresses that keep sending wrong API keys.

An account may send its whole per-minute allowance at once and then one request every
``60 / limit`` seconds. The state is per process: with N API processes behind a load balancer the
account's effective limit is up to N times the setting (the README says so).

Every table here is bounded: a flood of distinct accounts, addresses or keys makes the process
forget the least recently seen ones, never grow without limit.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

#: Entries of one limiter's table before it forgets idle ones and, if still full, the least
#: recently seen (which start over with a full allowance).
MAX_TRACKED = 100_000
#: How many wrong and working keys a process remembers, and for how long (see BadKeyGuard).
REMEMBERED_KEYS = 10_000
BAD_KEY_SECONDS = 60.0
GOOD_KEY_SECONDS = 3600.0


class RateLimiter:
    """Decides whether a request of one key (an account, an address) may proceed now."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, max_tracked: int = MAX_TRACKED
    ) -> None:
        self._clock = clock
        self._max_tracked = max_tracked
        # key -> theoretical arrival time of its next request, least recently used first
        self._tat: OrderedDict[Hashable, float] = OrderedDict()

    def acquire(self, key: Hashable, per_minute: int) -> float:
        """Take one request from the key's allowance.

        Returns 0 when the request may proceed, otherwise the seconds to wait before retrying.
        """
        now = self._clock()
        wait = self._wait(key, per_minute, now)
        if wait > 0:
            return wait
        self._tat[key] = max(self._tat.get(key, now), now) + 60.0 / per_minute
        self._tat.move_to_end(key)
        if len(self._tat) > self._max_tracked:
            self._shrink(now)
        return 0.0

    def delay(self, key: Hashable, per_minute: int) -> float:
        """The seconds before :meth:`acquire` would let the key through (0: now); takes nothing."""
        return max(0.0, self._wait(key, per_minute, self._clock()))

    def _wait(self, key: Hashable, per_minute: int, now: float) -> float:
        interval = 60.0 / per_minute
        tat = max(self._tat.get(key, now), now)
        return tat - now - (60.0 - interval)

    def _shrink(self, now: float) -> None:
        # A key whose allowance is full again needs no state.
        for key in [key for key, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
        # Still full (a flood of distinct keys, each within its minute): forget the least
        # recently seen down to three quarters, so that this runs once per many requests.
        while len(self._tat) > self._max_tracked * 3 // 4:
            self._tat.popitem(last=False)


class _RecentKeys:
    """Key hashes remembered for ``seconds``, at most ``size`` of them (the most recent)."""

    def __init__(self, size: int, seconds: float, clock: Callable[[], float]) -> None:
        self._size = size
        self._seconds = seconds
        self._clock = clock
        self._until: OrderedDict[str, float] = OrderedDict()

    def add(self, key: str) -> None:
        self._until[key] = self._clock() + self._seconds
        self._until.move_to_end(key)
        if len(self._until) > self._size:
            self._until.popitem(last=False)

    def discard(self, key: str) -> None:
        self._until.pop(key, None)

    def __contains__(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]
            return False
        return True


class BadKeyGuard:
    """Remembers wrong API keys, and throttles the client addresses that keep sending them.

    - A key that failed is remembered (by its hash) for :data:`BAD_KEY_SECONDS`: sending it again
      costs no database query. Keys carry 256 random bits, so a key that failed cannot become
      valid in the meantime unless a database is restored under a running server.
    - Each address may fail ``failures_per_minute`` times in a minute, all at once if it likes;
      beyond that its requests are refused with the seconds to wait until it may fail again,
      before their key is looked up.
    - A key that worked on this process in the last :data:`GOOD_KEY_SECONDS` still passes from a
      throttled address (it is still checked as usual): one misbehaving client behind a NAT or
      proxy must not lock out the working clients that share its address.

    A missing key is not counted: it costs nothing to refuse and guesses nothing.
    """

    def __init__(
        self,
        failures_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_TRACKED,
        remembered_keys: int = REMEMBERED_KEYS,
    ) -> None:
        self._budget = failures_per_minute
        self._failures = RateLimiter(clock, max_tracked=max_addresses)
        self._bad = _RecentKeys(remembered_keys, BAD_KEY_SECONDS, clock)
        self._good = _RecentKeys(remembered_keys, GOOD_KEY_SECONDS, clock)

    def throttled(self, address: str, key_hash: str) -> float:
        """Seconds the address must wait before a key of its is looked up (0: go on)."""
        if key_hash in self._good:
            return 0.0
        return self._failures.delay(client_group(address), self._budget)

    def known_bad(self, key_hash: str) -> bool:
        """Whether the key failed recently (and need not be looked up again)."""
        return key_hash in self._bad

    def failed(self, address: str, key_hash: str | None) -> None:
        """A key from ``address`` was wrong; ``key_hash`` is remembered unless ``None``."""
        self._failures.acquire(client_group(address), self._budget)
        if key_hash is not None:
            self._good.discard(key_hash)
            self._bad.add(key_hash)

    def succeeded(self, key_hash: str) -> None:
        """A key worked."""
        self._good.add(key_hash)


@functools.lru_cache(maxsize=4096)
def client_group(address: str) -> str:
    """What the throttle counts as one client: an IPv4 address, or an IPv6 /64 (one subscriber's
    network: anyone holding one can use every address in it)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
