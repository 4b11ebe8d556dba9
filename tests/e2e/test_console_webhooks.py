"""The console's webhooks and carriers pages over plain HTTP: another account's webhook is a 404
page, a form without the CSRF token changes nothing, the API's validation messages are shown, a
rotated secret is shown exactly once, a webhook's signatures are chosen and shown, connecting a
carrier checks what the API checks, and a connection shows when its calls last worked."""

from __future__ import annotations

import re
from contextlib import closing

from tests.conftest import Server, Tenant, make_tenant
from tests.e2e.console_support import console
from tests.support import eventually, start_tracking, wait_for_tracking

WEBHOOKS = "/v1/environment/webhooks"


def _webhooks(tenant: Tenant) -> list[dict[str, object]]:
    listed = tenant.client.get(WEBHOOKS)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, object]] = listed.json()
    return found


def test_another_accounts_webhook_is_the_same_404_page(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = other_tenant.add_track_webhook()
    client, csrf = console(server, tenant)
    with closing(client):
        page = client.get(f"/console/webhooks/{theirs['webhook_id']}")
        assert page.status_code == 404
        assert "text/html" in page.headers["content-type"]
        assert f"Webhook {theirs['webhook_id']} was not found" in page.text
        rotated = client.post(
            f"/console/webhooks/{theirs['webhook_id']}/rotate", data={"csrf_token": csrf}
        )
        assert rotated.status_code == 404
        deleted = client.post(
            f"/console/webhooks/{theirs['webhook_id']}/delete", data={"csrf_token": csrf}
        )
        assert deleted.status_code == 404
        assert str(theirs["url"]) not in client.get("/console/webhooks").text
    assert len(_webhooks(other_tenant)) == 1


def test_creating_without_the_csrf_token_is_refused_and_creates_nothing(
    server: Server, tenant: Tenant
) -> None:
    client, _csrf = console(server, tenant)
    with closing(client):
        for data in (
            {"event": "track", "url": "https://receiver.invalid/a"},
            {"event": "track", "url": "https://receiver.invalid/a", "csrf_token": "forged"},
        ):
            refused = client.post("/console/webhooks", data=data)
            assert refused.status_code == 403
            assert "CSRF" in refused.text
    assert _webhooks(tenant) == []


def test_a_validation_error_shows_the_apis_message_and_stores_nothing(
    server: Server, tenant: Tenant
) -> None:
    client, csrf = console(server, tenant)
    api = tenant.client.post(WEBHOOKS, json={"event": "track", "url": "ftp://files.invalid/x"})
    assert api.status_code == 400
    with closing(client):
        page = client.post(
            "/console/webhooks",
            data={"csrf_token": csrf, "event": "track", "url": "ftp://files.invalid/x"},
        )
        assert page.status_code == 400
        assert api.json()["errors"][0]["message"].replace("'", "&#39;") in page.text
        assert 'value="ftp://files.invalid/x"' in page.text  # the form keeps what was typed
        bad_store = client.post(
            "/console/webhooks",
            data={
                "csrf_token": csrf,
                "event": "track",
                "url": "https://receiver.invalid/s",
                "store_id": "twelve",
            },
        )
        assert bad_store.status_code == 400
        assert "store_id: Input should be a valid integer" in bad_store.text
        reserved = client.post(
            "/console/webhooks",
            data={
                "csrf_token": csrf,
                "event": "track",
                "url": "https://receiver.invalid/h",
                "headers": "webhook-id: mine",
            },
        )
        assert reserved.status_code == 400
        assert "is set by shiptrack and cannot be overridden" in reserved.text
    assert _webhooks(tenant) == []


def test_editing_a_webhook_keeps_the_apis_rules(server: Server, tenant: Tenant) -> None:
    webhook = tenant.add_track_webhook()
    client, csrf = console(server, tenant)
    path = f"/console/webhooks/{webhook['webhook_id']}"
    with closing(client):
        refused = client.post(path, data={"csrf_token": csrf, "url": "not a url"})
        assert refused.status_code == 400
        assert "url must be an absolute http:// or https:// URL" in refused.text
        saved = client.post(
            path,
            data={
                "csrf_token": csrf,
                "url": "https://receiver.invalid/renamed",
                "name": "Orders",
                "headers": "X-Team: parcels",
            },
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == f"{path}?done=webhook-saved"
        assert "Webhook saved." in client.get(saved.headers["location"]).text
    [stored] = _webhooks(tenant)
    assert stored["url"] == "https://receiver.invalid/renamed"
    assert stored["name"] == "Orders"
    assert stored["headers"] == [{"key": "X-Team", "value": "parcels"}]


def test_the_signatures_of_a_webhook_are_chosen_and_shown_as_the_api_keeps_them(
    server: Server, tenant: Tenant
) -> None:
    client, csrf = console(server, tenant)
    with closing(client):
        made = client.post(
            "/console/webhooks",
            data={
                "csrf_token": csrf,
                "event": "track",
                "url": "https://receiver.invalid/signed",
                "signatures": "standard",
            },
        )
        assert made.status_code == 303, made.text
        [stored] = _webhooks(tenant)
        assert stored["signatures"] == ["standard"]
        path = f"/console/webhooks/{stored['webhook_id']}"
        assert '<option value="standard" selected>' in client.get(path).text

        saved = client.post(
            path,
            data={
                "csrf_token": csrf,
                "url": "https://receiver.invalid/signed",
                "signatures": "both",
            },
        )
        assert saved.status_code == 303
        assert '<option value="both" selected>' in client.get(path).text
        refused = client.post(
            path,
            data={
                "csrf_token": csrf,
                "url": "https://receiver.invalid/signed",
                "signatures": "md5",
            },
        )
        assert refused.status_code == 400
        assert "is not a signature scheme" in refused.text
    [stored] = _webhooks(tenant)
    assert "signatures" not in stored  # both again: ShipEngine's object, no extension field


def test_a_rotated_secret_is_shown_once_and_signs_from_then_on(
    server: Server, tenant: Tenant
) -> None:
    webhook = tenant.add_track_webhook()
    client, csrf = console(server, tenant)
    path = f"/console/webhooks/{webhook['webhook_id']}"
    with closing(client):
        rotated = client.post(f"{path}/rotate", data={"csrf_token": csrf})
        assert rotated.status_code == 303
        assert "whsec_" not in rotated.headers["location"]  # never in a URL
        shown = client.get(rotated.headers["location"])
        assert shown.status_code == 200
        [secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", shown.text)
        again = client.get(path)
        assert "whsec_" not in again.text
    current = tenant.client.get(f"{WEBHOOKS}/{webhook['webhook_id']}/secret")
    assert current.json()["secret"] == secret
    assert secret != webhook["secret"]


def test_connecting_a_carrier_validates_like_the_api(
    server: Server, production_tenant: Tenant
) -> None:
    client, csrf = console(server, production_tenant)
    with closing(client):
        missing = client.post("/console/carriers/ups", data={"csrf_token": csrf})
        assert missing.status_code == 400
        assert "client_id is required to connect UPS" in missing.text
        foreign = client.post(
            "/console/carriers/dhl_express",
            data={"csrf_token": csrf, "api_key": "k", "requests_per_minute": "lots"},
        )
        assert foreign.status_code == 400
        assert "requests_per_minute: Input should be a valid number" in foreign.text
        unknown = client.post("/console/carriers/pigeon", data={"csrf_token": csrf})
        assert unknown.status_code == 400
        assert "does not support the carrier" in unknown.text
    assert production_tenant.client.get("/v1/carriers").json()["carriers"] == []


def test_carriers_show_their_health_and_disconnect(server: Server, tenant: Tenant) -> None:
    client, csrf = console(server, tenant)
    carriers = tenant.client.get("/v1/carriers").json()["carriers"]
    ups = next(c for c in carriers if c["carrier_code"] == "ups")
    with closing(client):
        page = client.get("/console/carriers")
        assert page.status_code == 200
        assert ups["carrier_id"] in page.text
        assert "left now" in page.text
        gone = client.post(
            f"/console/carriers/{ups['carrier_id']}/disconnect", data={"csrf_token": csrf}
        )
        assert gone.status_code == 303
        assert "Carrier disconnected." in client.get(gone.headers["location"]).text
        connected = client.post(
            "/console/carriers/ups", data={"csrf_token": csrf, "nickname": "Second UPS"}
        )
        assert connected.status_code == 303
    after = tenant.client.get("/v1/carriers").json()["carriers"]
    assert ups["carrier_id"] not in [c["carrier_id"] for c in after]
    assert "Second UPS" in [c["nickname"] for c in after]


def test_a_connection_that_checked_packages_shows_when_it_last_worked(
    engine_server: Server,
) -> None:
    account = make_tenant(engine_server)
    client, _csrf = console(engine_server, account)
    with closing(client), closing(account.client):
        carriers = account.client.get("/v1/carriers").json()["carriers"]
        ups = next(c for c in carriers if c["carrier_code"] == "ups")

        def ups_row() -> str:
            page = client.get("/console/carriers")
            assert page.status_code == 200
            found = re.search(rf'<tr id="carrier-{ups["carrier_id"]}">(.*?)</tr>', page.text, re.S)
            assert found, page.text
            return found.group(1)

        assert "none yet" in ups_row()
        account.add_track_webhook()  # tracking needs one
        start_tracking(account, "ups", "1ZCONSOLE01")
        wait_for_tracking(
            account, "ups", "1ZCONSOLE01", lambda body: body["status_code"] != "UN", "a check"
        )

        def worked() -> str | None:
            row = ups_row()
            return row if "none yet" not in row else None

        row = eventually(worked, "the connection's success on the carriers page")
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", row)
