"""Tracking number normalisation."""

from __future__ import annotations

import pytest

from shiptrack.domain.errors import FieldRequired, FieldTooLong, ValidationFailed
from shiptrack.domain.tracking import normalise_tracking_number


def test_numbers_are_trimmed_and_upper_cased() -> None:
    assert normalise_tracking_number("  1z999aa10123456784 ") == "1Z999AA10123456784"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", FieldRequired),
        ("   ", FieldRequired),
        ("A" * 65, FieldTooLong),
        ("1Z 999", ValidationFailed),
        ("1Z/999", ValidationFailed),
        ("1Z\t999", ValidationFailed),
        ("ÄBC", ValidationFailed),
    ],
)
def test_bad_numbers_name_the_field(raw: str, error: type[ValidationFailed]) -> None:
    with pytest.raises(error) as caught:
        normalise_tracking_number(raw)
    assert caught.value.field_name == "tracking_number"
