"""The public tracking page over HTTP: the link in ``GET /v1/tracking`` opens without a key, as a
page or as JSON, shows the package at city level in the asked language, and refuses wrong tokens
and too many requests with plain pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.conftest import DatabaseServer, Server, Tenant, cli_env, make_tenant, start_server
from tests.support import get_tracking, start_tracking, wait_until_stopped

OUT_FOR_DELIVERY = sandbox_number("ups", SCENARIOS[1])
#: ``secrets.token_urlsafe(16)``.
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
PUBLIC_HEADERS = {
    "cache-control": "no-store",
    "x-robots-tag": "noindex, nofollow",
    "referrer-policy": "no-referrer",
}


def page_path(body: dict[str, Any]) -> str:
    """The path of a package's public page (its ``public_url`` starts with the configured public
    base URL, which the test servers do not listen on)."""
    path: str = urlsplit(body["public_url"]).path
    assert re.fullmatch(r"/t/[A-Za-z0-9_-]{22}", path), body["public_url"]
    return path


def assert_public_headers(response: httpx.Response) -> None:
    for name, value in PUBLIC_HEADERS.items():
        assert response.headers[name] == value, name


@pytest.fixture(scope="module")
def delivered(engine_server: Server) -> Iterator[tuple[Tenant, dict[str, Any]]]:
    """A sandbox account whose out-for-delivery package has been delivered (about five seconds
    on the fast sandbox clock, so the module shares it); its tracking."""
    tenant = make_tenant(engine_server)
    tenant.add_track_webhook()
    start_tracking(tenant, "ups", OUT_FOR_DELIVERY)
    yield tenant, wait_until_stopped(tenant, "ups", OUT_FOR_DELIVERY)
    tenant.client.close()


def test_the_public_url_opens_a_page_without_a_key_that_hides_the_signer(
    engine_server: Server, delivered: tuple[Tenant, dict[str, Any]]
) -> None:
    _, body = delivered
    assert body["public_url"].startswith("http://127.0.0.1:8080/t/")
    assert body["status_code"] == "DE"
    assert body["events"][0]["signer"] == "J SMITH"  # the API shows it; the page must not

    page = httpx.get(engine_server.url + page_path(body))

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert_public_headers(page)
    html = page.text
    assert '<html lang="en">' in html
    assert "Your package has been delivered." in html
    assert "UPS" in html and OUT_FOR_DELIVERY in html
    assert "Out for delivery" in html and "New York, NY, US" in html
    assert "Austin, TX, US" in html
    assert body["tracking_url"].replace("&", "&amp;") in html
    # A stopped (delivered) package keeps its page, and says tracking has ended.
    assert "Tracking has ended" in html
    for hidden in ("J SMITH", "10001", "78756", "Delivered, front door", "se-", "API-Key"):
        assert hidden not in html, hidden


def test_the_page_speaks_the_asked_language(
    engine_server: Server, delivered: tuple[Tenant, dict[str, Any]]
) -> None:
    path = page_path(delivered[1])

    german = httpx.get(engine_server.url + path, headers={"Accept-Language": "de-AT,en;q=0.5"})
    spanish = httpx.get(engine_server.url + path, params={"lang": "es"}, headers={
        "Accept-Language": "de"
    })  # fmt: skip

    assert '<html lang="de">' in german.text
    assert "Ihre Sendung wurde zugestellt." in german.text
    assert german.headers["content-language"] == "de"
    assert re.search(
        r"(Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag), ", german.text
    )
    assert '<html lang="es">' in spanish.text
    assert "Su paquete ha sido entregado." in spanish.text
    # The switcher links the other languages' pages (plain links: no script needed).
    for lang in ("en", "de", "fr"):
        assert f'href="{path}?lang={lang}"' in spanish.text
    assert f'href="{path}?lang=es"' not in spanish.text


def test_the_same_data_as_json_with_codes_and_the_sentence_in_the_asked_language(
    engine_server: Server, delivered: tuple[Tenant, dict[str, Any]]
) -> None:
    _, body = delivered

    answer = httpx.get(
        engine_server.url + page_path(body),
        params={"lang": "fr"},
        headers={"Accept": "application/json"},
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert_public_headers(answer)
    shown = answer.json()
    assert set(shown) == {
        "language",
        "carrier_code",
        "carrier_name",
        "tracking_number",
        "tracking_url",
        "status_code",
        "status_detail_code",
        "sentence",
        "estimated_delivery_date",
        "actual_delivery_date",
        "checked_at",
        "active",
        "events",
    }
    assert (shown["language"], shown["sentence"]) == ("fr", "Votre colis a été livré.")
    assert (shown["status_code"], shown["status_detail_code"]) == ("DE", "DELIVERED")
    assert (shown["carrier_code"], shown["carrier_name"]) == ("ups", "UPS")
    assert shown["tracking_url"] == body["tracking_url"]
    assert shown["actual_delivery_date"] == body["actual_delivery_date"]
    assert shown["checked_at"] == body["last_checked_at"]
    assert shown["active"] is False
    assert len(shown["events"]) == len(body["events"])
    newest = shown["events"][0]
    assert newest["status_code"] == "DE"
    assert (newest["city_locality"], newest["state_province"], newest["country_code"]) == (
        "New York",
        "NY",
        "US",
    )
    assert newest["occurred_at"] == body["events"][0]["occurred_at"]
    assert newest["utc_offset"] == "-05:00"
    assert "J SMITH" not in answer.text and "10001" not in answer.text


def test_each_package_has_its_own_page_kept_across_a_restart(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    tenant.add_track_webhook()
    other_tenant.add_track_webhook()
    start_tracking(tenant, "ups", "1ZPUBLIC0000001")
    start_tracking(other_tenant, "ups", "1ZPUBLIC0000001")
    mine = get_tracking(tenant, "ups", "1ZPUBLIC0000001")["public_url"]
    theirs = get_tracking(other_tenant, "ups", "1ZPUBLIC0000001")["public_url"]
    assert mine != theirs
    assert TOKEN.fullmatch(mine.rsplit("/", 1)[1])

    assert tenant.client.post(
        "/v1/tracking/stop", params={"carrier_code": "ups", "tracking_number": "1ZPUBLIC0000001"}
    ).status_code == 204  # fmt: skip
    stopped = httpx.get(server.url + urlsplit(mine).path)
    start_tracking(tenant, "ups", "1ZPUBLIC0000001")

    assert stopped.status_code == 200
    assert get_tracking(tenant, "ups", "1ZPUBLIC0000001")["public_url"] == mine
    # Not checked yet (no workers on this server): the page says so, with no scans.
    page = httpx.get(server.url + urlsplit(mine).path)
    assert "There is no news of your package yet." in page.text
    assert "The carrier has not been asked yet." in page.text
    assert "No scans yet." in page.text


@pytest.mark.parametrize(
    "path",
    ["/t/" + "A" * 22, "/t/short", "/t/" + "x" * 200, "/t/%00%01"],
    ids=["unknown", "too-short", "too-long", "control-characters"],
)
def test_a_wrong_or_malformed_token_is_a_plain_404_page(server: Server, path: str) -> None:
    for accept in ("text/html", "application/json"):
        response = httpx.get(server.url + path, headers={"Accept": accept})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert_public_headers(response)
        assert "Not found" in response.text
        assert "request_id" not in response.text


@pytest.fixture(scope="module")
def strict_server(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server that lets an address open three public pages a minute."""
    home: Path = tmp_path_factory.mktemp("public-limit")
    env = cli_env(
        test_database.fresh(home),
        home / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_PUBLIC_PAGE_PER_MINUTE="3",
    )
    running = start_server(env, home / "server.log")
    yield running
    running.stop()


def test_too_many_pages_from_one_address_get_429_with_retry_after(strict_server: Server) -> None:
    tenant = make_tenant(strict_server)
    tenant.add_track_webhook()
    start_tracking(tenant, "ups", "1ZLIMIT")
    path = page_path(get_tracking(tenant, "ups", "1ZLIMIT"))

    # Wrong tokens count too: guessing costs the same allowance.
    answers = [httpx.get(strict_server.url + p) for p in (path, "/t/" + "B" * 22, path, path)]

    assert [a.status_code for a in answers] == [200, 404, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert_public_headers(refused)
    assert "Too many requests" in refused.text
    # The API is not affected: its limits are per account.
    assert get_tracking(tenant, "ups", "1ZLIMIT")["public_url"].endswith(path)
    tenant.client.close()
