"""The GLS mapping table (``domain/mappings/gls.csv``) and the reading rules that pick its keys:
every row is a valid decision with a reason and every code the Track And Trace spec documents has
one; the policy decisions (ParcelShop or locker SP, consignee not at home AT, return EX) hold for
the table's codes and for codes it does not list; unknown codes stay unmapped unless they are the
newest event (then the parcel status reads them); times without an offset follow the event's
country, across daylight-saving changes."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.gls_reading import map_event, parse_timestamp

#: Every event code of the Track And Trace v1 spec (1.0.7): its parcel examples and its
#: ``/tracking/events/codes`` example.
DOCUMENTED_CODES = {
    "INTIAL.PREADVICE",
    "INTIAL.E48_DATA",
    "INTIAL.NORMAL",
    "DELIVD.PARCELSHOP",
    "CANCEL.NORMAL",
    "CHANGD.MONEWADDR",
    "CHANGD.PARCELBOX",
}
#: The spec's ``ParcelDTO.status`` enum.
DOCUMENTED_STATUSES = {
    "PLANNEDPICKUP",
    "INPICKUP",
    "NOTPICKEDUP",
    "PREADVICE",
    "INTRANSIT",
    "INDELIVERY",
    "DELIVEREDPS",
    "DELIVERED",
    "INWAREHOUSE",
    "NOTDELIVERED",
    "CANCELED",
    "FINAL",
}


def rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("gls.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def test_every_row_has_a_reason() -> None:
    assert rows()
    for row in rows():
        assert row["note"].strip(), row["key"]


def test_every_documented_code_and_status_is_in_the_table() -> None:
    keys = {row["key"] for row in rows()}
    assert {f"code:{c}" for c in DOCUMENTED_CODES} <= keys
    assert {f"status:{s}" for s in DOCUMENTED_STATUSES} <= keys


@pytest.mark.parametrize(
    ("code", "description", "status", "detail"),
    [
        ("INTIAL.PREADVICE", "The parcel data was entered …", "NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
        ("INTIAL.NORMAL", "The parcel was handed over to GLS.", "AC", "RECEIVED_BY_CARRIER"),
        ("DELIVD.PARCELSHOP", "… at the ParcelShop …", "SP", "DELIVERED_TO_PICKUP_POINT"),
        (
            "DELIVD.PARCELLOCK",
            "Delivered to the GLS ParcelLocker.",
            "SP",
            "DELIVERED_TO_PICKUP_POINT",
        ),
        ("CHANGD.PARCELBOX", "Change completed for - ParcelLocker", "IT", "PARCEL_REDIRECTED"),
        ("NOTDEL.NOTATHOME", "… the consignee was not at home.", "AT", "ATTEMPTED_DELIVERY"),
        ("NOTDEL.SOMETHING", "The parcel could not be delivered.", "AT", "ATTEMPTED_DELIVERY"),
        ("NOTDEL.REFUSED", "Acceptance refused by the consignee.", "EX", "REFUSED_BY_CUSTOMER"),
        ("RETURN.NORMAL", "The parcel is being returned to the sender.", "EX", "RETURN_TO_SENDER"),
        ("OUTDEL.NORMAL", "… delivered during the day.", "IT", "OUT_FOR_DELIVERY"),
        ("DELIVD.NORMAL", "The parcel has been delivered.", "DE", "DELIVERED"),
        ("CANCEL.NORMAL", "The parcel data have been deleted …", "EX", "CANCELLED"),
        ("ZZZZZZ.NEW", "Something entirely new", "UN", "CARRIER_STATUS_NOT_MAPPED"),
    ],
    ids=lambda value: str(value)[:20],
)
def test_codes_map_to_the_policy(code: str, description: str, status: str, detail: str) -> None:
    mapped = map_event(code, description)
    assert (mapped.status_code, mapped.status_detail_code) == (status, detail)


def test_the_parcel_status_reads_an_unknown_newest_event_only() -> None:
    assert map_event("ZZZZZZ.NEW", "Something new", "DELIVEREDPS").status_code == "SP"
    assert map_event("ZZZZZZ.NEW", "Something new", "NOTDELIVERED").status_code == "AT"
    # A known code keeps its meaning whatever the status says.
    assert map_event("INTIAL.NORMAL", "Handed over", "DELIVERED").status_code == "AC"
    # "history closed" says nothing about how it ended: it never decides the status.
    assert map_event("ZZZZZZ.NEW", "Something new", "FINAL").status_code == "UN"


@pytest.mark.parametrize(
    ("wall", "country", "utc"),
    [
        # Germany springs forward at 02:00 CET on 29 March 2026.
        ("2026-03-29T01:30:00", "DE", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),
        ("2026-03-29T03:30:00", "DE", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        # ... and falls back at 03:00 CEST on 25 October 2026; the repeated hour reads as CEST.
        ("2026-10-25T02:30:00", "DE", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("2026-10-25T03:30:00", "DE", datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
        ("2026-07-16T11:02:00", "FR", datetime(2026, 7, 16, 9, 2, tzinfo=UTC)),
        ("2026-07-16T11:02:00", "PT", datetime(2026, 7, 16, 10, 2, tzinfo=UTC)),
        ("2026-01-16T11:02:00", "FI", datetime(2026, 1, 16, 9, 2, tzinfo=UTC)),
        ("2026-01-16T11:02:00", "ie", datetime(2026, 1, 16, 11, 2, tzinfo=UTC)),
    ],
    ids=[
        "de-before-spring",
        "de-after-spring",
        "de-repeated-hour",
        "de-after-autumn",
        "fr",
        "pt",
        "fi",
        "ie-lower",
    ],
)
def test_offsetless_times_use_the_events_country(wall: str, country: str, utc: datetime) -> None:
    assert parse_timestamp(wall, country) == (utc, wall)


def test_an_offset_wins_and_no_offset_nor_country_leaves_the_moment_unknown() -> None:
    # GLS writes offsets without a colon.
    assert parse_timestamp("2024-10-07T10:46:14+0200", "PT") == (
        datetime(2024, 10, 7, 8, 46, 14, tzinfo=UTC),
        "2024-10-07T10:46:14",
    )
    assert parse_timestamp("2026-01-10T12:00:00", "") == (None, "2026-01-10T12:00:00")
    # A country spanning several zones is not guessed.
    assert parse_timestamp("2026-01-10T12:00:00", "US") == (None, "2026-01-10T12:00:00")
