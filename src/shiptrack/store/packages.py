"""Tracked packages (subscriptions) in SQL: starting, stopping, reading, and the engine's claims.

Claiming moves ``next_check_at`` forward by the lease: a claimed package is not due for anyone else
until the lease runs out, and a worker that dies mid-check simply lets it become due again. On
PostgreSQL the claim skips rows another worker is claiming (``FOR UPDATE SKIP LOCKED``); on SQLite
the write lock serialises claims. A worker that stops cleanly, or cannot finish what it claimed,
gives it back at once (``release``, ``release_claim``) instead of letting it wait for the lease.
Every write of a claimed row matches on the lease, so a write repeated after its commit went
through (the database answered too late) is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.changes import StoredEvent
from shiptrack.domain.check import ClaimedPackage, PackageState
from shiptrack.domain.package_list import PackageFilter, PageRequest
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import StartRequest, Subscription, TrackEvent, new_public_token
from shiptrack.store import histories as stored_histories
from shiptrack.store import package_list
from shiptrack.store.dialect import insert
from shiptrack.store.port import FoundPackage, WrittenPackages
from shiptrack.store.tables import subscriptions, tracking_histories

_SUBSCRIPTION_FIELDS = frozenset(Subscription.__dataclass_fields__)


def subscription_from_row(row: sa.Row[tuple[object, ...]]) -> Subscription:
    """A subscription from a ``subscriptions`` row."""
    return Subscription(**{k: v for k, v in row._mapping.items() if k in _SUBSCRIPTION_FIELDS})


def _with_stored_events() -> sa.Select[tuple[object, ...]]:
    """Subscriptions with their stored events (``stored_events``; none yet: ``NULL``)."""
    return sa.select(subscriptions, tracking_histories.c.events.label("stored_events")).outerjoin(
        tracking_histories, tracking_histories.c.subscription_id == subscriptions.c.id
    )


def _the_package(
    account_id: int, carrier_code: str, tracking_number: str
) -> sa.ColumnElement[bool]:
    """The account's subscription to one package (unique: at most one row)."""
    return sa.and_(
        subscriptions.c.account_id == account_id,
        subscriptions.c.carrier_code == carrier_code,
        subscriptions.c.tracking_number == tracking_number,
    )


def package_statement(
    account_id: int, carrier_code: str, tracking_number: str
) -> sa.Select[tuple[object, ...]]:
    """The account's subscription to one package with its stored events (one row at most)."""
    return _with_stored_events().where(_the_package(account_id, carrier_code, tracking_number))


def public_token_statement(token: str) -> sa.Select[tuple[object, ...]]:
    """The subscription a public page token names, with its stored events (one row at most)."""
    return _with_stored_events().where(subscriptions.c.public_token == token)


def found_package(row: Any) -> FoundPackage | None:
    """A row of :func:`package_statement` or :func:`public_token_statement` as the hot reads
    answer it, its history left undecoded (``None`` for no row)."""
    if row is None:
        return None
    stored = row.stored_events
    return FoundPackage(subscription_from_row(row), b"" if stored is None else bytes(stored))


def read_one_package(
    statement: sa.Select[tuple[object, ...]],
) -> Callable[[sa.Connection], FoundPackage | None]:
    """The same read on a plain (synchronous) connection, for a reader thread."""

    def read(conn: sa.Connection) -> FoundPackage | None:
        return found_package(conn.execute(statement).first())

    return read


def _claimed(
    row: Any, lease_until: datetime | None, due_at: datetime | None = None
) -> ClaimedPackage:
    return ClaimedPackage(
        subscription=subscription_from_row(row),
        created_at=row.created_at,
        status_since=row.status_since,
        announce=row.announce,
        settled=row.last_checked_at is not None and not row.announce,
        lease_until=lease_until,
        due_at=due_at,
        invalid_checks=row.invalid_checks,
    )


#: ``WHERE active`` written exactly as the partial index ``ix_subscriptions_due`` says it: SQLite
#: uses a partial index only when the query repeats its predicate, and SQLAlchemy would render the
#: boolean column as ``active = 1`` there.
_ACTIVE = sa.text("subscriptions.active")


#: The columns a check sets from its outcome (besides those it clears).
_CHECK_COLUMNS = (
    "status_code",
    "status_detail_code",
    "carrier_status_code",
    "carrier_detail_code",
    "carrier_status_description",
    "exception_description",
    "ship_date",
    "estimated_delivery_date",
    "actual_delivery_date",
    "sequence",
    "status_since",
    "invalid_checks",
    "last_error",
    "last_checked_at",
    "updated_at",
    "active",
    "stop_reason",
    "stopped_at",
    "next_check_at",
)


def _checked_row(package: PackageState) -> dict[str, Any]:
    stopped = package.stop_reason is not None
    return {
        "b_id": package.subscription_id,
        "b_status_code": package.status_code,
        "b_status_detail_code": package.status_detail_code,
        "b_carrier_status_code": package.carrier_status_code,
        "b_carrier_detail_code": package.carrier_detail_code,
        "b_carrier_status_description": package.carrier_status_description,
        "b_exception_description": package.exception_description,
        "b_ship_date": package.ship_date,
        "b_estimated_delivery_date": package.estimated_delivery_date,
        "b_actual_delivery_date": package.actual_delivery_date,
        "b_sequence": package.sequence,
        "b_status_since": package.status_since,
        "b_invalid_checks": package.invalid_checks,
        "b_last_error": package.last_error,
        "b_last_checked_at": package.checked_at,
        "b_updated_at": package.checked_at,
        "b_active": not stopped,
        "b_stop_reason": package.stop_reason,
        "b_stopped_at": package.checked_at if stopped else None,
        "b_next_check_at": package.next_check_at,
    }


class SqlPackages:
    """Tracked packages in SQL (see :class:`shiptrack.store.port.Packages`)."""

    def __init__(self, conn: AsyncConnection, written: WrittenPackages | None = None) -> None:
        self._conn = conn
        #: The packages this transaction changes, for the store to tell its listeners.
        self._written = WrittenPackages() if written is None else written

    async def start(self, requests: Sequence[StartRequest], *, now: datetime) -> None:
        """Watch packages: a new subscription is due at once; a stopped one resumes; an active one
        is left exactly as it is (start is idempotent). One statement for the whole batch."""
        if not requests:
            return
        # One row per package, in key order: concurrent batches from several processes then lock
        # rows in the same order and cannot deadlock.
        requests = sorted(
            {(r.account_id, r.carrier_code, r.tracking_number): r for r in requests}.values(),
            key=lambda r: (r.account_id, r.carrier_code, r.tracking_number),
        )
        self._written.keys.update(
            (r.account_id, r.carrier_code, r.tracking_number) for r in requests
        )
        statement = insert(self._conn, subscriptions)
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["account_id", "carrier_code", "tracking_number"],
                set_={
                    "active": True,
                    "connection_id": statement.excluded.connection_id,
                    "next_check_at": statement.excluded.next_check_at,
                    "stop_reason": None,
                    "stopped_at": None,
                    # A restarted invalid number is asked again from the start.
                    "invalid_checks": 0,
                    # A restart notifies the current state, even if it has not changed.
                    "announce": True,
                    # A check claimed before the stop must not record over the restart (it would
                    # clear ``announce`` and the promised notification would never be sent): without
                    # its lease it drops its result, and the next claim announces.
                    "lease_until": None,
                    "updated_at": statement.excluded.updated_at,
                },
                where=sa.not_(subscriptions.c.active),
            ),
            [
                {
                    "account_id": request.account_id,
                    "connection_id": request.connection_id,
                    "carrier_code": request.carrier_code,
                    "tracking_number": request.tracking_number,
                    "active": True,
                    "status_code": StatusCode.UN,
                    "sequence": 0,
                    "next_check_at": now,
                    "created_at": now,
                    "updated_at": now,
                    # Only a new row takes it: a restart (the update above) keeps its token, so a
                    # link once shared keeps working.
                    "public_token": new_public_token(),
                }
                for request in requests
            ],
        )

    async def stop(self, subscription_id: int, *, reason: str, now: datetime) -> None:
        """Stop watching a package (idempotent: a stopped subscription keeps its first reason).

        A check under way loses its lease, so nothing of it is recorded (the account was told 204),
        and a stopped package holds no lease."""
        self._written.ids.add(subscription_id)
        await self._conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == subscription_id, subscriptions.c.active)
            .values(
                active=False,
                stop_reason=reason,
                stopped_at=now,
                next_check_at=None,
                lease_until=None,
                updated_at=now,
            )
        )

    async def find(
        self, *, account_id: int, carrier_code: str, tracking_number: str
    ) -> Subscription | None:
        """The account's subscription to a package, active or not."""
        row = (
            await self._conn.execute(
                subscriptions.select().where(
                    _the_package(account_id, carrier_code, tracking_number)
                )
            )
        ).first()
        return subscription_from_row(row) if row else None

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
        query = subscriptions.select().where(
            subscriptions.c.account_id == account_id, subscriptions.c.id > after_id
        )
        if status_code is not None:
            query = query.where(subscriptions.c.status_code == status_code)
        if carrier_code is not None:
            query = query.where(subscriptions.c.carrier_code == carrier_code)
        if active is not None:
            query = query.where(subscriptions.c.active == active)
        rows = await self._conn.execute(query.order_by(subscriptions.c.id).limit(limit))
        return [subscription_from_row(row) for row in rows]

    async def console_page(
        self, *, account_id: int, query: PackageFilter, request: PageRequest, limit: int
    ) -> list[Subscription]:
        """A page of the console's list (see ``store.package_list``)."""
        return await package_list.console_page(
            self._conn, account_id=account_id, query=query, request=request, limit=limit
        )

    async def get_with_events(
        self, *, account_id: int, subscription_id: int
    ) -> tuple[Subscription, list[TrackEvent]] | None:
        """One of the account's subscriptions and its stored events, in one statement."""
        row = (
            await self._conn.execute(
                _with_stored_events().where(
                    subscriptions.c.id == subscription_id,
                    subscriptions.c.account_id == account_id,
                )
            )
        ).first()
        if row is None:
            return None
        return subscription_from_row(row), stored_histories.scans(row.stored_events)

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedPackage]:
        """Take up to ``limit`` due subscriptions, oldest due first, each with the time it was
        due (the ``next_check_at`` the claim replaces with the lease).

        PostgreSQL does it in one statement: the due rows, locked (``SKIP LOCKED``), joined to the
        update, whose ``RETURNING`` can name their old ``next_check_at``. SQLite's ``RETURNING``
        cannot name a joined table, so it reads the due rows first and updates them next, which
        its write lock (held since ``BEGIN IMMEDIATE``) makes one step.
        """
        due = (
            sa.select(subscriptions.c.id, subscriptions.c.next_check_at.label("due_at"))
            .where(_ACTIVE, subscriptions.c.next_check_at <= now)
            .order_by(subscriptions.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        lease = subscriptions.update().values(next_check_at=lease_until, lease_until=lease_until)
        if self._conn.dialect.name == "postgresql":
            picked = due.subquery("due")
            rows = await self._conn.execute(
                lease.where(subscriptions.c.id == picked.c.id).returning(
                    *subscriptions.c, picked.c.due_at
                )
            )
            claimed = [_claimed(row, lease_until, row.due_at) for row in rows]
            self._written.ids.update(item.subscription.id for item in claimed)
            return claimed
        due_at = {row.id: row.due_at for row in await self._conn.execute(due)}
        if not due_at:
            return []
        rows = await self._conn.execute(
            lease.where(subscriptions.c.id.in_(list(due_at))).returning(*subscriptions.c)
        )
        self._written.ids.update(due_at)
        return [_claimed(row, lease_until, due_at[row.id]) for row in rows]

    async def lock_for_push(
        self, *, account_id: int, carrier_code: str, tracking_numbers: Collection[str]
    ) -> list[ClaimedPackage]:
        """The account's active subscriptions to these packages, locked for this transaction.

        A push takes precedence over a check under way: recording it clears the check's lease, so
        the check's (older) result is dropped instead of overwriting the push.
        """
        rows = await self._conn.execute(
            subscriptions.select()
            .where(
                subscriptions.c.account_id == account_id,
                subscriptions.c.carrier_code == carrier_code,
                subscriptions.c.tracking_number.in_(list(tracking_numbers)),
                _ACTIVE,
            )
            .with_for_update()
        )
        return [_claimed(row, row.lease_until) for row in rows]

    async def owned(self, claimed: Sequence[ClaimedPackage]) -> set[int]:
        """The claimed subscriptions still held by this caller (same lease, not stopped), locked for
        the rest of the transaction."""
        if not claimed:
            return set()
        rows = await self._conn.execute(
            sa.select(subscriptions.c.id, subscriptions.c.lease_until)
            .where(subscriptions.c.id.in_([item.subscription.id for item in claimed]), _ACTIVE)
            .with_for_update()
        )
        leases = {row.id: row.lease_until for row in rows}
        return {
            item.subscription.id
            for item in claimed
            if item.subscription.id in leases and leases[item.subscription.id] == item.lease_until
        }

    async def _update_checked(self, packages: Sequence[PackageState]) -> None:
        """Write the results of a batch of checks in one statement; the caller established with
        :func:`owned` that it holds them. The lease is cleared, and so is a restart's ``announce``:
        the check announced the current state."""
        if not packages:
            return
        self._written.ids.update(package.subscription_id for package in packages)
        await self._conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == sa.bindparam("b_id"))
            .values(
                lease_until=None,
                announce=False,
                **{name: sa.bindparam(f"b_{name}") for name in _CHECK_COLUMNS},
            ),
            [_checked_row(package) for package in packages],
        )

    async def reschedule(
        self,
        claimed: Sequence[ClaimedPackage],
        *,
        next_check_at: datetime,
        error: str | None,
        now: datetime,
    ) -> None:
        """Put subscriptions back unchanged (after a transport error), with the error to show."""
        self._written.ids.update(item.subscription.id for item in claimed)
        for item in claimed:
            await self._conn.execute(
                subscriptions.update()
                .where(
                    subscriptions.c.id == item.subscription.id,
                    subscriptions.c.lease_until == item.lease_until,
                )
                .values(
                    lease_until=None,
                    next_check_at=sa.case((subscriptions.c.active, next_check_at), else_=sa.null()),
                    last_error=error,
                    updated_at=now,
                )
            )

    async def release(self, claimed: Sequence[ClaimedPackage], *, now: datetime) -> None:
        """Give claimed subscriptions back unchecked: due at once, for any worker. Only rows still
        held under this caller's lease change (one taken over, recorded or stopped meanwhile is left
        as it is); ``last_error`` and the rest stay."""
        rows = [
            {"b_id": item.subscription.id, "b_lease": item.lease_until}
            for item in claimed
            if item.lease_until is not None
        ]
        if not rows:
            return
        self._written.ids.update(item.subscription.id for item in claimed if item.lease_until)
        await self._conn.execute(
            subscriptions.update()
            .where(
                subscriptions.c.id == sa.bindparam("b_id"),
                subscriptions.c.lease_until == sa.bindparam("b_lease"),
            )
            .values(
                lease_until=None,
                next_check_at=sa.case((subscriptions.c.active, now), else_=sa.null()),
            ),
            rows,
        )

    async def release_claim(self, *, lease_until: datetime, now: datetime) -> int:
        """Give back whatever a claim that set ``lease_until`` took, when the claimer never learnt
        what (the database went away while answering it); how many rows. A claim sets
        ``next_check_at`` to the lease, so this reads the due index, not the table. Only the
        lease and ``next_check_at`` change, so no listener is told (a cached answer's
        ``next_check_at`` may lag by the cache's time)."""
        result = await self._conn.execute(
            subscriptions.update()
            .where(
                _ACTIVE,
                subscriptions.c.next_check_at == lease_until,
                subscriptions.c.lease_until == lease_until,
            )
            .values(lease_until=None, next_check_at=now)
        )
        return int(result.rowcount)

    async def count_active(self) -> dict[str, int]:
        """Tracked packages by status code: one pass over the active rows."""
        rows = await self._conn.execute(
            sa.select(subscriptions.c.status_code, sa.func.count())
            .where(_ACTIVE)
            .group_by(subscriptions.c.status_code)
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def histories(self, subscription_ids: Collection[int]) -> dict[int, list[StoredEvent]]:
        """The stored scans of each package (an empty list for one with none)."""
        return await stored_histories.load(self._conn, list(subscription_ids))

    async def record_checks(
        self, packages: Sequence[PackageState], grown: Mapping[int, Sequence[StoredEvent]]
    ) -> None:
        """Write the checks' outcomes in one statement, and the grown histories in another."""
        await self._update_checked(packages)
        self._written.ids.update(grown)
        await stored_histories.save(self._conn, grown)
