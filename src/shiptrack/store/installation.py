"""The installation's own records: the fingerprint of the secret key, the keys of sealed values."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.store.dialect import insert
from shiptrack.store.tables import carrier_connections, secret_key, signing_keys, webhooks

#: The one row of ``secret_key``.
_ROW = 1
#: Where the key id sits in a sealed value: ``v1.<8 characters>.…`` (``shiptrack.sealing``).
_SEALED_PREFIX, _KEY_ID_LENGTH = "v1.", 8

_SEALED_COLUMNS = (
    carrier_connections.c.credentials,
    webhooks.c.secret,
    webhooks.c.previous_secret,
    signing_keys.c.private_key,
)


class SqlInstallation:
    """The installation's records in SQL (see :class:`shiptrack.store.port.Installation`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def secret_key_fingerprint(self) -> str | None:
        """The fingerprint recorded on first use, ``None`` before."""
        recorded: str | None = await self._conn.scalar(
            sa.select(secret_key.c.fingerprint).where(secret_key.c.id == _ROW)
        )
        return recorded

    async def record_secret_key_fingerprint(self, fingerprint: str, *, now: datetime) -> str:
        """Record ``fingerprint`` unless one is recorded, and return the one recorded."""
        # ON CONFLICT DO NOTHING: of two transactions inserting at once on PostgreSQL, the second
        # waits for the first and inserts nothing; its next statement (READ COMMITTED) then sees
        # the first one's row. SQLite's writers take turns anyway.
        await self._conn.execute(
            insert(self._conn, secret_key)
            .values(id=_ROW, fingerprint=fingerprint, recorded_at=now)
            .on_conflict_do_nothing(index_elements=[secret_key.c.id])
        )
        recorded = await self.secret_key_fingerprint()
        assert recorded is not None
        return recorded

    async def sealed_key_ids(self) -> set[str]:
        """The key ids of every sealed value stored."""
        key_ids = sa.union(
            *(
                sa.select(sa.func.substr(column, len(_SEALED_PREFIX) + 1, _KEY_ID_LENGTH)).where(
                    column.startswith(_SEALED_PREFIX, autoescape=True)
                )
                for column in _SEALED_COLUMNS
            )
        )
        return set((await self._conn.scalars(key_ids)).all())
