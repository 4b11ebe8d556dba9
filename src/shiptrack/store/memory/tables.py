"""The in-memory store's tables: frozen rows kept by id, copied on a transaction's first write.

Rows are frozen dataclasses, replaced (never changed) by an update, so a committed state can be
shared by every reader while a writer works on its own copies of the tables it changes. Ids come
from one counter per table that transactions share and never give back, as PostgreSQL's sequences
do: ids only grow, and a table's insertion order is its id order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from shiptrack.domain.webhooks import SIGNATURE_SCHEMES, WebhookHeader


class HasId(Protocol):
    """A row: anything with an ``id``."""

    @property
    def id(self) -> int:
        """The row's primary key."""
        ...


RowT = TypeVar("RowT", bound=HasId)


class ReadOnlyTransaction(RuntimeError):
    """A write through a read transaction, or through a transaction whose block has ended."""


class ConstraintViolation(ValueError):
    """A write the SQL store's constraints refuse too: a unique key taken twice, or a row that
    refers to a row that does not exist."""


@dataclass
class _Access:
    """Whether the tables of one state may still change (shared by all its tables)."""

    writable: bool


class Table(Generic[RowT]):
    """One table's rows by id. A table of a write transaction copies the committed rows on its
    first change, so what readers see never moves under them."""

    def __init__(
        self, rows: dict[int, RowT], ids: Iterator[int], access: _Access, *, owned: bool
    ) -> None:
        self._rows = rows
        self._ids = ids
        self._access = access
        self._owned = owned

    def branch(self, access: _Access) -> Table[RowT]:
        """The same rows, for a transaction that may change them (copied on first change)."""
        return Table(self._rows, self._ids, access, owned=False)

    def new_id(self) -> int:
        """The next id of this table (never given twice, even when a transaction rolls back)."""
        return next(self._ids)

    def get(self, row_id: int | None) -> RowT | None:
        """The row with this id."""
        return None if row_id is None else self._rows.get(row_id)

    def require(self, row_id: int | None, what: str) -> None:
        """Refuse a reference to a row that does not exist (a foreign key)."""
        if row_id is not None and row_id not in self._rows:
            raise ConstraintViolation(f"{what} {row_id} does not exist")

    def rows(self) -> list[RowT]:
        """Every row, in id order."""
        return list(self._rows.values())

    def put(self, row: RowT) -> None:
        """Insert or replace a row."""
        if not self._access.writable:
            raise ReadOnlyTransaction(
                "this transaction cannot write: it is a read, or its block has ended"
            )
        if not self._owned:
            self._rows = dict(self._rows)
            self._owned = True
        self._rows[row.id] = row


def utc(moment: datetime) -> datetime:
    """A point in time as the SQL store keeps it: UTC; a naive datetime is refused, as there."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
    return moment.astimezone(UTC)


def utc_or_none(moment: datetime | None) -> datetime | None:
    """:func:`utc`, letting ``None`` through."""
    return None if moment is None else utc(moment)


# --- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRow:
    """An ``accounts`` row."""

    id: int
    name: str
    sandbox: bool
    rate_limit_per_minute: int | None = None
    exception_watch_days: int | None = None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRow:
    """An ``api_keys`` row: the key's hash and first characters, never the key."""

    id: int
    account_id: int
    key_hash: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionRow:
    """A ``carrier_connections`` row."""

    id: int
    account_id: int
    carrier_code: str
    nickname: str
    account_number: str | None
    base_url: str | None
    credentials: str | None
    simulated: bool
    requests_per_minute: float | None
    #: Never changed in place, and handed out only as copies.
    options: dict[str, str] | None
    backoff_until: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    last_success_at: datetime | None = None
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRow:
    """A ``webhooks`` row."""

    id: int
    account_id: int
    url: str
    event: str
    name: str | None
    store_id: int | None
    headers: tuple[WebhookHeader, ...]
    signatures: tuple[str, ...] = SIGNATURE_SCHEMES
    secret: str | None
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRow:
    """A ``subscriptions`` row: one account's watch on one package."""

    id: int
    account_id: int
    connection_id: int
    carrier_code: str
    tracking_number: str
    active: bool
    status_code: str
    status_detail_code: str | None = None
    carrier_status_code: str | None = None
    carrier_detail_code: str | None = None
    carrier_status_description: str | None = None
    ship_date: str | None = None
    estimated_delivery_date: str | None = None
    actual_delivery_date: str | None = None
    exception_description: str | None = None
    sequence: int
    next_check_at: datetime | None
    lease_until: datetime | None = None
    last_checked_at: datetime | None = None
    last_error: str | None = None
    stop_reason: str | None = None
    status_since: datetime | None = None
    invalid_checks: int = 0
    announce: bool = False
    created_at: datetime
    updated_at: datetime
    stopped_at: datetime | None = None
    public_token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    """A ``tracking_histories`` row: a package's scans."""

    #: The subscription's id.
    id: int
    #: The history in the SQL store's format (``store.histories``), so it reads back the same.
    events: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChangeRow:
    """A ``status_changes`` row."""

    id: int
    subscription_id: int
    sequence: int
    previous_status: str | None
    status_code: str
    status_detail_code: str | None
    occurred_at: datetime | None
    detected_at: datetime
    correction: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRow:
    """A ``deliveries`` row."""

    id: int
    webhook_id: int
    #: Both ``None`` for a test event.
    status_change_id: int | None
    subscription_id: int | None
    sequence: int
    message_id: str
    payload: bytes
    state: str
    attempts: int
    next_attempt_at: datetime | None
    lease_until: datetime | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptRow:
    """A ``delivery_attempts`` row."""

    id: int
    delivery_id: int
    attempted_at: datetime
    response_status: int | None
    latency_ms: int
    error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningKeyRow:
    """A ``signing_keys`` row: the private key sealed."""

    id: int
    kid: str
    private_key: str
    #: Never changed in place, and handed out only as copies.
    public_jwk: dict[str, Any]
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretKeyRow:
    """The ``secret_key`` row (id 1): the fingerprint of the key first used."""

    id: int
    fingerprint: str
    recorded_at: datetime


# --- a state: every table -----------------------------------------------------------------------


def _counter() -> Iterator[int]:
    return itertools.count(1)


@dataclass(frozen=True)
class Ids:
    """One id counter per table, shared by every state of one store."""

    accounts: Iterator[int] = field(default_factory=_counter)
    api_keys: Iterator[int] = field(default_factory=_counter)
    connections: Iterator[int] = field(default_factory=_counter)
    webhooks: Iterator[int] = field(default_factory=_counter)
    subscriptions: Iterator[int] = field(default_factory=_counter)
    status_changes: Iterator[int] = field(default_factory=_counter)
    deliveries: Iterator[int] = field(default_factory=_counter)
    attempts: Iterator[int] = field(default_factory=_counter)
    signing_keys: Iterator[int] = field(default_factory=_counter)
    #: The secret key's one row is id 1: the table takes no ids of its own.
    secret_key: Iterator[int] = field(default_factory=lambda: iter(()))
    #: Histories are keyed by their subscription's id and take none of their own.
    histories: Iterator[int] = field(default_factory=lambda: iter(()))


@dataclass(frozen=True)
class Tables:
    """Every table of one state of the store: the committed one, or a write transaction's."""

    access: _Access
    accounts: Table[AccountRow]
    api_keys: Table[ApiKeyRow]
    connections: Table[ConnectionRow]
    webhooks: Table[WebhookRow]
    subscriptions: Table[SubscriptionRow]
    histories: Table[HistoryRow]
    status_changes: Table[StatusChangeRow]
    deliveries: Table[DeliveryRow]
    attempts: Table[AttemptRow]
    signing_keys: Table[SigningKeyRow]
    secret_key: Table[SecretKeyRow]

    @classmethod
    def empty(cls, ids: Ids) -> Tables:
        """A new store's state: no rows, read-only."""
        access = _Access(writable=False)

        def table(counter: Iterator[int]) -> Any:
            return Table({}, counter, access, owned=True)

        return cls(
            access=access,
            accounts=table(ids.accounts),
            api_keys=table(ids.api_keys),
            connections=table(ids.connections),
            webhooks=table(ids.webhooks),
            subscriptions=table(ids.subscriptions),
            histories=table(ids.histories),
            status_changes=table(ids.status_changes),
            deliveries=table(ids.deliveries),
            attempts=table(ids.attempts),
            signing_keys=table(ids.signing_keys),
            secret_key=table(ids.secret_key),
        )

    def for_writing(self) -> Tables:
        """A state that starts as this one and takes a transaction's changes."""
        access = _Access(writable=True)

        def branch(table: Table[Any]) -> Any:
            return table.branch(access)

        return Tables(
            access=access,
            accounts=branch(self.accounts),
            api_keys=branch(self.api_keys),
            connections=branch(self.connections),
            webhooks=branch(self.webhooks),
            subscriptions=branch(self.subscriptions),
            histories=branch(self.histories),
            status_changes=branch(self.status_changes),
            deliveries=branch(self.deliveries),
            attempts=branch(self.attempts),
            signing_keys=branch(self.signing_keys),
            secret_key=branch(self.secret_key),
        )

    def freeze(self) -> None:
        """No more changes: the transaction's block has ended (committed or rolled back)."""
        self.access.writable = False
