"""Webhook registrations, their secrets, their deliveries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shiptrack.domain.accounts import Account
from shiptrack.domain.errors import NotFound
from shiptrack.domain.ids import parse_id
from shiptrack.domain.outbound import OutboundPolicy
from shiptrack.domain.timefmt import utcnow
from shiptrack.domain.webhooks import (
    KEEP,
    SIGNATURE_SCHEMES,
    Webhook,
    WebhookChanges,
    WebhookHeader,
    check_headers,
    check_signatures,
    check_url,
)
from shiptrack.outbound.destinations import check_destination
from shiptrack.sealing import Sealer
from shiptrack.services.cache import TTLCache
from shiptrack.services.tracking import TrackingSetup
from shiptrack.store.port import NewWebhook, Store, Transaction
from shiptrack.webhooks.secrets import ensure_secret, seal_secret
from shiptrack.webhooks.signing import new_webhook_secret


async def find(tx: Transaction, account: Account, webhook_id: str) -> Webhook:
    """The account's webhook with this public id, or ``404``."""
    row_id = parse_id(webhook_id, field_name="webhook_id")
    found = await tx.webhooks.get(account.id, row_id) if row_id is not None else None
    if found is None:
        raise NotFound(f"Webhook {webhook_id} was not found", field_name="webhook_id")
    return found


class Webhooks:
    """Webhook registrations and their secrets."""

    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        outbound: OutboundPolicy,
        setups: TTLCache[int, TrackingSetup],
        *,
        secret_overlap: float,
    ) -> None:
        self.store = store
        self.sealer = sealer
        #: Where a webhook URL may point (``SHIPTRACK_OUTBOUND_ALLOW``).
        self.outbound = outbound
        #: Each account's tracking setup, forgotten when its webhooks change.
        self.setups = setups
        #: Seconds the previous secret still signs after a rotation.
        self.secret_overlap = secret_overlap

    async def _check_destination(self, url: str) -> None:
        check_url(url)
        await check_destination(url, self.outbound, field_name="url")

    async def create(
        self,
        account: Account,
        *,
        url: str,
        event: str,
        name: str | None,
        store_id: int | None,
        headers: list[WebhookHeader],
        signatures: list[str] | None = None,
    ) -> tuple[Webhook, str]:
        """Register a webhook; the same event and URL twice is a conflict. Returns the webhook and
        its signing secret (shown in full only here and by the secret endpoints). ``signatures``
        (every scheme when ``None``) are the signatures its deliveries carry."""
        await self._check_destination(url)
        check_headers(headers)
        schemes = check_signatures(signatures) if signatures is not None else SIGNATURE_SCHEMES
        secret = new_webhook_secret()
        new = NewWebhook(
            account_id=account.id,
            url=url,
            event=event,
            name=name,
            store_id=store_id,
            headers=tuple(headers),
            sealed_secret=seal_secret(self.sealer, account.id, secret),
            signatures=schemes,
        )
        async with self.store.write() as tx:
            webhook = await tx.webhooks.create(new, now=utcnow())
        self.setups.forget(account.id)
        return webhook, secret

    async def list_all(self, account: Account) -> list[Webhook]:
        """The account's webhooks."""
        async with self.store.read() as tx:
            return await tx.webhooks.of_account(account.id)

    async def get(self, account: Account, webhook_id: str) -> Webhook:
        """One webhook, ``404`` when it is not the account's."""
        async with self.store.read() as tx:
            return await find(tx, account, webhook_id)

    async def update(self, account: Account, webhook_id: str, changes: WebhookChanges) -> None:
        """Change a webhook's url, headers, name, store id or signatures (its event never
        changes). Any update re-enables a webhook that was disabled after failing for too long."""
        if changes.url is not KEEP:
            await self._check_destination(changes.url)
        if changes.headers is not KEEP:
            check_headers(list(changes.headers))
        if changes.signatures is not KEEP:
            changes = replace(changes, signatures=check_signatures(list(changes.signatures)))
        async with self.store.write() as tx:
            webhook = await find(tx, account, webhook_id)
            await tx.webhooks.update(webhook, changes, now=utcnow())

    async def delete(self, account: Account, webhook_id: str) -> None:
        """Remove a webhook; its pending deliveries are not sent."""
        async with self.store.write() as tx:
            webhook = await find(tx, account, webhook_id)
            await tx.webhooks.delete(webhook.id, now=utcnow())
        self.setups.forget(account.id)

    async def secret(self, account: Account, webhook_id: str) -> str:
        """The webhook's current signing secret."""
        async with self.store.write() as tx:
            return await ensure_secret(tx, self.sealer, await find(tx, account, webhook_id))

    async def rotate_secret(self, account: Account, webhook_id: str) -> str:
        """Replace the signing secret; deliveries carry signatures with both secrets for the overlap
        (``SHIPTRACK_WEBHOOK_SECRET_OVERLAP``) so receivers can switch without losing any."""
        value = new_webhook_secret()
        now = utcnow()
        async with self.store.write() as tx:
            webhook = await find(tx, account, webhook_id)
            stored = await tx.webhooks.secrets(webhook)
            await tx.webhooks.set_secrets(
                webhook.id,
                sealed_secret=seal_secret(self.sealer, account.id, value),
                sealed_previous_secret=stored.sealed_secret,
                previous_secret_expires_at=now + timedelta(seconds=self.secret_overlap),
            )
        return value
