"""``/v1/environment/webhooks`` over real HTTP: create, list, get, update and delete webhooks.

Covers the response shapes (a bare array for the list, the six-key ``webhook`` object of the
official schema, plus the signing ``secret`` in the creation answer only), custom headers, the 409
on a second webhook for the same event and URL, partial updates with ``PUT`` (the event cannot
change), deletion, account isolation, every validation rule on the request bodies (each error
naming its field) and malformed versus unknown webhook ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import Tenant, assert_error

WEBHOOKS = "/v1/environment/webhooks"
#: The official ShipEngine OpenAPI extract kept in the repository (see tests/contract/README.md).
SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"
URL = "https://example.invalid/hooks/track"
#: A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64.
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")


def _schema_properties(name: str) -> set[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return set(spec["components"]["schemas"][name]["properties"])


def _create(tenant: Tenant, **body: Any) -> dict[str, Any]:
    """Create a webhook; its official fields (the answer's signing ``secret`` is checked and left
    out, since nothing else shows it)."""
    body.setdefault("event", "track")
    body.setdefault("url", URL)
    response = tenant.client.post(WEBHOOKS, json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    assert SECRET.fullmatch(created.pop("secret")), response.text
    return created


def _get(tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    response = tenant.client.get(f"{WEBHOOKS}/{webhook_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _post(tenant: Tenant, body: object) -> httpx.Response:
    return tenant.client.post(WEBHOOKS, json=body)


def _listed_ids(tenant: Tenant) -> list[str]:
    response = tenant.client.get(WEBHOOKS)
    assert response.status_code == 200, response.text
    return [webhook["webhook_id"] for webhook in response.json()]


# --- list and create ----------------------------------------------------------------------------


def test_list_of_a_new_account_is_an_empty_bare_array(tenant: Tenant) -> None:
    response = tenant.client.get(WEBHOOKS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == []


def test_create_returns_the_webhook_with_every_schema_field(tenant: Tenant) -> None:
    response = _post(
        tenant,
        {"event": "track", "url": URL, "name": "My Webhook", "store_id": 123456},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # ShipEngine's webhook object, plus the secret that signs its deliveries.
    assert set(body) == _schema_properties("webhook") | {"secret"}
    assert body["webhook_id"].startswith("se-")
    assert SECRET.fullmatch(body["secret"]), body
    assert body == {
        "webhook_id": body["webhook_id"],
        "url": URL,
        "event": "track",
        "headers": [],
        "name": "My Webhook",
        "store_id": 123456,
        "secret": body["secret"],
    }


def test_the_secret_is_shown_at_creation_and_by_the_secret_endpoint_only(tenant: Tenant) -> None:
    first = _post(tenant, {"event": "track", "url": URL}).json()
    second = _post(tenant, {"event": "track", "url": "https://example.invalid/other"}).json()
    assert first["secret"] != second["secret"]

    for webhook in (first, second):
        assert "secret" not in _get(tenant, webhook["webhook_id"])
        response = tenant.client.get(f"{WEBHOOKS}/{webhook['webhook_id']}/secret")
        assert response.status_code == 200, response.text
        assert response.json() == {"secret": webhook["secret"]}
    assert all("secret" not in listed for listed in tenant.client.get(WEBHOOKS).json())


def test_optional_fields_left_out_are_null_and_headers_empty(tenant: Tenant) -> None:
    body = _create(tenant)
    assert body["name"] is None
    assert body["store_id"] is None
    assert body["headers"] == []


def test_created_webhook_is_listed_and_readable_by_id(tenant: Tenant) -> None:
    created = _create(tenant, name="listed")
    listing = tenant.client.get(WEBHOOKS).json()
    assert listing == [created]
    assert _get(tenant, created["webhook_id"]) == created


def test_list_returns_every_webhook_oldest_first(tenant: Tenant) -> None:
    first = _create(tenant, url="https://example.invalid/a")
    second = _create(tenant, url="https://example.invalid/b", event="batch")
    third = _create(tenant, url="https://example.invalid/c")
    assert _listed_ids(tenant) == [
        first["webhook_id"],
        second["webhook_id"],
        third["webhook_id"],
    ]


def test_every_webhook_event_of_the_schema_can_be_registered(tenant: Tenant) -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    events = spec["components"]["schemas"]["webhook_event"]["enum"]
    for event in events:
        assert _create(tenant, event=event)["event"] == event
    assert sorted(w["event"] for w in tenant.client.get(WEBHOOKS).json()) == sorted(events)


def test_custom_headers_round_trip_in_order(tenant: Tenant) -> None:
    headers = [
        {"key": "Authorization", "value": "Bearer abc.def"},
        {"key": "X-Custom-Key", "value": "custom value with spaces"},
        {"key": "x-empty", "value": ""},
    ]
    created = _create(tenant, headers=headers)
    assert created["headers"] == headers
    assert _get(tenant, created["webhook_id"])["headers"] == headers
    assert tenant.client.get(WEBHOOKS).json()[0]["headers"] == headers


def test_twenty_custom_headers_are_accepted(tenant: Tenant) -> None:
    headers = [{"key": f"X-H{i}", "value": str(i)} for i in range(20)]
    assert _create(tenant, headers=headers)["headers"] == headers


def test_store_id_accepts_the_largest_int32(tenant: Tenant) -> None:
    assert _create(tenant, store_id=2**31 - 1)["store_id"] == 2**31 - 1


# --- conflicts ----------------------------------------------------------------------------------


def test_same_event_and_url_twice_is_a_409(tenant: Tenant) -> None:
    first = _create(tenant)
    response = _post(tenant, {"event": "track", "url": URL, "name": "again"})
    assert_error(
        response, 409, "webhook_event_type_conflict", error_type="validation", field_name="url"
    )
    assert _listed_ids(tenant) == [first["webhook_id"]]


def test_same_url_with_another_event_is_allowed(tenant: Tenant) -> None:
    track = _create(tenant, event="track")
    batch = _create(tenant, event="batch")
    assert track["webhook_id"] != batch["webhook_id"]
    assert _listed_ids(tenant) == [track["webhook_id"], batch["webhook_id"]]


def test_same_event_with_another_url_is_allowed(tenant: Tenant) -> None:
    _create(tenant, url="https://example.invalid/one")
    _create(tenant, url="https://example.invalid/two")
    assert len(_listed_ids(tenant)) == 2


def test_same_event_and_url_is_allowed_again_after_the_first_was_deleted(tenant: Tenant) -> None:
    first = _create(tenant)
    assert tenant.client.delete(f"{WEBHOOKS}/{first['webhook_id']}").status_code == 204
    second = _create(tenant)
    assert second["webhook_id"] != first["webhook_id"]
    assert _listed_ids(tenant) == [second["webhook_id"]]


def test_another_account_may_register_the_same_event_and_url(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = _create(tenant)
    theirs = _create(other_tenant)
    assert mine["webhook_id"] != theirs["webhook_id"]


# --- get, isolation and ids ---------------------------------------------------------------------


def test_webhooks_of_another_account_are_invisible(tenant: Tenant, other_tenant: Tenant) -> None:
    created = _create(tenant)
    webhook_id = created["webhook_id"]
    assert other_tenant.client.get(WEBHOOKS).json() == []
    for response in (
        other_tenant.client.get(f"{WEBHOOKS}/{webhook_id}"),
        other_tenant.client.put(f"{WEBHOOKS}/{webhook_id}", json={"name": "stolen"}),
        other_tenant.client.delete(f"{WEBHOOKS}/{webhook_id}"),
    ):
        assert_error(response, 404, "invalid_identifier", field_name="webhook_id")
    assert _get(tenant, webhook_id) == created


def test_unknown_id_is_404_like_another_accounts_id(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = _create(other_tenant)["webhook_id"]
    unknown = tenant.client.get(f"{WEBHOOKS}/se-999999999")
    not_mine = tenant.client.get(f"{WEBHOOKS}/{foreign}")
    first_unknown = assert_error(unknown, 404, "invalid_identifier", field_name="webhook_id")
    first_foreign = assert_error(not_mine, 404, "invalid_identifier", field_name="webhook_id")
    assert first_unknown["error_type"] == first_foreign["error_type"] == "validation"


@pytest.mark.parametrize("webhook_id", ["se-abc", "se-0", "se-1-2"])
def test_well_formed_ids_shiptrack_never_issues_are_404(tenant: Tenant, webhook_id: str) -> None:
    response = tenant.client.get(f"{WEBHOOKS}/{webhook_id}")
    assert_error(response, 404, "invalid_identifier", field_name="webhook_id")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "webhook_id", ["123", "abc", "SE-1", "se_1", "se-", "se-1" + "0" * 25, "se-1%0A", "se-1%20"]
)
def test_malformed_ids_are_400(tenant: Tenant, method: str, webhook_id: str) -> None:
    body = {"name": "x"} if method == "PUT" else None
    response = tenant.client.request(method, f"{WEBHOOKS}/{webhook_id}", json=body)
    assert_error(response, 400, "invalid_identifier", field_name="webhook_id")


# --- update -------------------------------------------------------------------------------------


def test_put_changes_only_the_given_fields(tenant: Tenant) -> None:
    headers = [{"key": "X-Token", "value": "t1"}]
    created = _create(tenant, name="before", store_id=7, headers=headers)
    webhook_id = created["webhook_id"]

    response = tenant.client.put(f"{WEBHOOKS}/{webhook_id}", json={"name": "after"})
    assert response.status_code == 204
    assert response.content == b""
    assert _get(tenant, webhook_id) == {**created, "name": "after"}

    new_url = "https://example.invalid/moved"
    assert tenant.client.put(f"{WEBHOOKS}/{webhook_id}", json={"url": new_url}).status_code == 204
    assert _get(tenant, webhook_id) == {**created, "name": "after", "url": new_url}

    new_headers = [{"key": "X-Other", "value": "v"}, {"key": "X-Token", "value": "t2"}]
    response = tenant.client.put(
        f"{WEBHOOKS}/{webhook_id}", json={"headers": new_headers, "store_id": 8}
    )
    assert response.status_code == 204
    assert _get(tenant, webhook_id) == {
        **created,
        "name": "after",
        "url": new_url,
        "headers": new_headers,
        "store_id": 8,
    }
    assert tenant.client.get(WEBHOOKS).json() == [_get(tenant, webhook_id)]


def test_put_with_an_empty_object_changes_nothing(tenant: Tenant) -> None:
    created = _create(tenant, name="same", headers=[{"key": "X-A", "value": "1"}])
    response = tenant.client.put(f"{WEBHOOKS}/{created['webhook_id']}", json={})
    assert response.status_code == 204
    assert _get(tenant, created["webhook_id"]) == created


def test_put_can_clear_headers_name_and_store_id(tenant: Tenant) -> None:
    created = _create(tenant, name="n", store_id=5, headers=[{"key": "X-A", "value": "1"}])
    response = tenant.client.put(
        f"{WEBHOOKS}/{created['webhook_id']}",
        json={"headers": [], "name": None, "store_id": None},
    )
    assert response.status_code == 204
    assert _get(tenant, created["webhook_id"]) == {
        **created,
        "headers": [],
        "name": None,
        "store_id": None,
    }


def test_put_keeping_its_own_url_is_not_a_conflict(tenant: Tenant) -> None:
    created = _create(tenant)
    response = tenant.client.put(
        f"{WEBHOOKS}/{created['webhook_id']}", json={"url": URL, "name": "renamed"}
    )
    assert response.status_code == 204
    assert _get(tenant, created["webhook_id"])["name"] == "renamed"


def test_put_moving_onto_another_webhooks_event_and_url_is_a_409(tenant: Tenant) -> None:
    taken = "https://example.invalid/taken"
    _create(tenant, url=taken)
    moving = _create(tenant, url="https://example.invalid/free", name="mover")
    response = tenant.client.put(
        f"{WEBHOOKS}/{moving['webhook_id']}", json={"url": taken, "name": "changed"}
    )
    assert_error(response, 409, "webhook_event_type_conflict", field_name="url")
    assert _get(tenant, moving["webhook_id"]) == moving


def test_put_onto_the_url_of_a_webhook_for_another_event_is_allowed(tenant: Tenant) -> None:
    _create(tenant, event="batch", url="https://example.invalid/shared")
    created = _create(tenant, url="https://example.invalid/mine")
    response = tenant.client.put(
        f"{WEBHOOKS}/{created['webhook_id']}", json={"url": "https://example.invalid/shared"}
    )
    assert response.status_code == 204
    assert _get(tenant, created["webhook_id"])["url"] == "https://example.invalid/shared"


def test_put_cannot_change_the_event(tenant: Tenant) -> None:
    created = _create(tenant)
    response = tenant.client.put(f"{WEBHOOKS}/{created['webhook_id']}", json={"event": "batch"})
    assert_error(response, 400, "invalid_field_value", field_name="event")
    assert _get(tenant, created["webhook_id"])["event"] == "track"


@pytest.mark.parametrize("field", ["url", "headers"])
def test_put_with_a_null_url_or_headers_is_400(tenant: Tenant, field: str) -> None:
    created = _create(tenant, headers=[{"key": "X-A", "value": "1"}])
    response = tenant.client.put(f"{WEBHOOKS}/{created['webhook_id']}", json={field: None})
    assert_error(response, 400, "invalid_field_value", field_name=field)
    assert _get(tenant, created["webhook_id"]) == created


def test_put_without_a_body_is_400_request_body_required(tenant: Tenant) -> None:
    created = _create(tenant)
    response = tenant.client.put(f"{WEBHOOKS}/{created['webhook_id']}")
    assert_error(response, 400, "request_body_required", error_type="validation")


@pytest.mark.parametrize(
    ("body", "error_code", "field_name"),
    [
        ({"url": "ftp://example.invalid/hook"}, "invalid_field_value", "url"),
        ({"url": "/relative/hook"}, "invalid_field_value", "url"),
        ({"url": 123}, "invalid_field_value", "url"),
        ({"store_id": "1"}, "invalid_field_value", "store_id"),
        ({"store_id": 2**31}, "invalid_field_value", "store_id"),
        ({"headers": [{"key": "Host", "value": "evil"}]}, "invalid_field_value", "headers[0]"),
        ({"headers": [{"key": "X-A", "value": "a\nb"}]}, "invalid_field_value", "headers[0].value"),
        ({"unknown": 1}, "invalid_field_value", "unknown"),
    ],
)
def test_put_validates_like_create(
    tenant: Tenant, body: dict[str, Any], error_code: str, field_name: str
) -> None:
    created = _create(tenant)
    response = tenant.client.put(f"{WEBHOOKS}/{created['webhook_id']}", json=body)
    assert_error(response, 400, error_code, field_name=field_name)
    assert _get(tenant, created["webhook_id"]) == created


def test_put_of_an_unknown_webhook_is_404(tenant: Tenant) -> None:
    response = tenant.client.put(f"{WEBHOOKS}/se-999999999", json={"name": "x"})
    assert_error(response, 404, "invalid_identifier", field_name="webhook_id")


# --- delete -------------------------------------------------------------------------------------


def test_delete_removes_the_webhook(tenant: Tenant) -> None:
    kept = _create(tenant, url="https://example.invalid/kept")
    doomed = _create(tenant, url="https://example.invalid/doomed")
    response = tenant.client.delete(f"{WEBHOOKS}/{doomed['webhook_id']}")
    assert response.status_code == 204
    assert response.content == b""
    gone = tenant.client.get(f"{WEBHOOKS}/{doomed['webhook_id']}")
    assert_error(gone, 404, "invalid_identifier", field_name="webhook_id")
    assert _listed_ids(tenant) == [kept["webhook_id"]]


def test_a_deleted_webhook_can_be_neither_updated_nor_deleted_again(tenant: Tenant) -> None:
    created = _create(tenant)
    path = f"{WEBHOOKS}/{created['webhook_id']}"
    assert tenant.client.delete(path).status_code == 204
    assert_error(tenant.client.delete(path), 404, "invalid_identifier", field_name="webhook_id")
    assert_error(
        tenant.client.put(path, json={"name": "x"}),
        404,
        "invalid_identifier",
        field_name="webhook_id",
    )


# --- validation of create -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"url": URL}, "event"),
        ({"event": "track"}, "url"),
        ({"event": "track", "url": ""}, "url"),
    ],
)
def test_create_without_event_or_url_is_400(
    tenant: Tenant, body: dict[str, Any], field_name: str
) -> None:
    assert_error(_post(tenant, body), 400, "field_value_required", field_name=field_name)
    assert _listed_ids(tenant) == []


def test_create_with_neither_event_nor_url_names_both(tenant: Tenant) -> None:
    response = _post(tenant, {})
    assert_error(response, 400, "field_value_required")
    named = {error["field_name"] for error in response.json()["errors"]}
    assert named == {"event", "url"}


def test_create_without_a_body_is_400_request_body_required(tenant: Tenant) -> None:
    assert_error(tenant.client.post(WEBHOOKS), 400, "request_body_required")


@pytest.mark.parametrize("event", ["nope", "TRACK", "tracking", ""])
def test_create_with_an_unknown_event_is_400(tenant: Tenant, event: str) -> None:
    response = _post(tenant, {"event": event, "url": URL})
    assert_error(response, 400, "invalid_field_value", field_name="event")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.invalid/hook",
        "mailto:hooks@example.invalid",
        "/relative/hook",
        "example.invalid/hook",
        "https://",
        "https://example.invalid/with space",
        " https://example.invalid/hook",
        "https://example.invalid:99999/hook",
    ],
)
def test_create_with_a_url_that_is_not_absolute_http_is_400(tenant: Tenant, url: str) -> None:
    response = _post(tenant, {"event": "track", "url": url})
    assert_error(response, 400, "invalid_field_value", field_name="url")
    assert _listed_ids(tenant) == []


def test_url_of_2048_characters_is_accepted_and_2049_refused(tenant: Tenant) -> None:
    prefix = "https://example.invalid/"
    longest = prefix + "a" * (2048 - len(prefix))
    assert _create(tenant, url=longest)["url"] == longest
    response = _post(tenant, {"event": "track", "url": longest + "a"})
    assert_error(response, 400, "invalid_string_length", field_name="url")


def test_http_urls_with_ports_paths_and_queries_are_accepted(tenant: Tenant) -> None:
    url = "http://hooks.example.invalid:8080/path/to/hook?token=abc&x=1"
    assert _create(tenant, url=url)["url"] == url


@pytest.mark.parametrize(
    ("extra", "field_name"),
    [
        ({"url": 123}, "url"),
        ({"event": 1}, "event"),
        ({"store_id": "1"}, "store_id"),
        ({"store_id": 1.5}, "store_id"),
        ({"store_id": True}, "store_id"),
        ({"name": 5}, "name"),
        ({"headers": {"X-A": "1"}}, "headers"),
        ({"headers": "X-A: 1"}, "headers"),
        ({"headers": ["X-A"]}, "headers[0]"),
        ({"headers": [{"key": 1, "value": "x"}]}, "headers[0].key"),
        ({"headers": [{"key": "X-A", "value": 1}]}, "headers[0].value"),
        ({"headers": [{"key": "X-A", "value": "1", "extra": "2"}]}, "headers[0].extra"),
        ({"webhook_id": "se-1"}, "webhook_id"),
    ],
)
def test_create_with_wrong_types_or_unknown_fields_is_400(
    tenant: Tenant, extra: dict[str, Any], field_name: str
) -> None:
    response = _post(tenant, {"event": "track", "url": URL, **extra})
    assert_error(response, 400, "invalid_field_value", field_name=field_name)
    assert _listed_ids(tenant) == []


@pytest.mark.parametrize("store_id", [2**31, -1, 2**63])
def test_create_with_store_id_outside_int32_is_400(tenant: Tenant, store_id: int) -> None:
    response = _post(tenant, {"event": "track", "url": URL, "store_id": store_id})
    assert_error(response, 400, "invalid_field_value", field_name="store_id")


@pytest.mark.parametrize("body", [[], "track", 1, None])
def test_create_with_a_body_that_is_not_an_object_is_400(tenant: Tenant, body: object) -> None:
    response = tenant.client.post(
        WEBHOOKS, content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_field_value")


def test_header_with_an_empty_name_is_400_naming_the_key(tenant: Tenant) -> None:
    response = _post(tenant, {"event": "track", "url": URL, "headers": [{"key": "", "value": "x"}]})
    assert_error(response, 400, "field_value_required", field_name="headers[0].key")


def test_header_without_a_value_is_400_naming_the_value(tenant: Tenant) -> None:
    response = _post(tenant, {"event": "track", "url": URL, "headers": [{"key": "X-A"}]})
    assert_error(response, 400, "field_value_required", field_name="headers[0].value")


@pytest.mark.parametrize(
    "name", ["Bad Name", "X-A:", "X-\u00c4", "(paren)", "a/b", "X-A\n", "\nX-A"]
)
def test_header_with_a_name_that_is_not_an_http_token_is_400(tenant: Tenant, name: str) -> None:
    headers = [{"key": "X-Ok", "value": "1"}, {"key": name, "value": "x"}]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_field_value", field_name="headers[1]")
    assert _listed_ids(tenant) == []


def test_header_name_over_128_characters_is_400(tenant: Tenant) -> None:
    headers = [{"key": "X" * 129, "value": "x"}]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_string_length", field_name="headers[0].key")


@pytest.mark.parametrize(
    "name",
    [
        "Content-Type",
        "content-length",
        "HOST",
        "User-Agent",
        "Transfer-Encoding",
        "Connection",
        "webhook-signature",
        "Webhook-Id",
        "X-ShipEngine-Timestamp",
        "x-shipengine-rsa-sha256-signature",
    ],
)
def test_header_that_shiptrack_sets_itself_is_refused(tenant: Tenant, name: str) -> None:
    response = _post(
        tenant, {"event": "track", "url": URL, "headers": [{"key": name, "value": "x"}]}
    )
    assert_error(response, 400, "invalid_field_value", field_name="headers[0]")


def test_the_same_header_twice_is_refused_whatever_its_case(tenant: Tenant) -> None:
    headers = [
        {"key": "X-Token", "value": "1"},
        {"key": "X-Other", "value": "2"},
        {"key": "x-token", "value": "3"},
    ]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_field_value", field_name="headers[2]")


def test_more_than_twenty_headers_is_400(tenant: Tenant) -> None:
    headers = [{"key": f"X-H{i}", "value": str(i)} for i in range(21)]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_field_value", field_name="headers")
    assert _listed_ids(tenant) == []


@pytest.mark.parametrize("value", ["a\nb", "a\r\nInjected: yes", "nul\x00", "bell\x07"])
def test_header_value_with_a_control_character_is_400(tenant: Tenant, value: str) -> None:
    headers = [{"key": "X-A", "value": value}]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_field_value", field_name="headers[0].value")


def test_header_value_over_1024_characters_is_400(tenant: Tenant) -> None:
    headers = [{"key": "X-A", "value": "v" * 1025}]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_string_length", field_name="headers[0].value")


def test_every_problem_with_headers_is_reported_with_its_field(tenant: Tenant) -> None:
    headers = [
        {"key": "Host", "value": "x"},
        {"key": "X-Fine", "value": "ok"},
        {"key": "X-Bad", "value": "a\nb"},
    ]
    response = _post(tenant, {"event": "track", "url": URL, "headers": headers})
    assert_error(response, 400, "invalid_field_value", field_name="headers[0]")
    named = [error["field_name"] for error in response.json()["errors"]]
    assert named == ["headers[0]", "headers[2].value"]
