"""Each package's public page token on every store: given on start, kept on restart, and the
one way the public page finds its package (of any account)."""

from __future__ import annotations

import re
from datetime import timedelta

from shiptrack.store.port import Store
from tests.store.seeds import NOW, Tenant, checked, claim_packages, new_connection
from tests.store.test_packages import SCANS

#: ``secrets.token_urlsafe(16)``: 128 random bits in 22 URL-safe characters.
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


async def test_every_started_package_gets_a_token_of_its_own(store: Store) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")
    async with store.write() as tx:
        await tx.packages.start([tenant.request(f"1ZTOK{i}") for i in range(5)], now=NOW)
    await other.package("1ZTOK0")

    tokens = [(await tenant.find(f"1ZTOK{i}")).public_token for i in range(5)]
    tokens.append((await other.find("1ZTOK0")).public_token)

    for token in tokens:
        assert token is not None and TOKEN.fullmatch(token), token
    assert len(set(tokens)) == len(tokens)


async def test_the_token_finds_the_package_and_its_events_whatever_the_account(
    store: Store,
) -> None:
    tenant, other = await Tenant.create(store), await Tenant.create(store, "other")
    package_id = await tenant.package("1ZPAGE")
    await other.package("1ZPAGE")
    [claimed] = [c for c in await claim_packages(store) if c.subscription.id == package_id]
    async with store.write() as tx:
        await tx.packages.record_checks([checked(claimed, "IT")], {package_id: SCANS})
    token = (await tenant.find("1ZPAGE")).public_token
    assert token is not None

    found = await store.find_by_public_token(token)
    assert await store.find_by_public_token("A" * 22) is None
    assert await store.find_by_public_token(token.lower() + "x") is None

    assert found is not None
    subscription, events = found.subscription, found.events()
    assert (subscription.id, subscription.account_id) == (package_id, tenant.account_id)
    assert (subscription.status_code, subscription.public_token) == ("IT", token)
    assert events == [event for _, event in SCANS]


async def test_a_package_without_scans_is_found_with_no_events(store: Store) -> None:
    tenant = await Tenant.create(store)
    package_id = await tenant.package("1ZBARE")
    token = (await tenant.find("1ZBARE")).public_token
    assert token is not None

    found = await store.find_by_public_token(token)

    assert found is not None
    assert (found.subscription.id, found.events()) == (package_id, [])


async def test_a_stopped_package_keeps_its_page_and_a_restart_keeps_the_token(
    store: Store,
) -> None:
    tenant = await Tenant.create(store)
    successor = await new_connection(store, tenant.account_id)
    package_id = await tenant.package("1ZKEEP")
    token = (await tenant.find("1ZKEEP")).public_token
    await tenant.stop(package_id)

    stopped = await store.find_by_public_token(token or "")
    assert stopped is not None and stopped.subscription.active is False

    async with store.write() as tx:
        await tx.packages.start([tenant.request("1ZKEEP", successor)], now=NOW + timedelta(days=1))
        # Starting an active package again changes nothing either.
        await tx.packages.start([tenant.request("1ZKEEP")], now=NOW + timedelta(days=2))

    resumed = await tenant.find("1ZKEEP")
    assert (resumed.active, resumed.public_token) == (True, token)


async def test_a_claimed_package_carries_its_token_for_the_notifications(store: Store) -> None:
    tenant = await Tenant.create(store)
    await tenant.package("1ZCLAIM")
    token = (await tenant.find("1ZCLAIM")).public_token

    [claimed] = await claim_packages(store)

    assert token is not None and claimed.subscription.public_token == token
