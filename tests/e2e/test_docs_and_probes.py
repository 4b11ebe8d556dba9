"""The API's self-description and the probes.

Covers ``/openapi.json`` (needs no key, lists every path and method the server serves with
ShipEngine's operationIds, declares the ``API-Key`` header on every /v1 operation but the carrier
push routes, which are served without one, documents the ``400`` the server
answers instead of FastAPI's ``422``, and agrees with the official ShipEngine OpenAPI file on query
parameters and operationIds), ``/docs`` and ``/redoc`` (every file they load is the server's
own), ``/health`` and ``/ready``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import DatabaseServer, Server, Tenant, assert_error

#: The extract of the official ShipEngine OpenAPI file kept in the repository (see
#: tests/contract/README.md).
OFFICIAL_SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

#: Every operation shiptrack serves under /v1, with ShipEngine's operationId where ShipEngine has
#: the operation (the two connection routes, the subscription listing, carrier detection, the
#: sandbox scenarios, the webhook secret, delivery, replay and test routes and the carrier push
#: routes are shiptrack's own).
SERVED: dict[tuple[str, str], str | None] = {
    ("get", "/v1/tracking"): "get_tracking_log",
    ("post", "/v1/tracking/start"): "start_tracking",
    ("post", "/v1/tracking/stop"): "stop_tracking",
    ("get", "/v1/labels/{label_id}/track"): "get_tracking_log_from_label",
    ("get", "/v1/tracking/subscriptions"): None,
    ("get", "/v1/tracking/detect"): None,
    ("get", "/v1/sandbox/scenarios"): None,
    ("get", "/v1/environment/webhooks"): "list_webhooks",
    ("post", "/v1/environment/webhooks"): "create_webhook",
    ("get", "/v1/environment/webhooks/{webhook_id}"): "get_webhook_by_id",
    ("put", "/v1/environment/webhooks/{webhook_id}"): "update_webhook",
    ("delete", "/v1/environment/webhooks/{webhook_id}"): "delete_webhook",
    ("get", "/v1/carriers"): "list_carriers",
    ("get", "/v1/carriers/{carrier_id}"): "get_carrier_by_id",
    ("delete", "/v1/carriers/{carrier_id}"): "disconnect_carrier_by_id",
    ("post", "/v1/connections/carriers/{carrier_name}"): None,
    ("delete", "/v1/connections/carriers/{carrier_name}/{carrier_id}"): None,
    ("get", "/v1/environment/webhooks/{webhook_id}/secret"): None,
    ("post", "/v1/environment/webhooks/{webhook_id}/secret/rotate"): None,
    ("get", "/v1/environment/webhooks/{webhook_id}/deliveries"): None,
    ("post", "/v1/environment/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): None,
    ("post", "/v1/environment/webhooks/{webhook_id}/redeliver"): None,
    ("post", "/v1/environment/webhooks/{webhook_id}/test"): None,
    ("post", "/v1/carriers/push/{carrier_name}/{carrier_id}"): None,
    ("post", "/v1/carriers/push/{carrier_name}/{carrier_id}/token"): None,
}
#: The /v1 operations that take no API key: carriers (UPS Track Alert, FedEx webhooks) call them
#: and authenticate their own way (a token from the ``/token`` route, an HMAC signature).
KEYLESS: frozenset[tuple[str, str]] = frozenset(
    {
        ("post", "/v1/carriers/push/{carrier_name}/{carrier_id}"),
        ("post", "/v1/carriers/push/{carrier_name}/{carrier_id}/token"),
    }
)


@pytest.fixture(scope="module")
def openapi(server: Server) -> dict[str, Any]:
    """``GET /openapi.json``, fetched without an API key."""
    response = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    """The official ShipEngine OpenAPI extract."""
    document: dict[str, Any] = yaml.safe_load(OFFICIAL_SPEC.read_text(encoding="utf-8"))
    return document


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(method, path) → operation``, with the path-level parameters merged in."""
    found = {}
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method in HTTP_METHODS:
                found[(method, path)] = {
                    **operation,
                    "parameters": [*shared, *operation.get("parameters", [])],
                }
    return found


def _query_parameters(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            name = parameter["$ref"].rsplit("/", 1)[-1]
            parameter = document["components"]["parameters"][name]
        if parameter["in"] == "query":
            names.add(parameter["name"])
    return names


def _concrete(path: str) -> str:
    """A documented path template with plausible values in its parameters."""
    return (
        path.replace("{carrier_name}", "ups")
        .replace("{label_id}", "se-999999999")
        .replace("{carrier_id}", "se-999999999")
        .replace("{webhook_id}", "se-999999999")
        .replace("{delivery_id}", "se-999999999")
    )


# /openapi.json


def test_openapi_lists_every_served_operation(openapi: dict[str, Any]) -> None:
    documented = {key for key in _operations(openapi) if key[1].startswith("/v1/")}

    assert documented == set(SERVED)


def test_openapi_uses_shipengines_operation_ids(openapi: dict[str, Any]) -> None:
    operations = _operations(openapi)

    for key, operation_id in SERVED.items():
        if operation_id is not None:
            assert operations[key].get("operationId") == operation_id, key
    ids = [operation.get("operationId") for operation in operations.values()]
    assert len(ids) == len(set(ids)), ids


def test_every_documented_operation_is_served(
    openapi: dict[str, Any], tenant: Tenant, anonymous: httpx.Client
) -> None:
    for method, path in _operations(openapi):
        if not path.startswith("/v1/"):
            continue
        url = _concrete(path)
        response = tenant.client.request(method.upper(), url)
        assert response.status_code not in (405, 500), (method, path, response.text)
        if response.status_code >= 400:
            error = response.json()["errors"][0]
            # "unspecified" is what an unknown route or method answers.
            assert error["error_code"] != "unspecified", (method, path, response.text)
        if (method, path) in KEYLESS:
            # Served without a key: the unknown connection is what is wrong, not the missing key.
            assert_error(
                anonymous.request(method.upper(), url),
                404,
                "invalid_identifier",
                field_name="carrier_id",
            )
        else:
            assert_error(anonymous.request(method.upper(), url), 401, "unauthorized")


def test_openapi_declares_the_api_key_header_on_every_v1_operation(
    openapi: dict[str, Any],
) -> None:
    schemes = openapi["components"]["securitySchemes"]
    api_key = [
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and scheme.get("name") == "API-Key"
    ]
    assert len(api_key) == 1, schemes

    for (method, path), operation in _operations(openapi).items():
        requirements = operation.get("security", openapi.get("security", []))
        needs_key = any(api_key[0] in requirement for requirement in requirements)
        expected = path.startswith("/v1/") and (method, path) not in KEYLESS
        assert needs_key == expected, (method, path, requirements)


def test_openapi_documents_400_and_never_422(openapi: dict[str, Any], tenant: Tenant) -> None:
    for (method, path), operation in _operations(openapi).items():
        responses = operation["responses"]
        assert "422" not in responses, (method, path)
        if path.startswith("/v1/"):
            assert "400" in responses, (method, path)
            assert "401" in responses, (method, path)
    schemas = openapi.get("components", {}).get("schemas", {})
    assert "HTTPValidationError" not in schemas

    # And the server does answer a body that fails validation with a 400.
    assert_error(
        tenant.client.post("/v1/environment/webhooks", json={"event": "track"}),
        400,
        "field_value_required",
        field_name="url",
    )


# Contract with the official ShipEngine OpenAPI file


def test_shared_operations_have_the_official_operation_ids(
    openapi: dict[str, Any], official: dict[str, Any]
) -> None:
    ours = _operations(openapi)
    theirs = _operations(official)
    shared = set(ours) & set(theirs)

    assert {key for key, operation_id in SERVED.items() if operation_id} <= shared
    for key in shared:
        assert ours[key].get("operationId") == theirs[key].get("operationId"), key


def test_shared_operations_take_the_official_query_parameters(
    openapi: dict[str, Any], official: dict[str, Any]
) -> None:
    ours = _operations(openapi)
    theirs = _operations(official)
    shared = set(ours) & set(theirs)
    assert shared

    for key in shared:
        assert _query_parameters(openapi, ours[key]) == _query_parameters(official, theirs[key]), (
            key
        )


# /docs and probes


def _loaded_by(page: str) -> list[str]:
    """Every URL a documentation page makes the browser load: its files (``src``, ``href``) and
    the OpenAPI document its script is pointed at."""
    found: list[tuple[str, str]] = re.findall(
        r'(?:src|href|spec-url)="([^"]*)"|\burl: \'([^\']*)\'', page
    )
    return [attribute or script for attribute, script in found]


def _script(page: str) -> str:
    """The one script file a documentation page loads."""
    [script] = [url for url in _loaded_by(page) if url.endswith(".js")]
    return script


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_outside_the_server(
    anonymous: httpx.Client, page: str
) -> None:
    response = anonymous.get(page)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    # No CDN, no font service, no validator: not one absolute URL in the page.
    assert not re.findall(r"https?://", response.text), response.text
    loaded = _loaded_by(response.text)
    assert "/openapi.json" in loaded
    assert len(loaded) >= 3, loaded  # the document, a script and the favicon at least
    for url in loaded:
        assert url.startswith("/"), url
        file = anonymous.get(url)
        assert file.status_code == 200, (url, file.text[:200])
        assert file.content, url
        if url != "/openapi.json":
            assert file.headers["cache-control"] == "public, max-age=31536000, immutable", url


def test_swagger_ui_files_are_served_with_their_types(anonymous: httpx.Client) -> None:
    page = anonymous.get("/docs").text
    script = _script(page)
    [style] = [url for url in _loaded_by(page) if url.endswith(".css")]

    assert anonymous.get(script).headers["content-type"].startswith("text/javascript")
    assert anonymous.get(style).headers["content-type"].startswith("text/css")
    # Swagger UI would fetch a badge from validator.swagger.io for a document on a public host.
    assert '"validatorUrl": null' in page


def test_redoc_bundle_asks_this_server_for_its_logo(anonymous: httpx.Client) -> None:
    bundle = anonymous.get(_script(anonymous.get("/redoc").text)).text

    # The stock bundle loads its menu logo from Redocly's CDN; this one asks for
    # <page path>/logo-mini.svg, which the server answers.
    assert "cdn.redoc.ly" not in bundle
    assert 'window.location.pathname+"/logo-mini.svg"' in bundle
    logo = anonymous.get("/redoc/logo-mini.svg")
    assert logo.status_code == 200
    assert logo.headers["content-type"] == "image/svg+xml"


def test_docs_files_of_another_version_are_not_found(anonymous: httpx.Client) -> None:
    script = _script(anonymous.get("/docs").text)
    version = script.split("/")[3]
    stale = script.replace(f"/{version}/", "/0.0.1/")

    assert_error(anonymous.get(stale), 404, "unspecified")
    assert_error(
        anonymous.get(script.replace("swagger-ui-bundle.js", "nope.js")), 404, "unspecified"
    )


def test_health_answers_200_without_a_key(anonymous: httpx.Client) -> None:
    response = anonymous.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_ready_answers_200_with_the_database_dialect(
    anonymous: httpx.Client, test_database: DatabaseServer
) -> None:
    response = anonymous.get("/ready")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "database": test_database.dialect}
