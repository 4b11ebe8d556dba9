"""The webhook signing keys, on every store: published from creation until they retire."""

from __future__ import annotations

from datetime import timedelta

from shiptrack.store.port import Store
from tests.store.seeds import NOW


def _jwk(kid: str) -> dict[str, object]:
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": "abc", "e": "AQAB"}


async def _add(store: Store, kid: str, *, activates_in: timedelta = timedelta(0)) -> None:
    async with store.write() as tx:
        await tx.signing_keys.add(
            kid=kid,
            sealed_private_key=f"v1.sealed-{kid}",
            public_jwk=_jwk(kid),
            activates_at=NOW + activates_in,
            now=NOW,
        )


async def test_keys_are_published_newest_first_as_stored(store: Store) -> None:
    async with store.read() as tx:
        assert await tx.signing_keys.published(NOW) == []
    await _add(store, "k1")
    await _add(store, "k2", activates_in=timedelta(hours=1))

    async with store.read() as tx:
        published = await tx.signing_keys.published(NOW)

    assert [key.kid for key in published] == ["k2", "k1"]
    newest = published[0]
    assert newest.sealed_private_key == "v1.sealed-k2"
    assert newest.public_jwk == _jwk("k2")
    assert (newest.activates_at, newest.retires_at) == (NOW + timedelta(hours=1), None)


async def test_a_retired_key_is_no_longer_published_once_its_time_comes(store: Store) -> None:
    await _add(store, "old")
    retires_at = NOW + timedelta(days=1)
    async with store.write() as tx:
        await tx.signing_keys.retire_all(retires_at=retires_at)
    await _add(store, "new", activates_in=timedelta(hours=1))

    async with store.read() as tx:
        before = await tx.signing_keys.published(retires_at - timedelta(seconds=1))
        at = await tx.signing_keys.published(retires_at)

    assert [(key.kid, key.retires_at) for key in before] == [
        ("new", None),
        ("old", retires_at),
    ]
    assert [key.kid for key in at] == ["new"]


async def test_retiring_again_keeps_the_retirement_already_scheduled(store: Store) -> None:
    await _add(store, "first")
    first_retirement = NOW + timedelta(hours=2)
    async with store.write() as tx:
        await tx.signing_keys.retire_all(retires_at=first_retirement)
    await _add(store, "second")
    second_retirement = NOW + timedelta(hours=5)
    async with store.write() as tx:
        await tx.signing_keys.retire_all(retires_at=second_retirement)

    async with store.read() as tx:
        published = await tx.signing_keys.published(NOW)

    assert {key.kid: key.retires_at for key in published} == {
        "first": first_retirement,
        "second": second_retirement,
    }


async def test_a_published_key_cannot_be_changed_through_what_was_read(store: Store) -> None:
    await _add(store, "k1")
    async with store.read() as tx:
        [key] = await tx.signing_keys.published(NOW)
    key.public_jwk["kid"] = "tampered"

    async with store.read() as tx:
        [again] = await tx.signing_keys.published(NOW)
    assert again.public_jwk == _jwk("k1")
