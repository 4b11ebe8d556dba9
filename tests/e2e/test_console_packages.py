"""The console's Packages pages over HTTP, as a browser without JavaScript uses them: the list's
filters and keyset pages, another account's package, and stop/restart with and without the
session's CSRF token."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server, Tenant
from tests.support import get_tracking, start_tracking

ROW_LINK = re.compile(r'<a class="mono" href="(/console/packages/se-\d+)">([^<]+)</a>')


@contextlib.contextmanager
def console(server: Server, tenant: Tenant) -> Iterator[httpx.Client]:
    """A client signed in to the console with the tenant's key (through the sign-in form)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        form = client.get("/console/sign-in")
        token = _field(form.text, "csrf_token")
        data = {"csrf_token": token, "api_key": tenant.key}
        signed_in = client.post("/console/sign-in", data=data)
        assert signed_in.status_code == 303, signed_in.text
        yield client


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field"
    return html.unescape(found.group(1))


def _numbers(page: str) -> list[str]:
    return [number for _, number in ROW_LINK.findall(page)]


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def signed_in(server: Server, tenant: Tenant) -> Iterator[httpx.Client]:
    """The tenant's console, with a ``track`` webhook so packages can be started."""
    tenant.add_track_webhook()
    with console(server, tenant) as client:
        yield client


def test_filters_and_two_pages_without_overlap_keep_the_filters(
    signed_in: httpx.Client, tenant: Tenant
) -> None:
    numbers = [f"1ZPAGE{n:04d}" for n in range(53)]
    for number in numbers:
        start_tracking(tenant, "ups", number)
    start_tracking(tenant, "fedex", "799911112222")
    start_tracking(tenant, "ups", "1ZOTHER0001")

    everything = signed_in.get("/console/packages")
    assert everything.status_code == 200
    assert _numbers(everything.text)[:2] == ["1ZOTHER0001", "799911112222"]  # newest first

    query = {"carrier": "ups", "q": " 1zpage", "active": "active", "status": "UN"}
    first = signed_in.get("/console/packages", params=query)
    assert first.status_code == 200
    first_rows = _numbers(first.text)
    assert first_rows == numbers[::-1][:50]
    assert _link(first.text, "prev") is None
    older = _link(first.text, "next")
    assert older is not None
    for kept in ("carrier=ups", "q=1ZPAGE", "active=active", "status=UN"):
        assert kept in older
    # The search box shows the number as it was normalised.
    assert 'value="1ZPAGE"' in first.text

    second = signed_in.get(older)
    second_rows = _numbers(second.text)
    assert second_rows == numbers[::-1][50:]
    assert not set(first_rows) & set(second_rows)
    assert _link(second.text, "next") is None
    newer = _link(second.text, "prev")
    assert newer is not None and "q=1ZPAGE" in newer
    assert _numbers(signed_in.get(newer).text) == first_rows

    fedex = signed_in.get("/console/packages", params={"carrier": "fedex"})
    assert _numbers(fedex.text) == ["799911112222"]
    stopped = signed_in.get("/console/packages", params={"active": "stopped"})
    assert _numbers(stopped.text) == []
    assert "No packages match these filters" in stopped.text
    # Just started, due now: not overdue by more than the grace.
    stale = signed_in.get("/console/packages", params={"stale": "1"})
    assert _numbers(stale.text) == []


def test_a_search_no_number_can_match_is_said_on_the_page(signed_in: httpx.Client) -> None:
    refused = signed_in.get("/console/packages", params={"q": "1Z 12"})
    assert refused.status_code == 400
    assert "tracking_number may contain only" in refused.text
    forged = signed_in.get("/console/packages", params={"before": "not-a-cursor"})
    assert forged.status_code == 400
    assert "cursor" in forged.text


def test_another_accounts_package_is_the_same_404_page_as_none(
    server: Server, signed_in: httpx.Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()
    start_tracking(other_tenant, "ups", "1ZTHEIRS001")
    with console(server, other_tenant) as theirs:
        [(path, number)] = ROW_LINK.findall(theirs.get("/console/packages").text)
        assert number == "1ZTHEIRS001"
        assert theirs.get(path).status_code == 200

    answer = signed_in.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "1ZTHEIRS001" not in answer.text
    package_id = path.rsplit("/", 1)[1]
    assert f"Package {package_id} was not found" in answer.text
    none = signed_in.get("/console/packages/se-999999999")
    assert none.status_code == 404
    assert none.text.replace("se-999999999", package_id) == answer.text
    # Stopping it is refused the same way, and it stays tracked.
    token = _field(signed_in.get("/console/packages").text, "csrf_token")
    assert signed_in.post(f"{path}/stop", data={"csrf_token": token}).status_code == 404
    assert get_tracking(other_tenant, "ups", "1ZTHEIRS001")["active"] is True


def test_stop_needs_the_csrf_token_then_stop_and_restart_flash(
    signed_in: httpx.Client, tenant: Tenant
) -> None:
    start_tracking(tenant, "ups", "1ZSTOPME0001")
    [(path, _)] = ROW_LINK.findall(signed_in.get("/console/packages").text)
    page = signed_in.get(path)
    assert page.status_code == 200
    assert "Stop tracking" in page.text
    token = _field(page.text, "csrf_token")

    refused = signed_in.post(f"{path}/stop", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert signed_in.post(f"{path}/stop").status_code == 403
    assert get_tracking(tenant, "ups", "1ZSTOPME0001")["active"] is True

    stopped = signed_in.post(f"{path}/stop", data={"csrf_token": token})
    assert stopped.status_code == 303
    assert stopped.headers["location"] == f"{path}?done=stopped"
    after_stop = signed_in.get(stopped.headers["location"])
    assert "Tracking stopped" in after_stop.text
    assert "Restart tracking" in after_stop.text
    assert get_tracking(tenant, "ups", "1ZSTOPME0001")["stop_reason"] == "stopped_by_user"
    listed = signed_in.get("/console/packages", params={"active": "stopped"})
    assert _numbers(listed.text) == ["1ZSTOPME0001"]

    restarted = signed_in.post(f"{path}/start", data={"csrf_token": token})
    assert restarted.status_code == 303
    assert "Tracking restarted" in signed_in.get(restarted.headers["location"]).text
    assert get_tracking(tenant, "ups", "1ZSTOPME0001")["active"] is True
