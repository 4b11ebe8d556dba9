"""A recipient opens a package's ``public_url`` in a browser, in each of the four languages: the
browser's own language (German here) picks the page's, ``?lang=`` and the switcher's plain links
pick another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.browser.conftest import screenshot, tenant_off_loop
from tests.conftest import Server
from tests.support import start_tracking, wait_until_stopped

OUT_FOR_DELIVERY = sandbox_number("fedex", SCENARIOS[1])

#: What each language calls the days and months, written here independently of the server's own
#: tables, so a wrong table there fails here.
WEEKDAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
}
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
}
DELIVERED = {
    "en": "Your package has been delivered.",
    "de": "Ihre Sendung wurde zugestellt.",
    "fr": "Votre colis a été livré.",
    "es": "Su paquete ha sido entregado.",
}
HISTORY = {
    "en": "Tracking history",
    "de": "Sendungsverlauf",
    "fr": "Historique du suivi",
    "es": "Historial de seguimiento",
}


def day_heading(day: date, lang: str) -> str:
    """How the page must write ``day`` in ``lang``."""
    weekday, month = WEEKDAYS[lang].split()[day.weekday()], MONTHS[lang].split()[day.month - 1]
    return {
        "en": f"{weekday}, {month} {day.day}, {day.year}",
        "de": f"{weekday}, {day.day}. {month} {day.year}",
        "fr": f"{weekday} {'1er' if day.day == 1 else day.day} {month} {day.year}",
        "es": f"{weekday}, {day.day} de {month} de {day.year}",
    }[lang]


@pytest.fixture
def delivered(engine_server: Server) -> Iterator[dict[str, Any]]:
    """A FedEx package walked to delivery on the fast sandbox clock; its GET /v1/tracking."""
    tenant = tenant_off_loop(engine_server)
    tenant.add_track_webhook()
    start_tracking(tenant, "fedex", OUT_FOR_DELIVERY)
    yield wait_until_stopped(tenant, "fedex", OUT_FOR_DELIVERY)
    tenant.client.close()


@pytest.fixture
def german_context(browser: Browser) -> Iterator[BrowserContext]:
    """A browser set to German (it sends ``Accept-Language: de-DE``)."""
    made = browser.new_context(locale="de-DE", viewport={"width": 1000, "height": 900})
    yield made
    made.close()


def expect_language(page: Page, lang: str, newest_day: date) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator(".sentence")).to_have_text(DELIVERED[lang])
    expect(page.get_by_role("heading", name=HISTORY[lang])).to_be_visible()
    expect(page.locator("h3.day").first).to_have_text(day_heading(newest_day, lang))


def test_a_recipient_reads_the_public_page_in_four_languages(
    engine_server: Server, delivered: dict[str, Any], german_context: BrowserContext, page: Page
) -> None:
    url = engine_server.url + urlsplit(delivered["public_url"]).path
    newest_day = date.fromisoformat(delivered["events"][0]["carrier_occurred_at"][:10])

    # The browser's own language.
    german = german_context.new_page()
    german.goto(url)
    expect_language(german, "de", newest_day)
    expect(german.get_by_role("link", name=re.compile("FedEx"))).to_have_attribute(
        "href", delivered["tracking_url"]
    )
    expect(german.locator("body")).not_to_contain_text("J SMITH")
    screenshot(german, "public-de")

    # The switcher's plain links, from the German page.
    german.get_by_role("link", name="Français").click()
    expect_language(german, "fr", newest_day)
    screenshot(german, "public-fr")

    # ?lang= in the address wins over what the browser asks for.
    for lang in ("es", "en"):
        german.goto(f"{url}?lang={lang}")
        expect_language(german, lang, newest_day)
        screenshot(german, f"public-{lang}")

    # A browser that asks for nothing in particular gets English; a wrong link a plain page.
    page.goto(url)
    expect_language(page, "en", newest_day)
    page.goto(engine_server.url + "/t/" + "Z" * 22)
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    screenshot(page, "public-not-found")
