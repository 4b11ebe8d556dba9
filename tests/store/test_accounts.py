"""Accounts and API keys, on every store."""

from __future__ import annotations

from datetime import timedelta

from shiptrack.domain.apikeys import DISPLAY_PREFIX_LENGTH
from shiptrack.store.port import Store
from tests.store.seeds import NOW, new_account

KEY = "TEST_k3yMaterial-0123456789abcdefghijklmnopqrstuv"
OTHER_KEY = "TEST_another-key-0123456789abcdefghijklmnopqrstu"


async def test_accounts_are_listed_oldest_first_and_found_by_exact_name(store: Store) -> None:
    acme = await new_account(store, "Acme")
    globex = await new_account(store, "Globex", sandbox=False)
    acme_again = await new_account(store, "Acme")

    async with store.read() as tx:
        assert [a.id for a in await tx.accounts.all()] == [acme, globex, acme_again]
        assert [a.id for a in await tx.accounts.find_by_name("Acme")] == [acme, acme_again]
        assert await tx.accounts.find_by_name("acme") == []
        found = await tx.accounts.get(globex)
        assert await tx.accounts.get(globex + acme_again + 1) is None
    assert found is not None
    assert (found.name, found.sandbox) == ("Globex", False)
    assert (found.rate_limit_per_minute, found.exception_watch_days) == (None, None)


async def test_rate_limit_and_exception_watch_are_set_and_cleared(store: Store) -> None:
    account_id = await new_account(store)
    other = await new_account(store, "other")

    async with store.write() as tx:
        await tx.accounts.set_rate_limit(account_id, 600)
        await tx.accounts.set_exception_watch(account_id, 7)
    async with store.read() as tx:
        account = await tx.accounts.get(account_id)
        untouched = await tx.accounts.get(other)
    assert account is not None and untouched is not None
    assert (account.rate_limit_per_minute, account.exception_watch_days) == (600, 7)
    assert (untouched.rate_limit_per_minute, untouched.exception_watch_days) == (None, None)

    async with store.write() as tx:
        await tx.accounts.set_rate_limit(account_id, None)
        await tx.accounts.set_exception_watch(account_id, None)
    async with store.read() as tx:
        account = await tx.accounts.get(account_id)
    assert account is not None
    assert (account.rate_limit_per_minute, account.exception_watch_days) == (None, None)


async def test_a_key_finds_its_account_and_is_listed_by_its_first_characters(
    store: Store,
) -> None:
    account_id = await new_account(store)
    async with store.write() as tx:
        made = await tx.accounts.add_key(account_id=account_id, key=KEY, now=NOW)

    assert made.prefix == KEY[:DISPLAY_PREFIX_LENGTH]
    assert (made.account_id, made.created_at, made.revoked_at) == (account_id, NOW, None)
    async with store.quick_read() as tx:
        owner = await tx.accounts.account_for_key(KEY)
        assert await tx.accounts.account_for_key(OTHER_KEY) is None
        assert await tx.accounts.account_for_key(KEY.lower()) is None
        assert await tx.accounts.keys(account_id) == [made]
        assert await tx.accounts.find_key(key_id=made.id, key=None) == made
        assert await tx.accounts.find_key(key_id=None, key=KEY) == made
        assert await tx.accounts.find_key(key_id=None, key=OTHER_KEY) is None
        assert await tx.accounts.find_key(key_id=made.id + 1, key=None) is None
    assert owner is not None and owner.id == account_id


async def test_keys_are_listed_per_account_oldest_first(store: Store) -> None:
    first, second = await new_account(store, "first"), await new_account(store, "second")
    async with store.write() as tx:
        a = await tx.accounts.add_key(account_id=first, key=KEY, now=NOW)
        b = await tx.accounts.add_key(account_id=second, key=OTHER_KEY, now=NOW)
        c = await tx.accounts.add_key(account_id=first, key=KEY + "x", now=NOW)

    async with store.read() as tx:
        assert await tx.accounts.keys(first) == [a, c]
        assert await tx.accounts.keys(second) == [b]


async def test_a_revoked_key_finds_no_account_and_keeps_its_first_revocation(
    store: Store,
) -> None:
    account_id = await new_account(store)
    async with store.write() as tx:
        key = await tx.accounts.add_key(account_id=account_id, key=KEY, now=NOW)
        kept = await tx.accounts.add_key(account_id=account_id, key=OTHER_KEY, now=NOW)
        await tx.accounts.revoke_key(key.id, now=NOW + timedelta(hours=1))
    async with store.write() as tx:
        await tx.accounts.revoke_key(key.id, now=NOW + timedelta(hours=2))

    async with store.read() as tx:
        assert await tx.accounts.account_for_key(KEY) is None
        assert await tx.accounts.account_for_key(OTHER_KEY) is not None
        listed = await tx.accounts.keys(account_id)
        # A revoked key can still be looked up (to say it is revoked).
        found = await tx.accounts.find_key(key_id=None, key=KEY)
    assert [(k.id, k.revoked_at) for k in listed] == [
        (key.id, NOW + timedelta(hours=1)),
        (kept.id, None),
    ]
    assert found is not None and found.revoked_at == NOW + timedelta(hours=1)
