"""Accounts and API keys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.accounts import Account, ApiKey
from shiptrack.domain.apikeys import display_prefix, hash_api_key
from shiptrack.store.tables import accounts, api_keys


def _account(row: sa.Row[tuple[object, ...]]) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        sandbox=row.sandbox,
        rate_limit_per_minute=row.rate_limit_per_minute,
        exception_watch_days=row.exception_watch_days,
    )


def _key(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class SqlAccounts:
    """Accounts and API keys in SQL (see :class:`shiptrack.store.port.Accounts`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, *, name: str, sandbox: bool, now: datetime) -> Account:
        """A new account, without keys."""
        result = await self._conn.execute(
            accounts.insert()
            .values(name=name, sandbox=sandbox, created_at=now)
            .returning(*accounts.c)
        )
        return _account(result.one())

    async def get(self, account_id: int) -> Account | None:
        """The account with this id."""
        row = (
            await self._conn.execute(accounts.select().where(accounts.c.id == account_id))
        ).first()
        return _account(row) if row else None

    async def find_by_name(self, name: str) -> list[Account]:
        """Accounts with exactly this name, oldest first."""
        rows = await self._conn.execute(
            accounts.select().where(accounts.c.name == name).order_by(accounts.c.id)
        )
        return [_account(row) for row in rows]

    async def all(self) -> list[Account]:
        """Every account, oldest first."""
        return [
            _account(row)
            for row in await self._conn.execute(accounts.select().order_by(accounts.c.id))
        ]

    async def add_key(self, *, account_id: int, key: str, now: datetime) -> ApiKey:
        """Store a new key for an account (its hash and its display prefix only)."""
        result = await self._conn.execute(
            api_keys.insert()
            .values(
                account_id=account_id,
                key_hash=hash_api_key(key),
                prefix=display_prefix(key),
                created_at=now,
            )
            .returning(*api_keys.c)
        )
        return _key(result.one())

    async def account_for_key(self, key: str) -> Account | None:
        """The account a live (not revoked) key belongs to."""
        query = (
            sa.select(accounts)
            .join(api_keys, api_keys.c.account_id == accounts.c.id)
            .where(api_keys.c.key_hash == hash_api_key(key), api_keys.c.revoked_at.is_(None))
        )
        row = (await self._conn.execute(query)).first()
        return _account(row) if row else None

    async def keys(self, account_id: int) -> list[ApiKey]:
        """Every key of an account, revoked ones included, oldest first."""
        rows = await self._conn.execute(
            api_keys.select().where(api_keys.c.account_id == account_id).order_by(api_keys.c.id)
        )
        return [_key(row) for row in rows]

    async def find_key(self, *, key_id: int | None, key: str | None) -> ApiKey | None:
        """A key by its id or by its full text."""
        condition = (
            api_keys.c.id == key_id
            if key_id is not None
            else api_keys.c.key_hash == hash_api_key(key or "")
        )
        row = (await self._conn.execute(api_keys.select().where(condition))).first()
        return _key(row) if row else None

    async def revoke_key(self, key_id: int, *, now: datetime) -> None:
        """Make a key unusable from now on (idempotent; the first revocation time is kept)."""
        await self._conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def set_rate_limit(self, account_id: int, per_minute: int | None) -> None:
        """Set the account's requests per minute (``None``: the server's default)."""
        await self._conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(rate_limit_per_minute=per_minute)
        )

    async def set_exception_watch(self, account_id: int, days: int | None) -> None:
        """Set how many days the account's exceptions are watched (``None``: stop at once)."""
        await self._conn.execute(
            accounts.update().where(accounts.c.id == account_id).values(exception_watch_days=days)
        )
