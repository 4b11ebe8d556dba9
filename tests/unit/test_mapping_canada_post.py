"""The Canada Post mapping table (``domain/mappings/canada_post.csv``) and the time rules of
``shiptrack.carriers.canada_post_reading``, code by code and zone by zone.

Covers: every event identifier the research notes list (carriers guide §5) is in the table with
the status its category means (or the documented policy where shiptrack departs from the
guide); every row has its reason; unpadded identifiers (``20``, ``174``) read as the padded ones;
the first acceptance scan is ``AC`` and later ones ``IT``; a scan that says "returned to sender" is
``EX`` / ``RETURN_TO_SENDER`` whatever its code; an unknown identifier stays unmapped. Times: each
zone abbreviation gives its offset (Newfoundland's half hour included), the province's zone is used
when the abbreviation is missing or unknown (BC, AB, SK, ON, NS, NL; daylight saving and the
spring and autumn changes), and an event with neither is given no UTC time.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.canada_post_reading import event_times, map_event, mapping_key
from shiptrack.domain.mapping import NOT_MAPPED, table


def _codes(*spans: tuple[int, int] | int) -> list[str]:
    out: list[str] = []
    for span in spans:
        low, high = (span, span) if isinstance(span, int) else span
        out += [f"{c:04d}" for c in range(low, high + 1)]
    return out


#: The research notes' categories (guide §5) and what shiptrack makes of each.
GUIDE: dict[str, tuple[list[str], str]] = {
    "delivered": (
        _codes(1408, 1409, (1421, 1434), 1441, 1442, (1496, 1499)),
        "DE",
    ),
    "accepted or processed (after the first)": (_codes((100, 107), (1400, 1405)), "IT"),
    "out for delivery": (_codes(174, 500), "IT"),
    "ready for pickup at a post office or locker": (
        _codes(118, 156, 1407, 1410, (1435, 1438), 1479, 1488, 1701, 2410),
        "SP",
    ),
    "notice card left / customer not available": (
        _codes((167, 169), (1417, 1420), 183, 184, 190),
        "AT",
    ),
    # Policy: business closed and no access are failed attempts, not exceptions.
    "business closed, no access": (_codes(154, 179, 181, 182), "AT"),
    "other delivery failures": (
        _codes(150, 1415, 1416, 1450, (1481, 1483), (1491, 1493), 2600, 2802, 3001, 4650),
        "EX",
    ),
    "customs holds and holds": (
        _codes(117, 120, 121, 125, 127, 1411, 1414, 1494, 2411, 2414, 4700),
        "EX",
    ),
    # Policy: a customs delay is processing; weather and address corrections are delays.
    "customs delays": (_codes(810, 1443, 1484, 1487), "IT"),
    "delays": (_codes((159, 163), 172, 173, 2412), "IT"),
    "signature image recorded": (_codes(20), "UN"),
}


def _rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("canada_post.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("category", sorted(GUIDE))
def test_every_code_of_the_guide_is_mapped_as_its_category_means(category: str) -> None:
    codes, status = GUIDE[category]
    mapping = table("canada_post")
    wrong = {c: mapping.rows[c].status_code for c in codes if c in mapping.rows}
    missing = [c for c in codes if c not in mapping.rows]
    assert missing == []
    assert set(wrong.values()) == {status}, wrong


def test_every_row_gives_its_reason() -> None:
    assert [row["key"] for row in _rows() if not row["note"].strip()] == []


def test_the_signature_event_is_information_that_decides_nothing() -> None:
    mapped = map_event("20", "Signature image recorded for Online viewing", table("canada_post"))
    assert (mapped.status_code, mapped.status_detail_code) == ("UN", "INFORMATION")
    assert mapped.known


@pytest.mark.parametrize(("raw", "key"), [("20", "0020"), ("174", "0174"), ("0174", "0174")])
def test_unpadded_identifiers_read_as_the_padded_ones(raw: str, key: str) -> None:
    assert mapping_key(raw) == key


def test_the_first_acceptance_scan_is_accepted_and_later_ones_in_transit() -> None:
    mapping = table("canada_post")
    first = map_event("0100", "Item accepted at the Post Office", mapping, first=True)
    later = map_event("0100", "Item processed at postal facility", mapping)
    assert (first.status_code, first.status_detail_code) == ("AC", "RECEIVED_BY_CARRIER")
    assert (later.status_code, later.status_detail_code) == ("IT", "HUB_PROCESSING")


def test_only_acceptance_codes_have_a_first_row() -> None:
    firsts = {k.split(":")[0] for k in table("canada_post").rows if k.endswith(":first")}
    assert firsts == set(_codes((100, 107), (1400, 1405)))


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        ("1491", "Item being returned to sender; incorrect address", "RETURN_TO_SENDER"),
        ("0100", "Item returned to sender", "RETURN_TO_SENDER"),
        ("9999", "Returning item to sender", "RETURN_TO_SENDER"),
        ("1491", "Item could not be delivered", "NOT_DELIVERED"),
    ],
)
def test_a_return_to_sender_is_an_exception_whatever_its_code(
    code: str, text: str, expected: str
) -> None:
    mapped = map_event(code, text, table("canada_post"))
    assert (mapped.status_code, mapped.status_detail_code) == ("EX", expected)


def test_pickup_points_are_collect_at_the_post_office_and_attempts_are_attempts() -> None:
    mapping = table("canada_post")
    ready = map_event("1410", "Item available for pickup at Post Office", mapping)
    locker = map_event("1701", "Item available for pickup at parcel locker", mapping)
    attempt = map_event("0168", "Attempted delivery; customer not home", mapping)
    assert (ready.status_code, ready.status_detail_code) == ("SP", "COLLECT_AT_LOCAL_PO")
    assert locker.status_code == "SP"
    assert (attempt.status_code, attempt.status_detail_code) == ("AT", "ATTEMPTED_DELIVERY")


def test_an_unknown_identifier_is_kept_unmapped() -> None:
    mapped = map_event("9876", "Special handling", table("canada_post"))
    assert (mapped.status_code, mapped.status_detail_code) == ("UN", NOT_MAPPED)


# --- times ---------------------------------------------------------------------------------------


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "province", "wall", "utc"),
    [
        ("PST", "BC", "2026-01-15T10:00:00", "2026-01-15T18:00:00"),
        ("PDT", "BC", "2026-07-15T10:00:00", "2026-07-15T17:00:00"),
        ("MST", "AB", "2026-01-15T10:00:00", "2026-01-15T17:00:00"),
        ("MDT", "AB", "2026-07-15T10:00:00", "2026-07-15T16:00:00"),
        ("CST", "SK", "2026-07-15T10:00:00", "2026-07-15T16:00:00"),
        ("EST", "ON", "2026-01-15T10:00:00", "2026-01-15T15:00:00"),
        ("EDT", "ON", "2026-07-15T10:00:00", "2026-07-15T14:00:00"),
        ("AST", "NS", "2026-01-15T10:00:00", "2026-01-15T14:00:00"),
        ("ADT", "NS", "2026-07-15T10:00:00", "2026-07-15T13:00:00"),
        ("NST", "NL", "2026-01-15T10:00:00", "2026-01-15T13:30:00"),
        ("NDT", "NL", "2026-07-15T10:00:00", "2026-07-15T12:30:00"),
        # North-western Ontario is on Central time: the abbreviation beats the province.
        ("CDT", "ON", "2026-07-15T10:00:00", "2026-07-15T15:00:00"),
    ],
)
def test_the_zone_abbreviation_gives_the_offset(
    zone: str, province: str, wall: str, utc: str
) -> None:
    date, time = wall.split("T")
    assert event_times(date, time, zone, province) == (_utc(utc), wall)


@pytest.mark.parametrize(
    ("province", "wall", "utc"),
    [
        ("BC", "2026-01-15T10:00:00", "2026-01-15T18:00:00"),
        ("BC", "2026-07-15T10:00:00", "2026-07-15T17:00:00"),
        ("AB", "2026-01-15T10:00:00", "2026-01-15T17:00:00"),
        ("SK", "2026-07-15T10:00:00", "2026-07-15T16:00:00"),  # no daylight saving
        ("ON", "2026-01-15T10:00:00", "2026-01-15T15:00:00"),
        ("ON", "2026-07-15T10:00:00", "2026-07-15T14:00:00"),
        ("NS", "2026-07-15T10:00:00", "2026-07-15T13:00:00"),
        ("NL", "2026-01-15T10:00:00", "2026-01-15T13:30:00"),
        ("NL", "2026-07-15T10:00:00", "2026-07-15T12:30:00"),
        # The spring change (2026-03-08, 02:00 → 03:00): before, after, and the skipped hour.
        ("ON", "2026-03-08T01:30:00", "2026-03-08T06:30:00"),
        ("ON", "2026-03-08T03:30:00", "2026-03-08T07:30:00"),
        ("ON", "2026-03-08T02:30:00", "2026-03-08T07:30:00"),
        # The autumn change (2026-11-01, 02:00 → 01:00): the repeated hour is read as daylight.
        ("ON", "2026-11-01T01:30:00", "2026-11-01T05:30:00"),
        ("ON", "2026-11-01T02:30:00", "2026-11-01T07:30:00"),
        ("NL", "2026-11-01T00:30:00", "2026-11-01T03:00:00"),
    ],
)
def test_without_an_abbreviation_the_province_zone_decides(
    province: str, wall: str, utc: str
) -> None:
    date, time = wall.split("T")
    assert event_times(date, time, None, province) == (_utc(utc), wall)
    assert event_times(date, time, "XYZ", province.lower()) == (_utc(utc), wall)


def test_an_event_with_neither_zone_nor_province_has_no_utc_time() -> None:
    assert event_times("2026-04-29", "22:10:00", "", "") == (None, "2026-04-29T22:10:00")


@pytest.mark.parametrize(("date", "time"), [(None, "10:00:00"), ("2026-13-01", "10:00:00")])
def test_an_unreadable_date_gives_no_time(date: str | None, time: str) -> None:
    assert event_times(date, time, "EST", "ON") == (None, None)
