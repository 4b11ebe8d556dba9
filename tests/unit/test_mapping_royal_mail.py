"""The Royal Mail mapping table (``domain/mappings/royal_mail.csv``) and the reading rules that pick
its rows (``shiptrack.carriers.royal_mail_reading``), row by row.

Covers: every row reached by an event as Royal Mail words it and meaning what the policy says;
every row explained; the Swagger's own example code mapped; the issue's rules (collection at a
Post Office or locker is SP, a failed attempt AT, return to sender EX); an unknown code with a
plain name stays unmapped; the summary's category only reads the newest event; and UK times
without an offset across both clock changes of 2026.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.royal_mail_reading import map_event, mapping_keys, parse_timestamp
from shiptrack.domain.mapping import NOT_MAPPED, table

#: One event per row of the table, as Royal Mail would send it: (key, code, name, category,
#: status, detail).
ROWS: list[tuple[str, str, str, str | None, str, str]] = [
    ("EVNMI", "EVNMI", "Forwarded - Mis-sort", None, "IT", "PARCEL_REDIRECTED_BY_CARRIER"),
    ("EVAIE", "EVAIE", "Sender preparing item", None, "NY", "SHIPMENT_CREATED"),
    ("EVAIP", "EVAIP", "Sender despatching item", None, "NY", "AWAITING_PICKUP_DROP_OFF"),
    ("EVPPA", "EVPPA", "Accepted at Parcelshop", None, "AC", "DROPPED_OFF"),
    ("EVDAV", "EVDAV", "Item Received", None, "AC", "RECEIVED_BY_CARRIER"),
    ("EVIMC", "EVIMC", "Item Received", None, "AC", "RECEIVED_BY_CARRIER"),
    ("EVDAC", "EVDAC", "Item Received", None, "AC", "RECEIVED_BY_CARRIER"),
    ("EVOAC", "EVOAC", "Item received at", None, "IT", "HUB_SCAN_IN"),
    ("EVORI", "EVORI", "Arrived at", None, "IT", "HUB_SCAN_IN"),
    ("EVODO", "EVODO", "Item Despatched to DO", None, "IT", "HUB_SCAN_OUT"),
    ("EVOCO", "EVOCO", "We have received your item", None, "IT", "HUB_PROCESSING"),
    ("EVGPD", "EVGPD", "Due to be delivered today", None, "IT", "OUT_FOR_DELIVERY"),
    ("RSRXS", "RSRXS", "Delivery request received", None, "IT", "DELIVERY_ARRANGED_WITH_RECIPIENT"),
    ("EVNSR", "EVNSR", "Item Prepared for Redelivery", None, "IT", "DELIVERY_RESCHEDULED"),
    ("EVKNA", "EVKNA", "Delivery Attempted - No Answer", None, "AT", "ATTEMPTED_DELIVERY"),
    ("EVKNR", "EVKNR", "Delivery Attempted", None, "AT", "ATTEMPTED_DELIVERY"),
    (
        "EVNDA",
        "EVNDA",
        "Available for Redelivery or Collection",
        None,
        "AT",
        "CUSTOMER_TO_COLLECT_FROM_CARRIER",
    ),
    ("EVNRT", "EVNRT", "Item Retention", None, "EX", "HELD_BY_CARRIER"),
    ("EVKSP", "EVKSP", "Delivered and Signed", None, "DE", "DELIVERED"),
    ("EVKSF", "EVKSF", "Delivered to Safeplace", None, "DE", "DELIVERED_SPECIFIED_SAFE_PLACE"),
    ("EVKOP", "EVKOP", "Delivered by", None, "DE", "DELIVERED"),
    ("text:returned", "EVXRT", "Returned to sender", None, "EX", "RETURN_TO_SENDER"),
    (
        "text:collection-point",
        "EVXPL",
        "Delivered to parcel locker, ready to collect",
        None,
        "SP",
        "DELIVERED_TO_PICKUP_POINT",
    ),
    (
        "text:collected",
        "EVXCL",
        "Collected by the recipient",
        None,
        "DE",
        "PARCEL_COLLECTED_FROM_PICKUP_POINT",
    ),
    ("text:attempted", "EVXAT", "We missed you, card left", None, "AT", "ATTEMPTED_DELIVERY"),
    ("text:delivered", "EVXDE", "Delivered to neighbour", None, "DE", "DELIVERED"),
    ("category:IN TRANSIT", "EVXXX", "Item scanned", "IN TRANSIT", "IT", "IN_TRANSIT"),
    ("category:DELIVERED", "EVXXX", "Item scanned", "DELIVERED", "DE", "DELIVERED"),
]
SAMPLES = {
    key: ({"eventCode": code, "eventName": name}, category, (status, detail))
    for key, code, name, category, status, detail in ROWS
}


def rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("royal_mail.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_each_row_is_reached_by_its_event_and_means_what_the_policy_says(key: str) -> None:
    event, category, expected = SAMPLES[key]
    assert key in mapping_keys(event, category)
    mapped = map_event(event, category)
    assert (mapped.status_code.value, mapped.status_detail_code) == expected


def test_every_row_has_a_sample_and_a_reason() -> None:
    keys = [row["key"] for row in rows()]
    assert sorted(keys) == sorted(SAMPLES)
    assert all(row["note"].strip() for row in rows())
    assert set(table("royal_mail").rows) == set(SAMPLES)


def test_the_issues_rules_collection_point_attempt_and_return() -> None:
    post_office = {"eventCode": "EVXPO", "eventName": "Ready for collection at Post Office"}
    assert map_event(post_office).status_code == "SP"
    assert map_event({"eventCode": "EVKNA"}).status_code == "AT"
    assert map_event({"eventCode": "EVXRS", "eventName": "Item being returned to sender"}) == (
        map_event({"eventName": "Returned to sender"})
    )
    assert map_event({"eventName": "Returned to sender"}).status_code == "EX"


def test_an_unknown_code_with_a_plain_name_stays_unmapped() -> None:
    mapped = map_event({"eventCode": "EVZZZ", "eventName": "Item scanned"})
    assert (mapped.status_code, mapped.status_detail_code) == ("UN", NOT_MAPPED)


def test_a_known_code_wins_over_the_name_and_the_category() -> None:
    event = {"eventCode": "EVNDA", "eventName": "Available for Redelivery or Collection"}
    assert map_event(event, "DELIVERED").status_code == "AT"


@pytest.mark.parametrize(
    ("given", "utc", "wall"),
    [
        ("2026-03-29T00:30:00", datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2026-03-29T00:30:00"),
        ("2026-03-29T03:30:00", datetime(2026, 3, 29, 2, 30, tzinfo=UTC), "2026-03-29T03:30:00"),
        ("2026-10-25T00:30:00", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "2026-10-25T00:30:00"),
        ("2026-10-25T01:30:00", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25T01:30:00"),
        ("2026-10-25T02:30:00", datetime(2026, 10, 25, 2, 30, tzinfo=UTC), "2026-10-25T02:30:00"),
        (
            "2026-10-25T01:30:00+00:00",
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            "2026-10-25T01:30:00",
        ),
        ("2026-07-01T12:00:00Z", datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "2026-07-01T12:00:00"),
    ],
    ids=[
        "gmt-before-spring",
        "bst-after-spring",
        "bst-before-autumn",
        "autumn-ambiguous-first",
        "gmt-after-autumn",
        "offset-wins",
        "zulu",
    ],
)
def test_times_are_true_utc_with_the_wall_time_kept(given: str, utc: datetime, wall: str) -> None:
    assert parse_timestamp(given) == (utc, wall)


def test_an_unreadable_time_gives_nothing() -> None:
    assert parse_timestamp("yesterday") == (None, None)
    assert parse_timestamp(None) == (None, None)
