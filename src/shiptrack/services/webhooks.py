"""Webhook registrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.accounts import Account
from shiptrack.domain.errors import NotFound
from shiptrack.domain.ids import parse_id
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.webhooks import Webhook, WebhookHeader, check_headers, check_url
from shiptrack.services import Services
from shiptrack.store import webhooks as store


async def create(
    services: Services,
    account: Account,
    *,
    url: str,
    event: str,
    name: str | None,
    store_id: int | None,
    headers: list[WebhookHeader],
) -> Webhook:
    """Register a webhook; the same event and URL twice is a conflict."""
    check_url(url)
    check_headers(headers)
    async with services.database.write() as conn:
        return await store.create_webhook(
            conn,
            account_id=account.id,
            url=url,
            event=event,
            name=name,
            store_id=store_id,
            headers=headers,
            now=utcnow(),
        )


async def list_all(services: Services, account: Account) -> list[Webhook]:
    """The account's webhooks."""
    async with services.database.read() as conn:
        return await store.list_webhooks(conn, account.id)


async def get(services: Services, account: Account, webhook_id: str) -> Webhook:
    """One webhook, ``404`` when it is not the account's."""
    async with services.database.read() as conn:
        return await _find(conn, account, webhook_id)


async def update(
    services: Services, account: Account, webhook_id: str, changes: dict[str, Any]
) -> None:
    """Change a webhook's url, headers, name or store id (its event never changes)."""
    if "url" in changes:
        check_url(changes["url"])
    if "headers" in changes:
        check_headers(changes["headers"])
    async with services.database.write() as conn:
        webhook = await _find(conn, account, webhook_id)
        if changes:
            await store.update_webhook(conn, webhook, changes, now=utcnow())


async def delete(services: Services, account: Account, webhook_id: str) -> None:
    """Remove a webhook."""
    async with services.database.write() as conn:
        webhook = await _find(conn, account, webhook_id)
        await store.delete_webhook(conn, webhook.id, now=utcnow())


async def _find(conn: AsyncConnection, account: Account, webhook_id: str) -> Webhook:
    row_id = parse_id(webhook_id, field_name="webhook_id")
    found = await store.get_webhook(conn, account.id, row_id) if row_id is not None else None
    if found is None:
        raise NotFound(f"Webhook {webhook_id} was not found", field_name="webhook_id")
    return found
