"""The PostNL mapping table (``domain/mappings/postnl.csv``) against PostNL's own code list
(``shared/spec/carriers/postnl/TTStatusCodes.md``), and how PostNL's times become UTC: every
documented event and status code has a row with a reason; pick-up points and parcel lockers are SP,
failed attempts AT, returns to the sender EX; an undocumented code is read through the status it
came with, else kept unmapped; day-first Dutch wall times are Europe/Amsterdam, across both
daylight-saving changes."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from shiptrack.carriers.postnl_reading import map_event, parse_timestamp

CODES = Path("/work/shared/spec/carriers/postnl/TTStatusCodes.md")


def rows() -> dict[str, dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("postnl.csv").read_text()
    return {row["key"]: row for row in csv.DictReader(text.splitlines())}


def documented() -> tuple[set[str], set[str]]:
    """PostNL's status codes and event codes, as its reference page lists them."""
    statuses, events = CODES.read_text().split("# Event codes")
    first_cells = r"<tr>\s*<td[^>]*>\s*([^<\s]+)\s*</td>"
    status_codes = set(re.findall(first_cells, statuses))
    event_codes = set(re.findall(first_cells, events))
    # The status options the event table names (27, 28, 31 are in no status table row).
    options = {str(int(o)) for o in re.findall(r"<td[^>]*>\s*(\d\d), [^<]+</td>\s*</tr>", events)}
    return status_codes | options, event_codes


def test_every_documented_code_has_a_row_with_a_reason() -> None:
    table = rows()
    status_codes, event_codes = documented()
    assert len(event_codes) == 287
    assert {"1", "11", "12", "27", "28", "31", "99"} <= status_codes
    assert event_codes <= set(table)
    assert {f"status:{code}" for code in status_codes} <= set(table)
    for key, row in table.items():
        assert row["note"].strip(), key


@pytest.mark.parametrize(
    ("code", "status", "detail"),
    [
        # pick-up points and parcel lockers
        ("I08", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("J02", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("J23", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("X05", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("A28", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("J52", "SP", "COLLECT_AT_LOCAL_PO"),
        ("I02", "DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
        ("I22", "DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
        ("A27", "IT", "DELIVERY_ARRANGED_WITH_RECIPIENT"),  # "will be delivered to the locker"
        # failed attempts, not home
        ("J08", "AT", "ATTEMPTED_DELIVERY"),
        ("K14", "AT", "ATTEMPTED_DELIVERY"),
        ("Y02", "AT", "ATTEMPTED_DELIVERY"),
        ("D08", "AT", "ATTEMPTED_DELIVERY"),
        ("K70", "AT", "ATTEMPTED_DELIVERY"),
        ("J16", "AT", "NO_ACCESS_TO_RECIPIENTS_ADDRESS"),
        # returns to the sender
        ("H20", "EX", "RETURN_TO_SENDER"),
        ("H01", "EX", "RETURN_TO_SENDER"),
        ("H16", "EX", "RETURN_TO_SENDER"),
        ("Y40", "EX", "RETURN_TO_SENDER"),
        # the rest of a journey
        ("A01", "NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
        ("B01", "AC", "RECEIVED_BY_CARRIER"),
        ("J05", "IT", "OUT_FOR_DELIVERY"),
        ("J01", "IT", "HUB_PROCESSING"),
        ("I01", "DE", "DELIVERED"),
        ("I10", "DE", "DELIVERED_TO_NEIGHBOUR"),
        ("Y71", "EX", "PARCEL_LOST"),
        ("P20", "UN", "INFORMATION"),
    ],
)
def test_event_codes_map_to_the_policy(code: str, status: str, detail: str) -> None:
    mapped = map_event(code)
    assert (mapped.status_code, mapped.status_detail_code) == (status, detail)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("1", "NY"),
        ("2", "AC"),
        ("7", "IT"),
        ("8", "AT"),
        ("11", "DE"),
        ("12", "SP"),
        ("22", "DE"),
        ("27", "EX"),
        ("28", "EX"),
        ("99", "UN"),
    ],
)
def test_status_codes_map_to_the_policy(status: str, expected: str) -> None:
    assert map_event(None, status).status_code == expected


def test_an_undocumented_code_is_read_through_its_status_then_its_phase() -> None:
    assert map_event("01B", "11", "4").status_code == "DE"  # a captured answer's code
    assert map_event("ZZ9", "77", "3").status_detail_code == "IN_TRANSIT"
    unknown = map_event("ZZ9")
    assert (unknown.status_code, unknown.status_detail_code) == ("UN", "CARRIER_STATUS_NOT_MAPPED")
    # A documented event code wins over the status recorded with it.
    assert map_event("J08", "11", "4").status_code == "AT"


@pytest.mark.parametrize(
    ("given", "utc", "wall"),
    [
        (
            "08-11-2022 10:13:20",
            datetime(2022, 11, 8, 9, 13, 20, tzinfo=UTC),
            "2022-11-08T10:13:20",
        ),
        ("08-06-2023 10:15:00", datetime(2023, 6, 8, 8, 15, tzinfo=UTC), "2023-06-08T10:15:00"),
        (
            "08-11-2022 00:10:11.081",
            datetime(2022, 11, 7, 23, 10, 11, 81000, tzinfo=UTC),
            "2022-11-08T00:10:11.081",
        ),
        # Spring: 02:00 CET became 03:00 CEST on 29 March 2026.
        ("29-03-2026 01:59:00", datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "2026-03-29T01:59:00"),
        ("29-03-2026 03:00:00", datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29T03:00:00"),
        # Autumn: 03:00 CEST became 02:00 CET on 25 October 2026; 02:30 happened twice.
        ("25-10-2026 01:30:00", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "2026-10-25T01:30:00"),
        ("25-10-2026 02:30:00", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25T02:30:00"),
        ("25-10-2026 03:30:00", datetime(2026, 10, 25, 2, 30, tzinfo=UTC), "2026-10-25T03:30:00"),
        # The expected window is written ISO-style, also without offset.
        ("2022-11-08T14:50:00", datetime(2022, 11, 8, 13, 50, tzinfo=UTC), "2022-11-08T14:50:00"),
        # An offset, where PostNL gives one (the signature date), wins.
        (
            "2018-03-07T13:52:45.000+01:00",
            datetime(2018, 3, 7, 12, 52, 45, tzinfo=UTC),
            "2018-03-07T13:52:45",
        ),
    ],
    ids=[
        "winter",
        "summer",
        "milliseconds",
        "before-spring-change",
        "after-spring-change",
        "before-autumn-change",
        "repeated-hour-first-pass",
        "after-autumn-change",
        "iso-no-offset",
        "iso-offset",
    ],
)
def test_postnl_times_are_dutch_local_time(given: str, utc: datetime, wall: str) -> None:
    assert parse_timestamp(given) == (utc, wall)


def test_an_unreadable_time_keeps_its_text_and_no_moment() -> None:
    assert parse_timestamp("yesterday") == (None, "yesterday")
    assert parse_timestamp({}) == (None, None)
