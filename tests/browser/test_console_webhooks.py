"""The webhooks and carriers pages in a browser: a webhook created from the console is listed
(and seen by the API); a delivery that failed for good is redelivered from the console and
arrives."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in, tenant_off_loop
from tests.conftest import DatabaseServer, Server, Tenant, delivery_env, start_server
from tests.e2e.webhook_support import Receiver, Reply, receiving, settled


def test_a_webhook_created_in_the_console_is_listed_and_seen_by_the_api(
    page: Page, server: Server, tenant: Tenant
) -> None:
    sign_in(page, server, tenant)
    page.click("nav >> text=Webhooks")
    expect(page.get_by_text("No webhooks yet")).to_be_visible()
    page.fill("#url", "https://receiver.invalid/console/track")
    page.fill("#name", "Order updates")
    page.fill("#headers", "X-Team: parcels")
    page.click("text=Add webhook")
    expect(page.get_by_role("status").first).to_contain_text("Webhook created.")
    expect(page.locator("#secret")).to_contain_text("whsec_")
    screenshot(page, "console-webhook")
    page.click("text=← Webhooks")
    row = page.locator("table.webhooks tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Order updates")
    expect(row).to_contain_text("never")  # no delivery yet, so no success yet
    screenshot(page, "console-webhooks")
    [listed] = tenant.client.get("/v1/environment/webhooks").json()
    assert listed["url"] == "https://receiver.invalid/console/track"
    assert listed["headers"] == [{"key": "X-Team", "value": "parcels"}]
    page.click("nav >> text=Carriers")
    expect(page.locator("table.connections tbody tr").first).to_contain_text("left now")
    screenshot(page, "console-carriers")


@pytest.fixture(scope="module")
def hub(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Workers on, webhooks to 127.0.0.1 allowed, one retry after 0.1 s then failed for good."""
    home = tmp_path_factory.mktemp("console-hub")
    # A PostgreSQL database is created with asyncio.run, which Playwright's loop in this thread
    # refuses: made in a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        url = pool.submit(test_database.fresh, home).result()
    env = delivery_env(url, home / "data", SHIPTRACK_WEBHOOK_RETRY_SCHEDULE="0.1")
    running = start_server(env, home / "server.log")
    yield running
    running.stop()


def test_a_failed_delivery_redelivered_from_the_console_arrives(page: Page, hub: Server) -> None:
    accepting = threading.Event()

    def refuse_until_told(_request: object) -> Reply:
        return Reply(204) if accepting.is_set() else Reply(500)

    account = tenant_off_loop(hub)
    receiver: Receiver
    with receiving(refuse_until_told) as receiver:
        created = account.client.post(
            "/v1/environment/webhooks", json={"event": "track", "url": receiver.url}
        ).json()
        webhook_id = created["webhook_id"]
        sign_in(page, hub, account)
        page.goto(f"{hub.url}/console/webhooks/{webhook_id}")
        page.click("text=Send a test event")
        expect(page.get_by_role("status").first).to_contain_text("Test event queued")
        [queued] = account.client.get(f"/v1/environment/webhooks/{webhook_id}/deliveries").json()[
            "deliveries"
        ]
        assert settled(account, webhook_id, queued["delivery_id"])["state"] == "failed"
        page.reload()
        row = page.locator(f"#delivery-{queued['delivery_id']}")
        expect(row.locator(".delivery-state")).to_have_text("failed")
        expect(row.locator(".attempts li")).to_have_count(2)
        expect(row.locator(".attempts li").first).to_contain_text("HTTP 500")
        expect(page.locator(".facts")).to_contain_text("never")
        screenshot(page, "console-webhook-failed-delivery")

        accepting.set()
        row.get_by_role("button", name="Redeliver").click()
        expect(page.get_by_role("status").first).to_contain_text("Delivery queued again.")
        assert settled(account, webhook_id, queued["delivery_id"])["state"] == "delivered"
        page.reload()
        row = page.locator(f"#delivery-{queued['delivery_id']}")
        expect(row.locator(".delivery-state")).to_have_text("delivered", timeout=10_000)
        expect(row.locator(".attempts li").last).to_contain_text("HTTP 204")
        expect(page.locator(".facts")).not_to_contain_text("never")
        screenshot(page, "console-webhook-redelivered")
        assert [r.reply.status for r in receiver.requests] == [500, 500, 204]
        assert len({r.webhook_id for r in receiver.requests}) == 1  # the same webhook-id
        assert re.match(r"^msg_test_", receiver.requests[-1].webhook_id)
    account.client.close()
