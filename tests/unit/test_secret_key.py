"""A process starts only with the secret key its database was first used with (the rules, on the
in-memory store): the first key is recorded by its fingerprint, another key is refused before
anything is written, and a database with sealed values but no fingerprint takes the key that
sealed them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shiptrack.domain.errors import ConfigurationError
from shiptrack.domain.timefmt import utcnow
from shiptrack.sealing import Sealer, fingerprint
from shiptrack.services.secret_key import SecretKeySource, verified_sealer
from shiptrack.store.memory import MemoryStore
from shiptrack.store.port import Store


def _configured(key: str, tmp_path: Path) -> SecretKeySource:
    return SecretKeySource(configured=key, data_dir=tmp_path / "data")


async def _recorded(store: Store) -> str | None:
    async with store.read() as tx:
        return await tx.installation.secret_key_fingerprint()


async def _refusal(store: Store, source: SecretKeySource) -> str:
    with pytest.raises(ConfigurationError) as caught:
        await verified_sealer(store, source)
    return caught.value.message


async def _seal_a_signing_key(store: Store, secret: str) -> None:
    """A value sealed before fingerprints existed: a signing key's private key."""
    async with store.write() as tx:
        await tx.signing_keys.add(
            kid="k1",
            sealed_private_key=Sealer(secret).seal({"pem": "…"}, owner="signing-key:k1"),
            public_jwk={"kid": "k1"},
            activates_at=utcnow(),
            now=utcnow(),
        )


async def test_the_first_key_is_recorded_and_opens_the_database_again(tmp_path: Path) -> None:
    store = MemoryStore()

    sealer = await verified_sealer(store, _configured("first-key", tmp_path))
    again = await verified_sealer(store, _configured("first-key", tmp_path))

    assert await _recorded(store) == fingerprint("first-key")
    assert sealer.key_id == again.key_id == Sealer("first-key").key_id
    assert not (tmp_path / "data").exists()  # a configured key needs no file


async def test_another_key_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    store = MemoryStore()
    await verified_sealer(store, _configured("first-key", tmp_path))

    message = await _refusal(store, _configured("other-key", tmp_path))

    assert message == (
        f"wrong secret key: this database was first used with the key of fingerprint "
        f"{fingerprint('first-key')}, and SHIPTRACK_SECRET_KEY has fingerprint "
        f"{fingerprint('other-key')}; set SHIPTRACK_SECRET_KEY to the key the database was "
        "first used with (the database's other processes have it in SHIPTRACK_SECRET_KEY or "
        "<data dir>/secret.key; `shiptrack secret-key fingerprint` prints the fingerprint and "
        "key id of the key a process would use)"
    )
    assert await _recorded(store) == fingerprint("first-key")


async def test_without_a_key_the_generated_one_is_made_and_recorded(tmp_path: Path) -> None:
    store = MemoryStore()
    generated = SecretKeySource(configured=None, data_dir=tmp_path / "first")

    await verified_sealer(store, generated)

    key = (tmp_path / "first" / "secret.key").read_text(encoding="utf-8").strip()
    assert await _recorded(store) == fingerprint(key)


async def test_a_process_without_the_key_refuses_and_generates_none(tmp_path: Path) -> None:
    store = MemoryStore()
    await verified_sealer(store, SecretKeySource(configured=None, data_dir=tmp_path / "first"))
    elsewhere = SecretKeySource(configured=None, data_dir=tmp_path / "second")

    message = await _refusal(store, elsewhere)

    assert message.startswith(
        "no secret key: this database was first used with the key of fingerprint "
        f"{await _recorded(store)}, but SHIPTRACK_SECRET_KEY is unset and "
        f"{tmp_path / 'second' / 'secret.key'} does not exist; set SHIPTRACK_SECRET_KEY to that "
        "key ("
    )
    assert not (tmp_path / "second").exists()


async def test_a_generated_key_of_another_database_is_named_by_its_file(tmp_path: Path) -> None:
    store = MemoryStore()
    await verified_sealer(store, _configured("first-key", tmp_path))
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "secret.key").write_text("stale-key\n", encoding="utf-8")

    message = await _refusal(store, SecretKeySource(configured=None, data_dir=stale))

    assert f"and the key in {stale / 'secret.key'} has fingerprint {fingerprint('stale-key')};" in (
        message
    )


async def test_of_two_first_starts_at_once_one_key_wins(tmp_path: Path) -> None:
    store = MemoryStore()

    results = await asyncio.gather(
        verified_sealer(store, _configured("key-a", tmp_path)),
        verified_sealer(store, _configured("key-b", tmp_path)),
        return_exceptions=True,
    )

    refused = [result for result in results if isinstance(result, ConfigurationError)]
    started = [result for result in results if isinstance(result, Sealer)]
    assert len(refused) == len(started) == 1
    assert await _recorded(store) == fingerprint("key-a" if started[0] is results[0] else "key-b")


async def test_a_database_with_sealed_values_takes_the_key_that_sealed_them(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    await _seal_a_signing_key(store, "old-key")

    await verified_sealer(store, _configured("old-key", tmp_path))

    assert await _recorded(store) == fingerprint("old-key")


async def test_a_database_with_sealed_values_refuses_a_key_that_sealed_none(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    await _seal_a_signing_key(store, "old-key")

    message = await _refusal(store, _configured("new-key", tmp_path))

    assert message.startswith(
        f"wrong secret key: the credentials stored in this database were sealed with key id "
        f"{Sealer('old-key').key_id}, and SHIPTRACK_SECRET_KEY is key id "
        f"{Sealer('new-key').key_id}; set SHIPTRACK_SECRET_KEY to the key they were sealed with ("
    )
    assert await _recorded(store) is None


async def test_a_database_with_sealed_values_and_no_key_generates_none(tmp_path: Path) -> None:
    store = MemoryStore()
    await _seal_a_signing_key(store, "old-key")
    data_dir = tmp_path / "data"

    message = await _refusal(store, SecretKeySource(configured=None, data_dir=data_dir))

    assert message.startswith(
        f"no secret key: the credentials stored in this database were sealed with key id "
        f"{Sealer('old-key').key_id}, but SHIPTRACK_SECRET_KEY is unset and "
        f"{data_dir / 'secret.key'} does not exist;"
    )
    assert not data_dir.exists()
    assert await _recorded(store) is None
