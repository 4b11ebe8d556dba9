"""Accounts and API keys in memory (see :class:`shiptrack.store.port.Accounts`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shiptrack.domain.accounts import Account, ApiKey
from shiptrack.domain.apikeys import display_prefix, hash_api_key
from shiptrack.store.memory.tables import (
    AccountRow,
    ApiKeyRow,
    ConstraintViolation,
    Tables,
    utc,
)


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        sandbox=row.sandbox,
        rate_limit_per_minute=row.rate_limit_per_minute,
        exception_watch_days=row.exception_watch_days,
    )


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class MemoryAccounts:
    """Accounts and API keys of one in-memory transaction."""

    def __init__(self, tables: Tables) -> None:
        self._accounts = tables.accounts
        self._keys = tables.api_keys

    async def create(self, *, name: str, sandbox: bool, now: datetime) -> Account:
        """Store a new account."""
        row = AccountRow(
            id=self._accounts.new_id(), name=name, sandbox=sandbox, created_at=utc(now)
        )
        self._accounts.put(row)
        return _account(row)

    async def get(self, account_id: int) -> Account | None:
        """One account."""
        row = self._accounts.get(account_id)
        return _account(row) if row else None

    async def set_rate_limit(self, account_id: int, per_minute: int | None) -> None:
        """Set the account's requests per minute (``None``: the server's default)."""
        row = self._accounts.get(account_id)
        if row is not None:
            self._accounts.put(replace(row, rate_limit_per_minute=per_minute))

    async def set_exception_watch(self, account_id: int, days: int | None) -> None:
        """Set how many days the account's exceptions are watched (``None``: stop at once)."""
        row = self._accounts.get(account_id)
        if row is not None:
            self._accounts.put(replace(row, exception_watch_days=days))

    async def find_by_name(self, name: str) -> list[Account]:
        """Accounts with this exact name, oldest first."""
        return [_account(row) for row in self._accounts.rows() if row.name == name]

    async def all(self) -> list[Account]:
        """Every account, oldest first."""
        return [_account(row) for row in self._accounts.rows()]

    async def add_key(self, *, account_id: int, key: str, now: datetime) -> ApiKey:
        """Store a new API key (its hash and first characters only)."""
        self._accounts.require(account_id, "account")
        key_hash = hash_api_key(key)
        if any(row.key_hash == key_hash for row in self._keys.rows()):
            raise ConstraintViolation("this API key is stored already")
        row = ApiKeyRow(
            id=self._keys.new_id(),
            account_id=account_id,
            key_hash=key_hash,
            prefix=display_prefix(key),
            created_at=utc(now),
        )
        self._keys.put(row)
        return _key(row)

    async def account_for_key(self, key: str) -> Account | None:
        """The account a live (not revoked) key belongs to."""
        key_hash = hash_api_key(key)
        for row in self._keys.rows():
            if row.key_hash == key_hash and row.revoked_at is None:
                account = self._accounts.get(row.account_id)
                return _account(account) if account else None
        return None

    async def keys(self, account_id: int) -> list[ApiKey]:
        """Every key of an account, revoked ones included, oldest first."""
        return [_key(row) for row in self._keys.rows() if row.account_id == account_id]

    async def find_key(self, *, key_id: int | None, key: str | None) -> ApiKey | None:
        """A key by its id or by its full text."""
        if key_id is not None:
            row = self._keys.get(key_id)
            return _key(row) if row else None
        key_hash = hash_api_key(key or "")
        return next((_key(row) for row in self._keys.rows() if row.key_hash == key_hash), None)

    async def revoke_key(self, key_id: int, *, now: datetime) -> None:
        """Make a key unusable from now on (the first revocation time is kept)."""
        row = self._keys.get(key_id)
        if row is not None and row.revoked_at is None:
            self._keys.put(replace(row, revoked_at=utc(now)))
