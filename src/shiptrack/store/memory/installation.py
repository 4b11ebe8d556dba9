"""The installation's records in memory (see :class:`shiptrack.store.port.Installation`)."""

from __future__ import annotations

from datetime import datetime

from shiptrack.store.memory.tables import SecretKeyRow, Tables, utc

#: The one row of ``secret_key``.
_ROW = 1
#: Where the key id sits in a sealed value: ``v1.<key id>.…`` (``shiptrack.sealing``).
_SEALED_PREFIX, _KEY_ID_LENGTH = "v1.", 8


class MemoryInstallation:
    """The installation's records of one in-memory transaction."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def secret_key_fingerprint(self) -> str | None:
        """The fingerprint recorded on first use, ``None`` before."""
        row = self._tables.secret_key.get(_ROW)
        return None if row is None else row.fingerprint

    async def record_secret_key_fingerprint(self, fingerprint: str, *, now: datetime) -> str:
        """Record ``fingerprint`` unless one is recorded (writers take turns here), and return
        the one recorded."""
        row = self._tables.secret_key.get(_ROW)
        if row is None:
            row = SecretKeyRow(id=_ROW, fingerprint=fingerprint, recorded_at=utc(now))
            self._tables.secret_key.put(row)
        return row.fingerprint

    async def sealed_key_ids(self) -> set[str]:
        """The key ids of every sealed value stored."""
        tables = self._tables
        sealed = [
            *(row.credentials for row in tables.connections.rows()),
            *(row.secret for row in tables.webhooks.rows()),
            *(row.previous_secret for row in tables.webhooks.rows()),
            *(row.private_key for row in tables.signing_keys.rows()),
        ]
        return {
            value[len(_SEALED_PREFIX) : len(_SEALED_PREFIX) + _KEY_ID_LENGTH]
            for value in sealed
            if value is not None and value.startswith(_SEALED_PREFIX)
        }
