"""The console's Packages pages in a browser: one account's packages and not another's, a
package's timeline by local day, stopping and restarting its tracking."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import Server, Tenant
from tests.support import start_tracking, wait_until_stopped


def test_an_account_sees_its_packages_only_and_stops_and_restarts_one(
    page: Page, server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    for each in (tenant, other_tenant):
        each.add_track_webhook()
    start_tracking(tenant, "ups", "1ZMINE00000001")
    start_tracking(tenant, "fedex", "799900001111")
    start_tracking(other_tenant, "ups", "1ZTHEIRS000001")

    sign_in(page, server, tenant)
    table = page.locator("table.packages")
    expect(table).to_contain_text("1ZMINE00000001")
    expect(table).to_contain_text("799900001111")
    expect(table).not_to_contain_text("1ZTHEIRS000001")
    screenshot(page, "console-packages")

    page.fill("#q", "1zmine")
    page.click("text=Filter")
    expect(page.locator("#q")).to_have_value("1ZMINE")  # normalised as the API does
    expect(table.locator("tbody tr")).to_have_count(1)

    page.click("text=1ZMINE00000001")
    expect(page.locator("h1")).to_contain_text("1ZMINE00000001")
    page.click("text=Stop tracking")
    expect(page.get_by_role("status")).to_contain_text("Tracking stopped")
    expect(page.locator(".tracking-state")).to_contain_text("stopped")
    page.click("text=Restart tracking")
    expect(page.get_by_role("status")).to_contain_text("Tracking restarted")
    expect(page.locator(".tracking-state")).to_contain_text("active")


def test_a_package_shows_its_journey_by_local_day_and_its_status_changes(
    page: Page, engine_server: Server, engine_tenant: Tenant
) -> None:
    engine_tenant.add_track_webhook()
    start_tracking(engine_tenant, "ups", "1ZSANDBOX0000001")  # scenario 1: delivered
    wait_until_stopped(engine_tenant, "ups", "1ZSANDBOX0000001")

    sign_in(page, engine_server, engine_tenant)
    page.click("text=1ZSANDBOX0000001")
    expect(page.locator(".banner")).to_contain_text("Delivered")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.day").first).to_be_visible()
    expect(timeline.locator(".zone").first).to_contain_text(re.compile(r"UTC|local time"))
    expect(page.locator("table.changes tbody tr").first).to_contain_text("DE")
    expect(page.locator("table.deliveries")).to_be_visible()
    screenshot(page, "console-package")
