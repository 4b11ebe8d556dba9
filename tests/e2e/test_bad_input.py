"""Bad input never gets a 5xx: it gets a ShipEngine error with the fitting status.

Covers malformed and non-object JSON bodies, wrong JSON types and unknown fields, oversized bodies
(with and without Content-Length), non-JSON content types, unknown and repeated query parameters,
malformed ids on every route that takes one (the keyless carrier push routes too), unknown routes
and wrong methods, the API-Key header
(name in any case, missing, empty, wrong, huge, revoked), authentication coming before every other
check, and property-based tests throwing random query parameters and JSON bodies at the server.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shiptrack.domain.carriers import CARRIERS
from tests.conftest import Server, Tenant, assert_error, make_tenant

JSON_TYPE = {"Content-Type": "application/json"}
VALID_WEBHOOK = {"event": "track", "url": "https://example.invalid/hooks/bad-input"}
ONE_MEGABYTE = 1024 * 1024

#: The endpoints that take a JSON body, by name: method and path (``{webhook_id}`` filled in).
BODY_ENDPOINTS: dict[str, tuple[str, str]] = {
    "create_webhook": ("POST", "/v1/environment/webhooks"),
    "update_webhook": ("PUT", "/v1/environment/webhooks/{webhook_id}"),
    "connect_carrier": ("POST", "/v1/connections/carriers/ups"),
}


def send_body(tenant: Tenant, endpoint: str, **kwargs: Any) -> httpx.Response:
    """Send a request with a body to one of ``BODY_ENDPOINTS`` (on a real webhook for PUT)."""
    method, path = BODY_ENDPOINTS[endpoint]
    if "{webhook_id}" in path:
        webhook = tenant.add_track_webhook(f"https://example.invalid/hooks/{uuid.uuid4().hex}")
        path = path.format(webhook_id=webhook["webhook_id"])
    return tenant.client.request(method, path, **kwargs)


def assert_any_error(response: httpx.Response) -> None:
    """A ShipEngine error body, whatever its code; never a server error."""
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert set(body) == {"request_id", "errors"}, body
    uuid.UUID(body["request_id"])
    assert response.headers["x-request-id"] == body["request_id"]
    assert body["errors"], body
    for error in body["errors"]:
        assert error["error_source"] == "shipengine", error
        assert error["error_type"] in {"validation", "business_rules", "security", "system"}
        assert isinstance(error["error_code"], str) and error["error_code"], error
        assert isinstance(error["message"], str) and error["message"], error


# --- JSON bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", sorted(BODY_ENDPOINTS))
@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"event": "track",}',
        b"{'event': 'track'}",
        b'{"event": "track"} {"url": "x"}',
        b'{"event": tru}',
        b"   ",
    ],
    ids=["unclosed", "trailing-comma", "single-quotes", "two-documents", "bad-literal", "blank"],
)
def test_malformed_json_is_400_invalid_field_value(
    tenant: Tenant, endpoint: str, body: bytes
) -> None:
    response = send_body(tenant, endpoint, content=body, headers=JSON_TYPE)
    assert_error(response, 400, "invalid_field_value", error_type="validation")


@pytest.mark.parametrize("endpoint", sorted(BODY_ENDPOINTS))
def test_a_body_that_is_not_utf8_is_a_400(tenant: Tenant, endpoint: str) -> None:
    response = send_body(tenant, endpoint, content=b'{"name": "\xff\xfe"}', headers=JSON_TYPE)
    assert_error(response, 400, "invalid_field_value", error_type="validation")


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("create_webhook", b"[]"),
        ("create_webhook", b'"x"'),
        ("create_webhook", b"null"),
        ("create_webhook", b"1"),
        ("create_webhook", b"true"),
        ("create_webhook", b"[" + json.dumps(VALID_WEBHOOK).encode() + b"]"),
        ("update_webhook", b"[]"),
        ("update_webhook", b'"x"'),
        ("update_webhook", b"null"),
        ("update_webhook", b"1"),
        ("connect_carrier", b"[]"),
        ("connect_carrier", b'"x"'),
        ("connect_carrier", b"1"),
    ],
)
def test_json_that_is_not_an_object_is_400(tenant: Tenant, endpoint: str, body: bytes) -> None:
    response = send_body(tenant, endpoint, content=body, headers=JSON_TYPE)
    assert_error(response, 400, "invalid_field_value", error_type="validation")


@pytest.mark.parametrize("endpoint", ["create_webhook", "update_webhook"])
def test_a_missing_body_is_request_body_required(tenant: Tenant, endpoint: str) -> None:
    response = send_body(tenant, endpoint)
    assert_error(response, 400, "request_body_required", error_type="validation")


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("create_webhook", {**VALID_WEBHOOK, "url": 5}, "url"),
        ("create_webhook", {**VALID_WEBHOOK, "url": ["https://example.invalid"]}, "url"),
        ("create_webhook", {**VALID_WEBHOOK, "event": 5}, "event"),
        ("create_webhook", {**VALID_WEBHOOK, "event": ["track"]}, "event"),
        ("create_webhook", {**VALID_WEBHOOK, "store_id": "5"}, "store_id"),
        ("create_webhook", {**VALID_WEBHOOK, "store_id": True}, "store_id"),
        ("create_webhook", {**VALID_WEBHOOK, "store_id": 1.5}, "store_id"),
        ("create_webhook", {**VALID_WEBHOOK, "name": 7}, "name"),
        ("create_webhook", {**VALID_WEBHOOK, "name": {"a": 1}}, "name"),
        ("create_webhook", {**VALID_WEBHOOK, "headers": {}}, "headers"),
        ("create_webhook", {**VALID_WEBHOOK, "headers": "x"}, "headers"),
        ("create_webhook", {**VALID_WEBHOOK, "headers": ["x"]}, "headers[0]"),
        (
            "create_webhook",
            {**VALID_WEBHOOK, "headers": [{"key": 1, "value": "v"}]},
            "headers[0].key",
        ),
        (
            "create_webhook",
            {**VALID_WEBHOOK, "headers": [{"key": "k", "value": "v"}, {"key": "k2", "value": 2}]},
            "headers[1].value",
        ),
        ("update_webhook", {"url": 5}, "url"),
        ("update_webhook", {"name": False}, "name"),
        ("update_webhook", {"store_id": "1"}, "store_id"),
        ("update_webhook", {"headers": {"key": "k"}}, "headers"),
        ("connect_carrier", {"nickname": 3}, "nickname"),
        ("connect_carrier", {"client_id": 12345}, "client_id"),
        ("connect_carrier", {"account_number": None, "base_url": 1}, "base_url"),
    ],
)
def test_a_wrong_json_type_is_400_naming_the_field(
    tenant: Tenant, endpoint: str, body: dict[str, Any], field: str
) -> None:
    response = send_body(tenant, endpoint, json=body)
    assert_error(response, 400, "invalid_field_value", error_type="validation", field_name=field)


def test_a_wrong_type_creates_nothing(tenant: Tenant) -> None:
    response = tenant.client.post(
        "/v1/environment/webhooks", json={**VALID_WEBHOOK, "store_id": "5"}
    )
    assert_error(response, 400, "invalid_field_value", field_name="store_id")
    assert tenant.client.get("/v1/environment/webhooks").json() == []


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("create_webhook", {**VALID_WEBHOOK, "secret": "x"}),
        ("update_webhook", {"secret": "x"}),
        ("connect_carrier", {"secret": "x"}),
    ],
)
def test_an_unknown_body_field_is_400_naming_it(
    tenant: Tenant, endpoint: str, body: dict[str, Any]
) -> None:
    response = send_body(tenant, endpoint, json=body)
    assert_error(response, 400, "invalid_field_value", field_name="secret")


# --- Body size and content type ----------------------------------------------------------------


def _huge_webhook_body() -> bytes:
    return json.dumps({**VALID_WEBHOOK, "name": "a" * ONE_MEGABYTE}).encode()


def test_a_1mb_body_with_content_length_is_413(tenant: Tenant) -> None:
    body = _huge_webhook_body()
    response = tenant.client.post("/v1/environment/webhooks", content=body, headers=JSON_TYPE)
    assert_error(response, 413, "unspecified", error_type="validation")
    assert tenant.client.get("/v1/environment/webhooks").json() == []


def test_a_1mb_body_sent_chunked_without_content_length_is_413(tenant: Tenant) -> None:
    body = _huge_webhook_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16384):
            yield body[start : start + 16384]

    request = tenant.client.build_request(
        "POST", "/v1/environment/webhooks", content=chunks(), headers=JSON_TYPE
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = tenant.client.send(request)
    assert_error(response, 413, "unspecified", error_type="validation")
    assert tenant.client.get("/v1/environment/webhooks").json() == []


def test_a_small_chunked_json_body_is_accepted(tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"event": "track", '
        yield b'"url": "https://example.invalid/hooks/chunked"}'

    response = tenant.client.post("/v1/environment/webhooks", content=chunks(), headers=JSON_TYPE)
    assert response.status_code == 200, response.text
    assert response.json()["url"] == "https://example.invalid/hooks/chunked"


@pytest.mark.parametrize("endpoint", sorted(BODY_ENDPOINTS))
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "text/json-ish",
    ],
)
def test_a_body_with_a_non_json_content_type_is_415(
    tenant: Tenant, endpoint: str, content_type: str
) -> None:
    body = json.dumps(VALID_WEBHOOK if endpoint == "create_webhook" else {"name": "x"})
    response = send_body(tenant, endpoint, content=body, headers={"Content-Type": content_type})
    assert_error(response, 415, "unspecified", error_type="validation")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", "application/x+json"]
)
def test_json_content_types_with_parameters_or_suffix_are_accepted(
    tenant: Tenant, content_type: str
) -> None:
    response = tenant.client.post(
        "/v1/environment/webhooks",
        content=json.dumps(VALID_WEBHOOK),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 200, response.text


def test_a_bodyless_post_is_accepted_whatever_its_content_type(tenant: Tenant) -> None:
    tenant.add_track_webhook()
    response = tenant.client.post(
        "/v1/tracking/start",
        params={"carrier_code": "ups", "tracking_number": "1Z999AA10123456784"},
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 204, response.text


# --- Query parameters --------------------------------------------------------------------------

TRACKING_PARAMS = {"carrier_code": "ups", "tracking_number": "1Z999AA10123456784"}

#: (method, path, the parameters the endpoint takes, a valid JSON body or None)
QUERY_ENDPOINTS: list[tuple[str, str, dict[str, str], dict[str, Any] | None]] = [
    ("GET", "/v1/tracking", TRACKING_PARAMS, None),
    ("POST", "/v1/tracking/start", TRACKING_PARAMS, None),
    ("POST", "/v1/tracking/stop", TRACKING_PARAMS, None),
    ("GET", "/v1/environment/webhooks", {}, None),
    ("POST", "/v1/environment/webhooks", {}, VALID_WEBHOOK),
    ("GET", "/v1/carriers", {}, None),
    ("POST", "/v1/connections/carriers/fedex", {}, None),
]


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    QUERY_ENDPOINTS,
    ids=[f"{m} {p}" for m, p, *_ in QUERY_ENDPOINTS],
)
@pytest.mark.parametrize("unknown", ["foo", "tracking_numbr", "api_key", "CARRIER_CODE"])
def test_an_unknown_query_parameter_is_400_naming_it(
    tenant: Tenant,
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, Any] | None,
    unknown: str,
) -> None:
    response = tenant.client.request(method, path, params={**params, unknown: "1"}, json=body)
    assert_error(response, 400, "invalid_field_value", error_type="validation", field_name=unknown)


def test_unknown_query_parameters_on_routes_with_an_id_are_400(tenant: Tenant) -> None:
    created = tenant.add_track_webhook()
    webhook = f"/v1/environment/webhooks/{created['webhook_id']}"
    carrier_id = tenant.client.get("/v1/carriers").json()["carriers"][0]["carrier_id"]
    for method, path, params, body in [
        ("GET", webhook, {}, None),
        ("PUT", webhook, {}, {"name": "renamed"}),
        ("DELETE", webhook, {}, None),
        ("GET", f"{webhook}/secret", {}, None),
        ("POST", f"{webhook}/secret/rotate", {}, None),
        ("GET", f"{webhook}/deliveries", {"page_size": "5"}, None),
        ("POST", f"{webhook}/redeliver", {"since": "2026-01-01T00:00:00Z"}, None),
        ("POST", f"{webhook}/test", {}, None),
        ("GET", f"/v1/carriers/{carrier_id}", {}, None),
        ("DELETE", f"/v1/carriers/{carrier_id}", {}, None),
        ("DELETE", f"/v1/connections/carriers/ups/{carrier_id}", {}, None),
    ]:
        response = tenant.client.request(
            method, path, params={**params, "force": "true"}, json=body
        )
        assert_error(response, 400, "invalid_field_value", field_name="force")
    # None of them did anything: the webhook is unchanged, its secret was not rotated, no test
    # event was queued, the carrier is still connected.
    secret = created.pop("secret")
    assert tenant.client.get(webhook).json() == created
    assert tenant.client.get(f"{webhook}/secret").json() == {"secret": secret}
    assert tenant.client.get(f"{webhook}/deliveries").json()["deliveries"] == []
    assert tenant.client.get(f"/v1/carriers/{carrier_id}").status_code == 200


def test_an_unknown_query_parameter_creates_nothing(tenant: Tenant) -> None:
    response = tenant.client.post(
        "/v1/environment/webhooks", params={"dry_run": "1"}, json=VALID_WEBHOOK
    )
    assert_error(response, 400, "invalid_field_value", field_name="dry_run")
    assert tenant.client.get("/v1/environment/webhooks").json() == []


@pytest.mark.parametrize("path", ["/v1/tracking", "/v1/tracking/start", "/v1/tracking/stop"])
@pytest.mark.parametrize("repeated", ["carrier_code", "tracking_number", "carrier_id"])
def test_a_repeated_query_parameter_is_400_naming_it(
    tenant: Tenant, path: str, repeated: str
) -> None:
    carrier_id = tenant.client.get("/v1/carriers").json()["carriers"][0]["carrier_id"]
    carrier = ("carrier_id", carrier_id) if repeated == "carrier_id" else ("carrier_code", "ups")
    params = [carrier, ("tracking_number", "1Z999AA10123456784")]
    params.append(next(item for item in params if item[0] == repeated))
    method = "GET" if path == "/v1/tracking" else "POST"
    response = tenant.client.request(method, path, params=params)
    assert_error(response, 400, "invalid_field_value", field_name=repeated)


@pytest.mark.parametrize("path", ["/v1/environment/webhooks", "/v1/carriers"])
def test_a_repeated_unknown_parameter_on_a_list_endpoint_is_400(tenant: Tenant, path: str) -> None:
    response = tenant.client.get(path, params=[("page", "1"), ("page", "2")])
    assert_error(response, 400, "invalid_field_value", field_name="page")


# --- Error answers stay small ------------------------------------------------------------------


def _assert_short_list_naming_the_first(response: httpx.Response, names: list[str]) -> None:
    assert_error(response, 400, "invalid_field_value", field_name=names[0])
    listed = response.json()["errors"]
    assert len(listed) == 20, len(listed)
    assert [entry["field_name"] for entry in listed[:19]] == names[:19]
    assert listed[-1]["message"] == (
        f"{len(names) - 19:,} more errors were left out; an answer lists at most 19 of them"
    )
    assert len(response.content) < 8192, len(response.content)


def test_a_thousand_unknown_query_parameters_get_a_short_answer(tenant: Tenant) -> None:
    names = [f"u{n}" for n in range(1000)]
    response = tenant.client.get("/v1/carriers", params=[(name, "") for name in names])
    _assert_short_list_naming_the_first(response, names)


def test_four_thousand_unknown_body_fields_get_a_short_answer(tenant: Tenant) -> None:
    names = [f"f{n}" for n in range(4000)]
    body = json.dumps({**VALID_WEBHOOK, **dict.fromkeys(names, 1)}).encode()
    assert len(body) < 65536  # under the body limit: this is about the answer, not the request
    response = tenant.client.post("/v1/environment/webhooks", content=body, headers=JSON_TYPE)
    _assert_short_list_naming_the_first(response, names)


def test_a_huge_unknown_field_name_is_cut_in_the_answer(tenant: Tenant) -> None:
    name = "x" * 60000
    response = tenant.client.post("/v1/environment/webhooks", json={**VALID_WEBHOOK, name: 1})
    first = assert_error(response, 400, "invalid_field_value")
    assert first["field_name"] == "x" * 99 + "…"
    message = str(first["message"])
    assert len(message) == 500 and message.startswith("xxx") and message.endswith("…")


# --- Tracking numbers that look like another --------------------------------------------------

#: (a look-alike, the number Unicode case mapping or a Unicode-aware isalnum would turn it into)
LOOK_ALIKES = [
    ("1Z\u017fandbox0000001", "1ZSANDBOX0000001"),  # long s -> S
    ("1Zsandbox00000\u01311", "1ZSANDBOX00000I1"),  # dotless i -> I
    ("1Zsandbox\ufb0000001", "1ZSANDBOXFF00001"),  # the ff ligature -> FF
    ("1ZSANDBOX\uff10\uff10\uff10\uff10\uff10\uff101", "1ZSANDBOX0000001"),  # fullwidth digits
]


@pytest.mark.parametrize(("look_alike", "real_number"), LOOK_ALIKES)
def test_a_look_alike_tracking_number_is_400_and_leaves_the_real_package_alone(
    tenant: Tenant, look_alike: str, real_number: str
) -> None:
    tenant.add_track_webhook()
    real = {"carrier_code": "ups", "tracking_number": real_number}
    alias = {"carrier_code": "ups", "tracking_number": look_alike}
    assert tenant.client.post("/v1/tracking/start", params=real).status_code == 204

    for method, path in [
        ("POST", "/v1/tracking/stop"),
        ("POST", "/v1/tracking/start"),
        ("GET", "/v1/tracking"),
    ]:
        response = tenant.client.request(method, path, params=alias)
        assert_error(response, 400, "invalid_field_value", field_name="tracking_number")

    # The stop did not stop the real package, and the start started no second one.
    listed = tenant.client.get("/v1/tracking/subscriptions").json()["subscriptions"]
    assert [(s["tracking_number"], s["active"]) for s in listed] == [(real_number, True)]


# --- Malformed ids -----------------------------------------------------------------------------

MALFORMED_IDS = [
    "abc",
    "se-",
    "se-ABC",
    "SE-1",
    "se_1",
    "se--1",
    "se-1-",
    "se-" + "1" * 197,  # 200 characters
    "se-" + "1" * 23,  # 26 characters: one over the se_id limit
    "se-1%20",
    "%20se-1",
    "%00%FF",
    "se-1%00",
    "%E2%98%83",
    "se-%C3%A9",
    "'%3B--",
]

#: Every route taking an id in its path: method, path template, body, the id's field name.
ID_ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/v1/environment/webhooks/{webhook_id}", None, "webhook_id"),
    ("PUT", "/v1/environment/webhooks/{webhook_id}", {"name": "renamed"}, "webhook_id"),
    ("DELETE", "/v1/environment/webhooks/{webhook_id}", None, "webhook_id"),
    ("GET", "/v1/carriers/{carrier_id}", None, "carrier_id"),
    ("DELETE", "/v1/carriers/{carrier_id}", None, "carrier_id"),
    ("DELETE", "/v1/connections/carriers/{carrier_name}/{carrier_id}", None, "carrier_id"),
    ("GET", "/v1/labels/{label_id}/track", None, "label_id"),
    ("GET", "/v1/environment/webhooks/{webhook_id}/secret", None, "webhook_id"),
    ("POST", "/v1/environment/webhooks/{webhook_id}/secret/rotate", None, "webhook_id"),
    ("GET", "/v1/environment/webhooks/{webhook_id}/deliveries", None, "webhook_id"),
    (
        "POST",
        "/v1/environment/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        None,
        "webhook_id",
    ),
    (
        "POST",
        "/v1/environment/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        None,
        "delivery_id",
    ),
    ("POST", "/v1/environment/webhooks/{webhook_id}/redeliver", None, "webhook_id"),
    ("POST", "/v1/environment/webhooks/{webhook_id}/test", None, "webhook_id"),
    ("POST", "/v1/carriers/push/{carrier_name}/{carrier_id}", None, "carrier_id"),
    ("POST", "/v1/carriers/push/{carrier_name}/{carrier_id}/token", None, "carrier_id"),
]
ID_ROUTE_IDS = [f"{method} {path} {field}" for method, path, _, field in ID_ROUTES]
#: The routes of ID_ROUTES that take no API key (carriers authenticate their pushes their own
#: way): their ids are checked all the same, and are sent here without a key.
KEYLESS_ID_ROUTES = frozenset(path for _, path, _, _ in ID_ROUTES if "/push/" in path)
#: The query parameters a route of ID_ROUTES requires, so that only its id can be wrong.
ID_ROUTE_PARAMS: dict[str, dict[str, str]] = {
    "/v1/environment/webhooks/{webhook_id}/redeliver": {"since": "2026-01-01T00:00:00Z"},
}


def _caller(tenant: Tenant, anonymous: httpx.Client, path: str) -> httpx.Client:
    """Who calls a route of ID_ROUTES: nobody with a key for the keyless ones, else the tenant."""
    return anonymous if path in KEYLESS_ID_ROUTES else tenant.client


def _fill(path: str, value: str, field: str | None = None) -> str:
    """The path with ``value`` as its ``field`` id (every id when ``field`` is ``None``), and a
    well-formed id in any other."""
    return re.sub(
        r"\{([a-z_]+_id)\}",
        lambda match: value if field in (None, match.group(1)) else "se-1",
        path.replace("{carrier_name}", "ups"),
    )


def test_the_id_routes_here_are_every_route_taking_an_id(anonymous: httpx.Client) -> None:
    document = anonymous.get("/openapi.json").json()
    served = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(
            parameter["in"] == "path" and parameter["name"].endswith("_id")
            for parameter in operation.get("parameters", [])
        )
    }
    assert served == {(method, path) for method, path, *_ in ID_ROUTES}


@pytest.mark.parametrize(("method", "path", "body", "field"), ID_ROUTES, ids=ID_ROUTE_IDS)
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_id_in_the_path_is_400_invalid_identifier(
    tenant: Tenant,
    anonymous: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
    bad_id: str,
) -> None:
    response = _caller(tenant, anonymous, path).request(
        method, _fill(path, bad_id, field), params=ID_ROUTE_PARAMS.get(path), json=body
    )
    assert_error(response, 400, "invalid_identifier", error_type="validation", field_name=field)


@pytest.mark.parametrize(("method", "path", "body", "field"), ID_ROUTES, ids=ID_ROUTE_IDS)
def test_an_id_with_an_encoded_slash_is_no_route(
    tenant: Tenant,
    anonymous: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    # "se-1%2F.." decodes to "se-1/..": a path with one more segment, which no route serves. It
    # must not be resolved as a relative path onto a neighbouring resource.
    response = _caller(tenant, anonymous, path).request(
        method, _fill(path, "se-1%2F..", field), params=ID_ROUTE_PARAMS.get(path), json=body
    )
    assert_error(response, 404, "unspecified", error_type="validation")


@pytest.mark.parametrize(("method", "path", "body", "field"), ID_ROUTES, ids=ID_ROUTE_IDS)
def test_the_longest_well_formed_id_is_404_not_400(
    tenant: Tenant,
    anonymous: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    longest = "se-" + "9" * 22  # 25 characters: the se_id limit, but not an id of this account
    response = _caller(tenant, anonymous, path).request(
        method, _fill(path, longest, field), params=ID_ROUTE_PARAMS.get(path), json=body
    )
    assert_error(response, 404, "invalid_identifier", error_type="validation")


@pytest.mark.parametrize("path", ["/v1/tracking", "/v1/tracking/start", "/v1/tracking/stop"])
@pytest.mark.parametrize(
    "bad_id",
    ["abc", "se-", "se-ABC", "se-" + "1" * 197, "se-" + "1" * 23, "se-1/..", "\x00\xff", "se-1 x"],
)
def test_a_malformed_carrier_id_query_parameter_is_400_invalid_identifier(
    tenant: Tenant, path: str, bad_id: str
) -> None:
    tenant.add_track_webhook()
    method = "GET" if path == "/v1/tracking" else "POST"
    response = tenant.client.request(
        method, path, params={"carrier_id": bad_id, "tracking_number": "1Z999AA10123456784"}
    )
    assert_error(response, 400, "invalid_identifier", field_name="carrier_id")


# --- Unknown routes and wrong methods ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/nope", "/v1/tracking/pause", "/v1/tracking/start/now", "/v2/tracking", "/nope", "/"],
)
def test_an_unknown_route_is_404_unspecified(tenant: Tenant, path: str) -> None:
    response = tenant.client.get(path)
    assert_error(response, 404, "unspecified", error_type="validation")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/tracking/start", {"POST"}),
        ("DELETE", "/v1/tracking/stop", {"POST"}),
        ("POST", "/v1/tracking", {"GET"}),
        ("PUT", "/v1/environment/webhooks", {"GET", "POST"}),
        ("PATCH", "/v1/environment/webhooks/se-1", {"GET", "PUT", "DELETE"}),
        ("POST", "/v1/environment/webhooks/se-1", {"GET", "PUT", "DELETE"}),
        ("DELETE", "/v1/carriers", {"GET"}),
        ("PUT", "/v1/carriers/se-1", {"GET", "DELETE"}),
        ("GET", "/v1/connections/carriers/ups", {"POST"}),
        ("GET", "/v1/connections/carriers/ups/se-1", {"DELETE"}),
        ("POST", "/health", {"GET"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    tenant: Tenant, method: str, path: str, allowed: set[str]
) -> None:
    response = tenant.client.request(method, path)
    assert_error(response, 405, "unspecified", error_type="validation")
    assert {m.strip() for m in response.headers["allow"].split(",")} - {"HEAD"} == allowed


# --- The API-Key header ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api-key", "API-KEY", "Api-Key", "aPI-kEY"])
def test_the_api_key_header_name_is_case_insensitive(
    server: Server, tenant: Tenant, name: str
) -> None:
    response = httpx.get(f"{server.url}/v1/carriers", headers={name: tenant.key})
    assert response.status_code == 200, response.text
    # A sandbox account has one simulated connection per supported carrier.
    assert len(response.json()["carriers"]) == len(CARRIERS)


def test_a_missing_key_is_401(anonymous: httpx.Client) -> None:
    assert_error(anonymous.get("/v1/carriers"), 401, "unauthorized", error_type="security")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "TEST_" + "x" * 43,
        "not-a-key",
        "x" * 10240,
        b"\xff\xfe bytes",
    ],
    ids=["empty", "wrong", "short", "10kB", "binary"],
)
def test_an_empty_wrong_or_absurd_key_is_401(anonymous: httpx.Client, key: str | bytes) -> None:
    # httpx sends a str or a bytes value alike; its annotation wants keys and values of one kind.
    response = anonymous.get("/v1/carriers", headers={"API-Key": key})  # type: ignore[arg-type]
    assert_error(response, 401, "unauthorized", error_type="security")


def test_a_key_sent_as_a_bearer_token_is_not_accepted(
    anonymous: httpx.Client, tenant: Tenant
) -> None:
    response = anonymous.get("/v1/carriers", headers={"Authorization": f"Bearer {tenant.key}"})
    assert_error(response, 401, "unauthorized", error_type="security")


def test_a_key_differing_in_case_or_by_one_character_is_401(
    anonymous: httpx.Client, tenant: Tenant
) -> None:
    response = anonymous.get("/v1/carriers", headers={"API-Key": tenant.key.lower()})
    assert_error(response, 401, "unauthorized")
    response = anonymous.get("/v1/carriers", headers={"API-Key": tenant.key + "x"})
    assert_error(response, 401, "unauthorized")


def test_a_revoked_key_is_401_while_another_key_of_the_account_works(
    server: Server, tenant: Tenant, anonymous: httpx.Client
) -> None:
    created = server.cli("key", "create", "--account", tenant.account_id)
    second_key = created.stdout.strip().splitlines()[-1]
    assert second_key != tenant.key
    webhook = tenant.add_track_webhook()
    assert anonymous.get("/v1/carriers", headers={"API-Key": second_key}).status_code == 200

    server.cli("key", "revoke", tenant.key)

    assert_error(tenant.client.get("/v1/carriers"), 401, "unauthorized", error_type="security")
    response = anonymous.get("/v1/environment/webhooks", headers={"API-Key": second_key})
    assert response.status_code == 200, response.text
    # Listed as created, without the signing secret that only the creation answer shows.
    assert webhook.pop("secret")
    assert response.json() == [webhook]


# --- Authentication comes first ----------------------------------------------------------------

#: Requests wrong in some other way too: without a valid key they must all be plain 401s.
BAD_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/environment/webhooks", {"content": b"{bad", "headers": JSON_TYPE}),
    ("POST", "/v1/environment/webhooks", {"content": b"[]", "headers": JSON_TYPE}),
    ("POST", "/v1/environment/webhooks", {"json": {"event": 5}}),
    ("POST", "/v1/environment/webhooks", {}),
    (
        "POST",
        "/v1/environment/webhooks",
        {"content": b"x=1", "headers": {"Content-Type": "text/plain"}},
    ),
    (
        "POST",
        "/v1/environment/webhooks",
        {"content": b"{" + b" " * ONE_MEGABYTE + b"}", "headers": JSON_TYPE},
    ),
    ("GET", "/v1/tracking", {"params": {"foo": "1"}}),
    ("GET", "/v1/carriers/abc", {}),
    ("GET", "/v1/environment/webhooks/se-1", {}),
    ("GET", "/v1/nope", {}),
    ("DELETE", "/v1/tracking/start", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), BAD_REQUESTS)
@pytest.mark.parametrize("key", [None, "TEST_wrong"], ids=["no-key", "wrong-key"])
def test_without_a_valid_key_a_bad_request_is_401(
    anonymous: httpx.Client, method: str, path: str, kwargs: dict[str, Any], key: str | None
) -> None:
    headers = {**kwargs.get("headers", {}), **({"API-Key": key} if key else {})}
    response = anonymous.request(method, path, **{**kwargs, "headers": headers})
    assert_error(response, 401, "unauthorized", error_type="security")


# --- Property-based: random input never breaks the server --------------------------------------


@pytest.fixture(scope="module")
def fuzz_tenant(server: Server) -> Iterator[Tenant]:
    """One account for every generated example (hypothesis runs a test many times per fixture)."""
    made = make_tenant(server, sandbox=True, name="fuzz")
    yield made
    made.client.close()


def assert_error_or_success(response: httpx.Response) -> None:
    """Either a ShipEngine error, or one of the success shapes of the API."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_any_error(response)
    elif response.status_code == 204:
        assert response.content == b""
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body, dict | list), body
        if isinstance(body, dict):
            assert body.get("errors", []) == [], body


QUERY_NAMES = st.one_of(
    st.sampled_from(["carrier_code", "tracking_number", "carrier_id"]), st.text(max_size=20)
)
QUERY_VALUES = st.one_of(
    st.sampled_from(["ups", "fedex", "stamps_com", "se-1", "se-99", "1Z999AA10123456784", ""]),
    st.text(max_size=80),
)
FUZZED_ENDPOINTS = st.sampled_from(
    [
        ("GET", "/v1/tracking"),
        ("POST", "/v1/tracking/start"),
        ("POST", "/v1/tracking/stop"),
        ("GET", "/v1/carriers"),
        ("GET", "/v1/environment/webhooks"),
    ]
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    endpoint=FUZZED_ENDPOINTS,
    params=st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=4),
)
def test_random_query_parameters_never_get_a_server_error(
    fuzz_tenant: Tenant,
    endpoint: tuple[str, str],
    # httpx's query pair type (the strategy draws strings): a list is invariant in its items.
    params: list[tuple[str, str | int | float | bool | None]],
) -> None:
    method, path = endpoint
    assert_error_or_success(fuzz_tenant.client.request(method, path, params=params))


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
WEBHOOK_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["track", "batch", "rate", "TRACK", ""]) | JSON_VALUES,
        "url": st.sampled_from(
            [
                "https://example.invalid/fuzz",
                "http://127.0.0.1/x",
                "ftp://example.invalid",
                "/relative",
            ]
        )
        | JSON_VALUES,
        "headers": st.lists(
            st.fixed_dictionaries({"key": st.text(max_size=20), "value": st.text(max_size=20)}),
            max_size=3,
        )
        | JSON_VALUES,
        "name": st.text(max_size=250) | JSON_VALUES,
        "store_id": st.integers() | JSON_VALUES,
    },
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(JSON_VALUES, WEBHOOK_LIKE))
# A valid body, so that the success branch below is always exercised.
@example(body={"event": "track", "url": "https://example.invalid/fuzz/valid"})
def test_random_json_webhook_bodies_never_get_a_server_error(
    fuzz_tenant: Tenant, body: Any
) -> None:
    response = fuzz_tenant.client.post("/v1/environment/webhooks", json=body)
    assert_error_or_success(response)
    if response.status_code == 200:
        created = response.json()
        assert set(created) == {
            "webhook_id",
            "url",
            "event",
            "headers",
            "name",
            "store_id",
            "secret",
        }
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", created["secret"]), created
        assert created["url"] == body["url"]
        assert created["event"] == body["event"]
