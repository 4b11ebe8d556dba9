"""Use cases: each one a transaction that asks the domain what to do and the store to do it.

Nothing here knows about HTTP; the API and the CLI both call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from shiptrack.settings import Settings
from shiptrack.store.database import Database, create_database
from shiptrack.store.sealing import Sealer, load_secret


@dataclass(frozen=True)
class Services:
    """What every use case needs, built once per process from the settings."""

    settings: Settings
    database: Database
    sealer: Sealer

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Open (lazily) the database and load the secret key."""
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        return cls(
            settings=settings,
            database=create_database(
                settings.resolved_database_url, pool_size=settings.db_pool_size
            ),
            sealer=Sealer(load_secret(secret, settings.data_dir)),
        )

    async def close(self) -> None:
        """Release the database connections."""
        await self.database.dispose()
