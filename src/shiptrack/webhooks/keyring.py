"""The signing keys of a process: the one that signs now, and the ones ``/jwks`` publishes.

A rotation adds a key that is published at once but signs only from ``activates_at`` (so receivers
that cache the JWKS learn it first), and keeps the replaced key published for a grace period (so
deliveries signed just before the switch still verify).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shiptrack.domain.timefmt import utcnow
from shiptrack.sealing import Sealer
from shiptrack.store.port import SigningKeys, Store, StoredKey
from shiptrack.webhooks.signing import SigningKey, generate_signing_key, load_signing_key

#: How long a process trusts its copy of the key list unless told otherwise (the services give it
#: ``SHIPTRACK_CACHE_SECONDS``): a key made by ``shiptrack signing-key rotate`` reaches every
#: process within that time.
REFRESH_SECONDS = 2.0


def _owner(kid: str) -> str:
    return f"signing-key:{kid}"


def signer(keys: Sequence[StoredKey], now: datetime) -> StoredKey | None:
    """The key that signs at ``now``: of ``keys`` (most recently made first), the newest whose
    activation time has come, so the latest rotation wins, even over a key an earlier rotation
    scheduled for later."""
    return next((key for key in keys if key.activates_at <= now), None)


@dataclass(frozen=True, slots=True)
class KeyRole:
    """What one published key does at a given moment (``shiptrack signing-key list``)."""

    kid: str
    #: ``signing``: it signs now; ``scheduled``: it will sign from ``signs_from``; ``retired``: it
    #: signed until ``signs_until`` and is only published now; ``superseded``: a newer key signs
    #: from before its start, so it will never sign.
    role: Literal["signing", "scheduled", "retired", "superseded"]
    signs_from: datetime
    #: When a newer key takes over (``None``: no newer key is scheduled).
    signs_until: datetime | None
    #: When it leaves ``/jwks`` (``None``: no rotation has retired it yet).
    published_until: datetime | None


def key_roles(keys: Sequence[StoredKey], now: datetime) -> list[KeyRole]:
    """The role of each published key (``keys`` most recently made first) at ``now``: the rule of
    :func:`signer` applied to every moment, so the listing and the signing cannot disagree."""
    roles = []
    for index, key in enumerate(keys):
        # A key signs from its activation until the first activation of a newer key.
        newer = [other.activates_at for other in keys[:index]]
        until = min(newer) if newer else None
        role: Literal["signing", "scheduled", "retired", "superseded"]
        if until is not None and until <= key.activates_at:
            role = "superseded"
        elif now < key.activates_at:
            role = "scheduled"
        elif until is None or now < until:
            role = "signing"
        else:
            role = "retired"
        roles.append(KeyRole(key.kid, role, key.activates_at, until, key.retires_at))
    return roles


class KeyRing:
    """Cached view of the stored signing keys."""

    def __init__(self, store: Store, sealer: Sealer, *, refresh: float | None = None) -> None:
        self.store = store
        self.sealer = sealer
        self.refresh = REFRESH_SECONDS if refresh is None else refresh
        self._keys: list[StoredKey] = []
        self._loaded_at = float("-inf")
        self._private: dict[str, SigningKey] = {}
        self._lock = asyncio.Lock()

    async def signing_key(self) -> SigningKey:
        """The key that signs now: the most recently made key whose activation time has come (so
        the latest rotation wins, even over a key an earlier rotation scheduled for later)."""
        keys = await self._current(create=True)
        chosen = signer(keys, utcnow())
        if chosen is None:  # the cached list predates the activation of the only key
            self._loaded_at = float("-inf")
            keys = await self._current(create=True)
            chosen = signer(keys, utcnow())
            assert chosen is not None, "_current(create=True) keeps a key that signs now"
        if chosen.kid not in self._private:
            pem = self.sealer.open(chosen.sealed_private_key, owner=_owner(chosen.kid))["pem"]
            self._private[chosen.kid] = load_signing_key(chosen.kid, pem)
        return self._private[chosen.kid]

    async def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set to publish."""
        keys = await self._current(create=True)
        return {"keys": [key.public_jwk for key in keys]}

    async def rotate(self, *, lead: float, grace: float) -> str:
        """Add a key that signs ``lead`` seconds from now; the current one retires ``grace``
        seconds after that. Returns the new kid.

        With no key signing yet (a rotation before the first delivery or ``/jwks``), one is made
        to sign until then, as the first use would: made after the rotated key, it would
        otherwise be the newest and sign instead of it for good."""
        now = utcnow()
        activates_at = now + timedelta(seconds=lead)
        async with self.store.write() as tx:
            keys = tx.signing_keys
            if lead > 0 and signer(await keys.published(now), now) is None:
                await self._add(keys, activates_at=now, now=now)
            await keys.retire_all(retires_at=activates_at + timedelta(seconds=grace))
            kid = await self._add(keys, activates_at=activates_at, now=now)
        self._loaded_at = float("-inf")
        return kid

    async def _current(self, *, create: bool = False) -> list[StoredKey]:
        async with self._lock:
            fresh = time.monotonic() - self._loaded_at < self.refresh
            if fresh and (self._keys or not create):
                return self._keys
            now = utcnow()
            async with self.store.write() if create else self.store.read() as tx:
                keys = await tx.signing_keys.published(now)
                if create and not any(key.activates_at <= now for key in keys):
                    await self._add(tx.signing_keys, activates_at=now, now=now)
                    keys = await tx.signing_keys.published(now)
            self._keys, self._loaded_at = keys, time.monotonic()
            return keys

    async def _add(self, keys: SigningKeys, *, activates_at: datetime, now: datetime) -> str:
        kid, pem, jwk = generate_signing_key()
        await keys.add(
            kid=kid,
            sealed_private_key=self.sealer.seal({"pem": pem}, owner=_owner(kid)),
            public_jwk=jwk,
            activates_at=activates_at,
            now=now,
        )
        return kid
