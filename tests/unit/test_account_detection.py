"""How an account sees a number's candidates, and when a request without a carrier gets one
(services/detection.py): the rules, without a server."""

from __future__ import annotations

import pytest

from shiptrack.domain.accounts import Account, Connection
from shiptrack.domain.errors import ValidationFailed
from shiptrack.services.detection import account_candidates, detected_carrier

UPS_NUMBER = "1Z5R89390357567127"
USPS_NUMBER = "9400111206206406260787"
SANDBOX_UPS = "1ZSANDBOX0000001"

SANDBOX = Account(id=1, name="sandbox", sandbox=True)
PRODUCTION = Account(id=2, name="production", sandbox=False)


def connection(row_id: int, carrier_code: str) -> Connection:
    return Connection(
        id=row_id,
        account_id=PRODUCTION.id,
        carrier_code=carrier_code,
        nickname=carrier_code,
        account_number=None,
        base_url=None,
        simulated=False,
    )


def test_the_one_connected_carrier_with_a_valid_check_digit_is_chosen() -> None:
    assert detected_carrier(PRODUCTION, [connection(7, "ups")], UPS_NUMBER) == "ups"


def test_a_valid_number_of_a_carrier_not_connected_is_refused_and_named() -> None:
    with pytest.raises(ValidationFailed) as refused:
        detected_carrier(PRODUCTION, [connection(7, "fedex")], UPS_NUMBER)

    assert refused.value.field_name == "carrier_code"
    assert "ups (" in str(refused.value) and "not connected" in str(refused.value)


def test_a_number_of_no_format_is_refused_saying_so() -> None:
    with pytest.raises(ValidationFailed, match="matches no known format"):
        detected_carrier(PRODUCTION, [connection(7, "ups")], "NOTANUMBER42")


def test_a_wrong_check_digit_is_never_taken_even_when_connected() -> None:
    wrong = UPS_NUMBER[:-1] + "8"

    with pytest.raises(ValidationFailed, match="check digit wrong"):
        detected_carrier(PRODUCTION, [connection(7, "ups")], wrong)


def test_stamps_com_tracks_usps_numbers_and_is_the_candidates_connection() -> None:
    stamps = connection(9, "stamps_com")

    assert detected_carrier(PRODUCTION, [stamps], USPS_NUMBER) == "usps"
    _, candidates = account_candidates(PRODUCTION, [stamps], USPS_NUMBER)
    assert candidates[0].as_json()["carrier_id"] == "se-9"


def test_the_usps_connection_is_preferred_to_stamps_com_for_usps_candidates() -> None:
    connections = [connection(9, "stamps_com"), connection(11, "usps")]

    _, candidates = account_candidates(PRODUCTION, connections, USPS_NUMBER)

    assert candidates[0].as_json()["carrier_id"] == "se-11"


def test_a_sandbox_scenario_number_is_its_carriers_in_a_sandbox_account_only() -> None:
    sandbox_ups = connection(3, "ups")

    assert detected_carrier(SANDBOX, [sandbox_ups], SANDBOX_UPS) == "ups"
    with pytest.raises(ValidationFailed):
        detected_carrier(PRODUCTION, [sandbox_ups], SANDBOX_UPS)


def test_candidates_come_out_as_the_api_shows_them_with_the_number_as_matched() -> None:
    number, candidates = account_candidates(
        PRODUCTION, [connection(7, "ups")], "1z5r 8939-0357567127"
    )

    assert number == UPS_NUMBER
    shown = candidates[0].as_json()
    assert shown["carrier_code"] == "ups"
    assert shown["checksum_valid"] is True
    assert shown["confidence"] == "high"
    assert shown["carrier_id"] == "se-7"
    assert shown["tracking_url"].endswith(UPS_NUMBER)
    assert set(shown) == {
        "carrier_code",
        "carrier_name",
        "format",
        "checksum_valid",
        "confidence",
        "carrier_id",
        "tracking_url",
    }


def test_a_courier_shiptrack_cannot_track_is_reported_without_a_carrier_code() -> None:
    # An Amazon Logistics number: a known format of a carrier shiptrack has no adapter for.
    _, candidates = account_candidates(PRODUCTION, [], "TBA304925834000")

    assert candidates, "the format is known"
    assert all(c.candidate.carrier_code is None for c in candidates)
    assert any("Amazon" in c.candidate.carrier_name for c in candidates)


def test_canada_post_numbers_are_trackable_now_that_it_has_an_adapter() -> None:
    _, candidates = account_candidates(PRODUCTION, [], "0073938000549297")
    assert [c.candidate.carrier_code for c in candidates] == ["canada_post"]
