"""The Australia Post mapping table (``domain/mappings/australia_post.csv``) and the reading rules
that pick its keys: every row is a valid decision with a reason; the policy decisions (Post Office
or parcel locker collection is SP, a card left AT, return to sender EX) hold for the table's own
wording and for wording it does not list; unknown wording stays unmapped; times without an offset
follow the location's state."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.australia_post_reading import location_state, map_event, parse_timestamp


def rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("australia_post.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def test_every_row_has_a_reason() -> None:
    assert rows()
    for row in rows():
        assert row["note"].strip(), row["key"]


@pytest.mark.parametrize(
    ("description", "status", "detail"),
    [
        ("Awaiting collection at Post Office", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("Awaiting collection at Parcel Locker", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        (
            "Ready for collection at CARLTON Post Office",
            "SP",
            "AWAITING_COLLECTION_FROM_PICKUP_POINT",
        ),
        ("Attempted delivery - Card left", "AT", "CUSTOMER_CARDED"),
        ("Delivery attempted - no one home, card left", "AT", "ATTEMPTED_DELIVERY"),
        ("Returned to sender", "EX", "RETURN_TO_SENDER"),
        ("Item being returned to sender - incorrect address", "EX", "RETURN_TO_SENDER"),
        ("Delivered", "DE", "DELIVERED"),
        ("Delivered - Left in a safe place", "DE", "DELIVERED_SPECIFIED_SAFE_PLACE"),
        ("Collected by customer", "DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
        ("With Australia Post for delivery today", "IT", "OUT_FOR_DELIVERY"),
        ("Something entirely new", "UN", "CARRIER_STATUS_NOT_MAPPED"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_wording_maps_to_the_policy(description: str, status: str, detail: str) -> None:
    mapped = map_event(description)
    assert (mapped.status_code, mapped.status_detail_code) == (status, detail)


def test_the_item_status_reads_an_unknown_newest_event() -> None:
    assert map_event("Something entirely new", "Delivered").status_code == "DE"


@pytest.mark.parametrize(
    ("location", "state"),
    [
        ("ALEXANDRIA NSW", "NSW"),
        ("CARLTON VIC 3053", "VIC"),
        ("PERTH WA", "WA"),
        ("SYDNEY (AU)", None),
        ("JOHN F. KENNEDY APT/NEW YORK (US)", None),
        (None, None),
    ],
    ids=["nsw", "vic-postcode", "wa", "country-only", "abroad", "none"],
)
def test_the_state_is_read_from_the_location(location: str | None, state: str | None) -> None:
    assert location_state(location) == state


@pytest.mark.parametrize(
    ("wall", "location", "utc"),
    [
        ("2026-04-05T02:30:00", "HOBART TAS", datetime(2026, 4, 4, 15, 30, tzinfo=UTC)),  # AEDT
        ("2026-04-05T03:30:00", "HOBART TAS", datetime(2026, 4, 4, 17, 30, tzinfo=UTC)),  # AEST
        ("2026-01-10T12:00:00", "ADELAIDE SA", datetime(2026, 1, 10, 1, 30, tzinfo=UTC)),  # +10:30
        ("2026-01-10T12:00:00", "BRISBANE QLD", datetime(2026, 1, 10, 2, 0, tzinfo=UTC)),
        ("2026-01-10T12:00:00", "DARWIN NT", datetime(2026, 1, 10, 2, 30, tzinfo=UTC)),
        ("2026-01-10T12:00:00", "CANBERRA ACT", datetime(2026, 1, 10, 1, 0, tzinfo=UTC)),
    ],
    ids=["tas-before-dst-end", "tas-after-dst-end", "sa-summer", "qld", "nt", "act-summer"],
)
def test_offsetless_times_use_the_states_zone(wall: str, location: str, utc: datetime) -> None:
    assert parse_timestamp(wall, location) == (utc, wall)


def test_an_offset_wins_and_no_offset_nor_state_leaves_the_moment_unknown() -> None:
    assert parse_timestamp("2026-01-10T12:00:00+08:00", "ALEXANDRIA NSW")[0] == datetime(
        2026, 1, 10, 4, 0, tzinfo=UTC
    )
    assert parse_timestamp("2026-01-10T12:00:00", "SYDNEY (AU)") == (None, "2026-01-10T12:00:00")
