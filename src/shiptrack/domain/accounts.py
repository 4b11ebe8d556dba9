"""Accounts, their API keys and carrier connections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Account:
    """A tenant: everything shiptrack stores belongs to exactly one account."""

    id: int
    name: str
    sandbox: bool
    rate_limit_per_minute: int | None = None
    exception_watch_days: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as listed: never the key itself, only its first characters."""

    id: int
    account_id: int
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Connection:
    """A carrier account connected to a shiptrack account (``carrier_id`` in the API)."""

    id: int
    account_id: int
    carrier_code: str
    nickname: str
    account_number: str | None
    base_url: str | None
    simulated: bool
    primary: bool = False
