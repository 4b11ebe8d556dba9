"""The official ``shipengine`` Python SDK (PyPI 2.x) against shiptrack, only ``base_uri`` changed.

Covers what a ShipEngine customer would do with the unmodified SDK: read a started package with
``track_package_by_carrier_code_and_tracking_number`` (also through the ``stamps_com`` code), read a
package the account never started (shiptrack asks the carrier live; another account's subscription
is not what answers), list carriers with ``list_carriers``, get
``shipengine.errors.ShipEngineError`` carrying shiptrack's own error code for 400/404 answers (the
SDK refuses to build the exception for a code outside its ``ErrorCode`` enum, so this proves
shiptrack's codes are ones the SDK knows), ``track_package_by_label_id`` (always ``404``: shiptrack
creates no labels), and what the SDK does with an unknown or revoked key: it does not raise on
``401`` but returns the error body as if it were a result.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from shipengine import ShipEngine
from shipengine.enums import ErrorCode, ErrorType
from shipengine.errors import ShipEngineError

from tests.conftest import Server, Tenant, assert_error

UPS_NUMBER = "1Z999AA10123456784"
USPS_NUMBER = "9405511899223197428490"


@pytest.fixture(autouse=True)
def _no_base_uri_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK prefers CLIENT_BASE_URI over the configured base_uri.
    monkeypatch.delenv("CLIENT_BASE_URI", raising=False)


def sdk_for(server: Server, key: str) -> ShipEngine:
    """The unmodified SDK pointed at shiptrack (``base_uri`` must end with '/')."""
    return ShipEngine({"api_key": key, "base_uri": server.url + "/", "retries": 0})


@pytest.fixture
def tracker(tenant: Tenant) -> Tenant:
    """A sandbox account with a ``track`` webhook."""
    tenant.add_track_webhook()
    return tenant


def start(tenant: Tenant, carrier_code: str, number: str) -> None:
    response = tenant.start(carrier_code, number)
    assert response.status_code == 204, response.text


def direct_get(tenant: Tenant, carrier_code: str, number: str) -> httpx.Response:
    return tenant.client.get(
        "/v1/tracking", params={"carrier_code": carrier_code, "tracking_number": number}
    )


def sdk_error(call: Any) -> ShipEngineError:
    """The ``ShipEngineError`` an SDK call raises (any other exception fails the test)."""
    with pytest.raises(ShipEngineError) as raised:
        call()
    return raised.value


# --- tracking -------------------------------------------------------------------------------------


def test_sdk_reads_a_started_package(server: Server, tracker: Tenant) -> None:
    start(tracker, "ups", UPS_NUMBER)
    sdk = sdk_for(server, tracker.key)

    result = sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)

    assert isinstance(result, dict)
    assert result["tracking_number"] == UPS_NUMBER
    assert result["carrier_code"] == "ups"
    assert result["status_code"] == "UN"
    assert result["events"] == []
    assert isinstance(result["carrier_id"], int)
    expected = direct_get(tracker, "ups", UPS_NUMBER)
    assert expected.status_code == 200, expected.text
    assert result == expected.json()


def test_sdk_finds_the_package_by_a_differently_spelt_number(
    server: Server, tracker: Tenant
) -> None:
    start(tracker, "fedex", "AB-794601234567")
    sdk = sdk_for(server, tracker.key)

    result = sdk.track_package_by_carrier_code_and_tracking_number("fedex", "ab-794601234567")

    assert result["tracking_number"] == "AB-794601234567"


def test_sdk_reads_a_stamps_com_package_reported_as_usps(server: Server, tracker: Tenant) -> None:
    start(tracker, "stamps_com", USPS_NUMBER)
    sdk = sdk_for(server, tracker.key)

    by_stamps = sdk.track_package_by_carrier_code_and_tracking_number("stamps_com", USPS_NUMBER)
    by_usps = sdk.track_package_by_carrier_code_and_tracking_number("usps", USPS_NUMBER)

    assert by_stamps == by_usps
    assert by_usps["carrier_code"] == "usps"


def test_sdk_reads_a_package_it_never_started_as_a_live_carrier_answer(
    server: Server, tracker: Tenant
) -> None:
    sdk = sdk_for(server, tracker.key)

    result = sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)

    assert isinstance(result, dict)
    assert result["tracking_number"] == UPS_NUMBER
    assert result["carrier_code"] == "ups"
    # The sandbox carrier answers a number that is no scenario as a completed delivery.
    assert result["status_code"] == "DE"
    assert result["events"]
    assert result["active"] is False
    assert result["next_check_at"] is None
    # Asked, not stored: the account still tracks nothing.
    listed = tracker.client.get("/v1/tracking/subscriptions")
    assert listed.status_code == 200, listed.text
    assert listed.json()["subscriptions"] == []


def test_sdk_reads_its_own_live_answer_for_another_accounts_package(
    server: Server, tracker: Tenant, other_tenant: Tenant
) -> None:
    start(tracker, "ups", UPS_NUMBER)
    mine = direct_get(tracker, "ups", UPS_NUMBER).json()
    sdk = sdk_for(server, other_tenant.key)

    theirs = sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)

    # The other account gets its own live carrier answer through its own UPS connection, not
    # the subscription the first account started.
    carriers = other_tenant.client.get("/v1/carriers").json()["carriers"]
    (own_ups,) = [c["carrier_id"] for c in carriers if c["carrier_code"] == "ups"]
    assert f"se-{theirs['carrier_id']}" == own_ups
    assert theirs["carrier_id"] != mine["carrier_id"]
    assert (theirs["active"], theirs["next_check_at"], theirs["stop_reason"]) == (False, None, None)
    assert (mine["active"], mine["status_code"]) == (True, "UN")
    assert mine["next_check_at"] is not None
    assert theirs["status_code"] == "DE"


# --- carriers -------------------------------------------------------------------------------------


def test_sdk_lists_the_same_carriers_as_the_api(server: Server, tenant: Tenant) -> None:
    added = tenant.client.post("/v1/connections/carriers/ups", json={"nickname": "Second UPS"})
    assert added.status_code == 200, added.text
    sdk = sdk_for(server, tenant.key)

    result = sdk.list_carriers()

    direct = tenant.client.get("/v1/carriers")
    assert direct.status_code == 200, direct.text
    assert result["carriers"] == direct.json()["carriers"]
    assert result["errors"] == []
    assert isinstance(result["request_id"], str)
    codes = sorted(c["carrier_code"] for c in result["carriers"])
    assert codes == [
        "australia_post",
        "canada_post",
        "dhl_ecommerce",
        "dhl_express",
        "dhl_parcel",
        "fedex",
        "gls",
        "la_poste",
        "postnl",
        "royal_mail",
        "stamps_com",
        "ups",
        "ups",
        "usps",
    ]
    assert added.json()["carrier_id"] in {c["carrier_id"] for c in result["carriers"]}


def test_sdk_lists_no_carriers_for_a_new_production_account(
    server: Server, production_tenant: Tenant
) -> None:
    result = sdk_for(server, production_tenant.key).list_carriers()

    assert result["carriers"] == []
    assert result["errors"] == []


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carrier_code", "number", "status", "error_code", "error_type"),
    [
        ("pony_express", UPS_NUMBER, 400, "carrier_not_supported", "validation"),
        ("ups", "ABC/123", 400, "invalid_field_value", "validation"),
        ("ups", "7" * 65, 400, "invalid_string_length", "validation"),
        ("ups", "%20", 400, "field_value_required", "validation"),
    ],
    ids=["unsupported-carrier", "bad-characters", "too-long", "blank-number"],
)
def test_sdk_raises_the_error_code_shiptrack_sent(
    server: Server,
    tracker: Tenant,
    carrier_code: str,
    number: str,
    status: int,
    error_code: str,
    error_type: str,
) -> None:
    start(tracker, "ups", UPS_NUMBER)
    sdk = sdk_for(server, tracker.key)

    # The SDK pastes the number into the URL unencoded, so "%20" reaches shiptrack as " ".
    error = sdk_error(
        lambda: sdk.track_package_by_carrier_code_and_tracking_number(carrier_code, number)
    )

    sent_number = number.replace("%20", " ")
    sent = assert_error(direct_get(tracker, carrier_code, sent_number), status, error_code)
    assert error.error_code == error_code
    assert error.error_type == error_type == sent["error_type"]
    assert error.message == sent["message"]


def test_sdk_raises_carrier_not_connected_as_a_business_rule(
    server: Server, production_tenant: Tenant
) -> None:
    sdk = sdk_for(server, production_tenant.key)

    error = sdk_error(
        lambda: sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)
    )

    # A production account has no carrier connected: not even a live lookup can be made.
    sent = assert_error(
        direct_get(production_tenant, "ups", UPS_NUMBER), 400, "carrier_not_connected"
    )
    assert error.error_code == ErrorCode.CARRIER_NOT_CONNECTED.value == sent["error_code"]
    assert error.error_type == ErrorType.BUSINESS_RULES.value == sent["error_type"]
    assert error.error_source == "shipengine"
    assert error.message == sent["message"]


# --- labels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label_id", "status"), [("se-1", 404), ("abc", 400)], ids=["well-formed", "malformed"]
)
def test_sdk_raises_shipengine_error_for_tracking_by_label_id(
    server: Server, tenant: Tenant, label_id: str, status: int
) -> None:
    sdk = sdk_for(server, tenant.key)

    error = sdk_error(lambda: sdk.track_package_by_label_id(label_id))

    sent = assert_error(
        tenant.client.get(f"/v1/labels/{label_id}/track"),
        status,
        "invalid_identifier",
        field_name="label_id",
    )
    assert error.error_code == ErrorCode.INVALID_IDENTIFIER.value == sent["error_code"]
    assert error.error_type == ErrorType.VALIDATION.value == sent["error_type"]
    assert error.message == sent["message"]


# --- keys -----------------------------------------------------------------------------------------


def assert_unauthorized_result(result: Any) -> None:
    """The SDK hands a 401 body back as a normal result; it is shiptrack's error body."""
    assert isinstance(result, dict)
    assert set(result) == {"request_id", "errors"}
    (error,) = result["errors"]
    assert error["error_code"] == ErrorCode.UNAUTHORIZED.value
    assert error["error_type"] == ErrorType.SECURITY.value
    assert error["error_source"] == "shipengine"


def test_sdk_with_an_unknown_key_returns_the_401_body(server: Server, tracker: Tenant) -> None:
    start(tracker, "ups", UPS_NUMBER)
    sdk = sdk_for(server, "TEST_this-key-does-not-exist")

    assert_unauthorized_result(sdk.list_carriers())
    assert_unauthorized_result(
        sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)
    )


def test_sdk_with_a_revoked_key_returns_the_401_body(server: Server, tracker: Tenant) -> None:
    start(tracker, "ups", UPS_NUMBER)
    sdk = sdk_for(server, tracker.key)
    before = sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)
    assert before["tracking_number"] == UPS_NUMBER

    server.cli("key", "revoke", tracker.key)

    assert_unauthorized_result(
        sdk.track_package_by_carrier_code_and_tracking_number("ups", UPS_NUMBER)
    )
    assert_unauthorized_result(sdk.list_carriers())
    assert_error(tracker.client.get("/v1/carriers"), 401, "unauthorized")
