"""What each carrier adapter declares about itself, and the registry that finds them.

The declarations are what the README's carrier table and ``docs/carriers.md`` promise: numbers
per call, the default request budget, whether the carrier pushes, whether it fetches a push token
first. The registry imports every adapter directly: a carrier without one, or one that cannot be
imported, is an ImportError, never a carrier that silently fails every call.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence

import pytest

from shiptrack.carriers.base import (
    Budget,
    CarrierAdapter,
    ConnectionContext,
    PushRefused,
    Result,
    TrackRequest,
)
from shiptrack.carriers.http import HttpCarrier
from shiptrack.carriers.registry import ADAPTERS, CarrierRegistry
from shiptrack.carriers.sandbox import SandboxCarrier
from shiptrack.domain.carriers import CARRIERS, CarrierKind

REGISTRY_MODULE = "shiptrack.carriers.registry"


@pytest.fixture
def registry() -> CarrierRegistry:
    return CarrierRegistry()


def context(carrier_code: str, **options: str) -> ConnectionContext:
    return ConnectionContext(
        connection_id=7, carrier_code=carrier_code, simulated=False, options=options
    )


# --- the registry -------------------------------------------------------------------------------


def test_every_connectable_carrier_code_has_a_real_adapter(registry: CarrierRegistry) -> None:
    assert set(ADAPTERS) == set(CARRIERS)
    for code in CARRIERS:
        adapter = registry.adapter(code, simulated=False)
        assert isinstance(adapter, HttpCarrier), code
        assert type(adapter) is ADAPTERS[code]


def test_stamps_com_is_tracked_by_the_one_usps_adapter(registry: CarrierRegistry) -> None:
    # One USPS client and token cache for both codes: they share USPS's hourly app quota.
    usps = registry.adapter("usps", simulated=False)
    assert registry.adapter("stamps_com", simulated=False) is usps
    assert usps.carrier == "USPS"


def test_simulated_connections_of_every_carrier_use_the_sandbox(
    registry: CarrierRegistry,
) -> None:
    for code in CARRIERS:
        assert registry.adapter(code, simulated=True) is registry.sandbox


def test_a_code_without_an_adapter_is_an_error_not_a_stand_in(registry: CarrierRegistry) -> None:
    with pytest.raises(KeyError):
        registry.adapter("ontrac", simulated=False)


def test_an_adapter_that_cannot_be_imported_fails_the_registry_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry in sys.modules makes importing that module fail, as a missing file would.
    monkeypatch.setitem(sys.modules, "shiptrack.carriers.fedex", None)
    monkeypatch.delitem(sys.modules, REGISTRY_MODULE)
    with pytest.raises(ImportError, match=r"shiptrack\.carriers\.fedex"):
        importlib.import_module(REGISTRY_MODULE)


def test_a_connectable_carrier_without_an_adapter_fails_the_registry_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ontrac = CarrierKind("ontrac", "OnTrac", "ontrac", "https://ontrac.invalid/{tn}", ("api_key",))
    monkeypatch.setitem(CARRIERS, "ontrac", ontrac)
    monkeypatch.delitem(sys.modules, REGISTRY_MODULE)
    with pytest.raises(ImportError, match="no carrier adapter for ontrac"):
        importlib.import_module(REGISTRY_MODULE)


async def test_closing_the_registry_closes_each_adapter_once(registry: CarrierRegistry) -> None:
    await registry.close()
    await registry.close()  # a second close (shutdown after a failed start) is harmless


# --- what each carrier declares -----------------------------------------------------------------

#: code -> (numbers per call, default budget, pushes, fetches a push token, told what is stored),
#: as documented.
DECLARED: dict[str, tuple[int, Budget, bool, bool, bool]] = {
    "usps": (35, Budget(requests_per_second=54 / 3600, burst=6), False, False, False),
    "stamps_com": (35, Budget(requests_per_second=54 / 3600, burst=6), False, False, False),
    "ups": (1, Budget(requests_per_second=1.0, burst=1), True, True, False),
    "fedex": (30, Budget(requests_per_second=1.0, burst=10), True, False, False),
    "dhl_express": (1, Budget(requests_per_second=250 / 86400, burst=1), False, False, False),
    "canada_post": (1, Budget(requests_per_second=1.0, burst=1), False, False, False),
    "royal_mail": (30, Budget(requests_per_second=0.1, burst=1), False, False, True),
    "australia_post": (10, Budget(requests_per_second=10 / 60, burst=1), False, False, False),
    "gls": (10, Budget(requests_per_second=500 / 86400, burst=1), False, False, False),
    "postnl": (1, Budget(requests_per_second=1.0, burst=1), False, False, False),
    "la_poste": (10, Budget(requests_per_second=1.0, burst=1), False, False, False),
    "dhl_parcel": (1, Budget(requests_per_second=250 / 86400, burst=1), False, False, False),
    "dhl_ecommerce": (1, Budget(requests_per_second=250 / 86400, burst=1), False, False, False),
}


@pytest.mark.parametrize("code", sorted(CARRIERS))
def test_each_carrier_declares_what_the_docs_say(registry: CarrierRegistry, code: str) -> None:
    adapter = registry.adapter(code, simulated=False)
    declared = (
        adapter.batch_size_for(context(code)),
        adapter.budget,
        adapter.accepts_push,
        adapter.issues_push_tokens,
        adapter.compares_with_stored,
    )
    assert declared == DECLARED[code]


def test_the_dhl_budget_is_one_call_every_345_6_seconds(registry: CarrierRegistry) -> None:
    budget = registry.adapter("dhl_express", simulated=False).budget
    assert 1 / budget.requests_per_second == pytest.approx(345.6)
    assert budget.burst == 1


def test_the_sandbox_declares_fast_batches_and_no_push() -> None:
    sandbox = SandboxCarrier()
    assert sandbox.batch_size_for(context("ups")) == 50
    assert sandbox.budget == Budget(requests_per_second=1000, burst=1000)
    assert (sandbox.accepts_push, sandbox.issues_push_tokens) == (False, False)


@pytest.mark.parametrize("code", ["usps", "stamps_com"])
def test_usps_on_tracking_v3_asks_one_number_per_call(registry: CarrierRegistry, code: str) -> None:
    adapter = registry.adapter(code, simulated=False)
    assert adapter.batch_size_for(context(code, api_version="v3")) == 1
    assert adapter.batch_size_for(context(code, api_version="v3r2")) == 35


def test_a_batch_size_that_does_not_depend_on_the_connection_ignores_its_options(
    registry: CarrierRegistry,
) -> None:
    fedex = registry.adapter("fedex", simulated=False)
    assert fedex.batch_size_for(context("fedex", api_version="v3")) == 30


@pytest.mark.parametrize(
    ("code", "carrier"),
    [
        ("usps", "USPS"),
        ("stamps_com", "USPS"),
        ("dhl_express", "DHL Express"),
        ("canada_post", "Canada Post"),
        ("royal_mail", "Royal Mail"),
        ("australia_post", "Australia Post"),
        ("gls", "GLS"),
        ("postnl", "PostNL"),
        ("la_poste", "La Poste"),
        ("dhl_parcel", "DHL Parcel"),
        ("dhl_ecommerce", "DHL eCommerce"),
    ],
)
async def test_carriers_that_do_not_push_refuse_every_push_with_404(
    registry: CarrierRegistry, code: str, carrier: str
) -> None:
    adapter = registry.adapter(code, simulated=False)
    with pytest.raises(PushRefused) as refused:
        await adapter.read_push(context(code), {"Content-Type": "application/json"}, b"{}")
    message = f"{carrier} does not push tracking updates to shiptrack; its packages are polled"
    assert (refused.value.status_code, refused.value.message) == (404, message)


@pytest.mark.parametrize(
    "code",
    [
        "usps",
        "fedex",
        "dhl_express",
        "canada_post",
        "royal_mail",
        "australia_post",
        "gls",
        "la_poste",
        "dhl_parcel",
        "dhl_ecommerce",
    ],
)
def test_carriers_that_fetch_no_push_token_are_issued_none(
    registry: CarrierRegistry, code: str
) -> None:
    adapter = registry.adapter(code, simulated=False)
    with pytest.raises(PushRefused) as refused:
        adapter.issue_push_token(context(code), {}, b"grant_type=client_credentials")
    assert refused.value.status_code == 404


# --- the defaults of the base -------------------------------------------------------------------


class Minimal(CarrierAdapter):
    """A carrier that declares only what has no default."""

    carrier = "Minimal"
    budget = Budget(requests_per_second=2.0)

    async def track(
        self, connection: ConnectionContext, requests: Sequence[TrackRequest]
    ) -> dict[str, Result]:
        return {}

    async def verify(self, connection: ConnectionContext) -> None:
        return None


async def test_an_adapter_gets_the_defaults_of_what_it_does_not_declare() -> None:
    adapter = Minimal()
    assert adapter.batch_size_for(context("minimal", api_version="v3")) == 1
    assert (adapter.accepts_push, adapter.issues_push_tokens) == (False, False)
    assert adapter.compares_with_stored is False
    headers: Mapping[str, str] = {}
    with pytest.raises(PushRefused) as refused:
        await adapter.read_push(context("minimal"), headers, b"{}")
    assert refused.value.status_code == 404
    with pytest.raises(PushRefused) as refused:
        adapter.issue_push_token(context("minimal"), headers, b"")
    assert (refused.value.status_code, refused.value.message) == (
        404,
        "Minimal pushes need no token",
    )
    await adapter.close()


def test_an_adapter_cannot_be_made_without_track_and_verify() -> None:
    class TrackOnly(CarrierAdapter):
        carrier = "TrackOnly"
        budget = Budget(requests_per_second=1.0)

        async def track(
            self, connection: ConnectionContext, requests: Sequence[TrackRequest]
        ) -> dict[str, Result]:
            return {}

    with pytest.raises(TypeError, match="verify"):
        TrackOnly()  # type: ignore[abstract]  # the point: an adapter without verify() is refused
