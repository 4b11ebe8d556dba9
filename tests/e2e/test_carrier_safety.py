"""Carrier ``base_url`` values kept off the server's own network (SSRF), and carrier errors that
never repeat what an internal address answered, over real HTTP.

Covers, on a server started WITHOUT ``SHIPTRACK_WEBHOOK_ALLOW_PRIVATE`` or
``SHIPTRACK_OUTBOUND_ALLOW``: connecting DHL Express (``api_key``), UPS, USPS and FedEx (OAuth) with
a ``base_url`` on loopback, however spelled (literal, IPv6, IPv4-mapped, legacy numeric,
``localhost``, Unicode look-alikes), is a ``400`` naming ``base_url``, stores nothing, and the
carrier fake listening there never hears a thing; private and metadata addresses likewise (tried
on sandbox accounts, which never dial, so that no test could send a packet beyond 127.0.0.0/8
even with a broken guard; every spelling's rule is unit-tested in ``tests/unit``); a connection
whose ``base_url`` reached the database anyway is refused at every dial: the live
lookup's ``503`` and the package's ``last_error`` name the carrier and "refused by the outbound
policy" only, and the fake is never reached. With ``SHIPTRACK_OUTBOUND_ALLOW=localhost`` (a name)
that name works while the literal address stays refused; the shared server
(``SHIPTRACK_OUTBOUND_ALLOW=127.0.0.0/8``) reaches a host that answers error pages, non-JSON bodies
and error JSON carrying a secret, and no client-visible error (connect's ``503``, the live
lookup's ``503``) repeats the secret, the address or the port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest

from shiptrack.app import build
from shiptrack.services.connections import ConnectRequest
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
from tests.fakes import (
    accept_all,
    australia_post,
    dhl,
    dhl_divisions,
    fedex,
    gls,
    la_poste,
    leaky,
    postnl,
    royal_mail,
    ups,
    usps,
)
from tests.fakes.server import FakeServer, serve
from tests.support import own_engine_server, start_tracking, wait_for_tracking


class Credentials(TypedDict, total=False):
    """A carrier's credential fields, as sent to the connect endpoint and to ConnectRequest."""

    api_key: str
    client_id: str
    client_secret: str
    account_number: str


CONNECT = "/v1/connections/carriers"
REFUSED = "refused by the outbound policy"
CREDENTIALS: dict[str, Credentials] = {
    "dhl_express": {"api_key": "key-1"},
    "ups": {"client_id": "id-1", "client_secret": "secret-1"},
    "usps": {"client_id": "id-1", "client_secret": "secret-1"},
    "fedex": {"client_id": "id-1", "client_secret": "secret-1"},
    "royal_mail": {"client_id": "id-1", "client_secret": "secret-1"},
    "australia_post": {"api_key": "key-1", "client_secret": "secret-1", "account_number": "1"},
    "gls": {"client_id": "id-1", "client_secret": "secret-1"},
    "postnl": {"api_key": "key-1"},
    "la_poste": {"api_key": "key-1"},
    "dhl_parcel": {"api_key": "key-1"},
}
#: A number of each carrier's that the adapter will ask about.
NUMBERS = {
    "dhl_express": dhl.DELIVERED,
    "ups": ups.DELIVERED,
    "usps": usps.DELIVERED,
    "fedex": fedex.DELIVERED,
    "royal_mail": royal_mail.DELIVERED,
    "australia_post": australia_post.DELIVERED,
    "gls": gls.DELIVERED,
    "postnl": postnl.DELIVERED,
    "la_poste": la_poste.DELIVERED,
    "dhl_parcel": dhl_divisions.DE_GERMAN,
}
#: Spellings of the loopback address where the carrier fake listens (``{port}``): a production
#: connect dials its base URL at once, so only these are tried there — were the guard broken, the
#: fake on 127.0.0.1 would be reached (and say so), and nothing would leave the machine.
LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:{port}",
    "http://localhost:{port}",
    "http://[::1]:{port}",
    "http://[::ffff:127.0.0.1]:{port}",
    "http://127.1:{port}",
    "http://0x7f000001:{port}",
    "http://2130706433:{port}",
    "http://0177.0.0.1:{port}",
    "http://\U0001fbf1\U0001fbf2\U0001fbf7.\U0001fbf0.\U0001fbf0.\U0001fbf1:{port}",
    "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11:{port}",
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{port}",
]
#: Private and metadata destinations: tried on sandbox accounts only, whose connections are
#: simulated and never dialled, so no test can send anything there whatever the code does.
ELSEWHERE = [
    "http://10.0.0.1:8080",
    "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:169.254.169.254]/latest/meta-data",
    "http://[fd00:ec2::254]/latest/meta-data",
    "http://100.100.100.200/latest/meta-data",
    "http://\uff11\uff16\uff19\uff0e\uff12\uff15\uff14\uff0e\uff11\uff16\uff19\uff0e"
    "\uff12\uff15\uff14",
]


@pytest.fixture(scope="module")
def guarded(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with workers and the default (strict) outbound policy."""
    yield from own_engine_server(
        test_database, tmp_path_factory, "guarded-carriers", SHIPTRACK_OUTBOUND_ALLOW=""
    )


@pytest.fixture(scope="module")
def listening() -> Iterator[FakeServer]:
    """A carrier host on 127.0.0.1 that would accept any credentials."""
    with serve(accept_all.app()) as fake:
        yield fake


@pytest.fixture
def tenant(guarded: Server) -> Iterator[Tenant]:
    made = make_tenant(guarded, sandbox=False, name="guarded")
    yield made
    made.client.close()


def port_of(fake: FakeServer) -> int:
    return int(fake.url.rsplit(":", 1)[1])


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
@pytest.mark.parametrize("carrier", list(CREDENTIALS))
def test_connecting_with_a_refused_base_url_is_400_and_stores_nothing(
    tenant: Tenant, listening: FakeServer, carrier: str, spelling: str
) -> None:
    base_url = spelling.format(port=port_of(listening))
    body = {**CREDENTIALS[carrier], "base_url": base_url}

    response = tenant.client.post(f"{CONNECT}/{carrier}", json=body)

    error = assert_error(response, 400, "invalid_field_value", field_name="base_url")
    assert REFUSED in str(error["message"])
    assert tenant.client.get("/v1/carriers").json()["carriers"] == []
    assert listening.requests == []


@pytest.fixture
def sandbox(guarded: Server) -> Iterator[Tenant]:
    made = make_tenant(guarded, sandbox=True)
    yield made
    made.client.close()


@pytest.mark.parametrize("base_url", ELSEWHERE)
@pytest.mark.parametrize("carrier", list(CREDENTIALS))
def test_private_and_metadata_base_urls_are_refused_before_anything_is_stored(
    sandbox: Tenant, carrier: str, base_url: str
) -> None:
    before = sandbox.client.get("/v1/carriers").json()["carriers"]

    response = sandbox.client.post(f"{CONNECT}/{carrier}", json={"base_url": base_url})

    error = assert_error(response, 400, "invalid_field_value", field_name="base_url")
    assert REFUSED in str(error["message"])
    assert sandbox.client.get("/v1/carriers").json()["carriers"] == before


def stored_behind_the_guards_back(server: Server, tenant: Tenant, base_url: str) -> None:
    """Connect UPS at ``base_url`` in-process, under a policy allowing loopback, into the
    server's database (as a connection made before the guard existed would be)."""

    async def work() -> None:
        settings = server.settings().model_copy(update={"outbound_allow": "127.0.0.0/8"})
        services = build(settings)
        try:
            account = await services.accounts.authenticate(tenant.key)
            assert account is not None
            request = ConnectRequest(**CREDENTIALS["ups"], base_url=base_url)
            await services.connections.connect(account, "ups", request)
        finally:
            await services.close()

    asyncio.run(work())


def assert_says_only_refused(text: str, fake: FakeServer) -> None:
    assert "UPS" in text and REFUSED in text, text
    assert "127.0.0.1" not in text and str(port_of(fake)) not in text, text


def test_a_stored_refused_base_url_is_refused_at_every_dial_and_says_only_that(
    guarded: Server, tenant: Tenant
) -> None:
    with serve(accept_all.app()) as fake:
        stored_behind_the_guards_back(guarded, tenant, fake.url)
        fake.requests.clear()

        live = tenant.client.get(
            "/v1/tracking", params={"carrier_code": "ups", "tracking_number": ups.DELIVERED}
        )
        error = assert_error(live, 503, "unspecified", error_type="system", error_source="carrier")
        assert_says_only_refused(str(error["message"]), fake)

        tenant.add_track_webhook()
        start_tracking(tenant, "ups", ups.IN_TRANSIT)
        body = wait_for_tracking(
            tenant, "ups", ups.IN_TRANSIT, lambda b: b["last_error"] is not None, "a refusal"
        )
        assert_says_only_refused(body["last_error"], fake)
        assert body["status_code"] == "UN"
        assert fake.requests == []


# --- the allow-list by name ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def allowing_a_name(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """An API server whose allow-list holds one host name."""
    home = tmp_path_factory.mktemp("allowing-a-name")
    env = cli_env(
        test_database.fresh(home),
        home / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_OUTBOUND_ALLOW="localhost",
    )
    running = start_server(env, home / "server.log")
    yield running
    running.stop()


def test_an_allow_listed_name_is_reached_while_its_address_stays_refused(
    allowing_a_name: Server,
) -> None:
    account = make_tenant(allowing_a_name, sandbox=False)
    try:
        with serve(accept_all.app()) as fake:
            port = port_of(fake)
            by_address = account.client.post(
                f"{CONNECT}/ups", json={**CREDENTIALS["ups"], "base_url": fake.url}
            )
            assert_error(by_address, 400, "invalid_field_value", field_name="base_url")
            assert fake.requests == []

            by_name = account.client.post(
                f"{CONNECT}/ups",
                json={**CREDENTIALS["ups"], "base_url": f"http://localhost:{port}"},
            )
            assert by_name.status_code == 200, by_name.text
            assert fake.paths() == ["/security/v1/oauth/token"]
    finally:
        account.client.close()


# --- nothing echoed -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leaking() -> Iterator[FakeServer]:
    with serve(leaky.app()) as fake:
        yield fake


@pytest.fixture
def fresh(server: Server, leaking: FakeServer) -> Iterator[Tenant]:
    leaking.state.clear()
    made = make_tenant(server, sandbox=False, name="leaky")
    yield made
    made.client.close()


def assert_nothing_echoed(text: str, fake: FakeServer) -> None:
    assert leaky.SECRET not in text, text
    assert "admin console" not in text, text
    assert "127.0.0.1" not in text and str(port_of(fake)) not in text, text


@pytest.mark.parametrize("token", ["500", "html"])
@pytest.mark.parametrize("carrier", ["ups", "usps", "fedex"])
def test_a_failed_credential_check_never_repeats_what_was_answered(
    fresh: Tenant, leaking: FakeServer, carrier: str, token: str
) -> None:
    leaking.state["token"] = token
    body = {**CREDENTIALS[carrier], "base_url": leaking.url}

    response = fresh.client.post(f"{CONNECT}/{carrier}", json=body)

    assert response.status_code == 503, response.text
    assert_nothing_echoed(response.text, leaking)
    assert leaking.requests, "the host was asked"


@pytest.mark.parametrize("answer", ["html", "500"])
def test_a_failed_dhl_key_check_never_repeats_what_was_answered(
    fresh: Tenant, leaking: FakeServer, answer: str
) -> None:
    leaking.state["answer"] = answer
    body = {**CREDENTIALS["dhl_express"], "base_url": leaking.url}

    response = fresh.client.post(f"{CONNECT}/dhl_express", json=body)

    assert response.status_code == 503, response.text
    assert_nothing_echoed(response.text, leaking)


def test_an_unreachable_carrier_is_named_without_its_address(fresh: Tenant) -> None:
    port = free_port()
    body = {**CREDENTIALS["ups"], "base_url": f"http://127.0.0.1:{port}"}
    response = fresh.client.post(f"{CONNECT}/ups", json=body)
    assert response.status_code == 503, response.text
    assert "UPS could not be reached" in response.text
    assert "127.0.0.1" not in response.text and str(port) not in response.text


@pytest.mark.parametrize("answer", ["html", "500", "json-error"])
@pytest.mark.parametrize("carrier", list(CREDENTIALS))
def test_a_live_lookup_never_repeats_what_was_answered(
    fresh: Tenant, leaking: FakeServer, carrier: str, answer: str
) -> None:
    lookups = ("dhl_express", "royal_mail", "australia_post", "postnl", "la_poste", "dhl_parcel")
    if carrier in lookups:  # the check is a lookup
        leaking.state["answer"] = "json-error"
    response = fresh.client.post(
        f"{CONNECT}/{carrier}", json={**CREDENTIALS[carrier], "base_url": leaking.url}
    )
    assert response.status_code == 200, response.text
    leaking.state["answer"] = answer

    looked_up = fresh.client.get(
        "/v1/tracking", params={"carrier_code": carrier, "tracking_number": NUMBERS[carrier]}
    )

    assert_nothing_echoed(looked_up.text, leaking)
    outcome: dict[str, Any] = looked_up.json()
    if looked_up.status_code != 200:  # DHL and Royal Mail read a 400 as "not found"
        assert looked_up.status_code == 503, looked_up.text
        assert outcome["errors"][0]["error_code"] == "unspecified"
