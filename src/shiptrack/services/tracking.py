"""Starting, stopping and reading package tracking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.accounts import Account, Connection
from shiptrack.domain.carriers import CARRIERS, carrier_kind, tracking_code_for
from shiptrack.domain.errors import (
    CarrierNotConnected,
    FieldRequired,
    IdentifiersMustMatch,
    NotFound,
    NoTrackWebhook,
)
from shiptrack.domain.ids import parse_id
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.tracking import Subscription, normalise_tracking_number, tracking_information
from shiptrack.services import Services
from shiptrack.store import connections as connection_store
from shiptrack.store import subscriptions as store
from shiptrack.store.webhooks import has_webhook


@dataclass(frozen=True)
class PackageRef:
    """Which package a tracking request is about: a carrier (by code or by connection id) and a
    tracking number, validated and normalised."""

    tracking_number: str
    carrier_code: str | None
    carrier_id: int | None
    raw_carrier_id: str | None

    @classmethod
    def parse(
        cls, *, carrier_code: str | None, tracking_number: str | None, carrier_id: str | None
    ) -> PackageRef:
        """Validate the three query parameters of the tracking endpoints."""
        if tracking_number is None:
            raise FieldRequired("tracking_number is required", field_name="tracking_number")
        if carrier_code is None and carrier_id is None:
            raise FieldRequired(
                "carrier_code (or carrier_id) is required", field_name="carrier_code"
            )
        if carrier_code is not None:
            tracking_code_for(carrier_code)  # refuses codes shiptrack does not support
        row_id = parse_id(carrier_id, field_name="carrier_id") if carrier_id is not None else None
        return cls(
            tracking_number=normalise_tracking_number(tracking_number),
            carrier_code=carrier_code,
            carrier_id=row_id,
            raw_carrier_id=carrier_id,
        )


async def start(services: Services, account: Account, ref: PackageRef) -> None:
    """Subscribe the account to a package's status changes (idempotent)."""
    async with services.database.write() as conn:
        connection, tracking_code = await _connection_for(conn, account, ref)
        if not await has_webhook(conn, account.id, "track"):
            raise NoTrackWebhook(
                "No webhook for the 'track' event is set up for this account; create one with "
                "POST /v1/environment/webhooks before starting to track packages"
            )
        await store.start(
            conn,
            account_id=account.id,
            connection_id=connection.id,
            carrier_code=tracking_code,
            tracking_number=ref.tracking_number,
            now=utcnow(),
        )


async def stop(services: Services, account: Account, ref: PackageRef) -> None:
    """Unsubscribe; a package that was tracked but has stopped already answers as success."""
    async with services.database.write() as conn:
        subscription = await _subscription(conn, account, ref)
        await store.stop(conn, subscription.id, reason="stopped_by_user", now=utcnow())


async def get(services: Services, account: Account, ref: PackageRef) -> dict[str, Any]:
    """The package's ShipEngine ``TrackingInformation`` as stored."""
    async with services.database.read() as conn:
        subscription = await _subscription(conn, account, ref)
        events = await store.events(conn, subscription.id)
    kind = CARRIERS[subscription.carrier_code]
    return tracking_information(
        subscription, events, tracking_url=kind.tracking_url(subscription.tracking_number)
    )


async def _subscription(conn: AsyncConnection, account: Account, ref: PackageRef) -> Subscription:
    if ref.raw_carrier_id is not None:
        _, tracking_code = await _connection_for(conn, account, ref)
    else:
        assert ref.carrier_code is not None
        tracking_code = tracking_code_for(ref.carrier_code)
    found = await store.find(
        conn,
        account_id=account.id,
        carrier_code=tracking_code,
        tracking_number=ref.tracking_number,
    )
    if found is None:
        if ref.raw_carrier_id is None:
            # Say "connect the carrier" before "not tracked" when that is what is missing.
            await _connection_for(conn, account, ref)
        raise NotFound(
            f"{tracking_code} package {ref.tracking_number} is not tracked by this account; "
            "start tracking it with POST /v1/tracking/start",
            field_name="tracking_number",
        )
    return found


async def _connection_for(
    conn: AsyncConnection, account: Account, ref: PackageRef
) -> tuple[Connection, str]:
    """The connection that tracks the package, and the carrier code its data is reported under."""
    if ref.raw_carrier_id is not None:
        connection = (
            await connection_store.get_connection(conn, account.id, ref.carrier_id)
            if ref.carrier_id is not None
            else None
        )
        if connection is None:
            raise NotFound(f"Carrier {ref.raw_carrier_id} was not found", field_name="carrier_id")
        tracking_code = CARRIERS[connection.carrier_code].tracking_code
        if ref.carrier_code is not None and tracking_code_for(ref.carrier_code) != tracking_code:
            raise IdentifiersMustMatch(
                f"carrier_id {ref.raw_carrier_id} is a {connection.carrier_code} connection, "
                f"but carrier_code is {ref.carrier_code}",
                field_name="carrier_code",
            )
        return connection, tracking_code
    assert ref.carrier_code is not None
    tracking_code = tracking_code_for(ref.carrier_code)
    candidates = await connection_store.list_connections(
        conn,
        account.id,
        codes={code for code, kind in CARRIERS.items() if kind.tracking_code == tracking_code},
    )
    if not candidates:
        name = ref.carrier_code if ref.carrier_code in CARRIERS else tracking_code
        raise CarrierNotConnected(
            f"No {carrier_kind(name).friendly_name} account is connected; connect one with "
            f"POST /v1/connections/carriers/{name}",
            field_name="carrier_code",
        )
    # The connection named exactly by the code wins (stamps_com over usps), then the oldest.
    exact = [c for c in candidates if c.carrier_code == ref.carrier_code]
    return (exact or candidates)[0], tracking_code
