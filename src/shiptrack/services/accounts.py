"""Accounts and API keys."""

from __future__ import annotations

from dataclasses import dataclass

from shiptrack.domain.accounts import Account, ApiKey
from shiptrack.domain.apikeys import generate_api_key, hash_api_key
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.errors import NotFound
from shiptrack.domain.timefmt import utcnow
from shiptrack.services.cache import TTLCache
from shiptrack.store.port import NewConnection, Store


@dataclass(frozen=True)
class NewKey:
    """A key just made: the only moment its full text exists outside the client."""

    key: str
    record: ApiKey


class Accounts:
    """Accounts and their API keys."""

    def __init__(self, store: Store, keys: TTLCache[str, Account]) -> None:
        self.store = store
        #: API key hash -> account, for ``SHIPTRACK_CACHE_SECONDS`` (cleared by a revocation).
        self.keys = keys

    async def create(self, *, name: str, sandbox: bool) -> tuple[Account, NewKey]:
        """A new account with its first key; a sandbox account also gets a simulated connection for
        every supported carrier, as ShipEngine sandbox accounts come with test carriers."""
        now = utcnow()
        async with self.store.write() as tx:
            account = await tx.accounts.create(name=name, sandbox=sandbox, now=now)
            key = generate_api_key(sandbox=sandbox)
            record = await tx.accounts.add_key(account_id=account.id, key=key, now=now)
            if sandbox:
                for kind in CARRIERS.values():
                    simulated = NewConnection(
                        account_id=account.id,
                        carrier_code=kind.code,
                        nickname=f"shiptrack Sandbox - {kind.friendly_name}",
                        account_number=f"test_account_{account.id}",
                        base_url=None,
                        sealed_credentials=None,
                        simulated=True,
                    )
                    await tx.connections.create(simulated, now=now)
        return account, NewKey(key, record)

    async def create_key(self, account_id: int) -> NewKey:
        """Another key for an existing account."""
        async with self.store.write() as tx:
            account = await tx.accounts.get(account_id)
            if account is None:
                raise NotFound(f"account se-{account_id} does not exist", field_name="account")
            key = generate_api_key(sandbox=account.sandbox)
            record = await tx.accounts.add_key(account_id=account.id, key=key, now=utcnow())
        return NewKey(key, record)

    async def revoke_key(self, *, key_id: int | None, key: str | None) -> ApiKey:
        """Revoke a key named by its id or its full text; revoking twice is harmless."""
        async with self.store.write() as tx:
            found = await tx.accounts.find_key(key_id=key_id, key=key)
            if found is None:
                raise NotFound("no such API key", field_name="key")
            await tx.accounts.revoke_key(found.id, now=utcnow())
            revoked = await tx.accounts.find_key(key_id=found.id, key=None)
        assert revoked is not None
        self.keys.clear()
        return revoked

    async def authenticate(self, key: str) -> Account | None:
        """The account of a live key (remembered for ``SHIPTRACK_CACHE_SECONDS``)."""

        async def load() -> Account | None:
            return await self.store.read_quickly(lambda tx: tx.accounts.account_for_key(key))

        return await self.keys.get_or_load(hash_api_key(key), load)
