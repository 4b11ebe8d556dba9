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
        ("\u00c4BC", ValidationFailed),
    ],
)
def test_bad_numbers_name_the_field(raw: str, error: type[ValidationFailed]) -> None:
    with pytest.raises(error) as caught:
        normalise_tracking_number(raw)
    assert caught.value.field_name == "tracking_number"


@pytest.mark.parametrize(
    "raw",
    [
        "1Z\u017fandbox0000001",  # long s: upper-cases to S
        "1ZSANDBOX000000\u0131",  # dotless i: upper-cases to I
        "1ZSANDBOX00000\ufb00",  # the ff ligature: upper-cases to FF
        "1ZSANDBOX\uff10\uff10\uff100001",  # fullwidth digits: str.isalnum() takes them
        "1ZSANDBOX\u0660\u0660\u06600001",  # Arabic-Indic digits
        "1ZSANDBOX0000001\u212a",  # Kelvin sign: lower-cases to k
        "\u00a01ZSANDBOX0000001",  # a no-break space is not trimmed away
        "1ZSANDBOX0000001\x1f",  # str.strip() would drop this ASCII control
    ],
)
def test_look_alikes_of_an_ascii_number_are_refused_not_folded_onto_it(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalise_tracking_number(raw)
    assert caught.value.field_name == "tracking_number"


def test_only_ascii_spaces_tabs_and_line_breaks_are_trimmed() -> None:
    assert normalise_tracking_number(" \t1zsandbox0000001\r\n") == "1ZSANDBOX0000001"
