"""Webhooks in memory (see :class:`shiptrack.store.port.Webhooks`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from shiptrack.domain.errors import WebhookConflict
from shiptrack.domain.webhooks import KEEP, Webhook, WebhookChanges
from shiptrack.store.memory.tables import Table, Tables, WebhookRow, utc, utc_or_none
from shiptrack.store.port import NewWebhook, StoredSecrets


def _webhook(row: WebhookRow) -> Webhook:
    return Webhook(
        id=row.id,
        account_id=row.account_id,
        url=row.url,
        event=row.event,
        name=row.name,
        store_id=row.store_id,
        headers=row.headers,
        failing_since=row.failing_since,
        disabled_at=row.disabled_at,
        signatures=row.signatures,
    )


def _check_unique(webhooks: Table[WebhookRow], row: WebhookRow) -> None:
    """One live webhook per (account, event, URL), as the SQL store's partial unique index."""
    if row.deleted_at is not None:
        return
    for other in webhooks.rows():
        if (
            other.id != row.id
            and other.deleted_at is None
            and (other.account_id, other.event, other.url) == (row.account_id, row.event, row.url)
        ):
            raise WebhookConflict(
                f"A webhook for the '{row.event}' event already sends to {row.url}",
                field_name="url",
            )


class MemoryWebhooks:
    """Webhooks of one in-memory transaction."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._webhooks = tables.webhooks

    def _live(self, account_id: int) -> list[WebhookRow]:
        return [
            row
            for row in self._webhooks.rows()
            if row.account_id == account_id and row.deleted_at is None
        ]

    async def create(self, webhook: NewWebhook, *, now: datetime) -> Webhook:
        """Store a webhook; ``WebhookConflict`` when the account has the same event and URL."""
        self._tables.accounts.require(webhook.account_id, "account")
        now = utc(now)
        row = WebhookRow(
            id=self._webhooks.new_id(),
            account_id=webhook.account_id,
            url=webhook.url,
            event=webhook.event,
            name=webhook.name,
            store_id=webhook.store_id,
            headers=tuple(webhook.headers),
            signatures=webhook.signatures,
            secret=webhook.sealed_secret,
            created_at=now,
            updated_at=now,
        )
        _check_unique(self._webhooks, row)
        self._webhooks.put(row)
        return _webhook(row)

    async def of_account(self, account_id: int) -> list[Webhook]:
        """The account's live webhooks, oldest first."""
        return [_webhook(row) for row in self._live(account_id)]

    async def get(self, account_id: int, webhook_id: int) -> Webhook | None:
        """One live webhook of the account."""
        row = self._webhooks.get(webhook_id)
        if row is None or row.account_id != account_id or row.deleted_at is not None:
            return None
        return _webhook(row)

    async def has(self, account_id: int, event: str) -> bool:
        """Whether the account has a live webhook for ``event``."""
        return any(row.event == event for row in self._live(account_id))

    async def track_webhook_ids(self, account_ids: Collection[int]) -> dict[int, list[int]]:
        """The live ``track`` webhooks of each account, oldest first."""
        wanted = set(account_ids)
        found: dict[int, list[int]] = {}
        for row in self._webhooks.rows():
            if row.account_id in wanted and row.event == "track" and row.deleted_at is None:
                found.setdefault(row.account_id, []).append(row.id)
        return found

    async def update(self, webhook: Webhook, changes: WebhookChanges, *, now: datetime) -> None:
        """Apply ``changes`` and re-enable the webhook; ``WebhookConflict`` as for create."""
        row = self._webhooks.get(webhook.id)
        if row is None:
            return
        row = replace(row, disabled_at=None, failing_since=None, updated_at=utc(now))
        if changes.url is not KEEP:
            row = replace(row, url=changes.url)
        if changes.name is not KEEP:
            row = replace(row, name=changes.name)
        if changes.store_id is not KEEP:
            row = replace(row, store_id=changes.store_id)
        if changes.headers is not KEEP:
            row = replace(row, headers=tuple(changes.headers))
        if changes.signatures is not KEEP:
            row = replace(row, signatures=changes.signatures)
        _check_unique(self._webhooks, row)
        self._webhooks.put(row)

    async def delete(self, webhook_id: int, *, now: datetime) -> None:
        """Remove a webhook (kept, marked deleted, so past deliveries still name it)."""
        row = self._webhooks.get(webhook_id)
        if row is not None:
            self._webhooks.put(replace(row, deleted_at=utc(now)))

    async def set_secrets(
        self,
        webhook_id: int,
        *,
        sealed_secret: str,
        sealed_previous_secret: str | None,
        previous_secret_expires_at: datetime | None,
    ) -> None:
        """Store a webhook's current and previous secret."""
        row = self._webhooks.get(webhook_id)
        if row is not None:
            self._webhooks.put(
                replace(
                    row,
                    secret=sealed_secret,
                    previous_secret=sealed_previous_secret,
                    previous_secret_expires_at=utc_or_none(previous_secret_expires_at),
                )
            )

    async def secrets(self, webhook: Webhook) -> StoredSecrets:
        """A webhook's sealed secrets."""
        row = self._webhooks.get(webhook.id)
        if row is None:
            raise LookupError(f"webhook {webhook.id} does not exist")
        return StoredSecrets(
            webhook.account_id, row.secret, row.previous_secret, row.previous_secret_expires_at
        )

    async def record_health(
        self,
        webhook_id: int,
        *,
        failing_since: datetime | None,
        disabled_at: datetime | None = None,
    ) -> None:
        """Set since when every delivery failed (``None``: it works), and disable it when
        ``disabled_at`` is given."""
        row = self._webhooks.get(webhook_id)
        if row is None:
            return
        row = replace(row, failing_since=utc_or_none(failing_since))
        if disabled_at is not None:
            row = replace(row, disabled_at=utc(disabled_at))
        self._webhooks.put(row)

    async def count_disabled(self) -> int:
        """How many live webhooks are disabled (after failing too long)."""
        return sum(
            1
            for row in self._webhooks.rows()
            if row.deleted_at is None and row.disabled_at is not None
        )
