"""``se-`` identifiers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.errors import InvalidIdentifier
from shiptrack.domain.ids import format_id, parse_id


@given(st.integers(min_value=1, max_value=10**18 - 1))
def test_every_row_id_round_trips_within_the_official_pattern(row_id: int) -> None:
    public = format_id(row_id)
    assert len(public) <= 25
    assert parse_id(public, field_name="x") == row_id


@pytest.mark.parametrize("value", ["se-abc", "se-0", "se-1-2", "se-007"])
def test_well_formed_ids_shiptrack_never_issues_are_unknown_not_invalid(value: str) -> None:
    assert parse_id(value, field_name="webhook_id") is None


@pytest.mark.parametrize(
    "value", ["", "se", "se-", "SE-1", "se_1", "1", "se-1/2", "se-" + "1" * 30]
)
def test_malformed_ids_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        parse_id(value, field_name="webhook_id")
    assert caught.value.field_name == "webhook_id"
