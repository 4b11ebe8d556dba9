"""The console package list's pure rules: stale, the search prefix and its index range, and the
keyset pages' cursors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shiptrack.domain.cursors import decode_cursor
from shiptrack.domain.errors import ValidationFailed
from shiptrack.domain.package_list import (
    STALE_GRACE,
    PageRequest,
    is_stale,
    page_of,
    prefix_bounds,
    search_prefix,
)
from shiptrack.domain.tracking import Subscription

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _package(*, active: bool = True, next_check_at: datetime | None = None) -> Subscription:
    return Subscription(
        id=1,
        account_id=1,
        connection_id=1,
        carrier_code="ups",
        tracking_number="1Z",
        active=active,
        next_check_at=next_check_at,
    )


def test_a_package_is_stale_only_when_active_and_overdue_beyond_the_grace() -> None:
    assert timedelta(minutes=5) == STALE_GRACE
    overdue = NOW - STALE_GRACE - timedelta(seconds=1)
    assert is_stale(_package(next_check_at=overdue), NOW)
    assert not is_stale(_package(next_check_at=NOW - STALE_GRACE), NOW)
    assert not is_stale(_package(next_check_at=NOW - timedelta(minutes=4)), NOW)
    assert not is_stale(_package(active=False, next_check_at=overdue), NOW)
    assert not is_stale(_package(next_check_at=None), NOW)


def test_the_search_is_normalised_like_the_api_normalises_numbers() -> None:
    assert search_prefix("  1zab ") == "1ZAB"
    assert search_prefix("") is None
    assert search_prefix("   ") is None
    assert search_prefix(None) is None
    with pytest.raises(ValidationFailed):
        search_prefix("1Z AB")
    with pytest.raises(ValidationFailed):
        search_prefix("1Z\u017f")  # a long s would upper-case to S


@pytest.mark.parametrize(
    ("prefix", "bounds"),
    [
        ("1ZAB", ("1ZAB", "1ZAC")),
        ("1Z9", ("1Z9", "1ZA")),
        ("1ZZ", ("1ZZ", "2")),
        ("AB-", ("AB", "AC")),
        ("A-B", ("A-B", "AC")),
        ("ZZ", ("ZZ", None)),
        ("-", ("", None)),
    ],
)
def test_the_prefix_range_holds_every_number_with_the_prefix(
    prefix: str, bounds: tuple[str, str | None]
) -> None:
    assert prefix_bounds(prefix) == bounds
    low, high = bounds
    for number in (prefix, prefix + "0", prefix + "ZZZZ", prefix + "-9"):
        assert low <= number
        assert high is None or number < high


@dataclass(frozen=True)
class Row:
    id: int


def test_the_first_page_links_only_to_older_rows() -> None:
    page = page_of(PageRequest(), [Row(9), Row(8), Row(7)], limit=2)
    assert [row.id for row in page.rows] == [9, 8]
    assert page.older is not None and decode_cursor("before", page.older) == 8
    assert page.newer is None


def test_the_last_page_links_only_back() -> None:
    page = page_of(PageRequest(before_id=8), [Row(7)], limit=2)
    assert [row.id for row in page.rows] == [7]
    assert page.older is None
    assert page.newer is not None and decode_cursor("after", page.newer) == 7


def test_going_back_drops_the_extra_newest_row_and_links_both_ways() -> None:
    page = page_of(PageRequest(after_id=5), [Row(9), Row(8), Row(7)], limit=2)
    assert [row.id for row in page.rows] == [8, 7]
    assert page.newer is not None and decode_cursor("after", page.newer) == 8
    assert page.older is not None and decode_cursor("before", page.older) == 7
    first = page_of(PageRequest(after_id=7), [Row(9), Row(8)], limit=2)
    assert first.newer is None


def test_cursors_come_from_links_and_a_forged_one_is_refused() -> None:
    older = page_of(PageRequest(), [Row(3), Row(2)], limit=1).older
    assert older is not None
    assert PageRequest.parse(older, None) == PageRequest(before_id=3)
    assert PageRequest.parse(None, None) == PageRequest()
    with pytest.raises(ValidationFailed):
        PageRequest.parse("bm9wZQ", None)
    with pytest.raises(ValidationFailed):
        PageRequest.parse(None, older)  # a "before" cursor is not an "after" one
