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
