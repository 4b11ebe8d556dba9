"""Every test number of the vendored data, one test each: a valid number detects its format (with
``checksum_valid: True`` where the format has a check digit), an invalid one never validates as
its format (no match, or only a ``low`` one)."""

from __future__ import annotations

import pytest

from shiptrack.domain.detection import detect
from shiptrack.domain.detection.formats import courier_files, slug


def _numbers(kind: str) -> list[pytest.ParameterSet]:
    cases = []
    for courier in courier_files():
        for definition in courier["tracking_numbers"]:
            format_id = definition.get("id") or slug(definition["name"])
            has_check_digit = bool((definition.get("validation") or {}).get("checksum"))
            for index, number in enumerate(definition["test_numbers"][kind]):
                cases.append(
                    pytest.param(
                        format_id, has_check_digit, number, id=f"{format_id}-{kind}-{index}"
                    )
                )
    return cases


@pytest.mark.parametrize(("format_id", "has_check_digit", "number"), _numbers("valid"))
def test_a_valid_number_detects_its_format(
    format_id: str, has_check_digit: bool, number: str
) -> None:
    found = [c for c in detect(number).candidates if c.format_id == format_id]
    assert len(found) == 1, detect(number)
    if has_check_digit:
        assert found[0].checksum_valid is True
        assert found[0].confidence == "high"
    else:
        assert found[0].checksum_valid is None
        assert found[0].confidence == "medium"


@pytest.mark.parametrize(("format_id", "has_check_digit", "number"), _numbers("invalid"))
def test_an_invalid_number_does_not_validate(
    format_id: str, has_check_digit: bool, number: str
) -> None:
    found = [c for c in detect(number).candidates if c.format_id == format_id]
    assert all(c.confidence == "low" for c in found), found
    if has_check_digit:
        assert all(c.checksum_valid is not True or c.format_id == "s10" for c in found)


def test_every_format_has_test_numbers() -> None:
    assert len(_numbers("valid")) > 150
    assert len(_numbers("invalid")) > 70
