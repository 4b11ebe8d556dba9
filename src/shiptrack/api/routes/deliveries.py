"""Webhook secrets, deliveries, replays and test events (shiptrack extensions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from shiptrack.api.deps import AccountDep, DeliveriesDep, strict_query
from shiptrack.api.responses import JSON
from shiptrack.api.routes import ERRORS
from shiptrack.domain.delivery import AttemptView
from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.ids import format_id
from shiptrack.domain.timefmt import format_utc

router = APIRouter(prefix="/v1/environment/webhooks", tags=["webhook deliveries"], responses=ERRORS)
_NO_QUERY = [Depends(strict_query())]


def _attempt_json(attempt: AttemptView) -> dict[str, Any]:
    return {
        "attempted_at": format_utc(attempt.attempted_at),
        "response_status": attempt.response_status,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
    }


@router.get(
    "/{webhook_id}/deliveries",
    operation_id="list_webhook_deliveries",
    summary="List a webhook's deliveries with every attempt",
    response_class=JSON,
    dependencies=[Depends(strict_query("state", "page_size", "cursor"))],
)
async def list_deliveries(
    deliveries: DeliveriesDep,
    account: AccountDep,
    webhook_id: str,
    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> JSON:
    """Newest first. `failing_since` and `disabled_at` tell the webhook's health: a webhook that
    only failed for `SHIPTRACK_WEBHOOK_DISABLE_AFTER` (5 days) is disabled, its deliveries wait,
    and any `PUT` on it re-enables it."""
    found = await deliveries.list_deliveries(
        account, webhook_id, limit=page_size, cursor=cursor, state=state
    )
    return JSON(
        {
            "webhook_id": format_id(found.webhook.id),
            "failing_since": format_utc(found.webhook.failing_since),
            "disabled_at": format_utc(found.webhook.disabled_at),
            "deliveries": [
                {
                    "delivery_id": format_id(row.id),
                    "event_id": format_id(row.status_change_id)
                    if row.status_change_id
                    else row.message_id,
                    "webhook_message_id": row.message_id,
                    "carrier_code": row.carrier_code,
                    "tracking_number": row.tracking_number,
                    "status_code": row.status_code,
                    "sequence": row.sequence,
                    "state": row.state,
                    "created_at": format_utc(row.created_at),
                    "delivered_at": format_utc(row.delivered_at),
                    "next_attempt_at": format_utc(row.next_attempt_at)
                    if row.state == "pending"
                    else None,
                    "last_error": row.last_error,
                    "attempts": [_attempt_json(a) for a in found.attempts[row.id]],
                }
                for row in found.deliveries
            ],
            "next_cursor": found.next_cursor,
        }
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    operation_id="redeliver_webhook_delivery",
    summary="Send one delivery again",
    status_code=202,
    response_class=JSON,
    dependencies=_NO_QUERY,
)
async def redeliver(
    deliveries: DeliveriesDep, account: AccountDep, webhook_id: str, delivery_id: str
) -> JSON:
    """Queue the delivery again with the same `webhook-id`, so receivers can deduplicate."""
    count = await deliveries.redeliver(account, webhook_id, delivery_id)
    return JSON({"redelivered": count}, status_code=202)


@router.post(
    "/{webhook_id}/redeliver",
    operation_id="redeliver_webhook_range",
    summary="Send again every delivery of a time range",
    status_code=202,
    response_class=JSON,
    dependencies=[Depends(strict_query("since", "until"))],
)
async def redeliver_range(
    deliveries: DeliveriesDep,
    account: AccountDep,
    webhook_id: str,
    since: Annotated[datetime, Query(description="ISO-8601 with offset, inclusive")],
    until: Annotated[datetime | None, Query(description="ISO-8601 with offset, exclusive")] = None,
) -> JSON:
    """Queue again every delivery of this webhook created in `[since, until)`."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(
                f"{name} needs a UTC offset, e.g. 2026-11-27T00:00:00Z", field_name=name
            )
    count = await deliveries.redeliver_range(account, webhook_id, since=since, until=until)
    return JSON({"redelivered": count}, status_code=202)


@router.post(
    "/{webhook_id}/test",
    operation_id="send_webhook_test",
    summary="Send a test event",
    status_code=202,
    response_class=JSON,
    dependencies=_NO_QUERY,
)
async def send_test(deliveries: DeliveriesDep, account: AccountDep, webhook_id: str) -> JSON:
    """Queue a test `track` event to this webhook, signed like any other: marked by
    `"test_event": true` in its body and the `x-shiptrack-test-event: true` header, about the
    package `SHIPTRACK_TEST_EVENT`, which no account can track."""
    delivery_id = await deliveries.send_test(account, webhook_id)
    return JSON({"delivery_id": format_id(delivery_id)}, status_code=202)
