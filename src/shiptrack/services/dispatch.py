"""Sending one claimed delivery and recording what happened."""

from __future__ import annotations

import logging

import aiohttp

from shiptrack.domain.delivery import parse_retry_after
from shiptrack.domain.timefmt import utcnow
from shiptrack.services import Services
from shiptrack.services.webhooks import ensure_secret
from shiptrack.store import deliveries as store
from shiptrack.store import webhooks as webhook_store
from shiptrack.store.deliveries import DELIVERED, FAILED, ClaimedDelivery
from shiptrack.webhooks.secrets import signing_secrets
from shiptrack.webhooks.sender import SendResult, post
from shiptrack.webhooks.signing import shipengine_headers, standard_headers

log = logging.getLogger("shiptrack.dispatcher")


async def deliver(
    services: Services, session: aiohttp.ClientSession, delivery: ClaimedDelivery
) -> SendResult:
    """POST the stored bytes, signed both ways, then record the attempt and the next step."""
    settings = services.settings
    now = utcnow()
    key = await services.keyring.signing_key()
    secrets = signing_secrets(services.sealer, delivery, now)
    if not secrets:
        secrets = [await _make_secret(services, delivery)]
    headers = {h["key"]: h["value"] for h in delivery.headers}
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": settings.webhook_user_agent,
            **shipengine_headers(key, delivery.payload, now),
            **standard_headers(
                delivery.message_id,
                delivery.payload,
                now,
                secrets,
            ),
        }
    )
    result = await post(
        session,
        delivery.url,
        delivery.payload,
        headers,
        allow_private=settings.webhook_allow_private,
        max_response_bytes=settings.webhook_max_response_bytes,
    )
    await _record(services, delivery, result)
    return result


async def _record(services: Services, delivery: ClaimedDelivery, result: SendResult) -> None:
    policy = services.settings.retry_policy
    now = utcnow()
    health: dict[str, object] = {}
    if result.delivered:
        outcome: dict[str, object] = {
            "state": DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
        }
        if delivery.failing_since is not None:
            health = {"failing_since": None}
    else:
        retry_at = policy.next_attempt(
            delivery.attempts + 1,
            now=now,
            retry_after=parse_retry_after(result.retry_after, now),
        )
        outcome = (
            {"state": FAILED, "next_attempt_at": None}
            if retry_at is None
            else {"next_attempt_at": retry_at}
        )
        failing_since = delivery.failing_since or now
        if delivery.failing_since is None:
            health = {"failing_since": now}
        if policy.disable(failing_since, now):
            health["disabled_at"] = now
            log.warning(
                "webhook %s disabled: every delivery failed since %s",
                delivery.webhook_id,
                failing_since,
            )
    async with services.database.write() as conn:
        await store.record_attempt(
            conn,
            delivery,
            attempted_at=now,
            response_status=result.status,
            latency_ms=result.latency_ms,
            error=result.error,
            outcome=outcome,
        )
        if health:
            await store.update_webhook_health(conn, delivery.webhook_id, health)
    if result.delivered:
        # The package's next notification (if any) may go now.
        services.deliveries_due.set()


async def _make_secret(services: Services, delivery: ClaimedDelivery) -> str:
    async with services.database.write() as conn:
        webhook = await webhook_store.get_webhook(conn, delivery.account_id, delivery.webhook_id)
        assert webhook is not None
        return await ensure_secret(services, conn, webhook)
