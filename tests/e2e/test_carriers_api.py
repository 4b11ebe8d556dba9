"""``/v1/carriers`` and ``/v1/connections/carriers`` over real HTTP.

Covers the list and single-carrier shapes (checked against the official ``carrier`` schema), the
simulated carriers of sandbox accounts, connecting carrier accounts to a production account (the
credentials each carrier needs, unsupported carriers, bad base URLs, the credentials checked at the
given base URL, a carrier that cannot be reached), which connection is primary,
disconnecting through both routes, account isolation, malformed and unknown ids, and the handling
of credentials: never returned in any response, sealed in the database so that they open only for
their owner, and never written to the server log.
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from shiptrack.engine.connections import credential_owner
from shiptrack.sealing import Sealer, SealingError
from shiptrack.store.database import create_database
from shiptrack.store.tables import carrier_connections
from tests.conftest import (
    DatabaseServer,
    Server,
    Tenant,
    assert_error,
    cli_env,
    free_port,
    make_tenant,
    start_server,
)
from tests.fakes import accept_all
from tests.fakes.server import serve

CARRIERS = "/v1/carriers"
CONNECT = "/v1/connections/carriers"
#: The official ShipEngine OpenAPI extract kept in the repository (see tests/contract/README.md).
SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"
SUPPORTED = (
    "ups",
    "fedex",
    "usps",
    "stamps_com",
    "dhl_express",
    "canada_post",
    "royal_mail",
    "australia_post",
    "gls",
    "postnl",
    "la_poste",
    "dhl_parcel",
    "dhl_ecommerce",
)
OAUTH_CARRIERS = ("ups", "fedex", "usps", "stamps_com", "gls")
SE_ID = re.compile(r"se(-[a-z0-9]+)+")


def _carrier_schema_properties() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return set(spec["components"]["schemas"]["carrier"]["properties"])


def _secret() -> str:
    return f"s3cr3t-{uuid.uuid4().hex}"


def _carriers(tenant: Tenant) -> list[dict[str, Any]]:
    response = tenant.client.get(CARRIERS)
    assert response.status_code == 200, response.text
    carriers: list[dict[str, Any]] = response.json()["carriers"]
    return carriers


def _by_id(tenant: Tenant) -> dict[str, dict[str, Any]]:
    return {carrier["carrier_id"]: carrier for carrier in _carriers(tenant)}


def _connect(tenant: Tenant, carrier_name: str, body: dict[str, Any] | None = None) -> str:
    response = tenant.client.post(f"{CONNECT}/{carrier_name}", json=body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"carrier_id"}
    carrier_id: str = response.json()["carrier_id"]
    assert SE_ID.fullmatch(carrier_id), carrier_id
    return carrier_id


def _row_id(public_id: str) -> int:
    return int(public_id.removeprefix("se-"))


def _stored_credentials(server: Server, carrier_id: str) -> str | None:
    """``carrier_connections.credentials`` of a connection, read straight from the database."""

    async def read() -> str | None:
        database = create_database(server.env["SHIPTRACK_DATABASE_URL"])
        try:
            async with database.read() as conn:
                query = sa.select(carrier_connections.c.credentials).where(
                    carrier_connections.c.id == _row_id(carrier_id)
                )
                value: str | None = (await conn.execute(query)).scalar_one()
                return value
        finally:
            await database.dispose()

    return asyncio.run(read())


class Recorder:
    """Every response body one client received."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.bodies.append(response.text)


@pytest.fixture
def recorded(server: Server, production_tenant: Tenant) -> Iterator[tuple[Tenant, Recorder]]:
    """The production account with a client that records every response it gets."""
    recorder = Recorder()
    client = httpx.Client(
        base_url=server.url,
        headers={"API-Key": production_tenant.key},
        timeout=30,
        event_hooks={"response": [recorder]},
    )
    yield (
        Tenant(
            account_id=production_tenant.account_id,
            key=production_tenant.key,
            client=client,
            sandbox=False,
        ),
        recorder,
    )
    client.close()


# --- listing ------------------------------------------------------------------------------------


def test_list_has_carriers_a_request_id_and_no_errors(tenant: Tenant) -> None:
    response = tenant.client.get(CARRIERS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"carriers", "request_id", "errors"}
    assert str(uuid.UUID(body["request_id"])) == body["request_id"]
    assert response.headers["x-request-id"] == body["request_id"]
    assert body["errors"] == []
    assert isinstance(body["carriers"], list)


def test_each_request_gets_its_own_request_id(tenant: Tenant) -> None:
    first = tenant.client.get(CARRIERS).json()["request_id"]
    second = tenant.client.get(CARRIERS).json()["request_id"]
    assert first != second


def test_sandbox_account_lists_every_supported_carrier_as_primary(tenant: Tenant) -> None:
    carriers = _carriers(tenant)
    assert sorted(c["carrier_code"] for c in carriers) == sorted(SUPPORTED)
    assert all(c["primary"] is True for c in carriers)
    assert len({c["carrier_id"] for c in carriers}) == len(SUPPORTED)


def test_every_carrier_object_uses_only_fields_of_the_schema(tenant: Tenant) -> None:
    allowed = _carrier_schema_properties()
    for carrier in _carriers(tenant):
        assert set(carrier) <= allowed, set(carrier) - allowed
        assert SE_ID.fullmatch(carrier["carrier_id"])
        assert carrier["carrier_code"] in SUPPORTED
        assert isinstance(carrier["primary"], bool)
        assert isinstance(carrier["nickname"], str) and carrier["nickname"]
        assert isinstance(carrier["friendly_name"], str) and carrier["friendly_name"]


def test_production_account_starts_without_carriers(production_tenant: Tenant) -> None:
    assert _carriers(production_tenant) == []


def test_accounts_see_only_their_own_carriers(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = set(_by_id(tenant))
    theirs = set(_by_id(other_tenant))
    assert mine and theirs
    assert not mine & theirs


def test_list_refuses_unknown_query_parameters(tenant: Tenant) -> None:
    response = tenant.client.get(CARRIERS, params={"carrier_code": "ups"})
    assert_error(response, 400, "invalid_field_value", field_name="carrier_code")


# --- one carrier --------------------------------------------------------------------------------


def test_get_by_id_returns_the_listed_carrier(tenant: Tenant) -> None:
    for carrier_id, listed in _by_id(tenant).items():
        response = tenant.client.get(f"{CARRIERS}/{carrier_id}")
        assert response.status_code == 200, response.text
        assert response.json() == listed


def test_get_of_another_accounts_carrier_is_404_like_an_unknown_id(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = next(iter(_by_id(other_tenant)))
    for carrier_id in (foreign, "se-999999999", "se-abc"):
        response = tenant.client.get(f"{CARRIERS}/{carrier_id}")
        assert_error(response, 404, "invalid_identifier", field_name="carrier_id")


@pytest.mark.parametrize("carrier_id", ["ups", "123", "SE-1", "se_1", "se-", "se-1" + "0" * 25])
def test_malformed_carrier_ids_are_400(tenant: Tenant, carrier_id: str) -> None:
    for response in (
        tenant.client.get(f"{CARRIERS}/{carrier_id}"),
        tenant.client.delete(f"{CARRIERS}/{carrier_id}"),
        tenant.client.delete(f"{CONNECT}/ups/{carrier_id}"),
    ):
        assert_error(response, 400, "invalid_identifier", field_name="carrier_id")
    assert len(_carriers(tenant)) == len(SUPPORTED)


# --- connecting ---------------------------------------------------------------------------------


def test_connecting_ups_to_a_production_account_lists_it(
    production_tenant: Tenant, carrier_host: str
) -> None:
    body = {
        "client_id": "my-client-id",
        "client_secret": _secret(),
        "nickname": "Warehouse UPS",
        "account_number": "A1B2C3",
        "base_url": carrier_host,
    }
    carrier_id = _connect(production_tenant, "ups", body)
    carriers = _carriers(production_tenant)
    assert [c["carrier_id"] for c in carriers] == [carrier_id]
    listed = carriers[0]
    assert listed["carrier_code"] == "ups"
    assert listed["nickname"] == "Warehouse UPS"
    assert listed["account_number"] == "A1B2C3"
    assert listed["primary"] is True
    assert production_tenant.client.get(f"{CARRIERS}/{carrier_id}").json() == listed


def test_connection_without_a_nickname_is_named_after_the_carrier(
    production_tenant: Tenant, carrier_host: str
) -> None:
    body = {"client_id": "a", "client_secret": "b", "base_url": carrier_host}
    carrier_id = _connect(production_tenant, "fedex", body)
    listed = _by_id(production_tenant)[carrier_id]
    assert listed["nickname"] == listed["friendly_name"]
    assert listed["nickname"]
    assert listed["account_number"] is None


@pytest.mark.parametrize("carrier_name", OAUTH_CARRIERS)
def test_oauth_carriers_connect_with_client_id_and_secret(
    production_tenant: Tenant, carrier_host: str, carrier_name: str
) -> None:
    body = {"client_id": "id", "client_secret": _secret(), "base_url": carrier_host}
    carrier_id = _connect(production_tenant, carrier_name, body)
    assert _by_id(production_tenant)[carrier_id]["carrier_code"] == carrier_name


def test_canada_post_connects_with_its_api_user_and_password(
    production_tenant: Tenant, carrier_host: str
) -> None:
    body = {"client_id": "user", "client_secret": _secret(), "base_url": carrier_host}
    carrier_id = _connect(production_tenant, "canada_post", body)
    assert _by_id(production_tenant)[carrier_id]["carrier_code"] == "canada_post"


def test_australia_post_connects_with_its_api_key_password_and_account_number(
    production_tenant: Tenant, carrier_host: str
) -> None:
    body = {
        "api_key": "key",
        "client_secret": _secret(),
        "account_number": "0007654321",
        "base_url": carrier_host,
    }
    carrier_id = _connect(production_tenant, "australia_post", body)
    connection = _by_id(production_tenant)[carrier_id]
    assert connection["carrier_code"] == "australia_post"
    assert connection["account_number"] == "0007654321"


def test_postnl_connects_with_an_api_key(production_tenant: Tenant, carrier_host: str) -> None:
    body = {"api_key": _secret(), "base_url": carrier_host}
    carrier_id = _connect(production_tenant, "postnl", body)
    assert _by_id(production_tenant)[carrier_id]["carrier_code"] == "postnl"


def test_dhl_express_connects_with_an_api_key(production_tenant: Tenant, carrier_host: str) -> None:
    body = {"api_key": _secret(), "base_url": carrier_host}
    carrier_id = _connect(production_tenant, "dhl_express", body)
    assert _by_id(production_tenant)[carrier_id]["carrier_code"] == "dhl_express"


def test_la_poste_connects_with_an_okapi_api_key(
    production_tenant: Tenant, carrier_host: str
) -> None:
    body = {"api_key": _secret(), "base_url": carrier_host}
    carrier_id = _connect(production_tenant, "la_poste", body)
    connection = _by_id(production_tenant)[carrier_id]
    assert (connection["carrier_code"], connection["friendly_name"]) == ("la_poste", "La Poste")


@pytest.mark.parametrize("carrier_name", ["dhl_parcel", "dhl_ecommerce"])
def test_dhl_parcel_and_ecommerce_connect_with_the_dhl_api_key(
    production_tenant: Tenant, carrier_host: str, carrier_name: str
) -> None:
    body = {"api_key": _secret(), "base_url": carrier_host}
    carrier_id = _connect(production_tenant, carrier_name, body)
    assert _by_id(production_tenant)[carrier_id]["carrier_code"] == carrier_name


@pytest.mark.parametrize(
    ("carrier_name", "body", "missing"),
    [
        ("ups", None, ["client_id", "client_secret"]),
        ("ups", {}, ["client_id", "client_secret"]),
        ("fedex", {"client_id": "id"}, ["client_secret"]),
        ("usps", {"client_secret": "secret"}, ["client_id"]),
        ("stamps_com", {"nickname": "no credentials"}, ["client_id", "client_secret"]),
        ("dhl_express", {}, ["api_key"]),
        ("canada_post", {"client_id": "user"}, ["client_secret"]),
        ("australia_post", {"api_key": "key"}, ["client_secret", "account_number"]),
        ("australia_post", {"api_key": "key", "client_secret": "pw"}, ["account_number"]),
        ("gls", {"client_id": "id"}, ["client_secret"]),
        ("postnl", {"nickname": "no key"}, ["api_key"]),
        ("la_poste", {}, ["api_key"]),
        ("dhl_parcel", {}, ["api_key"]),
        ("dhl_ecommerce", {"nickname": "no key"}, ["api_key"]),
    ],
)
def test_production_connection_without_credentials_names_each_missing_field(
    production_tenant: Tenant, carrier_name: str, body: dict[str, Any] | None, missing: list[str]
) -> None:
    response = production_tenant.client.post(f"{CONNECT}/{carrier_name}", json=body)
    assert_error(response, 400, "field_value_required", field_name=missing[0])
    errors = response.json()["errors"]
    assert [e["field_name"] for e in errors] == missing
    assert {e["error_code"] for e in errors} == {"field_value_required"}
    assert _carriers(production_tenant) == []


@pytest.mark.parametrize("field", ["client_id", "client_secret", "api_key", "nickname"])
def test_empty_credential_strings_are_refused(production_tenant: Tenant, field: str) -> None:
    body = {"client_id": "id", "client_secret": "secret", field: ""}
    response = production_tenant.client.post(f"{CONNECT}/ups", json=body)
    assert_error(response, 400, "field_value_required", field_name=field)
    assert _carriers(production_tenant) == []


def test_api_key_for_ups_is_400(production_tenant: Tenant) -> None:
    body = {"client_id": "id", "client_secret": "secret", "api_key": "key"}
    response = production_tenant.client.post(f"{CONNECT}/ups", json=body)
    assert_error(response, 400, "invalid_field_value", field_name="api_key")
    assert _carriers(production_tenant) == []


def test_client_credentials_for_dhl_express_are_400(production_tenant: Tenant) -> None:
    body = {"api_key": "key", "client_id": "id"}
    response = production_tenant.client.post(f"{CONNECT}/dhl_express", json=body)
    assert_error(response, 400, "invalid_field_value", field_name="client_id")
    assert _carriers(production_tenant) == []


@pytest.mark.parametrize("carrier_name", ["ontrac", "nope", "purolator_ca", "ups_ground"])
@pytest.mark.parametrize("fixture", ["tenant", "production_tenant"])
def test_unsupported_carrier_is_400_carrier_not_supported(
    request: pytest.FixtureRequest, fixture: str, carrier_name: str
) -> None:
    account: Tenant = request.getfixturevalue(fixture)
    before = _carriers(account)
    body = {"client_id": "id", "client_secret": "secret"}
    response = account.client.post(f"{CONNECT}/{carrier_name}", json=body)
    assert_error(
        response, 400, "carrier_not_supported", error_type="validation", field_name="carrier_name"
    )
    assert _carriers(account) == before


@pytest.mark.parametrize(
    "base_url", ["not a url", "ftp://carrier.example.com", "/relative", "https://"]
)
def test_bad_base_url_is_400(production_tenant: Tenant, base_url: str) -> None:
    body = {"client_id": "id", "client_secret": "secret", "base_url": base_url}
    response = production_tenant.client.post(f"{CONNECT}/ups", json=body)
    assert_error(response, 400, "invalid_field_value", field_name="base_url")
    assert _carriers(production_tenant) == []


def test_http_base_url_is_accepted_and_is_where_the_credentials_are_checked(
    production_tenant: Tenant,
) -> None:
    with serve(accept_all.app()) as host:
        assert host.url.startswith("http://")
        body = {"client_id": "my-id", "client_secret": "my-secret", "base_url": host.url}
        carrier_id = _connect(production_tenant, "ups", body)
        # One token fetch at the given host, presenting the credentials (HTTP Basic for UPS).
        assert host.paths() == ["/security/v1/oauth/token"]
        basic = base64.b64encode(b"my-id:my-secret").decode()
        assert host.requests[0].headers["Authorization"] == f"Basic {basic}"
    assert carrier_id in _by_id(production_tenant)


@pytest.mark.parametrize("carrier_name", SUPPORTED)
def test_a_carrier_that_cannot_be_reached_is_503_and_nothing_is_connected(
    production_tenant: Tenant, carrier_name: str
) -> None:
    credentials = {
        "dhl_express": {"api_key": "key"},
        "australia_post": {"api_key": "key", "client_secret": "secret", "account_number": "1"},
        "postnl": {"api_key": "key"},
        "la_poste": {"api_key": "key"},
        "dhl_parcel": {"api_key": "key"},
        "dhl_ecommerce": {"api_key": "key"},
    }.get(carrier_name, {"client_id": "id", "client_secret": "secret"})
    body = {**credentials, "base_url": f"http://127.0.0.1:{free_port()}"}
    response = production_tenant.client.post(f"{CONNECT}/{carrier_name}", json=body)
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert _carriers(production_tenant) == []


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"client_id": 1, "client_secret": "s"}, "client_id"),
        ({"client_id": "i", "client_secret": ["s"]}, "client_secret"),
        ({"client_id": "i", "client_secret": "s", "account_number": 42}, "account_number"),
        ({"client_id": "i", "client_secret": "s", "password": "p"}, "password"),
    ],
)
def test_connect_body_is_strict(
    production_tenant: Tenant, body: dict[str, Any], field_name: str
) -> None:
    response = production_tenant.client.post(f"{CONNECT}/ups", json=body)
    assert_error(response, 400, "invalid_field_value", field_name=field_name)
    assert _carriers(production_tenant) == []


def test_sandbox_accounts_connect_without_credentials(tenant: Tenant) -> None:
    carrier_id = _connect(tenant, "fedex", None)
    assert _by_id(tenant)[carrier_id]["carrier_code"] == "fedex"


# --- primary ------------------------------------------------------------------------------------


def test_second_connection_of_a_carrier_is_not_primary(tenant: Tenant) -> None:
    original = next(c["carrier_id"] for c in _carriers(tenant) if c["carrier_code"] == "ups")
    second = _connect(tenant, "ups", {"nickname": "second ups"})
    carriers = _by_id(tenant)
    assert carriers[original]["primary"] is True
    assert carriers[second]["primary"] is False
    assert carriers[second]["nickname"] == "second ups"
    for code in SUPPORTED:
        primaries = [c for c in carriers.values() if c["carrier_code"] == code and c["primary"]]
        assert len(primaries) == 1, code
    assert tenant.client.get(f"{CARRIERS}/{second}").json()["primary"] is False


def test_next_connection_becomes_primary_when_the_primary_is_disconnected(
    production_tenant: Tenant, carrier_host: str
) -> None:
    credentials = {"client_id": "id", "client_secret": "secret", "base_url": carrier_host}
    first = _connect(production_tenant, "usps", credentials)
    second = _connect(production_tenant, "usps", credentials)
    third = _connect(production_tenant, "usps", credentials)
    assert [c["primary"] for c in _carriers(production_tenant)] == [True, False, False]
    assert production_tenant.client.delete(f"{CARRIERS}/{first}").status_code == 204
    carriers = _by_id(production_tenant)
    assert list(carriers) == [second, third]
    assert carriers[second]["primary"] is True
    assert carriers[third]["primary"] is False


def test_primary_is_per_carrier_code(production_tenant: Tenant, carrier_host: str) -> None:
    credentials = {"client_id": "id", "client_secret": "secret", "base_url": carrier_host}
    usps = _connect(production_tenant, "usps", credentials)
    stamps = _connect(production_tenant, "stamps_com", credentials)
    carriers = _by_id(production_tenant)
    assert carriers[usps]["primary"] is True
    assert carriers[stamps]["primary"] is True


# --- disconnecting ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["carriers", "connections"])
def test_disconnect_removes_the_carrier(tenant: Tenant, route: str) -> None:
    fedex = next(c["carrier_id"] for c in _carriers(tenant) if c["carrier_code"] == "fedex")
    path = f"{CARRIERS}/{fedex}" if route == "carriers" else f"{CONNECT}/fedex/{fedex}"
    response = tenant.client.delete(path)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(
        tenant.client.get(f"{CARRIERS}/{fedex}"), 404, "invalid_identifier", field_name="carrier_id"
    )
    remaining = _carriers(tenant)
    assert fedex not in {c["carrier_id"] for c in remaining}
    assert sorted(c["carrier_code"] for c in remaining) == sorted(set(SUPPORTED) - {"fedex"})
    assert_error(tenant.client.delete(path), 404, "invalid_identifier", field_name="carrier_id")


def test_disconnect_with_the_wrong_carrier_name_is_404_and_keeps_it(tenant: Tenant) -> None:
    ups = next(c["carrier_id"] for c in _carriers(tenant) if c["carrier_code"] == "ups")
    response = tenant.client.delete(f"{CONNECT}/fedex/{ups}")
    assert_error(response, 404, "invalid_identifier", field_name="carrier_id")
    assert ups in _by_id(tenant)


def test_disconnect_with_an_unsupported_carrier_name_is_400(tenant: Tenant) -> None:
    ups = next(c["carrier_id"] for c in _carriers(tenant) if c["carrier_code"] == "ups")
    response = tenant.client.delete(f"{CONNECT}/ontrac/{ups}")
    assert_error(response, 400, "carrier_not_supported", field_name="carrier_name")
    assert ups in _by_id(tenant)


def test_disconnecting_another_accounts_carrier_is_404(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = next(c for c in _carriers(other_tenant) if c["carrier_code"] == "ups")
    for path in (f"{CARRIERS}/{theirs['carrier_id']}", f"{CONNECT}/ups/{theirs['carrier_id']}"):
        assert_error(tenant.client.delete(path), 404, "invalid_identifier", field_name="carrier_id")
    assert _by_id(other_tenant)[theirs["carrier_id"]] == theirs


def test_disconnected_carrier_can_be_connected_again(
    production_tenant: Tenant, carrier_host: str
) -> None:
    credentials = {"client_id": "id", "client_secret": "secret", "base_url": carrier_host}
    first = _connect(production_tenant, "ups", credentials)
    assert production_tenant.client.delete(f"{CONNECT}/ups/{first}").status_code == 204
    second = _connect(production_tenant, "ups", credentials)
    assert second != first
    assert [c["carrier_id"] for c in _carriers(production_tenant)] == [second]
    assert _carriers(production_tenant)[0]["primary"] is True


# --- credentials --------------------------------------------------------------------------------


def test_credentials_are_never_returned(
    recorded: tuple[Tenant, Recorder], carrier_host: str
) -> None:
    account, recorder = recorded
    client_id, client_secret, api_key = _secret(), _secret(), _secret()
    ups = _connect(
        account,
        "ups",
        {"client_id": client_id, "client_secret": client_secret, "base_url": carrier_host},
    )
    dhl = _connect(account, "dhl_express", {"api_key": api_key, "base_url": carrier_host})
    # Failed attempts carrying credentials must not echo them either.
    account.client.post(
        f"{CONNECT}/ups",
        json={"client_id": client_id, "client_secret": client_secret, "api_key": api_key},
    )
    account.client.post(f"{CONNECT}/dhl_express", json={"api_key": api_key, "base_url": "bad"})
    account.client.post(f"{CONNECT}/nope", json={"client_id": client_id, "client_secret": "x"})
    account.client.post(
        f"{CONNECT}/ups",
        json={"client_id": client_id, "client_secret": client_secret, "account_number": 5},
    )
    account.client.get(CARRIERS)
    account.client.get(f"{CARRIERS}/{ups}")
    account.client.get(f"{CARRIERS}/{dhl}")
    account.client.delete(f"{CONNECT}/ups/{ups}")
    account.client.get(f"{CARRIERS}/{ups}")
    account.client.get(CARRIERS)
    assert len(recorder.bodies) == 12
    for body in recorder.bodies:
        for secret in (client_id, client_secret, api_key):
            assert secret not in body


def test_credentials_are_sealed_at_rest_for_their_owner_only(
    server: Server, production_tenant: Tenant, other_tenant: Tenant, carrier_host: str
) -> None:
    client_id, client_secret = _secret(), _secret()
    carrier_id = _connect(
        production_tenant,
        "ups",
        {"client_id": client_id, "client_secret": client_secret, "base_url": carrier_host},
    )
    stored = _stored_credentials(server, carrier_id)
    assert stored is not None
    assert client_id not in stored
    assert client_secret not in stored

    sealer = Sealer(server.env["SHIPTRACK_SECRET_KEY"])
    account_id = _row_id(production_tenant.account_id)
    opened = sealer.open(stored, owner=credential_owner(account_id, "ups"))
    assert opened == {"client_id": client_id, "client_secret": client_secret}

    for owner in (
        credential_owner(_row_id(other_tenant.account_id), "ups"),
        credential_owner(account_id, "fedex"),
    ):
        with pytest.raises(SealingError):
            sealer.open(stored, owner=owner)
    with pytest.raises(SealingError):
        Sealer("another-secret-key").open(stored, owner=credential_owner(account_id, "ups"))


def test_api_key_credentials_are_sealed_at_rest(
    server: Server, production_tenant: Tenant, carrier_host: str
) -> None:
    api_key = _secret()
    carrier_id = _connect(
        production_tenant, "dhl_express", {"api_key": api_key, "base_url": carrier_host}
    )
    stored = _stored_credentials(server, carrier_id)
    assert stored is not None
    assert api_key not in stored
    owner = credential_owner(_row_id(production_tenant.account_id), "dhl_express")
    assert Sealer(server.env["SHIPTRACK_SECRET_KEY"]).open(stored, owner=owner) == {
        "api_key": api_key
    }


def test_two_connections_with_the_same_secret_are_sealed_differently(
    server: Server, production_tenant: Tenant, carrier_host: str
) -> None:
    credentials = {"client_id": "id", "client_secret": _secret(), "base_url": carrier_host}
    first = _stored_credentials(server, _connect(production_tenant, "ups", credentials))
    second = _stored_credentials(server, _connect(production_tenant, "ups", credentials))
    assert first is not None and second is not None
    assert first != second


def test_session_server_log_never_contains_credentials(
    server: Server, production_tenant: Tenant, carrier_host: str
) -> None:
    client_secret, api_key = _secret(), _secret()
    _connect(
        production_tenant,
        "ups",
        {"client_id": "id", "client_secret": client_secret, "base_url": carrier_host},
    )
    _connect(production_tenant, "dhl_express", {"api_key": api_key, "base_url": carrier_host})
    production_tenant.client.post(f"{CONNECT}/ups", json={"api_key": api_key})
    text = server.log.read_text(encoding="utf-8", errors="replace")
    assert client_secret not in text
    assert api_key not in text


@pytest.mark.slow
def test_verbose_server_log_never_contains_credentials(
    test_database: DatabaseServer, tmp_path: Path, carrier_host: str
) -> None:
    env = cli_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_LOG_LEVEL="debug",
        SHIPTRACK_ACCESS_LOG="true",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="1000000",
    )
    verbose = start_server(env, tmp_path / "server.log")
    account = make_tenant(verbose, sandbox=False)
    try:
        client_id, client_secret, api_key = _secret(), _secret(), _secret()
        ups = _connect(
            account,
            "ups",
            {"client_id": client_id, "client_secret": client_secret, "base_url": carrier_host},
        )
        _connect(account, "dhl_express", {"api_key": api_key, "base_url": carrier_host})
        account.client.post(
            f"{CONNECT}/ups",
            json={"client_id": client_id, "client_secret": client_secret, "api_key": api_key},
        )
        account.client.post(f"{CONNECT}/ups", json={"client_secret": client_secret * 20})
        # A failed check with the carrier logs its failure, never the credentials it carried.
        unreachable = {
            "client_id": client_id,
            "client_secret": client_secret,
            "base_url": f"http://127.0.0.1:{free_port()}",
        }
        assert account.client.post(f"{CONNECT}/ups", json=unreachable).status_code == 503
        account.client.get(CARRIERS)
        account.client.delete(f"{CARRIERS}/{ups}")
    finally:
        account.client.close()
        verbose.stop()
    text = verbose.log.read_text(encoding="utf-8", errors="replace")
    assert "/v1/connections/carriers/ups" in text  # the log did record the requests
    for secret in (client_id, client_secret, api_key):
        assert secret not in text
