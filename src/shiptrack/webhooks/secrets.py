"""Per-webhook Standard Webhooks secrets, sealed at rest."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Protocol

from shiptrack.domain.webhooks import Webhook
from shiptrack.sealing import Sealer
from shiptrack.store.port import Transaction
from shiptrack.webhooks.signing import new_webhook_secret


class HasSecrets(Protocol):
    """A webhook's sealed secrets (a stored webhook or a claimed delivery)."""

    @property
    def account_id(self) -> int: ...
    @property
    def sealed_secret(self) -> str | None: ...
    @property
    def sealed_previous_secret(self) -> str | None: ...
    @property
    def previous_secret_expires_at(self) -> datetime | None: ...


def secret_owner(account_id: int) -> str:
    """What a webhook secret is sealed to."""
    return f"account:{account_id}:webhook-secret"


def seal_secret(sealer: Sealer, account_id: int, secret: str) -> str:
    """The stored form of a webhook secret."""
    return sealer.seal({"secret": secret}, owner=secret_owner(account_id))


def open_secret(sealer: Sealer, account_id: int, sealed: str) -> str:
    """A webhook secret from its stored form (opened once per process and sealed value)."""
    return _opened(sealer, secret_owner(account_id), sealed)


@functools.lru_cache(maxsize=4096)
def _opened(sealer: Sealer, owner: str, sealed: str) -> str:
    secret: str = sealer.open(sealed, owner=owner)["secret"]
    return secret


def signing_secrets(sealer: Sealer, webhook: HasSecrets, now: datetime) -> list[str]:
    """The secrets to sign with now: the current one, and the previous one during its overlap."""
    found = []
    if webhook.sealed_secret:
        found.append(open_secret(sealer, webhook.account_id, webhook.sealed_secret))
    if (
        webhook.sealed_previous_secret
        and webhook.previous_secret_expires_at is not None
        and webhook.previous_secret_expires_at > now
    ):
        found.append(open_secret(sealer, webhook.account_id, webhook.sealed_previous_secret))
    return found


async def ensure_secret(tx: Transaction, sealer: Sealer, webhook: Webhook) -> str:
    """A webhook's current secret; one is made for a webhook registered before secrets existed."""
    stored = await tx.webhooks.secrets(webhook)
    if stored.sealed_secret:
        return open_secret(sealer, webhook.account_id, stored.sealed_secret)
    value = new_webhook_secret()
    await tx.webhooks.set_secrets(
        webhook.id,
        sealed_secret=seal_secret(sealer, webhook.account_id, value),
        sealed_previous_secret=None,
        previous_secret_expires_at=None,
    )
    return value
