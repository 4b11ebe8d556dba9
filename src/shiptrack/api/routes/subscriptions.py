"""``/v1/tracking/subscriptions``: every package an account tracks, with freshness (extension)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from shiptrack.api.deps import AccountDep, TrackingDep, strict_query
from shiptrack.api.responses import JSON
from shiptrack.api.routes import ERRORS
from shiptrack.domain.ids import format_id
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import Subscription
from shiptrack.services.tracking import SubscriptionFilter

router = APIRouter(prefix="/v1/tracking/subscriptions", tags=["tracking"], responses=ERRORS)


def subscription_json(subscription: Subscription) -> dict[str, Any]:
    """One tracked package as the listing shows it."""
    return {
        "carrier_code": subscription.carrier_code,
        "carrier_id": format_id(subscription.connection_id),
        "tracking_number": subscription.tracking_number,
        "status_code": subscription.status_code,
        "status_detail_code": subscription.status_detail_code,
        "active": subscription.active,
        "stop_reason": subscription.stop_reason,
        "started_at": format_utc(subscription.created_at),
        "last_checked_at": format_utc(subscription.last_checked_at),
        "next_check_at": format_utc(subscription.next_check_at),
        "last_error": subscription.last_error,
    }


@router.get(
    "",
    operation_id="list_tracking_subscriptions",
    summary="List tracked packages (shiptrack extension)",
    response_class=JSON,
    dependencies=[
        Depends(strict_query("status_code", "carrier_code", "active", "page_size", "cursor"))
    ],
)
async def list_subscriptions(
    tracking: TrackingDep,
    account: AccountDep,
    status_code: Annotated[
        Literal["UN", "AC", "IT", "DE", "EX", "AT", "NY", "SP"] | None, Query()
    ] = None,
    carrier_code: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    active: Annotated[bool | None, Query()] = None,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> JSON:
    """The account's packages in the order they were first started, `page_size` at a time; pass
    `next_cursor` back as `cursor` for the next page (`null` on the last page)."""
    found, next_cursor = await tracking.list_subscriptions(
        account,
        SubscriptionFilter(status_code=status_code, carrier_code=carrier_code, active=active),
        cursor=cursor,
        limit=page_size,
    )
    return JSON(
        {"subscriptions": [subscription_json(s) for s in found], "next_cursor": next_cursor}
    )
