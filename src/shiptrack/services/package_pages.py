"""What the console's Packages pages read and do: the list (filtered, keyset pages), one package
with its events, status changes and webhook deliveries, and stopping or restarting its tracking
through the same use cases as the API.

Every read is one short read transaction of one or two indexed statements: the pages must stay
fast with 100,000 packages in the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shiptrack.domain.accounts import Account
from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.changes import newest_first
from shiptrack.domain.check import StatusChangeRecord
from shiptrack.domain.delivery import AttemptView, DeliveryView
from shiptrack.domain.errors import NotFound
from shiptrack.domain.ids import format_id, parse_id
from shiptrack.domain.package_list import PackageFilter, Page, PageRequest, page_of
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.tracking import Subscription, TrackEvent
from shiptrack.domain.webhooks import Webhook
from shiptrack.services.tracking import PackageRef, Tracking

#: Rows per page of the list.
PAGE_SIZE = 50
#: The most status changes and deliveries one package page shows (the newest).
DETAIL_LIMIT = 100


@dataclass(frozen=True)
class PackageDetail:
    """Everything the package page shows."""

    package: Subscription
    #: Most recent first.
    events: list[TrackEvent]
    #: Latest first.
    changes: list[StatusChangeRecord]
    #: Newest first, to every webhook of the account.
    deliveries: list[DeliveryView]
    attempts: dict[int, list[AttemptView]]
    #: The account's live webhooks by id (a delivery to a deleted one finds none).
    webhooks: dict[int, Webhook]
    #: The carrier's own page for the package.
    tracking_url: str
    #: When the page was read (the "stale" badge is judged at this time).
    read_at: datetime


class PackagePages:
    """The console's package list and package page."""

    def __init__(self, tracking: Tracking) -> None:
        self.tracking = tracking
        self.store = tracking.store

    async def list_packages(
        self,
        account: Account,
        query: PackageFilter,
        request: PageRequest,
        *,
        limit: int = PAGE_SIZE,
    ) -> Page[Subscription]:
        """One page of the account's packages passing ``query``, newest first."""
        async with self.store.quick_read() as tx:
            found = await tx.packages.console_page(
                account_id=account.id, query=query, request=request, limit=limit + 1
            )
        return page_of(request, found, limit)

    async def detail(self, account: Account, package_id: str) -> PackageDetail:
        """One package of the account with its history; ``NotFound`` for any other id."""
        row_id = _row_id(package_id)
        async with self.store.read() as tx:
            found = await tx.packages.get_with_events(account_id=account.id, subscription_id=row_id)
            if found is None:
                raise _not_found(package_id)
            package, events = found
            changes = await tx.outbox.changes_of(package.id, limit=DETAIL_LIMIT)
            deliveries = await tx.outbox.deliveries_of_package(package.id, limit=DETAIL_LIMIT)
            attempts = await tx.outbox.attempts_of([delivery.id for delivery in deliveries])
            webhooks = {webhook.id: webhook for webhook in await tx.webhooks.of_account(account.id)}
        return PackageDetail(
            package=package,
            events=newest_first(events),
            changes=changes,
            deliveries=deliveries,
            attempts=attempts,
            webhooks=webhooks,
            tracking_url=CARRIERS[package.carrier_code].tracking_url(package.tracking_number),
            read_at=utcnow(),
        )

    async def stop(self, account: Account, package_id: str) -> Subscription:
        """Stop tracking the package, as ``POST /v1/tracking/stop`` does; the package."""
        package = await self._package(account, package_id)
        await self.tracking.stop(account, _ref(package))
        return package

    async def restart(self, account: Account, package_id: str) -> Subscription:
        """Start tracking the package again, as ``POST /v1/tracking/start`` does (the same
        refusals: no ``track`` webhook, carrier not connected); the package."""
        package = await self._package(account, package_id)
        await self.tracking.start(account, _ref(package))
        return package

    async def _package(self, account: Account, package_id: str) -> Subscription:
        row_id = _row_id(package_id)
        async with self.store.quick_read() as tx:
            found = await tx.packages.get_with_events(account_id=account.id, subscription_id=row_id)
        if found is None:
            raise _not_found(package_id)
        return found[0]


def package_path(package: Subscription) -> str:
    """The console page of a package."""
    return f"/console/packages/{format_id(package.id)}"


def _row_id(package_id: str) -> int:
    row_id = parse_id(package_id, field_name="package_id")
    if row_id is None:
        raise _not_found(package_id)
    return row_id


def _not_found(package_id: str) -> NotFound:
    return NotFound(f"Package {package_id} was not found", field_name="package_id")


def _ref(package: Subscription) -> PackageRef:
    return PackageRef(
        tracking_number=package.tracking_number,
        carrier_code=package.carrier_code,
        carrier_id=None,
        raw_carrier_id=None,
    )
