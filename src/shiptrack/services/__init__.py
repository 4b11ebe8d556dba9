"""Use cases: each one a transaction that asks the domain what to do and the store to do it.

Nothing here knows about HTTP; the API and the CLI both call these functions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shiptrack.carriers.pacing import RequestPacer
from shiptrack.carriers.registry import CarrierRegistry
from shiptrack.domain.tracking import StartRequest
from shiptrack.engine.batching import WriteBatcher
from shiptrack.engine.connections import ConnectionOpener
from shiptrack.engine.push import Pushes
from shiptrack.engine.recording import Recorder
from shiptrack.sealing import Sealer, load_secret
from shiptrack.services.cache import TTLCache
from shiptrack.settings import Settings
from shiptrack.store.database import create_database
from shiptrack.store.port import Store
from shiptrack.store.sql import SqlStore
from shiptrack.webhooks.keyring import KeyRing

if TYPE_CHECKING:
    from shiptrack.domain.accounts import Account
    from shiptrack.services.tracking import TrackingSetup


@dataclass(frozen=True)
class Services:
    """What every use case needs, built once per process from the settings."""

    settings: Settings
    store: Store
    sealer: Sealer
    carriers: CarrierRegistry
    keyring: KeyRing
    #: API key hash -> account, and account id -> its tracking setup (services.tracking).
    keys: TTLCache[str, Account]
    setups: TTLCache[int, TrackingSetup]
    #: Keeps every carrier connection of this process within its request budget.
    pacer: RequestPacer = field(default_factory=RequestPacer)
    #: Starts waiting to be written together (``engine.batching``).
    starts: WriteBatcher[StartRequest] = field(init=False)
    #: Set when a package becomes due now, so an in-process worker need not wait for its next poll.
    packages_due: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when webhook deliveries were queued.
    deliveries_due: asyncio.Event = field(default_factory=asyncio.Event)
    #: Opens stored carrier connections for their adapters.
    opener: ConnectionOpener = field(init=False)
    #: Records what carriers said (polled or pushed).
    recorder: Recorder = field(init=False)
    #: Receives carrier pushes.
    pushes: Pushes = field(init=False)

    def __post_init__(self) -> None:
        from shiptrack.services.tracking import write_starts

        async def write(requests: Sequence[StartRequest]) -> None:
            await write_starts(self, requests)

        settings = self.settings
        opener = ConnectionOpener(self.sealer)
        recorder = Recorder(
            settings.schedule,
            public_base_url=settings.public_base_url,
            deliveries_due=self.deliveries_due,
        )
        object.__setattr__(self, "starts", WriteBatcher(write))
        object.__setattr__(self, "opener", opener)
        object.__setattr__(self, "recorder", recorder)
        object.__setattr__(self, "pushes", Pushes(self.store, self.carriers, opener, recorder))

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Open (lazily) the database and load the secret key."""
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        store = SqlStore(
            create_database(
                settings.resolved_database_url,
                pool_size=settings.db_pool_size,
                sqlite_synchronous=settings.sqlite_synchronous,
            )
        )
        sealer = Sealer(load_secret(secret, settings.data_dir))
        return cls(
            settings=settings,
            store=store,
            sealer=sealer,
            carriers=CarrierRegistry(
                sandbox_speed=settings.sandbox_speed, outbound=settings.outbound_policy
            ),
            keyring=KeyRing(store, sealer, refresh=settings.cache_seconds),
            keys=TTLCache(settings.cache_seconds),
            setups=TTLCache(settings.cache_seconds),
        )

    async def close(self) -> None:
        """Release the carriers' and the database's connections."""
        await self.carriers.close()
        await self.store.close()
