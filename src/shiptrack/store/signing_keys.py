"""The RSA keys that sign webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.store.port import StoredKey
from shiptrack.store.tables import signing_keys


def _key(row: sa.Row[tuple[object, ...]]) -> StoredKey:
    return StoredKey(
        kid=row.kid,
        sealed_private_key=row.private_key,
        public_jwk=row.public_jwk,
        activates_at=row.activates_at,
        retires_at=row.retires_at,
    )


class SqlSigningKeys:
    """Webhook signing keys in SQL (see :class:`shiptrack.store.port.SigningKeys`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        *,
        kid: str,
        sealed_private_key: str,
        public_jwk: dict[str, Any],
        activates_at: datetime,
        now: datetime,
    ) -> None:
        """Store a new key; it is published at once and signs from ``activates_at``."""
        await self._conn.execute(
            signing_keys.insert().values(
                kid=kid,
                private_key=sealed_private_key,
                public_jwk=public_jwk,
                activates_at=activates_at,
                created_at=now,
            )
        )

    async def published(self, now: datetime) -> list[StoredKey]:
        """Keys to publish in ``/jwks``: every key not yet retired, most recently made first."""
        rows = await self._conn.execute(
            signing_keys.select()
            .where(sa.or_(signing_keys.c.retires_at.is_(None), signing_keys.c.retires_at > now))
            .order_by(signing_keys.c.id.desc())
        )
        return [_key(row) for row in rows]

    async def retire_all(self, *, retires_at: datetime) -> None:
        """Schedule the retirement of every key not retiring yet (the one signing now, and any key a
        previous rotation scheduled but that has not started signing)."""
        await self._conn.execute(
            signing_keys.update()
            .where(signing_keys.c.retires_at.is_(None))
            .values(retires_at=retires_at)
        )
