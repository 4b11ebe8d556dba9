"""What the tests of every polled carrier share: one description per fake carrier API
(:class:`FakeCarrier`), registered in :data:`FAKE_CARRIERS`, and the fixtures built from it.

From the registry, two contract suites test each carrier's failures once:

- ``tests/integration/test_carrier_transport_contract.py``: the adapter over real HTTP (429 with
  ``Retry-After``, 500, a 503 outage, a slow answer, an unreachable host, credentials revoked
  after they worked, and ``verify()`` accepting, refusing and failing);
- ``tests/e2e/test_carrier_failures_contract.py``: through a running server, such failures show
  ``last_error`` and change no stored status, and the package moves on once the carrier is back.

A carrier's own test modules keep what is that carrier's own (its requests, mapping, times, not
found) and take their fixtures from :func:`adapter_fixtures` and :func:`e2e_fixtures`.

Every registered fake follows these conventions:

- ``fake.state["outage"] = True``: every route answers 503 with ``Retry-After: 1``;
- ``fake.state["rate_limited"] = True``: every route answers 429 with ``Retry-After: 1``;
- ``fake.state["as"] = {number: magic}``: ``number`` answers with the data of the magic number;
- the magic number :attr:`FakeCarrier.rate_limited` answers 429 with ``Retry-After: 7``, and
  :attr:`FakeCarrier.server_error` answers 500;
- :attr:`FakeCarrier.slow`, when the fake has one, answers after ``fake.state["delay"]`` seconds;
- :attr:`FakeCarrier.revoke` makes the credentials of :attr:`FakeCarrier.credentials` refused
  (401), and clearing ``fake.state`` undoes every switch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from shiptrack.carriers.base import CarrierAdapter, ConnectionContext
from shiptrack.carriers.http import CarrierHttp
from tests.conftest import DatabaseServer, Server, Tenant
from tests.fakes.dial import FAKES_ALLOWED
from tests.fakes.server import FakeServer, serve
from tests.support import (
    QUICK_SCHEDULE,
    Recorded,
    connect_carrier,
    own_engine_server,
    production_account,
)


@dataclass(frozen=True)
class FakeCarrier:
    """A carrier API as its fake in ``tests/fakes`` speaks it, and how a connection reaches it."""

    #: The ``carrier_code`` of the connection.
    code: str
    #: The carrier's name in messages ("Royal Mail could not be reached").
    name: str
    #: The fake's aiohttp application.
    app: Callable[[], web.Application]
    #: The adapter, made over the given HTTP client.
    adapter: Callable[[CarrierHttp], CarrierAdapter]
    #: The connection's credentials the fake accepts (the connection body's fields).
    credentials: Mapping[str, str]
    #: A number the fake answers with scans.
    known: str
    #: A magic number with other scans, whose data ``known`` can be moved on to
    #: (``fake.state["as"]``).
    moved_on: str
    #: Magic numbers: 429 with ``Retry-After: 7``, and 500.
    rate_limited: str
    server_error: str
    #: Makes the accepted credentials refused (401) until ``fake.state`` is cleared.
    revoke: Callable[[FakeServer], None]
    #: The connection's ``account_number``, when the carrier wants one.
    account_number: str | None = None
    #: A magic number answered after ``fake.state["delay"]`` seconds (``None``: the fake has none).
    slow: str | None = None
    #: Other connection body fields (carrier options).
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The code as a name for directories and accounts (``royal-mail``)."""
        return self.code.replace("_", "-")

    def make(self, *, timeout: float = 20.0) -> CarrierAdapter:
        """A fresh adapter allowed to dial 127.0.0.1, giving up on an answer after ``timeout``."""
        return self.adapter(CarrierHttp(self.name, policy=FAKES_ALLOWED, timeout=timeout))

    def context(self, url: str, **credentials: str | None) -> ConnectionContext:
        """The adapter's view of a connection at ``url``; ``credentials`` replace the accepted
        ones (``None`` leaves one out)."""
        given = {**self.credentials, **credentials}
        return ConnectionContext(
            connection_id=7,
            carrier_code=self.code,
            simulated=False,
            base_url=url,
            account_number=self.account_number,
            credentials={name: value for name, value in given.items() if value is not None},
            options=dict(self.options),
        )

    def connect(self, tenant: Tenant, fake: FakeServer, **fields: Any) -> str:
        """Connect the carrier at the fake for ``tenant`` (200 expected); the ``carrier_id``.
        ``requests_per_minute`` is high so that the default budget does not slow the tests."""
        body: dict[str, Any] = {
            **self.credentials,
            **self.options,
            "base_url": fake.url,
            "requests_per_minute": 600,
        }
        if self.account_number is not None:
            body["account_number"] = self.account_number
        return connect_carrier(tenant, self.code, **{**body, **fields})


def walk(record: Recorded) -> list[tuple[str | None, str, str | None]]:
    """A package's recorded changes as ``(previous status, status, detail)``, oldest first."""
    return [(c.previous_status, c.status_code, c.status_detail_code) for c in record.changes]


# --- fixtures -------------------------------------------------------------------------------------


def adapter_fixtures(carrier: FakeCarrier) -> tuple[Any, Any, Any]:
    """Fixtures ``running`` (the fake, once per module), ``fake`` (it, with no state and no
    recorded requests) and ``carrier`` (a fresh adapter allowed to dial 127.0.0.1) for an
    adapter test module: ``running, fake, carrier = adapter_fixtures(FAKE_CARRIERS[code])``."""

    @pytest.fixture(scope="module")
    def running() -> Iterator[FakeServer]:
        with serve(carrier.app()) as server:
            yield server

    @pytest.fixture
    def fake(running: FakeServer) -> FakeServer:
        running.state.clear()
        running.requests.clear()
        return running

    @pytest.fixture(name="carrier")
    async def adapter() -> AsyncIterator[CarrierAdapter]:
        made = carrier.make()
        yield made
        await made.close()

    return running, fake, adapter


def e2e_fixtures(carrier: FakeCarrier) -> tuple[Any, Any, Any, Any]:
    """Fixtures ``engine`` (a server with workers re-polling every half second, once per
    module), ``fake`` (this test's own carrier host), ``shipper`` (a production account with a
    ``track`` webhook) and ``connected`` (it, with the carrier connected at the fake) for an
    end-to-end module: ``engine, fake, shipper, connected = e2e_fixtures(FAKE_CARRIERS[code])``."""

    @pytest.fixture(scope="module")
    def engine(
        test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Server]:
        yield from own_engine_server(
            test_database,
            tmp_path_factory,
            f"{carrier.slug}-engine",
            **QUICK_SCHEDULE,
            SHIPTRACK_SCHEDULE_NOT_FOUND_MAX="0.5",
        )

    @pytest.fixture
    def fake() -> Iterator[FakeServer]:
        with serve(carrier.app()) as running:
            yield running

    @pytest.fixture
    def shipper(engine: Server) -> Iterator[Tenant]:
        with production_account(engine, f"{carrier.slug}-shipper") as tenant:
            yield tenant

    @pytest.fixture
    def connected(shipper: Tenant, fake: FakeServer) -> Tenant:
        carrier.connect(shipper, fake)
        fake.requests.clear()
        return shipper

    return engine, fake, shipper, connected


def contract_fixtures() -> tuple[Any, Any]:
    """Fixtures ``kind`` (each registered :class:`FakeCarrier` in turn) and ``fake`` (a host of
    its own for the test) for a contract suite: ``kind, fake = contract_fixtures()``."""

    @pytest.fixture(params=sorted(FAKE_CARRIERS))
    def kind(request: pytest.FixtureRequest) -> FakeCarrier:
        return FAKE_CARRIERS[request.param]

    @pytest.fixture
    def fake(kind: FakeCarrier) -> Iterator[FakeServer]:
        with serve(kind.app()) as running:
            yield running

    return kind, fake


# --- the registry ---------------------------------------------------------------------------------


def _registry() -> dict[str, FakeCarrier]:
    # Imported here so that importing the kit does not import every fake twice over.
    from shiptrack.carriers.australia_post import AustraliaPostCarrier
    from shiptrack.carriers.canada_post import CanadaPostCarrier
    from shiptrack.carriers.dhl import DhlCarrier, DhlEcommerceCarrier, DhlParcelCarrier
    from shiptrack.carriers.gls import GlsCarrier
    from shiptrack.carriers.la_poste import LaPosteCarrier
    from shiptrack.carriers.postnl import PostNLCarrier
    from shiptrack.carriers.royal_mail import RoyalMailCarrier
    from tests.fakes import australia_post as ap
    from tests.fakes import canada_post as cp
    from tests.fakes import dhl, dhl_divisions
    from tests.fakes import gls as gl
    from tests.fakes import la_poste as lp
    from tests.fakes import postnl as pn
    from tests.fakes import royal_mail as rm

    def replace_state(key: str, value: Any) -> Callable[[FakeServer], None]:
        def revoke(fake: FakeServer) -> None:
            fake.state[key] = value

        return revoke

    carriers = [
        FakeCarrier(
            code="dhl_express",
            name="DHL Express",
            app=dhl.app,
            adapter=DhlCarrier,
            credentials={"api_key": dhl.VALID_KEY},
            known=dhl.IN_TRANSIT,
            moved_on=dhl.DELIVERED,
            rate_limited=dhl.RATE_LIMITED,
            server_error=dhl.SERVER_ERROR,
            revoke=replace_state("keys", set()),
            slow=dhl.SLOW,
        ),
        FakeCarrier(
            code="canada_post",
            name="Canada Post",
            app=cp.app,
            adapter=CanadaPostCarrier,
            credentials={"client_id": cp.USER, "client_secret": cp.PASSWORD},
            account_number="0008765432",
            known=cp.IN_TRANSIT,
            moved_on=cp.DELIVERED,
            rate_limited=cp.RATE_LIMITED,
            server_error=cp.SERVER_ERROR,
            revoke=replace_state("users", set()),
            slow=cp.SLOW,
        ),
        FakeCarrier(
            code="royal_mail",
            name="Royal Mail",
            app=rm.app,
            adapter=RoyalMailCarrier,
            credentials={"client_id": rm.CLIENT_ID, "client_secret": rm.CLIENT_SECRET},
            known=rm.IN_TRANSIT,
            moved_on=rm.DELIVERED,
            rate_limited=rm.RATE_LIMITED,
            server_error=rm.SERVER_ERROR,
            revoke=replace_state("clients", set()),
        ),
        FakeCarrier(
            code="australia_post",
            name="Australia Post",
            app=ap.app,
            adapter=AustraliaPostCarrier,
            credentials={"api_key": ap.API_KEY, "client_secret": ap.PASSWORD},
            account_number=ap.ACCOUNT,
            known=ap.ATTEMPTED,
            moved_on=ap.DELIVERED,
            rate_limited=ap.RATE_LIMITED,
            server_error=ap.SERVER_ERROR,
            revoke=replace_state("revoked", True),
        ),
        FakeCarrier(
            code="gls",
            name="GLS",
            app=gl.app,
            adapter=GlsCarrier,
            credentials={"client_id": gl.CLIENT_ID, "client_secret": gl.CLIENT_SECRET},
            known=gl.IN_TRANSIT,
            moved_on=gl.DELIVERED,
            rate_limited=gl.RATE_LIMITED,
            server_error=gl.SERVER_ERROR,
            # The token endpoint and the tracking API both refuse (401).
            revoke=replace_state("revoked", True),
            slow=gl.SLOW,
        ),
        FakeCarrier(
            code="postnl",
            name="PostNL",
            app=pn.app,
            adapter=PostNLCarrier,
            credentials={"api_key": pn.API_KEY},
            known=pn.ATTEMPTED,
            moved_on=pn.OUTLET,
            rate_limited=pn.RATE_LIMITED,
            server_error=pn.SERVER_ERROR,
            revoke=pn.revoke,
            slow=pn.SLOW,
        ),
        FakeCarrier(
            code="la_poste",
            name="La Poste",
            app=lp.app,
            adapter=LaPosteCarrier,
            credentials={"api_key": lp.API_KEY},
            known=lp.IN_TRANSIT,
            moved_on=lp.ATTEMPTED,
            rate_limited=lp.RATE_LIMITED,
            server_error=lp.SERVER_ERROR,
            revoke=replace_state("keys", set()),
            slow=lp.SLOW,
        ),
        FakeCarrier(
            code="dhl_parcel",
            name="DHL Parcel",
            app=dhl_divisions.app,
            adapter=DhlParcelCarrier,
            credentials={"api_key": dhl.VALID_KEY},
            known=dhl_divisions.DE_GERMAN_STEPS[2],
            moved_on=dhl_divisions.DE_GERMAN,
            rate_limited=dhl.RATE_LIMITED,
            server_error=dhl.SERVER_ERROR,
            revoke=replace_state("keys", set()),
            slow=dhl.SLOW,
        ),
        FakeCarrier(
            code="dhl_ecommerce",
            name="DHL eCommerce",
            app=dhl_divisions.app,
            adapter=DhlEcommerceCarrier,
            credentials={"api_key": dhl.VALID_KEY},
            known=dhl_divisions.ECOMMERCE_EUROPE,
            moved_on=dhl_divisions.ECOMMERCE,
            rate_limited=dhl.RATE_LIMITED,
            server_error=dhl.SERVER_ERROR,
            revoke=replace_state("keys", set()),
            slow=dhl.SLOW,
        ),
        # Add new carriers here (append only).
    ]
    return {carrier.code: carrier for carrier in carriers}


#: Every polled carrier with a fake that follows the conventions above, by carrier code.
FAKE_CARRIERS: dict[str, FakeCarrier] = _registry()
