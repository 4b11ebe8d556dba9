"""Carrier pushes refused by what each adapter declares (``accepts_push``), in-process.

A push to a carrier that never pushes is refused the same way whatever connection it names, so
the answer tells a stranger nothing about which connections exist; a carrier that pushes is
refused for a connection that does not exist. The wire answers (``404 invalid_identifier``) and
the pushes that are taken are tested end to end per carrier (``tests/e2e/test_*_carrier.py``).
"""

from __future__ import annotations

import pytest

from shiptrack.domain.errors import NotFound
from shiptrack.engine import push
from tests.engine.conftest import Engine

BODY = b'{"shipments": []}'


@pytest.mark.parametrize(
    ("carrier_name", "carrier"),
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
@pytest.mark.parametrize("carrier_id", ["se-1", "se-999999", "not-an-id"])
async def test_a_carrier_that_does_not_push_is_refused_whatever_connection_is_named(
    engine: Engine, carrier_name: str, carrier: str, carrier_id: str
) -> None:
    with pytest.raises(NotFound) as refused:
        await push.receive(engine.parts.pushes, carrier_name, carrier_id, {}, BODY)
    assert refused.value.message == (
        f"{carrier} does not push tracking updates to shiptrack; its packages are polled"
    )
    assert refused.value.field_name == "carrier_name"


@pytest.mark.parametrize("carrier_name", ["ups", "fedex"])
async def test_a_carrier_that_pushes_is_refused_for_a_connection_that_does_not_exist(
    engine: Engine, carrier_name: str
) -> None:
    with pytest.raises(NotFound) as refused:
        await push.receive(engine.parts.pushes, carrier_name, "se-999999", {}, BODY)
    assert refused.value.message == f"No {carrier_name} connection se-999999 receives pushes"
    assert refused.value.field_name == "carrier_id"
