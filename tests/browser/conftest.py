"""Browser tests: headless Chromium from Debian's packages (``apt-get install chromium``) driven by
Playwright for Python through ``executable_path`` (never ``playwright install``).

Each test writes screenshots of the pages it saw to ``test-artifacts/screenshots/`` (not
committed). Without Chromium the tests are skipped, unless ``SHIPTRACK_REQUIRE_BROWSER=1`` (set by
``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import Server, Tenant, make_tenant

CHROMIUM = os.environ.get("SHIPTRACK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: As the machine's own probe starts it: no sandbox as root, nothing fetched from the network.
_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module. Not per session: Playwright's sync API runs an event
    loop in the test thread while it is started, and the tests collected after the browser tests
    (``tests/e2e``, ...) call ``asyncio.run`` there."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("SHIPTRACK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) for one test."""
    made = browser.new_context(viewport={"width": 1280, "height": 900})
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the test's own profile."""
    return context.new_page()


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of what the page shows now (``test-artifacts/screenshots/<name>.png``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=True)


def tenant_off_loop(server: Server, *, sandbox: bool = True, name: str = "test") -> Tenant:
    """:func:`make_tenant` in a thread of its own: Playwright's sync API keeps an event loop
    running in the test's thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(make_tenant, server, sandbox=sandbox, name=name).result()


@pytest.fixture
def tenant(server: Server) -> Iterator[Tenant]:
    """A fresh sandbox account (every supported carrier connected, simulated)."""
    made = tenant_off_loop(server)
    yield made
    made.client.close()


@pytest.fixture
def other_tenant(server: Server) -> Iterator[Tenant]:
    """A second sandbox account, to prove isolation."""
    made = tenant_off_loop(server, name="other")
    yield made
    made.client.close()


def sign_in(page: Page, server: Server, tenant: Tenant) -> None:
    """Sign in to the console with the tenant's key, as a person would."""
    page.goto(f"{server.url}/console")
    page.fill("#api_key", tenant.key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/packages.*"))


@pytest.fixture
def engine_tenant(engine_server: Server) -> Iterator[Tenant]:
    """A fresh sandbox account on the server that runs the workers (packages move by
    themselves: events, status changes, deliveries)."""
    made = tenant_off_loop(engine_server, name="engine")
    yield made
    made.client.close()
