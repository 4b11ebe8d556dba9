"""Rotating what signs webhook deliveries, in-process, checked at a real receiver on 127.0.0.1 with
code that shares nothing with shiptrack (``cryptography`` against the published JWK, the
``standardwebhooks`` package against the secret).

Covers: a webhook secret rotated with no overlap signs alone at once (the two signatures of an
overlap: tests/e2e/test_webhook_signatures.py; when an overlap ends:
tests/unit/test_delivery_secrets.py); a new signing key is published as soon as the rotation
returns but signs only from its activation, the old key signing until then and staying published
so that every delivery, old or new, verifies; deliveries that wait for a slot are signed while
they wait (the dispatcher starts their RSA signatures when it claims them) and verify all the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import WebhookVerificationError

from shiptrack.domain.ids import format_id
from tests.e2e.webhook_support import Reply, always, verify_shipengine, verify_standard
from tests.engine.delivery_support import dispatching, receiving, running_parts

HOUR, DAY = 3600.0, 86400.0


async def test_a_secret_rotated_without_overlap_signs_alone_at_once(tmp_path: Path) -> None:
    async with (
        running_parts(tmp_path, webhook_secret_overlap=0) as parts,
        receiving() as receiver,
    ):
        account = await parts.account()
        webhook, old = await parts.webhook(account, receiver.url)
        new = await parts.parts.webhooks.rotate_secret(account, format_id(webhook.id))
        await parts.test_event(account, webhook)
        await parts.deliver_everything()
        [request] = receiver.requests

    assert new != old
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verify_standard(new, request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify_standard(old, request.headers, request.body)


async def test_a_new_signing_key_is_published_before_it_signs_and_the_old_one_stays_valid(
    tmp_path: Path,
) -> None:
    async with running_parts(tmp_path) as parts, receiving() as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)

        async def kid_of_the_next_delivery() -> str:
            await parts.test_event(account, webhook)
            await parts.deliver_everything()
            return receiver.requests[-1].headers["x-shipengine-rsa-sha256-key-id"]

        first = await kid_of_the_next_delivery()
        # A key that signs in an hour: published at once, the current key signs meanwhile.
        later = await parts.parts.keyring.rotate(lead=HOUR, grace=DAY)
        published_early = await parts.jwks()
        meanwhile = await kid_of_the_next_delivery()
        # A key that signs at once: it signs the next delivery.
        now = await parts.parts.keyring.rotate(lead=0, grace=DAY)
        after = await kid_of_the_next_delivery()
        keys = await parts.jwks()
        requests = receiver.requests

    assert len({first, later, now}) == 3
    assert set(published_early) == {first, later}
    assert meanwhile == first
    assert after == now
    # The replaced keys stay published: every delivery, old or new, verifies.
    assert {first, now} <= set(keys)
    assert [verify_shipengine(keys, r.headers, r.body) for r in requests] == [first, first, now]


async def test_deliveries_signed_while_they_wait_for_a_slot_verify_and_carry_a_recent_timestamp(
    tmp_path: Path,
) -> None:
    async with (
        running_parts(tmp_path) as parts,
        dispatching(parts),
        receiving(always(Reply(hang=True))) as receiver,
    ):
        account = await parts.account()
        webhook, secret = await parts.webhook(account, receiver.url)
        for _ in range(30):
            await parts.test_event(account, webhook)
        # Eight requests held open: the other 22 wait here, their signatures made meanwhile.
        await receiver.until(lambda r: r.held == 8, "eight requests held")
        receiver.behaviour = always(Reply())
        receiver.answer(Reply())
        await receiver.until(lambda r: len(r.accepted()) == 30, "all thirty accepted")
        keys = await parts.jwks()
        requests = receiver.requests

    assert len({r.headers["webhook-id"] for r in requests}) == 30
    for request in requests:
        verify_shipengine(keys, request.headers, request.body)
        verify_standard(secret, request.headers, request.body)
        signed_at = datetime.fromisoformat(request.headers["x-shipengine-timestamp"])
        # Signed when claimed (to the second), never after it was sent, and not long before.
        assert request.at - timedelta(seconds=30) <= signed_at <= request.at
