"""Webhook registrations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.errors import WebhookConflict
from shiptrack.domain.webhooks import Webhook, WebhookHeader
from shiptrack.store.tables import webhooks

_live = webhooks.c.deleted_at.is_(None)


def _webhook(row: sa.Row[tuple[object, ...]]) -> Webhook:
    return Webhook(
        id=row.id,
        account_id=row.account_id,
        url=row.url,
        event=row.event,
        name=row.name,
        store_id=row.store_id,
        headers=tuple(WebhookHeader(h["key"], h["value"]) for h in row.headers),
        failing_since=row.failing_since,
        disabled_at=row.disabled_at,
    )


def _conflict(event: str, url: str) -> WebhookConflict:
    return WebhookConflict(
        f"A webhook for the '{event}' event already sends to {url}", field_name="url"
    )


async def create_webhook(
    conn: AsyncConnection,
    *,
    account_id: int,
    url: str,
    event: str,
    name: str | None,
    store_id: int | None,
    headers: list[WebhookHeader],
    sealed_secret: str,
    now: datetime,
) -> Webhook:
    """Store a webhook; :class:`WebhookConflict` when the same event and URL already exist."""
    statement = (
        webhooks.insert()
        .values(
            account_id=account_id,
            url=url,
            event=event,
            name=name,
            store_id=store_id,
            headers=_headers_json(headers),
            secret=sealed_secret,
            created_at=now,
            updated_at=now,
        )
        .returning(*webhooks.c)
    )
    try:
        async with conn.begin_nested():
            row = (await conn.execute(statement)).one()
    except IntegrityError:
        raise _conflict(event, url) from None
    return _webhook(row)


async def list_webhooks(conn: AsyncConnection, account_id: int) -> list[Webhook]:
    """The account's webhooks, oldest first."""
    rows = await conn.execute(
        webhooks.select().where(webhooks.c.account_id == account_id, _live).order_by(webhooks.c.id)
    )
    return [_webhook(row) for row in rows]


async def get_webhook(conn: AsyncConnection, account_id: int, webhook_id: int) -> Webhook | None:
    """One webhook of the account."""
    row = (
        await conn.execute(
            webhooks.select().where(
                webhooks.c.id == webhook_id, webhooks.c.account_id == account_id, _live
            )
        )
    ).first()
    return _webhook(row) if row else None


async def has_webhook(conn: AsyncConnection, account_id: int, event: str) -> bool:
    """Whether the account has at least one webhook for ``event``."""
    query = sa.select(webhooks.c.id).where(
        webhooks.c.account_id == account_id, webhooks.c.event == event, _live
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def update_webhook(
    conn: AsyncConnection, webhook: Webhook, changes: dict[str, Any], *, now: datetime
) -> None:
    """Apply ``changes`` (any of url, name, store_id, headers) to a webhook."""
    values = dict(changes)
    # Any update re-enables a webhook that was disabled for failing.
    values.update(disabled_at=None, failing_since=None)
    if "headers" in values:
        values["headers"] = _headers_json(values["headers"])
    statement = (
        webhooks.update().where(webhooks.c.id == webhook.id).values(**values, updated_at=now)
    )
    try:
        async with conn.begin_nested():
            await conn.execute(statement)
    except IntegrityError:
        raise _conflict(webhook.event, values.get("url", webhook.url)) from None


async def delete_webhook(conn: AsyncConnection, webhook_id: int, *, now: datetime) -> None:
    """Remove a webhook (kept, marked deleted, so past deliveries still name it)."""
    await conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(deleted_at=now))


def _headers_json(headers: list[WebhookHeader] | tuple[WebhookHeader, ...]) -> list[dict[str, str]]:
    return [{"key": h.key, "value": h.value} for h in headers]


async def set_secrets(
    conn: AsyncConnection,
    webhook_id: int,
    *,
    sealed_secret: str,
    sealed_previous_secret: str | None,
    previous_secret_expires_at: datetime | None,
) -> None:
    """Store a webhook's current and previous secret."""
    await conn.execute(
        webhooks.update()
        .where(webhooks.c.id == webhook_id)
        .values(
            secret=sealed_secret,
            previous_secret=sealed_previous_secret,
            previous_secret_expires_at=previous_secret_expires_at,
        )
    )


@dataclass(frozen=True, slots=True)
class StoredSecrets:
    """A webhook's sealed current and previous secret."""

    account_id: int
    sealed_secret: str | None
    sealed_previous_secret: str | None
    previous_secret_expires_at: datetime | None


async def stored_secrets(conn: AsyncConnection, webhook: Webhook) -> StoredSecrets:
    """A webhook's sealed secrets."""
    row = (
        await conn.execute(
            sa.select(
                webhooks.c.secret, webhooks.c.previous_secret, webhooks.c.previous_secret_expires_at
            ).where(webhooks.c.id == webhook.id)
        )
    ).one()
    return StoredSecrets(
        webhook.account_id, row.secret, row.previous_secret, row.previous_secret_expires_at
    )
