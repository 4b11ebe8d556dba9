"""Claiming due packages, on every store.

Covers which packages a worker claims (active, due, oldest due first, up to the batch size), the
lease that keeps a claimed package away from other workers until it runs out, concurrent claimers
that never share a package, and a worker that lost its lease being unable to write its result.
Also what keeps work from being stranded: a package stopped (and restarted) during its check,
packages given back (released) unchecked, and a claim whose answer was lost given back by its lease.
What needs two database connections at once is in ``test_sql_only.py``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shiptrack.domain.check import ClaimedPackage
from shiptrack.store.port import Store
from tests.store.seeds import LEASE, NOW, Tenant, checked, claim_packages, hold_open, ids


async def _write_result(store: Store, claimed: ClaimedPackage, status_code: str) -> bool:
    """Record a check the way the engine does: only while the claim is still held."""
    async with store.write() as tx:
        if claimed.subscription.id not in await tx.packages.owned([claimed]):
            return False
        await tx.packages.record_checks([checked(claimed, status_code)], {})
        return True


async def test_claim_takes_only_active_due_packages_oldest_due_first(store: Store) -> None:
    tenant = await Tenant.create(store)
    due_3h = await tenant.package("A3", now=NOW - timedelta(hours=3))
    due_1h = await tenant.package("A1", now=NOW - timedelta(hours=1))
    due_2h = await tenant.package("A2", now=NOW - timedelta(hours=2))
    due_now = await tenant.package("A0", now=NOW)
    await tenant.stop(await tenant.package("STOPPED", now=NOW - timedelta(hours=5)))
    await tenant.package("LATER", now=NOW + timedelta(seconds=1))

    assert ids(await claim_packages(store, limit=2)) == {due_3h, due_2h}
    assert ids(await claim_packages(store, limit=2)) == {due_1h, due_now}
    assert await claim_packages(store, limit=2) == []


async def test_a_claimed_package_carries_what_the_check_needs(store: Store) -> None:
    tenant = await Tenant.create(store)
    started = NOW - timedelta(days=1)
    package_id = await tenant.package("1ZSANDBOX0000001", now=started)

    [claimed] = await claim_packages(store)

    assert claimed.subscription.id == package_id
    assert claimed.subscription.tracking_number == "1ZSANDBOX0000001"
    assert claimed.subscription.connection_id == tenant.connection_id
    assert claimed.subscription.status_code == "UN"
    assert claimed.created_at == started
    assert claimed.lease_until == NOW + LEASE
    # Never checked yet: the first check records one change, from UN to what the carrier says.
    assert (claimed.settled, claimed.announce, claimed.status_since) == (False, False, None)


async def test_each_claimed_package_says_when_it_was_due(store: Store) -> None:
    tenant = await Tenant.create(store)
    late = await tenant.package("LATE", now=NOW - timedelta(hours=2))
    on_time = await tenant.package("ONTIME", now=NOW)

    claimed = await claim_packages(store)

    # When it was due, not the lease that replaced it: how late the claim came is measured so.
    assert {item.subscription.id: item.due_at for item in claimed} == {
        late: NOW - timedelta(hours=2),
        on_time: NOW,
    }


async def test_a_claimed_package_is_not_claimable_again_until_its_lease_runs_out(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("LEASED")

    assert ids(await claim_packages(store)) == {package_id}
    assert (await tenant.find("LEASED")).next_check_at == NOW + LEASE

    assert await claim_packages(store, now=NOW + timedelta(seconds=1)) == []
    assert await claim_packages(store, now=NOW + LEASE - timedelta(seconds=1)) == []
    # A worker that died mid-check lets the package become due again when its lease passes.
    again = await claim_packages(store, now=NOW + LEASE)
    assert ids(again) == {package_id}
    assert again[0].lease_until == NOW + 2 * LEASE


async def test_concurrent_claimers_never_share_a_package_and_together_take_them_all(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    packages = {await tenant.package(f"P{i}", now=NOW - timedelta(minutes=i)) for i in range(40)}
    claimers, limit = 4, 7

    async def claimer() -> set[int]:
        async with store.write() as tx:
            claimed = await tx.packages.claim_due(now=NOW, lease_until=NOW + LEASE, limit=limit)
            # Hold the claim open while the other claimers run: on PostgreSQL they skip the
            # locked rows instead of waiting for them (or taking them too).
            await asyncio.sleep(hold_open(store))
            return ids(claimed)

    seen: list[int] = []
    first_round = await asyncio.gather(*(claimer() for _ in range(claimers)))
    assert [len(taken) for taken in first_round] == [limit] * claimers
    for taken in first_round:
        seen.extend(taken)
    while rounds := [r for r in await asyncio.gather(*(claimer() for _ in range(claimers))) if r]:
        for taken in rounds:
            seen.extend(taken)

    assert len(seen) == len(set(seen)), "a package was claimed by two workers"
    assert set(seen) == packages


async def test_a_worker_that_lost_its_lease_cannot_write_its_result(store: Store) -> None:
    tenant = await Tenant.create(store)
    await tenant.package("SLOW")
    [slow] = await claim_packages(store)
    # The slow worker's lease runs out; another worker takes the package over.
    [fast] = await claim_packages(store, now=NOW + LEASE)
    assert fast.lease_until != slow.lease_until

    assert await _write_result(store, slow, "IT") is False
    package = await tenant.find("SLOW")
    assert (package.status_code, package.next_check_at) == ("UN", fast.lease_until)

    assert await _write_result(store, fast, "AC") is True
    package = await tenant.find("SLOW")
    assert (package.status_code, package.last_checked_at) == ("AC", NOW)
    assert package.next_check_at == NOW + timedelta(hours=3)


async def test_a_package_stopped_during_its_check_records_nothing_of_that_check(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("STOPME")
    [claimed] = await claim_packages(store)
    await tenant.stop(package_id, "stopped")

    # The account was told 204: the check under way must not notify or change anything.
    assert await _write_result(store, claimed, "IT") is False
    package = await tenant.find("STOPME")
    assert (package.active, package.stop_reason, package.next_check_at) == (False, "stopped", None)
    assert package.status_code == "UN"
    assert await claim_packages(store, now=NOW + timedelta(days=1)) == []


async def test_a_package_stopped_and_restarted_during_its_check_is_announced_by_the_next_check(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("RESTART", now=NOW - timedelta(hours=1))
    [first] = await claim_packages(store, now=NOW - timedelta(hours=1))
    async with store.write() as tx:
        await tx.packages.record_checks([checked(first, "IT", next_check_at=NOW)], {})
    [stale] = await claim_packages(store)
    assert stale.settled is True
    await tenant.stop(package_id)
    async with store.write() as tx:
        await tx.packages.start([tenant.request("RESTART")], now=NOW + timedelta(seconds=1))

    # The check claimed before the stop holds nothing any more: its result is dropped ...
    assert await _write_result(store, stale, "DE") is False
    package = await tenant.find("RESTART")
    assert (package.active, package.status_code) == (True, "IT")
    assert package.next_check_at == NOW + timedelta(seconds=1)
    # ... and the next check, due at once, announces the current state (it is not "settled").
    [fresh] = await claim_packages(store, now=NOW + timedelta(seconds=1))
    assert fresh.subscription.id == package_id
    assert (fresh.announce, fresh.settled) == (True, False)
    assert await _write_result(store, fresh, "IT") is True
    # Once announced, the package is settled again.
    [later] = await claim_packages(store, now=NOW + timedelta(hours=4))
    assert (later.announce, later.settled) == (False, True)


async def test_a_stopped_package_holds_no_lease(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("STOPLEASE")
    [claimed] = await claim_packages(store)
    await tenant.stop(package_id)

    async with store.write() as tx:
        assert await tx.packages.owned([claimed]) == set()
        # Giving the old claim back does not make a stopped package due.
        await tx.packages.release([claimed], now=NOW)
    package = await tenant.find("STOPLEASE")
    assert (package.active, package.next_check_at) == (False, None)
    assert await claim_packages(store, now=NOW + timedelta(days=1)) == []


async def test_released_packages_are_due_at_once_and_unleased(store: Store) -> None:
    tenant = await Tenant.create(store)
    # Another worker took this one over once our lease ran out.
    taken = await tenant.package("TAKEN", now=NOW - LEASE)
    [stale] = await claim_packages(store, now=NOW - LEASE)
    [newer] = await claim_packages(store)
    assert newer.subscription.id == taken
    mine = await tenant.package("MINE")
    stopped = await tenant.package("STOPPEDMEANWHILE")
    claimed = await claim_packages(store, now=NOW + timedelta(seconds=1))
    assert ids(claimed) == {mine, stopped}
    await tenant.package("NOTDUE", now=NOW + timedelta(seconds=30))
    await tenant.stop(stopped)
    later = NOW + timedelta(seconds=10)

    async with store.write() as tx:
        await tx.packages.release([*claimed, stale], now=later)

    package = await tenant.find("MINE")
    assert (package.next_check_at, package.status_code) == (later, "UN")
    package = await tenant.find("STOPPEDMEANWHILE")
    assert (package.active, package.next_check_at) == (False, None)
    assert (await tenant.find("TAKEN")).next_check_at == newer.lease_until
    async with store.write() as tx:
        assert await tx.packages.owned([newer]) == {taken}
        # What was given back is nobody's: the old claim does not own it any more.
        assert await tx.packages.owned(claimed) == set()
    assert ids(await claim_packages(store, now=later)) == {mine}


async def test_a_claim_whose_answer_was_lost_is_released_by_its_lease(store: Store) -> None:
    tenant = await Tenant.create(store)
    lost = {await tenant.package(f"LOST{i}") for i in range(3)}
    assert ids(await claim_packages(store)) == lost
    await tenant.package("OTHERCLAIM", now=NOW + timedelta(seconds=1))
    [kept] = await claim_packages(store, now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(seconds=5)

    async with store.write() as tx:
        released = await tx.packages.release_claim(lease_until=NOW + LEASE, now=later)

    assert released == 3
    for number in ("LOST0", "LOST1", "LOST2"):
        assert (await tenant.find(number)).next_check_at == later
    assert (await tenant.find("OTHERCLAIM")).next_check_at == kept.lease_until
    async with store.write() as tx:
        assert await tx.packages.owned([kept]) == {kept.subscription.id}
    assert ids(await claim_packages(store, now=later)) == lost
