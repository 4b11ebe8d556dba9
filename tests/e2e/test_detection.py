"""Carrier detection over HTTP: ``GET /v1/tracking/detect`` and tracking requests that give no
carrier (README, "Carrier detection")."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant, assert_error

#: A UPS number whose check digit validates (from the detection data's test numbers).
UPS_NUMBER = "1Z5R89390357567127"
#: The same number as people type it.
UPS_TYPED = "1z 5r8 939 0357 5671-27"
#: The sandbox's "delivered" UPS scenario number (no real check digit).
SANDBOX_UPS = "1ZSANDBOX0000001"


@pytest.fixture
def tracker(tenant: Tenant) -> Tenant:
    """A sandbox account (every carrier connected, simulated) with a ``track`` webhook."""
    tenant.add_track_webhook()
    return tenant


def detect(tenant: Tenant, number: str) -> httpx.Response:
    return tenant.client.get("/v1/tracking/detect", params={"tracking_number": number})


def connection_id(tenant: Tenant, carrier_code: str) -> str:
    carriers = tenant.client.get("/v1/carriers").json()["carriers"]
    return str(next(c["carrier_id"] for c in carriers if c["carrier_code"] == carrier_code))


def test_a_ups_number_detects_as_ups_with_the_accounts_connection(tenant: Tenant) -> None:
    response = detect(tenant, UPS_TYPED)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tracking_number"] == UPS_NUMBER
    first = body["candidates"][0]
    assert first == {
        "carrier_code": "ups",
        "carrier_name": first["carrier_name"],
        "format": first["format"],
        "checksum_valid": True,
        "confidence": "high",
        "carrier_id": connection_id(tenant, "ups"),
        "tracking_url": first["tracking_url"],
    }
    assert UPS_NUMBER in first["tracking_url"]


def test_a_number_of_no_known_format_is_an_empty_list(tenant: Tenant) -> None:
    response = detect(tenant, "HELLO-WORLD")

    assert response.status_code == 200, response.text
    assert response.json() == {"tracking_number": "HELLOWORLD", "candidates": []}


def test_a_production_account_sees_no_connection_on_candidates(
    production_tenant: Tenant,
) -> None:
    body = detect(production_tenant, UPS_NUMBER).json()

    assert body["candidates"][0]["carrier_code"] == "ups"
    assert body["candidates"][0]["carrier_id"] is None


@pytest.mark.parametrize("params", [{}, {"tracking_number": "  "}])
def test_detect_without_a_number_is_a_400(tenant: Tenant, params: dict[str, str]) -> None:
    response = tenant.client.get("/v1/tracking/detect", params=params)

    assert_error(response, 400, "field_value_required", field_name="tracking_number")


def test_detect_refuses_unknown_parameters(tenant: Tenant) -> None:
    response = tenant.client.get(
        "/v1/tracking/detect", params={"tracking_number": UPS_NUMBER, "carrier": "ups"}
    )

    assert_error(response, 400, "invalid_field_value")


def test_starting_without_a_carrier_tracks_the_one_detected(tracker: Tenant) -> None:
    started = tracker.client.post("/v1/tracking/start", params={"tracking_number": UPS_NUMBER})
    assert started.status_code == 204, started.text

    without = tracker.client.get("/v1/tracking", params={"tracking_number": UPS_NUMBER})
    with_code = tracker.client.get(
        "/v1/tracking", params={"carrier_code": "ups", "tracking_number": UPS_NUMBER}
    )
    assert without.status_code == 200, without.text
    assert without.json()["carrier_code"] == "ups"
    assert without.json() == with_code.json()


def test_a_sandbox_scenario_number_detects_as_its_carrier(tracker: Tenant) -> None:
    candidates = detect(tracker, SANDBOX_UPS).json()["candidates"]
    assert candidates[0]["carrier_code"] == "ups"
    assert candidates[0]["confidence"] == "high"

    started = tracker.client.post("/v1/tracking/start", params={"tracking_number": SANDBOX_UPS})
    assert started.status_code == 204, started.text


def test_a_number_whose_carrier_is_not_connected_is_a_400_naming_it(
    production_tenant: Tenant,
) -> None:
    response = production_tenant.client.post(
        "/v1/tracking/start", params={"tracking_number": UPS_NUMBER}
    )

    first = assert_error(response, 400, "invalid_field_value", field_name="carrier_code")
    message = str(first["message"])
    assert "ups" in message and "not connected" in message


def test_a_given_carrier_code_overrides_detection(tracker: Tenant) -> None:
    # The number looks like UPS; the client says FedEx, and FedEx it is.
    started = tracker.client.post(
        "/v1/tracking/start", params={"carrier_code": "fedex", "tracking_number": UPS_NUMBER}
    )
    assert started.status_code == 204, started.text

    as_fedex = tracker.client.get(
        "/v1/tracking", params={"carrier_code": "fedex", "tracking_number": UPS_NUMBER}
    )
    assert as_fedex.json()["carrier_code"] == "fedex"
    subscriptions = tracker.client.get("/v1/tracking/subscriptions").json()
    assert [(s["carrier_code"], s["tracking_number"]) for s in subscriptions["subscriptions"]] == [
        ("fedex", UPS_NUMBER)
    ]


def test_a_gb_s10_number_detects_as_royal_mail_with_the_accounts_connection(
    tenant: Tenant,
) -> None:
    body = detect(tenant, "RB123456785GB").json()

    first = body["candidates"][0]
    assert first["carrier_code"] == "royal_mail"
    assert first["carrier_id"] == connection_id(tenant, "royal_mail")
    assert first["checksum_valid"] is True


def test_an_au_s10_number_detects_as_australia_post_with_the_accounts_connection(
    tenant: Tenant,
) -> None:
    body = detect(tenant, "RB123456785AU").json()

    first = body["candidates"][0]
    assert first["carrier_code"] == "australia_post"
    assert first["carrier_id"] == connection_id(tenant, "australia_post")
    assert first["checksum_valid"] is True


def test_an_nl_s10_number_detects_as_postnl_with_the_accounts_connection(tenant: Tenant) -> None:
    body = detect(tenant, "RB123456785NL").json()

    first = body["candidates"][0]
    assert (first["carrier_code"], first["carrier_name"]) == ("postnl", "PostNL")
    assert first["carrier_id"] == connection_id(tenant, "postnl")
    assert first["checksum_valid"] is True


def test_a_postnl_3s_barcode_is_detected_only_as_a_sandbox_number(tenant: Tenant) -> None:
    # The vendored detection data has no PostNL 3S format: a real 3S barcode matches nothing
    # (give carrier_code=postnl), while the sandbox's own 3S scenario numbers are PostNL's.
    assert detect(tenant, "3SDEVC288882229").json()["candidates"] == []
    (sandbox,) = detect(tenant, "3SSBOX000000001").json()["candidates"]
    assert (sandbox["carrier_code"], sandbox["confidence"]) == ("postnl", "high")
    assert sandbox["carrier_id"] == connection_id(tenant, "postnl")


def test_an_fr_s10_number_detects_as_la_poste_with_the_accounts_connection(
    tenant: Tenant,
) -> None:
    body = detect(tenant, "RB123456785FR").json()

    first = body["candidates"][0]
    assert first["carrier_code"] == "la_poste"
    assert first["carrier_id"] == connection_id(tenant, "la_poste")


def test_a_de_s10_number_detects_as_dhl_parcel_with_the_accounts_connection(
    tenant: Tenant,
) -> None:
    body = detect(tenant, "RB123456785DE").json()

    first = body["candidates"][0]
    assert first["carrier_code"] == "dhl_parcel"
    assert first["carrier_id"] == connection_id(tenant, "dhl_parcel")
    assert first["checksum_valid"] is True
