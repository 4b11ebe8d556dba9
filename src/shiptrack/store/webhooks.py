"""Webhook registrations, their secrets and their health."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shiptrack.domain.errors import WebhookConflict
from shiptrack.domain.webhooks import (
    KEEP,
    SIGNATURE_SCHEMES,
    Webhook,
    WebhookChanges,
    WebhookHeader,
)
from shiptrack.store.port import NewWebhook, StoredSecrets
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
        signatures=stored_signatures(row.signatures),
    )


def stored_signatures(value: Any) -> tuple[str, ...]:
    """A webhook's signature schemes as stored (NULL: every scheme, the default)."""
    return tuple(value) if value else SIGNATURE_SCHEMES


def _signatures_json(signatures: tuple[str, ...]) -> list[str] | None:
    # The default is stored as NULL, so that a scheme added later reaches existing webhooks.
    return None if signatures == SIGNATURE_SCHEMES else list(signatures)


def _conflict(event: str, url: str) -> WebhookConflict:
    return WebhookConflict(
        f"A webhook for the '{event}' event already sends to {url}", field_name="url"
    )


def _headers_json(headers: tuple[WebhookHeader, ...]) -> list[dict[str, str]]:
    return [{"key": h.key, "value": h.value} for h in headers]


class SqlWebhooks:
    """Webhooks in SQL (see :class:`shiptrack.store.port.Webhooks`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create(self, webhook: NewWebhook, *, now: datetime) -> Webhook:
        """Store a webhook; :class:`WebhookConflict` when the same event and URL already exist."""
        statement = (
            webhooks.insert()
            .values(
                account_id=webhook.account_id,
                url=webhook.url,
                event=webhook.event,
                name=webhook.name,
                store_id=webhook.store_id,
                headers=_headers_json(webhook.headers),
                signatures=_signatures_json(webhook.signatures),
                secret=webhook.sealed_secret,
                created_at=now,
                updated_at=now,
            )
            .returning(*webhooks.c)
        )
        try:
            async with self._conn.begin_nested():
                row = (await self._conn.execute(statement)).one()
        except IntegrityError:
            raise _conflict(webhook.event, webhook.url) from None
        return _webhook(row)

    async def of_account(self, account_id: int) -> list[Webhook]:
        """The account's webhooks, oldest first."""
        rows = await self._conn.execute(
            webhooks.select()
            .where(webhooks.c.account_id == account_id, _live)
            .order_by(webhooks.c.id)
        )
        return [_webhook(row) for row in rows]

    async def get(self, account_id: int, webhook_id: int) -> Webhook | None:
        """One webhook of the account."""
        row = (
            await self._conn.execute(
                webhooks.select().where(
                    webhooks.c.id == webhook_id, webhooks.c.account_id == account_id, _live
                )
            )
        ).first()
        return _webhook(row) if row else None

    async def has(self, account_id: int, event: str) -> bool:
        """Whether the account has at least one webhook for ``event``."""
        query = sa.select(webhooks.c.id).where(
            webhooks.c.account_id == account_id, webhooks.c.event == event, _live
        )
        return (await self._conn.execute(query.limit(1))).first() is not None

    async def update(self, webhook: Webhook, changes: WebhookChanges, *, now: datetime) -> None:
        """Apply ``changes`` to a webhook; any update re-enables one disabled for failing."""
        values: dict[str, Any] = {"disabled_at": None, "failing_since": None, "updated_at": now}
        if changes.url is not KEEP:
            values["url"] = changes.url
        if changes.name is not KEEP:
            values["name"] = changes.name
        if changes.store_id is not KEEP:
            values["store_id"] = changes.store_id
        if changes.headers is not KEEP:
            values["headers"] = _headers_json(changes.headers)
        if changes.signatures is not KEEP:
            values["signatures"] = _signatures_json(changes.signatures)
        statement = webhooks.update().where(webhooks.c.id == webhook.id).values(**values)
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(statement)
        except IntegrityError:
            raise _conflict(webhook.event, values.get("url", webhook.url)) from None

    async def delete(self, webhook_id: int, *, now: datetime) -> None:
        """Remove a webhook (kept, marked deleted, so past deliveries still name it)."""
        await self._conn.execute(
            webhooks.update().where(webhooks.c.id == webhook_id).values(deleted_at=now)
        )

    async def set_secrets(
        self,
        webhook_id: int,
        *,
        sealed_secret: str,
        sealed_previous_secret: str | None,
        previous_secret_expires_at: datetime | None,
    ) -> None:
        """Store a webhook's current and previous secret."""
        await self._conn.execute(
            webhooks.update()
            .where(webhooks.c.id == webhook_id)
            .values(
                secret=sealed_secret,
                previous_secret=sealed_previous_secret,
                previous_secret_expires_at=previous_secret_expires_at,
            )
        )

    async def secrets(self, webhook: Webhook) -> StoredSecrets:
        """A webhook's sealed secrets."""
        row = (
            await self._conn.execute(
                sa.select(
                    webhooks.c.secret,
                    webhooks.c.previous_secret,
                    webhooks.c.previous_secret_expires_at,
                ).where(webhooks.c.id == webhook.id)
            )
        ).one()
        return StoredSecrets(
            webhook.account_id, row.secret, row.previous_secret, row.previous_secret_expires_at
        )

    async def track_webhook_ids(self, account_ids: Collection[int]) -> dict[int, list[int]]:
        """The live ``track`` webhooks of each account."""
        rows = await self._conn.execute(
            sa.select(webhooks.c.id, webhooks.c.account_id)
            .where(
                webhooks.c.account_id.in_(set(account_ids)),
                webhooks.c.event == "track",
                webhooks.c.deleted_at.is_(None),
            )
            .order_by(webhooks.c.id)
        )
        found: dict[int, list[int]] = {}
        for row in rows:
            found.setdefault(row.account_id, []).append(row.id)
        return found

    async def record_health(
        self,
        webhook_id: int,
        *,
        failing_since: datetime | None,
        disabled_at: datetime | None = None,
    ) -> None:
        """Set since when every delivery failed, and disable the webhook when asked."""
        values: dict[str, datetime | None] = {"failing_since": failing_since}
        if disabled_at is not None:
            values["disabled_at"] = disabled_at
        await self._conn.execute(
            webhooks.update().where(webhooks.c.id == webhook_id).values(values)
        )

    async def count_disabled(self) -> int:
        """How many live webhooks are disabled (a scan of the small webhooks table)."""
        count = await self._conn.scalar(
            sa.select(sa.func.count())
            .select_from(webhooks)
            .where(_live, webhooks.c.disabled_at.is_not(None))
        )
        return int(count or 0)
