"""Which secrets sign a webhook's deliveries (``shiptrack.webhooks.secrets.signing_secrets``).

After a rotation both the new secret and the one it replaced sign, until the overlap
(``SHIPTRACK_WEBHOOK_SECRET_OVERLAP``) ends; from that moment on the new one signs alone. A webhook
with no previous secret, or none at all, signs with what it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shiptrack.sealing import Sealer
from shiptrack.webhooks.secrets import seal_secret, signing_secrets

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SEALER = Sealer("unit-test-secret-key")
ACCOUNT = 7
NEW, OLD = "whsec_" + "N" * 43 + "=", "whsec_" + "O" * 43 + "="


@dataclass(frozen=True)
class Stored:
    """A webhook's sealed secrets, as the store keeps them."""

    account_id: int
    sealed_secret: str | None
    sealed_previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None


def rotated(overlap_ends: datetime) -> Stored:
    return Stored(
        ACCOUNT,
        seal_secret(SEALER, ACCOUNT, NEW),
        seal_secret(SEALER, ACCOUNT, OLD),
        overlap_ends,
    )


def test_during_the_overlap_both_secrets_sign_the_new_one_first() -> None:
    webhook = rotated(NOW + timedelta(hours=1))
    assert signing_secrets(SEALER, webhook, NOW) == [NEW, OLD]
    assert signing_secrets(SEALER, webhook, NOW + timedelta(minutes=59)) == [NEW, OLD]


def test_once_the_overlap_ends_the_new_secret_signs_alone() -> None:
    ends = NOW + timedelta(hours=1)
    webhook = rotated(ends)
    assert signing_secrets(SEALER, webhook, ends) == [NEW]
    assert signing_secrets(SEALER, webhook, ends + timedelta(days=3)) == [NEW]


def test_a_webhook_never_rotated_signs_with_its_secret() -> None:
    assert signing_secrets(SEALER, Stored(ACCOUNT, seal_secret(SEALER, ACCOUNT, NEW)), NOW) == [NEW]


def test_a_webhook_without_a_secret_has_none_to_sign_with() -> None:
    # The sender then makes one (webhooks registered before secrets existed).
    assert signing_secrets(SEALER, Stored(ACCOUNT, None), NOW) == []
