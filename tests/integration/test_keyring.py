"""The signing keys (``shiptrack.webhooks.keyring``) on the SQL store, against the real database.

Covers the README's promise on rotation ("published in ``/jwks`` at once, signs after ``--lead``,
the replaced key stays published ``--grace`` more"): the first use creates one key that signs at
once and is the one published; every process sharing the database signs with the same key; a
rotation publishes the new key immediately while the old one keeps signing until the lead has
passed, then the old key leaves the JWKS once the grace is over; and the private keys are stored
sealed (no PEM in the database), each bound to its own kid.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shiptrack.domain.timefmt import utcnow
from shiptrack.sealing import Sealer, SealingError
from shiptrack.store import migrate
from shiptrack.store.database import Database, create_database
from shiptrack.store.sql import SqlStore
from shiptrack.store.tables import signing_keys
from shiptrack.webhooks import keyring as keyring_module
from shiptrack.webhooks.keyring import KeyRing
from shiptrack.webhooks.signing import SigningKey, load_signing_key, public_jwk
from tests.conftest import DatabaseServer

SEALER = Sealer("keyring-tests")
LEAD, GRACE = 1.0, 1.0
DEADLINE = 30.0


@pytest.fixture
def database_url(test_database: DatabaseServer, tmp_path: Path) -> Iterator[str]:
    """An empty database of the session's kind (created outside the test's event loop)."""
    yield test_database.fresh(tmp_path)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The database, migrated to the newest schema."""
    database = create_database(database_url)
    await migrate.upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key rings re-read the stored keys on every call (instead of every few seconds)."""
    monkeypatch.setattr(keyring_module, "REFRESH_SECONDS", 0.0)


async def _rows(database: Database) -> list[sa.Row[Any]]:
    async with database.read() as conn:
        return list(await conn.execute(signing_keys.select().order_by(signing_keys.c.id)))


def _kids(jwks: dict[str, Any]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


def _uint(b64url: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(b64url + "=" * (-len(b64url) % 4)), "big")


def _verifies(jwks: dict[str, Any], key: SigningKey) -> bool:
    """Whether a receiver holding ``jwks`` can check a signature made with ``key`` right now."""
    jwk = next((k for k in jwks["keys"] if k["kid"] == key.kid), None)
    if jwk is None:
        return False
    public_key = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
    message = b"2026-03-02T12:00:00Z.{}"
    signature = base64.b64decode(key.sign(message))
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    return True


async def _until(condition: Any, what: str) -> None:
    """Poll ``condition`` (an async callable) until it holds, or fail after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {DEADLINE} s: {what}")
        await asyncio.sleep(0.05)


async def test_the_first_use_creates_one_key_that_signs_at_once(database: Database) -> None:
    assert await _rows(database) == []
    ring = KeyRing(SqlStore(database), SEALER)

    key = await ring.signing_key()
    jwks = await ring.jwks()

    assert _kids(jwks) == [key.kid]
    assert _verifies(jwks, key)
    [row] = await _rows(database)
    assert row.kid == key.kid
    assert row.activates_at <= utcnow()
    assert row.retires_at is None
    # Asking again neither creates another key nor changes the one that signs.
    assert (await ring.signing_key()).kid == key.kid
    assert len(await _rows(database)) == 1


async def test_publishing_first_also_creates_the_key(database: Database) -> None:
    ring = KeyRing(SqlStore(database), SEALER)
    [published] = (await ring.jwks())["keys"]
    assert (await ring.signing_key()).kid == published["kid"]
    assert len(await _rows(database)) == 1


async def test_every_process_signs_with_the_same_stored_key(database: Database) -> None:
    first = await KeyRing(SqlStore(database), SEALER).signing_key()

    # Another process (another key ring on the same database) finds the key and does not add one.
    other = KeyRing(SqlStore(database), SEALER)
    assert (await other.signing_key()).kid == first.kid
    assert _kids(await other.jwks()) == [first.kid]
    assert len(await _rows(database)) == 1


async def test_a_rotated_key_is_published_at_once_but_signs_only_after_the_lead(
    database: Database,
) -> None:
    ring = KeyRing(SqlStore(database), SEALER)
    old = await ring.signing_key()

    new_kid = await ring.rotate(lead=3.0, grace=GRACE)

    assert new_kid != old.kid
    # Receivers can fetch the new key before any delivery is signed with it.
    assert set(_kids(await ring.jwks())) == {old.kid, new_kid}
    assert (await ring.signing_key()).kid == old.kid
    rows = {row.kid: row for row in await _rows(database)}
    assert rows[new_kid].activates_at - rows[new_kid].created_at == timedelta(seconds=3)
    assert rows[old.kid].retires_at == rows[new_kid].activates_at + timedelta(seconds=GRACE)

    async def switched() -> bool:
        return (await ring.signing_key()).kid == new_kid

    await _until(switched, "the new key signs once the lead has passed")
    assert utcnow() >= rows[new_kid].activates_at
    assert _verifies(await ring.jwks(), await ring.signing_key())


async def test_a_rotation_before_the_first_use_signs_after_its_lead_all_the_same(
    database: Database,
) -> None:
    ring = KeyRing(SqlStore(database), SEALER)

    new_kid = await ring.rotate(lead=LEAD, grace=60)

    # A key signs meanwhile (made by the rotation, as the first use would make it) and is
    # published beside the rotated one.
    meanwhile = await ring.signing_key()
    assert meanwhile.kid != new_kid
    assert set(_kids(await ring.jwks())) == {meanwhile.kid, new_kid}
    assert len(await _rows(database)) == 2

    async def switched() -> bool:
        return (await ring.signing_key()).kid == new_kid

    await _until(switched, "the rotated key signs once its lead has passed")


async def test_the_replaced_key_leaves_the_jwks_after_the_grace(
    database: Database, no_cache: None
) -> None:
    ring = KeyRing(SqlStore(database), SEALER)
    old = await ring.signing_key()
    new_kid = await ring.rotate(lead=LEAD, grace=GRACE)
    rows = {row.kid: row for row in await _rows(database)}
    retires_at = rows[old.kid].retires_at
    assert retires_at == rows[new_kid].activates_at + timedelta(seconds=GRACE)

    async def retired() -> bool:
        return old.kid not in _kids(await ring.jwks())

    await _until(retired, "the old key leaves /jwks after lead + grace")
    # Never before the grace was over: a delivery signed just before the switch still verified.
    assert utcnow() >= retires_at
    assert _kids(await ring.jwks()) == [new_kid]
    assert (await ring.signing_key()).kid == new_kid
    # The retired key is kept in the database, only no longer published.
    assert {row.kid for row in await _rows(database)} == {old.kid, new_kid}


async def test_another_process_learns_of_a_rotation_from_the_database(
    database: Database, no_cache: None
) -> None:
    rotating, other = KeyRing(SqlStore(database), SEALER), KeyRing(SqlStore(database), SEALER)
    old = await other.signing_key()

    new_kid = await rotating.rotate(lead=LEAD, grace=60)

    assert set(_kids(await other.jwks())) == {old.kid, new_kid}

    async def switched() -> bool:
        return (await other.signing_key()).kid == new_kid

    await _until(switched, "the other process signs with the new key after the lead")
    # The old key is still published during the grace.
    assert set(_kids(await other.jwks())) == {old.kid, new_kid}


async def test_a_cached_key_list_is_reread_after_refresh_seconds(database: Database) -> None:
    ring, other = KeyRing(SqlStore(database), SEALER), KeyRing(SqlStore(database), SEALER)
    old = await ring.signing_key()
    assert _kids(await other.jwks()) == [old.kid]  # ``other`` caches the list now

    new_kid = await ring.rotate(lead=0, grace=60)

    # The cache is trusted for REFRESH_SECONDS; forcing its age past that re-reads the keys.
    other._loaded_at = time.monotonic() - keyring_module.REFRESH_SECONDS
    assert set(_kids(await other.jwks())) == {old.kid, new_kid}
    assert (await other.signing_key()).kid == new_kid


async def test_private_keys_are_stored_sealed(database: Database) -> None:
    ring = KeyRing(SqlStore(database), SEALER)
    first = await ring.signing_key()
    second_kid = await ring.rotate(lead=0, grace=60)

    rows = await _rows(database)
    assert {row.kid for row in rows} == {first.kid, second_kid}
    for row in rows:
        assert "PRIVATE KEY" not in row.private_key
        assert "-----" not in row.private_key
        assert row.private_key.startswith("v1.")
        # The sealed value opens only with the secret key and for its own kid.
        pem = SEALER.open(row.private_key, owner=f"signing-key:{row.kid}")["pem"]
        loaded = load_signing_key(row.kid, pem)
        assert public_jwk(row.kid, loaded.private_key) == row.public_jwk
        with pytest.raises(SealingError):
            Sealer("another-secret-key").open(row.private_key, owner=f"signing-key:{row.kid}")
    with pytest.raises(SealingError):
        SEALER.open(rows[0].private_key, owner=f"signing-key:{rows[1].kid}")


async def test_the_jwks_publishes_public_halves_only(database: Database) -> None:
    ring = KeyRing(SqlStore(database), SEALER)
    await ring.signing_key()
    await ring.rotate(lead=60, grace=60)

    for jwk in (await ring.jwks())["keys"]:
        assert set(jwk) == {"kty", "kid", "use", "alg", "n", "e"}
        assert jwk["kty"] == "RSA"
