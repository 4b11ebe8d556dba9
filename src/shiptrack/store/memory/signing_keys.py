"""Webhook signing keys in memory (see :class:`shiptrack.store.port.SigningKeys`)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import Any

from shiptrack.store.memory.tables import ConstraintViolation, SigningKeyRow, Tables, utc
from shiptrack.store.port import StoredKey


class MemorySigningKeys:
    """Signing keys of one in-memory transaction."""

    def __init__(self, tables: Tables) -> None:
        self._keys = tables.signing_keys

    async def add(
        self,
        *,
        kid: str,
        sealed_private_key: str,
        public_jwk: dict[str, Any],
        activates_at: datetime,
        now: datetime,
    ) -> None:
        """Store a new key: published at once, signing from ``activates_at``."""
        if any(row.kid == kid for row in self._keys.rows()):
            raise ConstraintViolation(f"signing key {kid} is stored already")
        self._keys.put(
            SigningKeyRow(
                id=self._keys.new_id(),
                kid=kid,
                private_key=sealed_private_key,
                public_jwk=copy.deepcopy(public_jwk),
                created_at=utc(now),
                activates_at=utc(activates_at),
            )
        )

    async def published(self, now: datetime) -> list[StoredKey]:
        """Keys not yet retired, most recently made first."""
        now = utc(now)
        return [
            StoredKey(
                kid=row.kid,
                sealed_private_key=row.private_key,
                public_jwk=copy.deepcopy(row.public_jwk),
                activates_at=row.activates_at,
                retires_at=row.retires_at,
            )
            for row in reversed(self._keys.rows())
            if row.retires_at is None or row.retires_at > now
        ]

    async def retire_all(self, *, retires_at: datetime) -> None:
        """Schedule the retirement of every key not retiring yet."""
        retires_at = utc(retires_at)
        for row in self._keys.rows():
            if row.retires_at is None:
                self._keys.put(replace(row, retires_at=retires_at))
