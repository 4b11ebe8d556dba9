"""Carrier connections and the engine's state of each, on every store."""

from __future__ import annotations

from datetime import timedelta

from shiptrack.store.port import NewConnection, Store
from tests.store.seeds import LEASE, NOW, Tenant, new_account, new_connection


async def test_connections_are_listed_oldest_first_with_the_oldest_of_a_carrier_primary(
    store: Store,
) -> None:
    account_id = await new_account(store)
    ups = await new_connection(store, account_id, "ups", nickname="UPS main")
    fedex = await new_connection(store, account_id, "fedex")
    ups_second = await new_connection(store, account_id, "ups", nickname="UPS other")
    elsewhere = await new_connection(store, await new_account(store, "other"), "ups")

    async with store.read() as tx:
        listed = await tx.connections.of_account(account_id)
        only_ups = await tx.connections.of_account(account_id, codes={"ups"})
        second = await tx.connections.get(account_id, ups_second)
        assert await tx.connections.get(account_id, elsewhere) is None

    assert [(c.id, c.carrier_code, c.primary) for c in listed] == [
        (ups, "ups", True),
        (fedex, "fedex", True),
        (ups_second, "ups", False),
    ]
    assert [(c.id, c.primary) for c in only_ups] == [(ups, True), (ups_second, False)]
    assert second is not None
    assert (second.nickname, second.simulated, second.primary) == ("UPS other", True, False)


async def test_the_codes_filter_does_not_change_which_connection_is_primary(
    store: Store,
) -> None:
    account_id = await new_account(store)
    await new_connection(store, account_id, "stamps_com")
    usps = await new_connection(store, account_id, "usps")
    usps_second = await new_connection(store, account_id, "usps")

    async with store.read() as tx:
        listed = await tx.connections.of_account(account_id, codes=["usps"])

    assert [(c.id, c.primary) for c in listed] == [(usps, True), (usps_second, False)]


async def test_the_engine_state_of_a_connection(store: Store) -> None:
    account_id = await new_account(store)
    async with store.write() as tx:
        await tx.accounts.set_exception_watch(account_id, 3)
        connection_id = await tx.connections.create(
            NewConnection(
                account_id=account_id,
                carrier_code="usps",
                nickname="USPS",
                account_number="A1B2C3",
                base_url="https://carrier.invalid/",
                sealed_credentials="v1.sealed",
                simulated=False,
                requests_per_minute=30.0,
                options={"api_version": "v3"},
            ),
            now=NOW,
        )

    async with store.read() as tx:
        states = await tx.connections.states([connection_id, connection_id + 1])
        connection = await tx.connections.get(account_id, connection_id)

    state = states[connection_id]
    assert list(states) == [connection_id]
    assert (state.account_id, state.carrier_code, state.simulated) == (account_id, "usps", False)
    assert (state.base_url, state.account_number) == ("https://carrier.invalid/", "A1B2C3")
    assert state.sealed_credentials == "v1.sealed"
    assert (state.backoff_until, state.failures, state.last_error) == (None, 0, None)
    assert (state.exception_watch_days, state.requests_per_minute) == (3, 30.0)
    assert (state.options, state.deleted) == ({"api_version": "v3"}, False)
    assert connection is not None and connection.base_url == "https://carrier.invalid/"


async def test_a_failure_backs_off_and_counts_once_when_written_twice(store: Store) -> None:
    account_id = await new_account(store)
    connection_id = await new_connection(store, account_id)
    until = NOW + timedelta(minutes=1)

    for _ in range(2):  # the first commit went through, but its answer was lost
        async with store.write() as tx:
            await tx.connections.record_failure(connection_id, until=until, error="HTTP 503")
    async with store.read() as tx:
        state = (await tx.connections.states([connection_id]))[connection_id]
    assert (state.backoff_until, state.failures, state.last_error) == (until, 1, "HTTP 503")

    later = until + timedelta(minutes=2)
    async with store.write() as tx:
        await tx.connections.record_failure(connection_id, until=later, error="HTTP 502")
    async with store.read() as tx:
        state = (await tx.connections.states([connection_id]))[connection_id]
    assert (state.backoff_until, state.failures, state.last_error) == (later, 2, "HTTP 502")

    async with store.write() as tx:
        await tx.connections.record_success(connection_id, now=later)
    async with store.read() as tx:
        state = (await tx.connections.states([connection_id]))[connection_id]
    assert (state.backoff_until, state.failures, state.last_error) == (None, 0, None)


async def test_deleting_a_connection_moves_its_active_packages_to_the_successor(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    successor = await new_connection(store, tenant.account_id, "ups")
    active = await tenant.package("1ZACTIVE")
    stopped = await tenant.package("1ZSTOPPED")
    await tenant.stop(stopped)
    later = NOW + timedelta(hours=1)

    async with store.write() as tx:
        await tx.connections.delete(
            account_id=tenant.account_id,
            connection_id=tenant.connection_id,
            successor_id=successor,
            now=later,
        )

    moved = await tenant.find("1ZACTIVE")
    assert (moved.id, moved.connection_id, moved.active) == (active, successor, True)
    assert moved.next_check_at == NOW  # still due as it was
    left = await tenant.find("1ZSTOPPED")
    assert (left.connection_id, left.active) == (tenant.connection_id, False)
    async with store.read() as tx:
        assert [c.id for c in await tx.connections.of_account(tenant.account_id)] == [successor]
        assert await tx.connections.get(tenant.account_id, tenant.connection_id) is None
        # The engine still reads a deleted connection (a check under way may need it).
        gone = (await tx.connections.states([tenant.connection_id]))[tenant.connection_id]
        primary = await tx.connections.get(tenant.account_id, successor)
    assert gone.deleted is True
    assert primary is not None and primary.primary is True


async def test_deleting_the_last_connection_of_a_carrier_stops_its_packages(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    package = await tenant.package("1ZORPHAN")
    later = NOW + timedelta(hours=1)

    async with store.write() as tx:
        await tx.connections.delete(
            account_id=tenant.account_id,
            connection_id=tenant.connection_id,
            successor_id=None,
            now=later,
        )

    stopped = await tenant.find("1ZORPHAN")
    assert stopped.id == package
    assert (stopped.active, stopped.stop_reason, stopped.next_check_at) == (
        False,
        "carrier_disconnected",
        None,
    )
    async with store.write() as tx:
        assert await tx.packages.claim_due(now=later, lease_until=later, limit=10) == []


async def test_a_check_under_way_when_its_carrier_is_disconnected_records_nothing(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZUNDERWAY")
    async with store.write() as tx:
        [claimed] = await tx.packages.claim_due(now=NOW, lease_until=NOW + LEASE, limit=10)
    async with store.write() as tx:
        await tx.connections.delete(
            account_id=tenant.account_id,
            connection_id=tenant.connection_id,
            successor_id=None,
            now=NOW,
        )

    async with store.write() as tx:
        assert await tx.packages.owned([claimed]) == set()
    stopped = await tenant.find("1ZUNDERWAY")
    assert (stopped.id, stopped.active, stopped.stop_reason) == (
        package_id,
        False,
        "carrier_disconnected",
    )
