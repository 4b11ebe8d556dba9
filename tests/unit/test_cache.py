"""Requests that miss the cache at once share one database read; changes are never hidden."""

from __future__ import annotations

import asyncio

import pytest

from shiptrack.services.cache import TTLCache
from tests.support import HandClock


class Loader:
    """Counts the reads it is asked for; each returns the next value, after ``delay``."""

    def __init__(self, delay: float = 0.01, fail: bool = False) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail

    async def __call__(self) -> int:
        self.calls += 1
        value = self.calls
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("database unreachable")
        return value


def test_concurrent_misses_share_one_read() -> None:
    async def go() -> tuple[list[int | None], int]:
        cache: TTLCache[str, int] = TTLCache(60)
        load = Loader()
        values = await asyncio.gather(*(cache.get_or_load("key", load) for _ in range(50)))
        return values, load.calls

    values, calls = asyncio.run(go())
    assert values == [1] * 50
    assert calls == 1


def test_a_change_during_a_read_is_not_hidden_by_it() -> None:
    async def go() -> tuple[int | None, int | None]:
        cache: TTLCache[str, int] = TTLCache(60)
        load = Loader()
        first = asyncio.ensure_future(cache.get_or_load("key", load))
        await asyncio.sleep(0)
        cache.forget("key")  # e.g. the webhook was deleted while the read was under way
        after_change = await cache.get_or_load("key", load)
        await first
        return after_change, await cache.get_or_load("key", load)

    after_change, later = asyncio.run(go())
    assert after_change == 2
    assert later == 2  # the read that started before the change was not remembered


def test_a_failed_read_reaches_every_waiter_and_is_not_remembered() -> None:
    async def go() -> tuple[list[BaseException | int | None], int | None]:
        cache: TTLCache[str, int] = TTLCache(60)
        failing = Loader(fail=True)
        results = await asyncio.gather(
            *(cache.get_or_load("key", failing) for _ in range(3)), return_exceptions=True
        )
        return results, await cache.get_or_load("key", Loader())

    results, recovered = asyncio.run(go())
    assert all(isinstance(r, ConnectionError) for r in results)
    assert recovered == 1


def test_one_waiter_giving_up_does_not_cancel_the_read_for_the_others() -> None:
    async def go() -> int | None:
        cache: TTLCache[str, int] = TTLCache(60)
        load = Loader(delay=0.05)
        impatient = asyncio.ensure_future(cache.get_or_load("key", load))
        patient = asyncio.ensure_future(cache.get_or_load("key", load))
        await asyncio.sleep(0.01)
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        return await patient

    assert asyncio.run(go()) == 1


def test_without_a_lifetime_every_call_reads_afresh() -> None:
    async def go() -> tuple[list[int | None], int]:
        cache: TTLCache[str, int] = TTLCache(0)
        load = Loader()
        values = [await cache.get_or_load("key", load) for _ in range(3)]
        return values, load.calls

    assert asyncio.run(go()) == ([1, 2, 3], 3)


def test_a_value_past_half_its_life_is_read_again_without_anyone_waiting() -> None:
    async def go() -> None:
        clock = HandClock(0.0)
        cache: TTLCache[str, int] = TTLCache(10, clock=clock)
        load = Loader(delay=0.01)
        assert await cache.get_or_load("key", load) == 1

        clock.now = 4  # first half: served, nothing read
        assert await cache.get_or_load("key", load) == 1
        assert load.calls == 1

        clock.now = 6  # second half: served at once, read again in the background
        assert await cache.get_or_load("key", load) == 1
        assert await cache.get_or_load("key", load) == 1  # one refresh at a time
        await asyncio.sleep(0.05)
        assert load.calls == 2
        clock.now = 14  # the refreshed value lives from 6 to 16
        assert await cache.get_or_load("key", Loader(delay=0)) == 2

    asyncio.run(go())


def test_a_failed_refresh_leaves_the_value_to_expire_on_time() -> None:
    async def go() -> None:
        clock = HandClock(0.0)
        cache: TTLCache[str, int] = TTLCache(10, clock=clock)
        assert await cache.get_or_load("key", Loader()) == 1
        clock.now = 6
        assert await cache.get_or_load("key", Loader(fail=True)) == 1
        await asyncio.sleep(0.05)
        clock.now = 10  # never served past its time: the next request reads
        fresh = Loader()
        assert await cache.get_or_load("key", fresh) == 1 and fresh.calls == 1

    asyncio.run(go())


def test_a_change_during_a_refresh_is_not_hidden_by_it() -> None:
    async def go() -> None:
        clock = HandClock(0.0)
        cache: TTLCache[str, int] = TTLCache(10, clock=clock)
        assert await cache.get_or_load("key", Loader()) == 1
        clock.now = 6
        slow = Loader(delay=0.05)
        assert await cache.get_or_load("key", slow) == 1
        cache.forget("key")  # the key was revoked through this process meanwhile
        await asyncio.sleep(0.1)
        after = Loader()
        assert await cache.get_or_load("key", after) == 1 and after.calls == 1

    asyncio.run(go())
