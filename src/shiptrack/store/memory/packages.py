"""Tracked packages in memory (see :class:`shiptrack.store.port.Packages`).

The rules are the SQL store's (``store.packages``), row for row: a claim moves ``next_check_at`` to
the end of the lease, and every write of a claimed package matches on the lease. Claims cannot
overlap because write transactions run one at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from shiptrack.domain.changes import StoredEvent
from shiptrack.domain.check import ClaimedPackage, PackageState
from shiptrack.domain.package_list import PackageFilter, PageRequest, select_page
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import StartRequest, Subscription, TrackEvent, new_public_token
from shiptrack.store import histories as codec
from shiptrack.store.memory.tables import (
    ConstraintViolation,
    HistoryRow,
    SubscriptionRow,
    Tables,
    utc,
    utc_or_none,
)
from shiptrack.store.port import FoundPackage, WrittenPackages


def subscription(row: SubscriptionRow) -> Subscription:
    """The subscription a row holds."""
    return Subscription(
        id=row.id,
        account_id=row.account_id,
        connection_id=row.connection_id,
        carrier_code=row.carrier_code,
        tracking_number=row.tracking_number,
        active=row.active,
        status_code=row.status_code,
        status_detail_code=row.status_detail_code,
        carrier_status_code=row.carrier_status_code,
        carrier_detail_code=row.carrier_detail_code,
        carrier_status_description=row.carrier_status_description,
        ship_date=row.ship_date,
        estimated_delivery_date=row.estimated_delivery_date,
        actual_delivery_date=row.actual_delivery_date,
        exception_description=row.exception_description,
        sequence=row.sequence,
        next_check_at=row.next_check_at,
        last_checked_at=row.last_checked_at,
        last_error=row.last_error,
        stop_reason=row.stop_reason,
        created_at=row.created_at,
        public_token=row.public_token,
    )


def _claimed(
    row: SubscriptionRow, lease_until: datetime | None, due_at: datetime | None = None
) -> ClaimedPackage:
    return ClaimedPackage(
        subscription=subscription(row),
        created_at=row.created_at,
        status_since=row.status_since,
        announce=row.announce,
        settled=row.last_checked_at is not None and not row.announce,
        lease_until=lease_until,
        due_at=due_at,
        invalid_checks=row.invalid_checks,
    )


def _checked(row: SubscriptionRow, package: PackageState) -> SubscriptionRow:
    """The row once a check's outcome is written: lease and restart announcement cleared."""
    stopped = package.stop_reason is not None
    checked_at = utc(package.checked_at)
    return replace(
        row,
        status_code=package.status_code,
        status_detail_code=package.status_detail_code,
        carrier_status_code=package.carrier_status_code,
        carrier_detail_code=package.carrier_detail_code,
        carrier_status_description=package.carrier_status_description,
        exception_description=package.exception_description,
        ship_date=package.ship_date,
        estimated_delivery_date=package.estimated_delivery_date,
        actual_delivery_date=package.actual_delivery_date,
        sequence=package.sequence,
        status_since=utc_or_none(package.status_since),
        invalid_checks=package.invalid_checks,
        last_checked_at=checked_at,
        updated_at=checked_at,
        active=not stopped,
        stop_reason=package.stop_reason,
        stopped_at=checked_at if stopped else None,
        next_check_at=utc_or_none(package.next_check_at),
        lease_until=None,
        last_error=package.last_error,
        announce=False,
    )


class MemoryPackages:
    """Tracked packages of one in-memory transaction."""

    def __init__(self, tables: Tables, written: WrittenPackages | None = None) -> None:
        self._tables = tables
        self._packages = tables.subscriptions
        self._histories = tables.histories
        #: The packages this transaction changes, for the store to tell its listeners.
        self._written = WrittenPackages() if written is None else written

    def _put(self, row: SubscriptionRow) -> None:
        self._packages.put(row)
        self._written.ids.add(row.id)

    def _the_package(
        self, account_id: int, carrier_code: str, tracking_number: str
    ) -> SubscriptionRow | None:
        key = (account_id, carrier_code, tracking_number)
        return next(
            (
                row
                for row in self._packages.rows()
                if (row.account_id, row.carrier_code, row.tracking_number) == key
            ),
            None,
        )

    async def start(self, requests: Sequence[StartRequest], *, now: datetime) -> None:
        """Watch packages: new ones are due at once, stopped ones resume (and announce their
        state at the next check), active ones are left as they are."""
        now = utc(now)
        # The last request for a package wins, as in the SQL store's batch.
        wanted = {(r.account_id, r.carrier_code, r.tracking_number): r for r in requests}
        self._written.keys.update(wanted)
        for key in sorted(wanted):
            request = wanted[key]
            row = self._the_package(*key)
            if row is None or not row.active:
                self._tables.connections.require(request.connection_id, "connection")
            if row is None:
                self._tables.accounts.require(request.account_id, "account")
                self._put(
                    SubscriptionRow(
                        id=self._packages.new_id(),
                        account_id=request.account_id,
                        connection_id=request.connection_id,
                        carrier_code=request.carrier_code,
                        tracking_number=request.tracking_number,
                        active=True,
                        status_code=StatusCode.UN,
                        sequence=0,
                        next_check_at=now,
                        created_at=now,
                        updated_at=now,
                        public_token=new_public_token(),
                    )
                )
            elif not row.active:
                self._put(
                    replace(
                        row,
                        active=True,
                        connection_id=request.connection_id,
                        next_check_at=now,
                        stop_reason=None,
                        stopped_at=None,
                        invalid_checks=0,
                        # A restart notifies the current state, and a check claimed before the
                        # stop holds nothing any more (see the SQL store).
                        announce=True,
                        lease_until=None,
                        updated_at=now,
                    )
                )

    async def stop(self, subscription_id: int, *, reason: str, now: datetime) -> None:
        """Stop watching a package (a stopped one keeps its first reason); a check under way
        loses its lease."""
        row = self._packages.get(subscription_id)
        if row is None or not row.active:
            return
        now = utc(now)
        self._put(
            replace(
                row,
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
        row = self._the_package(account_id, carrier_code, tracking_number)
        return subscription(row) if row else None

    def found(
        self, *, account_id: int, carrier_code: str, tracking_number: str
    ) -> FoundPackage | None:
        """The subscription and its history, as the store's hot read answers them."""
        return self._found(self._the_package(account_id, carrier_code, tracking_number))

    def found_by_token(self, token: str) -> FoundPackage | None:
        """The package a public page token names, as the store's hot read answers it."""
        return self._found(
            next((r for r in self._packages.rows() if r.public_token == token), None)
        )

    def _found(self, row: SubscriptionRow | None) -> FoundPackage | None:
        if row is None:
            return None
        history = self._histories.get(row.id)
        return FoundPackage(subscription(row), history.events if history else b"")

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
        found: list[Subscription] = []
        for row in self._packages.rows():
            if len(found) >= limit:
                break
            if (
                row.account_id == account_id
                and row.id > after_id
                and (status_code is None or row.status_code == status_code)
                and (carrier_code is None or row.carrier_code == carrier_code)
                and (active is None or row.active == active)
            ):
                found.append(subscription(row))
        return found

    async def console_page(
        self, *, account_id: int, query: PackageFilter, request: PageRequest, limit: int
    ) -> list[Subscription]:
        """A page of the console's list, newest first (see the port)."""
        return select_page(
            map(subscription, self._packages.rows()),
            account_id=account_id,
            query=query,
            request=request,
            limit=limit,
        )

    async def get_with_events(
        self, *, account_id: int, subscription_id: int
    ) -> tuple[Subscription, list[TrackEvent]] | None:
        """One of the account's subscriptions by id, with its stored scans."""
        row = self._packages.get(subscription_id)
        if row is None or row.account_id != account_id:
            return None
        history = self._histories.get(row.id)
        return subscription(row), codec.scans(history.events if history else None)

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedPackage]:
        """Take up to ``limit`` due packages, oldest due first, until ``lease_until``
        (concurrent claims never take the same package)."""
        now, lease_until = utc(now), utc(lease_until)
        due = sorted(
            (
                row
                for row in self._packages.rows()
                if row.active and row.next_check_at is not None and row.next_check_at <= now
            ),
            key=lambda row: (row.next_check_at, row.id),
        )
        claimed = []
        for row in due[: max(limit, 0)]:
            leased = replace(row, next_check_at=lease_until, lease_until=lease_until)
            self._put(leased)
            claimed.append(_claimed(leased, lease_until, row.next_check_at))
        return claimed

    async def lock_for_push(
        self, *, account_id: int, carrier_code: str, tracking_numbers: Collection[str]
    ) -> list[ClaimedPackage]:
        """The account's active packages with these numbers, held for this transaction."""
        numbers = set(tracking_numbers)
        return [
            _claimed(row, row.lease_until)
            for row in self._packages.rows()
            if row.account_id == account_id
            and row.carrier_code == carrier_code
            and row.tracking_number in numbers
            and row.active
        ]

    async def owned(self, claimed: Sequence[ClaimedPackage]) -> set[int]:
        """The claimed packages still held under the caller's lease (not stopped, not taken
        over), held for the rest of the transaction."""
        held = set()
        for item in claimed:
            row = self._packages.get(item.subscription.id)
            if row is not None and row.active and row.lease_until == item.lease_until:
                held.add(row.id)
        return held

    async def histories(self, subscription_ids: Collection[int]) -> dict[int, list[StoredEvent]]:
        """The stored scans of each package (empty for one without any)."""
        found: dict[int, list[StoredEvent]] = {}
        for subscription_id in subscription_ids:
            history = self._histories.get(subscription_id)
            found[subscription_id] = codec.decode(history.events) if history else []
        return found

    async def record_checks(
        self, packages: Sequence[PackageState], histories: Mapping[int, Sequence[StoredEvent]]
    ) -> None:
        """Write what checks decided (the caller holds the packages: see :meth:`owned`) and
        the grown histories; leases and restart announcements are cleared."""
        for package in packages:
            row = self._packages.get(package.subscription_id)
            if row is not None:
                self._put(_checked(row, package))
        for subscription_id, events in sorted(histories.items()):
            if self._packages.get(subscription_id) is None:
                raise ConstraintViolation(f"subscription {subscription_id} does not exist")
            self._histories.put(HistoryRow(id=subscription_id, events=codec.encode(events)))
            self._written.ids.add(subscription_id)

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
        next_check_at, now = utc(next_check_at), utc(now)
        for item in claimed:
            row = self._packages.get(item.subscription.id)
            if row is None or row.lease_until != item.lease_until:
                continue
            self._put(
                replace(
                    row,
                    lease_until=None,
                    next_check_at=next_check_at if row.active else None,
                    last_error=error,
                    updated_at=now,
                )
            )

    async def release(self, claimed: Sequence[ClaimedPackage], *, now: datetime) -> None:
        """Give claimed packages back unchecked, due at once (those still under the lease)."""
        now = utc(now)
        for item in claimed:
            row = self._packages.get(item.subscription.id)
            if item.lease_until is None or row is None or row.lease_until != item.lease_until:
                continue
            self._put(replace(row, lease_until=None, next_check_at=now if row.active else None))

    async def release_claim(self, *, lease_until: datetime, now: datetime) -> int:
        """Give back whatever a claim that set ``lease_until`` took; how many."""
        lease_until, now = utc(lease_until), utc(now)
        released = 0
        for row in self._packages.rows():
            if row.active and row.next_check_at == lease_until and row.lease_until == lease_until:
                self._put(replace(row, lease_until=None, next_check_at=now))
                released += 1
        return released

    async def count_active(self) -> dict[str, int]:
        """How many packages are tracked (active), by status code (codes with none left out)."""
        return dict(Counter(row.status_code for row in self._packages.rows() if row.active))
