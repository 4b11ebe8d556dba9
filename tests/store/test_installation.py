"""The installation's own records, on every store: the secret key's fingerprint (first one wins,
also between transactions racing to record it) and the key ids of the sealed values stored."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from shiptrack.store.port import NewConnection, Store
from tests.store.seeds import NOW, new_account, new_webhook_values


async def _record(store: Store, fingerprint: str) -> str:
    async with store.write() as tx:
        return await tx.installation.record_secret_key_fingerprint(fingerprint, now=NOW)


async def _recorded(store: Store) -> str | None:
    async with store.read() as tx:
        return await tx.installation.secret_key_fingerprint()


async def test_the_first_fingerprint_recorded_is_kept(store: Store) -> None:
    assert await _recorded(store) is None

    assert await _record(store, "1111111111111111") == "1111111111111111"
    assert await _record(store, "2222222222222222") == "1111111111111111"

    assert await _recorded(store) == "1111111111111111"


async def test_a_fingerprint_recorded_in_a_failed_transaction_is_not_kept(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.write() as tx:
            await tx.installation.record_secret_key_fingerprint("1111111111111111", now=NOW)
            raise RuntimeError("the start failed after recording")

    assert await _recorded(store) is None
    assert await _record(store, "2222222222222222") == "2222222222222222"


async def test_of_two_transactions_recording_at_once_both_see_the_first(store: Store) -> None:
    first_recorded = asyncio.Event()

    async def first() -> str:
        async with store.write() as tx:
            recorded = await tx.installation.record_secret_key_fingerprint("1" * 16, now=NOW)
            first_recorded.set()
            # The second transaction tries while this one is still open (on PostgreSQL its
            # insert waits for this commit; elsewhere its transaction waits to begin).
            await asyncio.sleep(0.2)
            return recorded

    async def second() -> str:
        await first_recorded.wait()
        return await _record(store, "2" * 16)

    assert list(await asyncio.gather(first(), second())) == ["1" * 16, "1" * 16]
    assert await _recorded(store) == "1" * 16


async def test_the_key_ids_of_every_sealed_value_are_listed(store: Store) -> None:
    async with store.read() as tx:
        assert await tx.installation.sealed_key_ids() == set()
    account_id = await new_account(store)
    async with store.write() as tx:
        await tx.connections.create(
            NewConnection(
                account_id=account_id,
                carrier_code="ups",
                nickname="ups",
                account_number=None,
                base_url=None,
                sealed_credentials="v1.aaaaaaaa.Y3JlZGVudGlhbHM=",
                simulated=False,
            ),
            now=NOW,
        )
        await tx.connections.create(
            NewConnection(
                account_id=account_id,
                carrier_code="fedex",
                nickname="simulated",
                account_number=None,
                base_url=None,
                sealed_credentials=None,
                simulated=True,
            ),
            now=NOW,
        )
        webhook = await tx.webhooks.create(
            replace(new_webhook_values(account_id), sealed_secret="v1.bbbbbbbb.c2VjcmV0"),
            now=NOW,
        )
        await tx.webhooks.set_secrets(
            webhook.id,
            sealed_secret="v1.cccccccc.bmV3",
            sealed_previous_secret="v1.bbbbbbbb.c2VjcmV0",
            previous_secret_expires_at=NOW,
        )
        # Not sealed values at all: left out.
        await tx.webhooks.create(
            replace(
                new_webhook_values(account_id, "https://hooks.invalid/other"), sealed_secret="x"
            ),
            now=NOW,
        )
        await tx.signing_keys.add(
            kid="k1",
            sealed_private_key="v1.dddddddd.cGVt",
            public_jwk={"kid": "k1"},
            activates_at=NOW,
            now=NOW,
        )

    async with store.read() as tx:
        key_ids = await tx.installation.sealed_key_ids()

    assert key_ids == {"aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"}
