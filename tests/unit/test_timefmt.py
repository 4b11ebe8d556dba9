"""Timestamps are written as ShipEngine writes them, whatever zone they come in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.timefmt import format_utc

SHAPE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=_zones)
)
def test_any_moment_is_written_in_utc_with_a_z_and_reads_back(moment: datetime) -> None:
    text = format_utc(moment)
    assert text is not None and SHAPE.match(text), text
    back = datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)
    truncated = moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)
    assert back == truncated
    assert ("." in text) == (moment.microsecond != 0)


def test_naive_moments_are_taken_as_utc_and_none_stays_none() -> None:
    assert format_utc(datetime(2026, 11, 27, 8, 30)) == "2026-11-27T08:30:00Z"
    assert format_utc(datetime(2026, 11, 27, 8, 30, 0, 5000)) == "2026-11-27T08:30:00.005Z"
    assert format_utc(None) is None


def test_a_placeholder_year_keeps_the_form_its_stored_identity_was_hashed_with() -> None:
    # Some carriers send 0001-01-01 for "no date"; such a scan's stored identity must not change.
    assert format_utc(datetime(1, 1, 1, tzinfo=UTC)) == "1-01-01T00:00:00Z"
