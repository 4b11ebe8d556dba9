"""Webhook registrations, their secrets and their health, on every store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shiptrack.domain.errors import WebhookConflict
from shiptrack.domain.webhooks import SIGNATURE_SCHEMES, WebhookChanges, WebhookHeader
from shiptrack.store.port import NewWebhook, Store
from tests.store.seeds import NOW, Tenant, claim_deliveries, new_account, new_webhook_values

A, B = "https://a.invalid/hooks", "https://b.invalid/hooks"


async def _create(store: Store, values: NewWebhook) -> int:
    async with store.write() as tx:
        return (await tx.webhooks.create(values, now=NOW)).id


async def test_a_webhook_is_stored_as_given(store: Store) -> None:
    account_id = await new_account(store)
    headers = (WebhookHeader("X-Team", "tracking"), WebhookHeader("Authorization", "Bearer t"))
    async with store.write() as tx:
        made = await tx.webhooks.create(
            NewWebhook(
                account_id=account_id,
                url=A,
                event="track",
                name="main",
                store_id=42,
                headers=headers,
                sealed_secret="v1.sealed-secret",
            ),
            now=NOW,
        )

    async with store.read() as tx:
        found = await tx.webhooks.get(account_id, made.id)
        secrets = await tx.webhooks.secrets(made)
    assert found == made
    assert (made.account_id, made.url, made.event, made.name, made.store_id) == (
        account_id,
        A,
        "track",
        "main",
        42,
    )
    assert made.headers == headers
    assert (made.failing_since, made.disabled_at) == (None, None)
    assert (secrets.account_id, secrets.sealed_secret) == (account_id, "v1.sealed-secret")
    assert (secrets.sealed_previous_secret, secrets.previous_secret_expires_at) == (None, None)


async def test_webhooks_are_listed_per_account_oldest_first(store: Store) -> None:
    account_id, other = await new_account(store), await new_account(store, "other")
    first = await _create(store, new_webhook_values(account_id, A))
    theirs = await _create(store, new_webhook_values(other, A))
    second = await _create(store, new_webhook_values(account_id, B, event="batch"))

    async with store.read() as tx:
        assert [w.id for w in await tx.webhooks.of_account(account_id)] == [first, second]
        assert [w.id for w in await tx.webhooks.of_account(other)] == [theirs]
        # Another account's webhook is not found, exactly as one that does not exist.
        assert await tx.webhooks.get(account_id, theirs) is None
        assert await tx.webhooks.has(account_id, "batch") is True
        assert await tx.webhooks.has(other, "batch") is False


async def test_the_same_event_and_url_twice_in_an_account_is_a_conflict(store: Store) -> None:
    account_id, other = await new_account(store), await new_account(store, "other")
    await _create(store, new_webhook_values(account_id, A))

    with pytest.raises(WebhookConflict) as raised:
        await _create(store, new_webhook_values(account_id, A))
    assert raised.value.error_code == "webhook_event_type_conflict"
    assert raised.value.field_name == "url"
    # Another event to the same URL, or another account, is not a conflict.
    await _create(store, new_webhook_values(account_id, A, event="batch"))
    await _create(store, new_webhook_values(other, A))
    await _create(store, new_webhook_values(account_id, B))
    async with store.read() as tx:
        assert len(await tx.webhooks.of_account(account_id)) == 3


async def test_a_deleted_webhook_is_gone_and_its_url_free_again(store: Store) -> None:
    account_id = await new_account(store)
    gone = await _create(store, new_webhook_values(account_id, A))

    async with store.write() as tx:
        await tx.webhooks.delete(gone, now=NOW)

    async with store.read() as tx:
        assert await tx.webhooks.get(account_id, gone) is None
        assert await tx.webhooks.of_account(account_id) == []
        assert await tx.webhooks.has(account_id, "track") is False
        assert await tx.webhooks.track_webhook_ids([account_id]) == {}
    again = await _create(store, new_webhook_values(account_id, A))
    assert again != gone


async def test_an_update_changes_only_what_it_is_given(store: Store) -> None:
    account_id = await new_account(store)
    async with store.write() as tx:
        webhook = await tx.webhooks.create(
            NewWebhook(
                account_id=account_id,
                url=A,
                event="track",
                name="main",
                store_id=7,
                headers=(WebhookHeader("X-One", "1"),),
                sealed_secret="s",
            ),
            now=NOW,
        )

    async with store.write() as tx:
        await tx.webhooks.update(webhook, WebhookChanges(name=None), now=NOW)
    async with store.read() as tx:
        updated = await tx.webhooks.get(account_id, webhook.id)
    assert updated is not None
    assert (updated.url, updated.name, updated.store_id) == (A, None, 7)
    assert updated.headers == (WebhookHeader("X-One", "1"),)

    headers = (WebhookHeader("X-Two", "2"),)
    async with store.write() as tx:
        await tx.webhooks.update(
            updated, WebhookChanges(url=B, store_id=None, headers=headers), now=NOW
        )
    async with store.read() as tx:
        updated = await tx.webhooks.get(account_id, webhook.id)
    assert updated is not None
    assert (updated.url, updated.name, updated.store_id, updated.headers) == (
        B,
        None,
        None,
        headers,
    )


async def test_an_update_onto_another_webhooks_url_is_a_conflict(store: Store) -> None:
    account_id = await new_account(store)
    await _create(store, new_webhook_values(account_id, A))
    async with store.write() as tx:
        moving = await tx.webhooks.create(new_webhook_values(account_id, B), now=NOW)

    with pytest.raises(WebhookConflict):
        async with store.write() as tx:
            await tx.webhooks.update(moving, WebhookChanges(url=A), now=NOW)

    async with store.read() as tx:
        unchanged = await tx.webhooks.get(account_id, moving.id)
    assert unchanged is not None and unchanged.url == B


async def test_health_is_recorded_and_any_update_enables_the_webhook_again(
    store: Store,
) -> None:
    account_id = await new_account(store)
    async with store.write() as tx:
        webhook = await tx.webhooks.create(new_webhook_values(account_id, A), now=NOW)
    failing_since = NOW - timedelta(days=5)

    async with store.write() as tx:
        await tx.webhooks.record_health(webhook.id, failing_since=failing_since)
    async with store.read() as tx:
        failing = await tx.webhooks.get(account_id, webhook.id)
    assert failing is not None
    assert (failing.failing_since, failing.disabled_at) == (failing_since, None)

    async with store.write() as tx:
        await tx.webhooks.record_health(webhook.id, failing_since=failing_since, disabled_at=NOW)
    async with store.write() as tx:
        # Recording health without disabling leaves a disabled webhook disabled.
        await tx.webhooks.record_health(webhook.id, failing_since=failing_since)
    async with store.read() as tx:
        disabled = await tx.webhooks.get(account_id, webhook.id)
    assert disabled is not None and disabled.disabled_at == NOW

    async with store.write() as tx:
        await tx.webhooks.update(disabled, WebhookChanges(name="fixed"), now=NOW)
    async with store.read() as tx:
        enabled = await tx.webhooks.get(account_id, webhook.id)
    assert enabled is not None
    assert (enabled.failing_since, enabled.disabled_at, enabled.name) == (None, None, "fixed")


async def test_a_success_clears_the_failing_streak(store: Store) -> None:
    account_id = await new_account(store)
    webhook_id = await _create(store, new_webhook_values(account_id, A))
    async with store.write() as tx:
        await tx.webhooks.record_health(webhook_id, failing_since=NOW)
        await tx.webhooks.record_health(webhook_id, failing_since=None)

    async with store.read() as tx:
        webhook = await tx.webhooks.get(account_id, webhook_id)
    assert webhook is not None and webhook.failing_since is None


async def test_a_rotated_secret_keeps_the_previous_one_until_it_expires(store: Store) -> None:
    account_id = await new_account(store)
    async with store.write() as tx:
        webhook = await tx.webhooks.create(new_webhook_values(account_id, A), now=NOW)
    expires = NOW + timedelta(days=1)

    async with store.write() as tx:
        await tx.webhooks.set_secrets(
            webhook.id,
            sealed_secret="new",
            sealed_previous_secret="old",
            previous_secret_expires_at=expires,
        )
    async with store.read() as tx:
        secrets = await tx.webhooks.secrets(webhook)
    assert (secrets.sealed_secret, secrets.sealed_previous_secret) == ("new", "old")
    assert secrets.previous_secret_expires_at == expires

    async with store.write() as tx:
        await tx.webhooks.set_secrets(
            webhook.id,
            sealed_secret="newer",
            sealed_previous_secret=None,
            previous_secret_expires_at=None,
        )
    async with store.read() as tx:
        secrets = await tx.webhooks.secrets(webhook)
    assert (secrets.sealed_secret, secrets.sealed_previous_secret) == ("newer", None)
    assert secrets.previous_secret_expires_at is None


async def test_track_webhook_ids_lists_each_accounts_live_track_webhooks(store: Store) -> None:
    first, second, none = (
        await new_account(store, "first"),
        await new_account(store, "second"),
        await new_account(store, "none"),
    )
    a = await _create(store, new_webhook_values(first, A))
    await _create(store, new_webhook_values(first, B, event="batch"))
    b = await _create(store, new_webhook_values(first, B))
    c = await _create(store, new_webhook_values(second, A))
    await _create(store, new_webhook_values(none, A, event="rate"))
    elsewhere = await _create(store, new_webhook_values(await new_account(store, "x"), A))

    async with store.read() as tx:
        found = await tx.webhooks.track_webhook_ids([first, second, none])
    assert found == {first: [a, b], second: [c]}
    assert elsewhere not in {i for hooks in found.values() for i in hooks}


async def test_the_signatures_a_webhook_asks_for_come_with_its_deliveries(store: Store) -> None:
    tenant = await Tenant.create(store)
    hook = await tenant.webhook()
    async with store.write() as tx:
        webhook = await tx.webhooks.get(tenant.account_id, hook)
        assert webhook is not None and webhook.signatures == SIGNATURE_SCHEMES
        await tx.webhooks.update(webhook, WebhookChanges(signatures=("standard",)), now=NOW)
    await tenant.delivery(hook, await tenant.package("SIGNED"), 1)

    [claimed] = await claim_deliveries(store)

    assert claimed.signatures == ("standard",)
    async with store.write() as tx:
        webhook = await tx.webhooks.get(tenant.account_id, hook)
        assert webhook is not None and webhook.signatures == ("standard",)
        await tx.webhooks.update(webhook, WebhookChanges(name="renamed"), now=NOW)
        renamed = await tx.webhooks.get(tenant.account_id, hook)
        assert renamed is not None and renamed.signatures == ("standard",)
        await tx.webhooks.update(webhook, WebhookChanges(signatures=SIGNATURE_SCHEMES), now=NOW)
        both = await tx.webhooks.get(tenant.account_id, hook)
        assert both is not None and both.signatures == SIGNATURE_SCHEMES
