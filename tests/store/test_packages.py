"""Tracked packages on every store: starting, stopping, reading, and writing what checks decide.

Claims and leases are in ``test_claiming.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shiptrack.domain.changes import StoredEvent, event_identity
from shiptrack.domain.tracking import StartRequest, TrackEvent
from shiptrack.store.port import Store
from tests.store.seeds import NOW, Tenant, checked, claim_packages, new_connection


def _scan(status_code: str, hours: int, description: str) -> StoredEvent:
    event = TrackEvent(
        status_code=status_code,
        occurred_at=NOW + timedelta(hours=hours),
        carrier_occurred_at=(NOW + timedelta(hours=hours)).replace(tzinfo=None).isoformat(),
        description=description,
        city_locality="Zürich",
        country_code="CH",
        latitude=47.3769,
    )
    return event_identity(event), event


SCANS = [_scan("AC", 1, "Accepted"), _scan("IT", 5, "Departed \u2014 hub"), _scan("DE", 9, "Left")]


# Start and stop


async def test_a_started_package_is_unknown_and_due_at_once(store: Store) -> None:
    tenant = await Tenant.create(store)

    package_id = await tenant.package("1ZNEW", now=NOW)

    package = await tenant.find("1ZNEW")
    assert package.id == package_id
    assert (package.account_id, package.connection_id) == (tenant.account_id, tenant.connection_id)
    assert (package.carrier_code, package.tracking_number) == ("ups", "1ZNEW")
    assert (package.active, package.status_code, package.sequence) == (True, "UN", 0)
    assert (package.next_check_at, package.created_at) == (NOW, NOW)
    assert (package.last_checked_at, package.last_error, package.stop_reason) == (None, None, None)


async def test_starting_a_watched_package_again_changes_nothing(store: Store) -> None:
    tenant = await Tenant.create(store)
    other_connection = await new_connection(store, tenant.account_id)
    await tenant.package("1ZTWICE", now=NOW)
    before = await tenant.find("1ZTWICE")

    async with store.write() as tx:
        await tx.packages.start(
            [tenant.request("1ZTWICE", other_connection)], now=NOW + timedelta(hours=1)
        )

    assert await tenant.find("1ZTWICE") == before


async def test_a_batch_naming_a_package_twice_starts_it_once(store: Store) -> None:
    tenant = await Tenant.create(store)

    async with store.write() as tx:
        await tx.packages.start(
            [tenant.request("1ZB"), tenant.request("1ZA"), tenant.request("1ZB")], now=NOW
        )
        listed = await tx.packages.page(account_id=tenant.account_id, after_id=0, limit=10)

    assert sorted(p.tracking_number for p in listed) == ["1ZA", "1ZB"]


async def test_the_same_number_is_one_package_per_account(store: Store) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")

    mine = await tenant.package("1ZSHARED")
    theirs = await other.package("1ZSHARED")

    assert mine != theirs
    async with store.read() as tx:
        assert (
            await tx.packages.find(
                account_id=tenant.account_id, carrier_code="fedex", tracking_number="1ZSHARED"
            )
            is None
        )
        assert (
            await tx.packages.find(
                account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZOTHER"
            )
            is None
        )


async def test_a_stopped_package_keeps_its_first_reason_and_is_never_due(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZSTOP")

    async with store.write() as tx:
        await tx.packages.stop(package_id, reason="stopped_by_user", now=NOW)
    async with store.write() as tx:
        await tx.packages.stop(package_id, reason="expired", now=NOW + timedelta(hours=1))

    package = await tenant.find("1ZSTOP")
    assert (package.active, package.stop_reason, package.next_check_at) == (
        False,
        "stopped_by_user",
        None,
    )
    assert await claim_packages(store, now=NOW + timedelta(days=30)) == []


async def test_a_stopped_package_started_again_resumes_and_announces_its_state(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    successor = await new_connection(store, tenant.account_id)
    package_id = await tenant.package("1ZRESUME")
    [claimed] = await claim_packages(store)
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "IT")], {})
    await tenant.stop(package_id)
    later = NOW + timedelta(days=1)

    async with store.write() as tx:
        await tx.packages.start([tenant.request("1ZRESUME", successor)], now=later)

    package = await tenant.find("1ZRESUME")
    assert (package.id, package.active, package.stop_reason) == (package_id, True, None)
    assert (package.next_check_at, package.connection_id) == (later, successor)
    # What it knew is kept: the next check compares with it, and announces the state.
    assert (package.status_code, package.sequence, package.created_at) == ("IT", 1, NOW)
    [resumed] = await claim_packages(store, now=later)
    assert (resumed.announce, resumed.settled) == (True, False)


# Reading


async def test_pages_of_packages_in_id_order_with_filters(store: Store) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")
    first = await tenant.package("1ZP1")
    await other.package("1ZTHEIRS")
    second = await tenant.package("1ZP2")
    third = await tenant.package("1ZP3")
    fourth = await tenant.package("1ZP4")
    await tenant.stop(third)
    [claimed] = [c for c in await claim_packages(store) if c.subscription.id == second]
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "IT")], {})

    async def page(after_id: int = 0, limit: int = 10, **filters: Any) -> list[int]:
        async with store.read() as tx:
            found = await tx.packages.page(
                account_id=tenant.account_id,
                after_id=after_id,
                limit=limit,
                **filters,
            )
        return [p.id for p in found]

    assert await page() == [first, second, third, fourth]
    assert await page(limit=2) == [first, second]
    assert await page(after_id=second, limit=2) == [third, fourth]
    assert await page(after_id=fourth) == []
    assert await page(status_code="IT") == [second]
    assert await page(active=False) == [third]
    assert await page(active=True, status_code="UN") == [first, fourth]
    assert await page(carrier_code="ups", after_id=first) == [second, third, fourth]
    assert await page(carrier_code="fedex") == []


async def test_a_package_without_scans_has_an_empty_history(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZEMPTY")

    async with store.read() as tx:
        assert await tx.packages.histories([package_id]) == {package_id: []}
    found = await store.find_package(
        account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZEMPTY"
    )
    assert (
        await store.find_package(
            account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZNONE"
        )
        is None
    )
    assert found is not None
    assert (found.subscription.id, found.events()) == (package_id, [])


# What checks write


async def test_a_check_writes_the_packages_state_and_its_grown_history(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZCHECK")
    other_id = await tenant.package("1ZQUIET")
    claimed = await claim_packages(store)
    [mine] = [c for c in claimed if c.subscription.id == package_id]
    later = NOW + timedelta(minutes=1)
    state = checked(mine, "IT", at=later)

    async with store.write() as tx:
        assert await tx.packages.owned(claimed) == {package_id, other_id}
        await tx.packages.record_checks([state], {package_id: SCANS[:2]})

    package = await tenant.find("1ZCHECK")
    assert (package.status_code, package.sequence) == ("IT", 1)
    assert (package.carrier_status_code, package.carrier_status_description) == (
        "carrier-IT",
        "status IT",
    )
    assert (package.ship_date, package.last_checked_at) == ("2026-03-01", later)
    assert package.next_check_at == state.next_check_at
    async with store.read() as tx:
        histories = await tx.packages.histories([package_id, other_id])
    found = await store.find_package(
        account_id=tenant.account_id, carrier_code="ups", tracking_number="1ZCHECK"
    )
    assert histories == {package_id: SCANS[:2], other_id: []}
    assert found is not None and found.events() == [event for _, event in SCANS[:2]]

    # The next check replaces the history with the grown one.
    due = await claim_packages(store, now=state.next_check_at or later)
    [again] = [c for c in due if c.subscription.id == package_id]
    async with store.write() as tx:
        await tx.packages.record_checks(
            [checked(again, "DE", stop_reason="delivered")], {package_id: SCANS}
        )
        assert (await tx.packages.histories([package_id]))[package_id] == SCANS


async def test_a_check_that_stops_tracking_leaves_the_package_stopped(store: Store) -> None:
    tenant = await Tenant.create(store)
    await tenant.package("1ZDONE")
    [claimed] = await claim_packages(store)

    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "DE", stop_reason="delivered")], {})

    package = await tenant.find("1ZDONE")
    assert (package.active, package.stop_reason, package.next_check_at) == (
        False,
        "delivered",
        None,
    )
    assert (package.status_code, package.last_checked_at) == ("DE", NOW)
    assert await claim_packages(store, now=NOW + timedelta(days=1)) == []


async def test_a_recorded_check_holds_no_lease_and_the_next_one_is_settled(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    await tenant.package("1ZSETTLED")
    [first] = await claim_packages(store)
    assert first.settled is False  # never checked: its first state is announced
    next_check = NOW + timedelta(hours=3)

    async with store.write() as tx:
        await tx.packages.record_checks([checked(first, "IT", next_check_at=next_check)], {})
        assert await tx.packages.owned([first]) == set()

    assert await claim_packages(store, now=next_check - timedelta(seconds=1)) == []
    [second] = await claim_packages(store, now=next_check)
    assert (second.settled, second.announce) == (True, False)
    assert (second.subscription.status_code, second.subscription.sequence) == ("IT", 1)


async def test_a_rescheduled_package_keeps_its_state_and_shows_the_error(store: Store) -> None:
    tenant = await Tenant.create(store)
    await tenant.package("1ZRETRY")
    [claimed] = await claim_packages(store)
    retry_at = NOW + timedelta(minutes=10)

    async with store.write() as tx:
        await tx.packages.reschedule(
            [claimed], next_check_at=retry_at, error="carrier timed out", now=NOW
        )

    package = await tenant.find("1ZRETRY")
    assert (package.status_code, package.next_check_at) == ("UN", retry_at)
    assert (package.last_error, package.last_checked_at) == ("carrier timed out", None)
    assert await claim_packages(store, now=retry_at - timedelta(seconds=1)) == []
    [again] = await claim_packages(store, now=retry_at)
    # A successful check clears the error.
    async with store.write() as tx:
        await tx.packages.record_checks([checked(again, "IT", at=retry_at)], {})
    assert (await tenant.find("1ZRETRY")).last_error is None


async def test_reschedule_leaves_packages_no_longer_under_the_lease_alone(store: Store) -> None:
    tenant = await Tenant.create(store)
    taken = await tenant.package("1ZTAKEN")
    stopped = await tenant.package("1ZSTOPPEDMEANWHILE")
    claimed = await claim_packages(store)
    await tenant.stop(stopped)
    [newer] = await claim_packages(store, now=NOW + timedelta(minutes=5))
    assert newer.subscription.id == taken  # the first lease ran out: another worker took it

    async with store.write() as tx:
        await tx.packages.reschedule(
            claimed, next_check_at=NOW + timedelta(hours=1), error="timeout", now=NOW
        )

    taken_now = await tenant.find("1ZTAKEN")
    assert (taken_now.next_check_at, taken_now.last_error) == (newer.lease_until, None)
    stopped_now = await tenant.find("1ZSTOPPEDMEANWHILE")
    assert (stopped_now.active, stopped_now.next_check_at) == (False, None)
    assert stopped_now.last_error is None  # a stop took the lease: the old claim holds nothing
    async with store.write() as tx:
        assert await tx.packages.owned([newer]) == {taken}


# Pushes


async def test_a_push_locks_the_accounts_active_packages_with_those_numbers(
    store: Store,
) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")
    wanted = await tenant.package("1ZPUSH")
    stopped = await tenant.package("1ZSTOPPED")
    await tenant.stop(stopped)
    await tenant.package("1ZNOTNAMED")
    await other.package("1ZPUSH")

    async with store.write() as tx:
        locked = await tx.packages.lock_for_push(
            account_id=tenant.account_id,
            carrier_code="ups",
            tracking_numbers=["1ZPUSH", "1ZSTOPPED", "1ZUNKNOWN"],
        )
        assert [item.subscription.id for item in locked] == [wanted]
        [item] = locked
        # Not claimed by a worker: the push holds it under no lease, and owns it.
        assert item.lease_until is None
        assert await tx.packages.owned(locked) == {wanted}
        await tx.packages.record_checks([checked(item, "IT")], {})

    assert (await tenant.find("1ZPUSH")).status_code == "IT"


async def test_a_push_recorded_during_a_check_drops_the_checks_result(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZRACE")
    [check] = await claim_packages(store)

    async with store.write() as tx:
        [pushed] = await tx.packages.lock_for_push(
            account_id=tenant.account_id, carrier_code="ups", tracking_numbers=["1ZRACE"]
        )
        # The push sees the check's lease, and owns the package through it.
        assert pushed.lease_until == check.lease_until
        assert await tx.packages.owned([pushed]) == {package_id}
        await tx.packages.record_checks([checked(pushed, "EX")], {})

    async with store.write() as tx:
        assert await tx.packages.owned([check]) == set()
    assert (await tenant.find("1ZRACE")).status_code == "EX"


async def test_starting_requests_for_another_accounts_connection_are_kept_apart(
    store: Store,
) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")

    async with store.write() as tx:
        await tx.packages.start(
            [
                tenant.request("1ZMINE"),
                StartRequest(
                    account_id=other.account_id,
                    connection_id=other.connection_id,
                    carrier_code="ups",
                    tracking_number="1ZMINE",
                ),
            ],
            now=NOW,
        )

    assert (await tenant.find("1ZMINE")).connection_id == tenant.connection_id
    assert (await other.find("1ZMINE")).connection_id == other.connection_id
