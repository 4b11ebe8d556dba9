"""Signing in to the console, seeing only one's own account, signing out."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import Server, Tenant


def test_a_wrong_key_is_refused_with_a_message(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/console")
    page.fill("#api_key", "TEST_not-a-key")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    screenshot(page, "console-sign-in-refused")


def test_sign_in_shows_the_sandbox_badge_and_sign_out_ends_the_session(
    page: Page, server: Server, tenant: Tenant
) -> None:
    sign_in(page, server, tenant)
    expect(page.locator(".badge.sandbox")).to_be_visible()
    screenshot(page, "console-signed-in")
    page.click("text=Sign out")
    page.wait_for_url("**/console/sign-in")
    page.goto(f"{server.url}/console/packages")
    expect(page).to_have_url(f"{server.url}/console/sign-in")


def test_the_session_cookie_is_http_only_strict_and_expires(
    page: Page, server: Server, tenant: Tenant
) -> None:
    sign_in(page, server, tenant)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "shiptrack_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["expires"] > 0  # not a browser-lifetime cookie: it ends by itself
    assert cookie["path"] == "/console"


def test_a_form_without_the_csrf_token_is_refused(
    page: Page, server: Server, tenant: Tenant
) -> None:
    sign_in(page, server, tenant)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=server.url, cookies=cookies) as client:
        refused = client.post("/console/sign-out", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        still_in = client.get("/console/packages")
        assert still_in.status_code == 200
