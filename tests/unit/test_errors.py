"""Every error shiptrack can send is one the official spec and the official SDK both accept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from shipengine.enums import ErrorCode as SdkErrorCode
from shipengine.enums import ErrorType as SdkErrorType

from shiptrack.domain import errors

SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"


def _all_error_classes() -> list[type[errors.ShiptrackError]]:
    found: list[type[errors.ShiptrackError]] = []
    pending: list[type[errors.ShiptrackError]] = [errors.ShiptrackError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.fixture(scope="module")
def spec_enums() -> dict[str, set[str]]:
    schemas = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
    return {name: set(schemas[name]["enum"]) for name in ("error_code", "error_type")}


@pytest.mark.parametrize("error_class", _all_error_classes(), ids=lambda c: c.__name__)
def test_error_codes_are_in_the_spec_and_in_the_sdk(
    error_class: type[errors.ShiptrackError], spec_enums: dict[str, set[str]]
) -> None:
    assert error_class.error_code in spec_enums["error_code"]
    assert error_class.error_code in {member.value for member in SdkErrorCode}
    assert error_class.error_type in spec_enums["error_type"]
    assert error_class.error_type in {member.value for member in SdkErrorType}
    assert 400 <= error_class.status_code < 600


def test_error_entries_leave_out_unset_optional_keys() -> None:
    entry = errors.FieldRequired("tracking_number is required", field_name="tracking_number")
    assert [detail.as_json() for detail in entry.details] == [
        {
            "error_source": "shipengine",
            "error_type": "validation",
            "error_code": "field_value_required",
            "message": "tracking_number is required",
            "field_name": "tracking_number",
        }
    ]
    assert "field_name" not in errors.Unauthorized("no").details[0].as_json()


def _unknown(name: str) -> errors.ErrorDetail:
    return errors.ErrorDetail(
        "validation", "invalid_field_value", f"Unknown query parameter {name!r}", field_name=name
    )


def test_a_short_error_list_is_shown_as_collected() -> None:
    details = [_unknown(f"p{n}") for n in range(errors.MAX_LISTED_ERRORS)]
    assert errors.listed_details(details) == details


def test_a_long_error_list_shows_the_first_ones_and_how_many_were_left_out() -> None:
    details = [_unknown(f"p{n}") for n in range(5000)]
    listed = errors.listed_details(details)
    assert len(listed) == errors.MAX_LISTED_ERRORS == 20
    assert listed[:19] == details[:19]
    summary = listed[-1].as_json()
    assert summary == {
        "error_source": "shipengine",
        "error_type": "validation",
        "error_code": "invalid_field_value",
        "message": "4,981 more errors were left out; an answer lists at most 19 of them",
    }


def test_long_messages_and_field_names_are_cut() -> None:
    name = "x" * 100_000
    (listed,) = errors.listed_details([_unknown(name)])
    assert len(listed.message) == errors.MAX_ERROR_MESSAGE
    assert listed.message.startswith("Unknown query parameter 'xxx") and listed.message[-1] == "…"
    assert listed.field_name == "x" * (errors.MAX_ERROR_FIELD_NAME - 1) + "…"
