"""The store port: everything the engine, the request use cases and the CLI ask of storage.

A :class:`Store` opens transactions; a :class:`Transaction` offers one small interface per
aggregate (accounts, carrier connections, webhooks, packages, the outbox, signing keys, the
installation itself). Callers never see a database connection, a row or a column name: they pass
and get domain values, and the implementation keeps its transactions to itself (a ``write`` block
commits when it ends without an exception and rolls back otherwise).

Two implementations: the SQL one (``store.sql``: SQLite and PostgreSQL, every query tuned there) and
the in-memory one (``store.memory``: the same behaviour on plain dictionaries, for the unit tests
of the engine and the use cases). One contract test suite (``tests/store``) runs against all three.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from shiptrack.domain.accounts import Account, ApiKey, Connection
from shiptrack.domain.changes import StoredEvent
from shiptrack.domain.check import (
    ClaimedPackage,
    ConnectionState,
    PackageState,
    StatusChangeRecord,
)
from shiptrack.domain.delivery import (
    Attempt,
    AttemptView,
    ClaimedDelivery,
    DeliveryHealth,
    DeliveryView,
    OutboxEntry,
)
from shiptrack.domain.package_list import PackageFilter, PageRequest
from shiptrack.domain.tracking import StartRequest, Subscription, TrackEvent
from shiptrack.domain.webhooks import SIGNATURE_SCHEMES, Webhook, WebhookChanges, WebhookHeader
from shiptrack.store import histories as stored_histories

T = TypeVar("T")

# --- values only the store hands out or takes in ------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundPackage:
    """A package as the hot reads find it: its subscription and its stored history, decoded only
    when :meth:`events` is asked (an answer already rendered for the same history need not)."""

    subscription: Subscription
    #: The history as stored (``b""`` before the first scan): equal bytes, equal scans.
    history: bytes

    def events(self) -> list[TrackEvent]:
        """The package's scans, in the order they were first stored."""
        return stored_histories.scans(self.history or None)


#: A package by its key: the account, the carrier code it is tracked under, the tracking number.
PackageKey = tuple[int, str, str]


@dataclass(slots=True)
class WrittenPackages:
    """The packages one write transaction changed: by id, or by key (a start, whose rows the
    statement does not name)."""

    ids: set[int] = field(default_factory=set)
    keys: set[PackageKey] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.ids or self.keys)


#: Told after every write transaction that changed packages, committed or not (a write whose
#: commit went unanswered may have landed).
PackageWritesListener = Callable[[WrittenPackages], None]


@dataclass(frozen=True, slots=True)
class StoredSecrets:
    """A webhook's sealed current and previous secret."""

    account_id: int
    sealed_secret: str | None
    sealed_previous_secret: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A webhook signing key as stored: the private key sealed."""

    kid: str
    sealed_private_key: str
    public_jwk: dict[str, Any]
    activates_at: datetime
    retires_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewConnection:
    """A carrier connection to store."""

    account_id: int
    carrier_code: str
    nickname: str
    account_number: str | None
    base_url: str | None
    sealed_credentials: str | None
    simulated: bool
    requests_per_minute: float | None = None
    options: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A webhook to store."""

    account_id: int
    url: str
    event: str
    name: str | None
    store_id: int | None
    headers: tuple[WebhookHeader, ...]
    sealed_secret: str
    signatures: tuple[str, ...] = SIGNATURE_SCHEMES


@dataclass(frozen=True, slots=True)
class PendingDeliveries:
    """The deliveries still to be sent to live, enabled webhooks (retries included)."""

    count: int
    #: When the oldest of them was created (``None`` when there is none).
    oldest_created_at: datetime | None


# --- the interfaces -----------------------------------------------------------------------------


class Accounts(Protocol):
    """Accounts and their API keys."""

    async def create(self, *, name: str, sandbox: bool, now: datetime) -> Account:
        """Store a new account."""
        ...

    async def get(self, account_id: int) -> Account | None:
        """One account."""
        ...

    async def set_rate_limit(self, account_id: int, per_minute: int | None) -> None:
        """Set the account's requests per minute (``None``: the server's default)."""
        ...

    async def set_exception_watch(self, account_id: int, days: int | None) -> None:
        """Set how many days the account's exceptions are watched (``None``: stop at once)."""
        ...

    async def find_by_name(self, name: str) -> list[Account]:
        """Accounts with this exact name, oldest first."""
        ...

    async def all(self) -> list[Account]:
        """Every account, oldest first."""
        ...

    async def add_key(self, *, account_id: int, key: str, now: datetime) -> ApiKey:
        """Store a new API key (its hash and first characters only)."""
        ...

    async def account_for_key(self, key: str) -> Account | None:
        """The account a live (not revoked) key belongs to."""
        ...

    async def keys(self, account_id: int) -> list[ApiKey]:
        """Every key of an account, revoked ones included, oldest first."""
        ...

    async def find_key(self, *, key_id: int | None, key: str | None) -> ApiKey | None:
        """A key by its id or by its full text."""
        ...

    async def revoke_key(self, key_id: int, *, now: datetime) -> None:
        """Make a key unusable from now on (the first revocation time is kept)."""
        ...


class Connections(Protocol):
    """Carrier connections, and the engine's state of each (back-off after failures)."""

    async def create(self, connection: NewConnection, *, now: datetime) -> int:
        """Store a new connection; its id."""
        ...

    async def of_account(
        self, account_id: int, *, codes: Collection[str] | None = None
    ) -> list[Connection]:
        """The account's live connections, oldest first; the oldest of each carrier is primary.
        ``codes`` narrows the list to those connection carrier codes."""
        ...

    async def get(self, account_id: int, connection_id: int) -> Connection | None:
        """One live connection of the account."""
        ...

    async def delete(
        self, *, account_id: int, connection_id: int, successor_id: int | None, now: datetime
    ) -> None:
        """Disconnect: its active packages move to ``successor_id`` when there is one, and stop
        (``carrier_disconnected``) otherwise."""
        ...

    async def states(self, connection_ids: Collection[int]) -> dict[int, ConnectionState]:
        """The connections (deleted ones included) as the engine needs them."""
        ...

    async def record_failure(self, connection_id: int, *, until: datetime, error: str) -> None:
        """Back a connection off until ``until``; a failure written twice counts once."""
        ...

    async def record_success(self, connection_id: int, *, now: datetime) -> None:
        """Clear a connection's back-off and note when a call last worked (written only when it
        ends a back-off or the noted time is a minute old)."""
        ...


class Webhooks(Protocol):
    """Webhook registrations, their secrets and their health."""

    async def create(self, webhook: NewWebhook, *, now: datetime) -> Webhook:
        """Store a webhook; ``WebhookConflict`` when the account has the same event and URL."""
        ...

    async def of_account(self, account_id: int) -> list[Webhook]:
        """The account's live webhooks, oldest first."""
        ...

    async def get(self, account_id: int, webhook_id: int) -> Webhook | None:
        """One live webhook of the account."""
        ...

    async def has(self, account_id: int, event: str) -> bool:
        """Whether the account has a live webhook for ``event``."""
        ...

    async def track_webhook_ids(self, account_ids: Collection[int]) -> dict[int, list[int]]:
        """The live ``track`` webhooks of each account, oldest first."""
        ...

    async def update(self, webhook: Webhook, changes: WebhookChanges, *, now: datetime) -> None:
        """Apply ``changes`` and re-enable the webhook; ``WebhookConflict`` as for create."""
        ...

    async def delete(self, webhook_id: int, *, now: datetime) -> None:
        """Remove a webhook (kept, marked deleted, so past deliveries still name it)."""
        ...

    async def set_secrets(
        self,
        webhook_id: int,
        *,
        sealed_secret: str,
        sealed_previous_secret: str | None,
        previous_secret_expires_at: datetime | None,
    ) -> None:
        """Store a webhook's current and previous secret."""
        ...

    async def secrets(self, webhook: Webhook) -> StoredSecrets:
        """A webhook's sealed secrets."""
        ...

    async def record_health(
        self,
        webhook_id: int,
        *,
        failing_since: datetime | None,
        disabled_at: datetime | None = None,
    ) -> None:
        """Set since when every delivery failed (``None``: it works), and disable it when
        ``disabled_at`` is given."""
        ...

    async def count_disabled(self) -> int:
        """How many live webhooks are disabled (after failing too long)."""
        ...


class Packages(Protocol):
    """Tracked packages (subscriptions): starting, stopping, reading, and the engine's claims."""

    async def start(self, requests: Sequence[StartRequest], *, now: datetime) -> None:
        """Watch packages: new ones are due at once and get their public page's token (128
        random bits), stopped ones resume (and announce their state at the next check) with the
        token they had, active ones are left as they are."""
        ...

    async def stop(self, subscription_id: int, *, reason: str, now: datetime) -> None:
        """Stop watching a package (a stopped one keeps its first reason); a check under way
        loses its lease."""
        ...

    async def find(
        self, *, account_id: int, carrier_code: str, tracking_number: str
    ) -> Subscription | None:
        """The account's subscription to a package, active or not."""
        ...

    async def page(
        self,
        *,
        account_id: int,
        after_id: int,
        limit: int,
        status_code: str | None = None,
        carrier_code: str | None = None,
        active: bool | None = None,
    ) -> list[Subscription]:
        """One page of the account's subscriptions in id order, after ``after_id``."""
        ...

    async def console_page(
        self, *, account_id: int, query: PackageFilter, request: PageRequest, limit: int
    ) -> list[Subscription]:
        """Up to ``limit`` of the account's subscriptions passing ``query``, newest (highest id)
        first: the newest older than ``request.before_id``, or the oldest newer than
        ``request.after_id`` (still listed newest first), or the newest of all."""
        ...

    async def get_with_events(
        self, *, account_id: int, subscription_id: int
    ) -> tuple[Subscription, list[TrackEvent]] | None:
        """One of the account's subscriptions by id, with its stored scans (``None`` for an id
        of another account or of none)."""
        ...

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedPackage]:
        """Take up to ``limit`` due packages, oldest due first, until ``lease_until``
        (concurrent claims never take the same package); each says when it was due."""
        ...

    async def lock_for_push(
        self, *, account_id: int, carrier_code: str, tracking_numbers: Collection[str]
    ) -> list[ClaimedPackage]:
        """The account's active packages with these numbers, held for this transaction."""
        ...

    async def owned(self, claimed: Sequence[ClaimedPackage]) -> set[int]:
        """The claimed packages still held under the caller's lease (not stopped, not taken
        over), held for the rest of the transaction."""
        ...

    async def histories(self, subscription_ids: Collection[int]) -> dict[int, list[StoredEvent]]:
        """The stored scans of each package (empty for one without any)."""
        ...

    async def record_checks(
        self, packages: Sequence[PackageState], histories: Mapping[int, Sequence[StoredEvent]]
    ) -> None:
        """Write what checks decided (the caller holds the packages: see :meth:`owned`) and
        the grown histories; leases and restart announcements are cleared."""
        ...

    async def reschedule(
        self,
        claimed: Sequence[ClaimedPackage],
        *,
        next_check_at: datetime,
        error: str | None,
        now: datetime,
    ) -> None:
        """Put claimed packages back unchanged (still under the caller's lease), due at
        ``next_check_at``, with the error to show."""
        ...

    async def release(self, claimed: Sequence[ClaimedPackage], *, now: datetime) -> None:
        """Give claimed packages back unchecked, due at once (those still under the lease)."""
        ...

    async def release_claim(self, *, lease_until: datetime, now: datetime) -> int:
        """Give back whatever a claim that set ``lease_until`` took; how many."""
        ...

    async def count_active(self) -> dict[str, int]:
        """How many packages are tracked (active), by status code (codes with none left out)."""
        ...


class Outbox(Protocol):
    """Status changes and their webhook deliveries: queued, claimed, attempted, replayed."""

    async def add_changes(self, changes: Sequence[StatusChangeRecord]) -> list[int]:
        """Keep status changes; their ids, in order."""
        ...

    async def add_deliveries(self, entries: Sequence[OutboxEntry]) -> None:
        """Queue deliveries, due at once."""
        ...

    async def add_test_delivery(
        self, *, webhook_id: int, message_id: str, payload: bytes, now: datetime
    ) -> int:
        """Queue a test event to one webhook (outside any package's order); its id."""
        ...

    async def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        skip_webhooks: Collection[int] = (),
        per_webhook: Mapping[int, int] | None = None,
        default_per_webhook: int | None = None,
    ) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries of live, enabled webhooks, oldest due first, each
        at the head of its package's queue for its webhook; ``per_webhook`` (free slots) and
        ``default_per_webhook`` cap how many go to one webhook."""
        ...

    async def record_attempts(self, attempts: Sequence[Attempt], *, again: bool = False) -> None:
        """Keep each attempt and move its delivery on (if still under the lease); ``again``:
        attempts already kept are not kept twice."""
        ...

    async def release(self, claimed: Collection[ClaimedDelivery], *, now: datetime) -> None:
        """Give claimed deliveries back unsent, due at once (those still under the lease)."""
        ...

    async def release_claim(self, *, lease_until: datetime, now: datetime) -> int:
        """Give back whatever a claim that set ``lease_until`` took; how many."""
        ...

    async def page(
        self, *, webhook_id: int, before_id: int | None, limit: int, state: str | None = None
    ) -> list[DeliveryView]:
        """A page of a webhook's deliveries, newest first."""
        ...

    async def attempts_of(self, delivery_ids: Collection[int]) -> dict[int, list[AttemptView]]:
        """The attempts of each delivery, oldest first."""
        ...

    async def changes_of(self, subscription_id: int, *, limit: int) -> list[StatusChangeRecord]:
        """The package's status changes, the latest (highest ``sequence``) first."""
        ...

    async def deliveries_of_package(
        self, subscription_id: int, *, limit: int
    ) -> list[DeliveryView]:
        """The package's webhook deliveries (to every webhook), newest first."""
        ...

    async def replay(
        self,
        *,
        webhook_id: int,
        now: datetime,
        delivery_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Queue deliveries again (one, or every one created in a range), leaving one being
        attempted right now alone; how many."""
        ...

    async def exists(self, *, webhook_id: int, delivery_id: int) -> bool:
        """Whether a delivery of this webhook exists."""
        ...

    async def health(self, webhook_id: int, *, cap: int) -> DeliveryHealth:
        """A webhook's last successful attempt and how many attempts failed after it (counted up
        to ``cap``)."""
        ...

    async def pending(self) -> PendingDeliveries:
        """The deliveries still to be sent to live, enabled webhooks: pending ones (waiting for
        their turn, a retry, or under way), not those of deleted or disabled webhooks."""
        ...


class SigningKeys(Protocol):
    """The RSA keys that sign webhooks the ShipEngine way."""

    async def add(
        self,
        *,
        kid: str,
        sealed_private_key: str,
        public_jwk: dict[str, Any],
        activates_at: datetime,
        now: datetime,
    ) -> None:
        """Store a new key: published at once, signing from ``activates_at``."""
        ...

    async def published(self, now: datetime) -> list[StoredKey]:
        """Keys not yet retired, most recently made first."""
        ...

    async def retire_all(self, *, retires_at: datetime) -> None:
        """Schedule the retirement of every key not retiring yet."""
        ...


class Installation(Protocol):
    """What the database knows of the installation itself: the secret key it was first used
    with (by its fingerprint, never the key), and which keys sealed the values it holds."""

    async def secret_key_fingerprint(self) -> str | None:
        """The fingerprint recorded on first use, ``None`` before."""
        ...

    async def record_secret_key_fingerprint(self, fingerprint: str, *, now: datetime) -> str:
        """Record ``fingerprint`` unless one is recorded already, and return the one recorded:
        the first wins, also when two processes on one database record theirs at once."""
        ...

    async def sealed_key_ids(self) -> set[str]:
        """The key ids of every sealed value stored (carrier credentials, webhook secrets,
        signing keys): the text between the first and second dot of ``v1.<key id>.…``, the
        format of ``shiptrack.sealing``."""
        ...


class Transaction(Protocol):
    """One transaction: every aggregate's interface, all in it."""

    @property
    def accounts(self) -> Accounts:
        """The accounts of this transaction."""
        ...

    @property
    def connections(self) -> Connections:
        """The connections of this transaction."""
        ...

    @property
    def webhooks(self) -> Webhooks:
        """The webhooks of this transaction."""
        ...

    @property
    def packages(self) -> Packages:
        """The packages of this transaction."""
        ...

    @property
    def outbox(self) -> Outbox:
        """The outbox of this transaction."""
        ...

    @property
    def signing_keys(self) -> SigningKeys:
        """The signing keys of this transaction."""
        ...

    @property
    def installation(self) -> Installation:
        """The installation's own records in this transaction."""
        ...


class Store(Protocol):
    """Where shiptrack keeps everything."""

    @property
    def kind(self) -> str:
        """Which store this is: ``sqlite``, ``postgresql`` or ``memory``."""
        ...

    def read(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-only transaction (one consistent snapshot)."""
        ...

    def quick_read(self) -> AbstractAsyncContextManager[Transaction]:
        """Reads that need no snapshot across statements (the hot read paths)."""
        ...

    async def read_quickly(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """``work`` in a :meth:`quick_read`, repeated once on a fresh connection when the first
        is lost under it (a database restart or failover must be invisible to the hot paths)."""
        ...

    async def find_package(
        self, *, account_id: int, carrier_code: str, tracking_number: str
    ) -> FoundPackage | None:
        """The account's subscription to a package and its history (``GET /v1/tracking``), read
        the cheapest way this store has."""
        ...

    async def find_by_public_token(self, token: str) -> FoundPackage | None:
        """The package a public page token names, and its history, as :meth:`find_package`."""
        ...

    def watch_package_writes(self, listener: PackageWritesListener) -> None:
        """Tell ``listener`` which packages each later write transaction of this process
        changed, once it has ended (what a cache of this process's reads must forget)."""
        ...

    def write(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction that commits when the block ends without an exception. Raises
        ``ServiceUnavailable`` when the store cannot be reached."""
        ...

    async def schema_problem(self) -> str | None:
        """Why the store cannot be used by this version (not migrated), or ``None``."""
        ...

    async def close(self) -> None:
        """Release every connection."""
        ...
