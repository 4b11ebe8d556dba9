"""The UPS mapping table (``domain/mappings/ups.csv``) code by code, and the order in which the UPS
adapter consults it.

The expectations below are written from the UPS code tables (status/description codes, activity
codes, status types) and the recommended mapping of ``/work/shared/guides/carriers.md``, grouped by
meaning, with the policy decisions the README states: label only → NY, pickup attempted → NY,
delays → IT with a delay detail, customs progress → IT, customs holds → EX, returns → EX, Access
Point / post office / hold for pickup → SP, updates → informational. Every documented code must be
in the table, and the table must hold nothing else.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.ups_reading import map_activity, mapping_keys
from shiptrack.domain.changes import CarrierReport, Known, event_identity, observe
from shiptrack.domain.mapping import NOT_MAPPED, table
from shiptrack.domain.statuses import STATUS_DETAIL_DESCRIPTIONS, StatusCode
from shiptrack.domain.tracking import TrackEvent


def _status(*codes: str) -> list[str]:
    return [f"status:{code}" for code in codes]


def _code(*codes: str) -> list[str]:
    return [f"code:{code}" for code in codes]


def _type(*types: str) -> list[str]:
    return [f"type:{t}" for t in types]


def _range(first: int, last: int) -> list[str]:
    return [f"{n:03d}" for n in range(first, last + 1)]


#: (keys, status_code, status_detail_code): what each documented UPS code must mean.
EXPECTED: list[tuple[list[str], str, str]] = [
    # Label only: NY, as ShipEngine's own UPS sample (M / MP → NY).
    (
        _status("003", "157", "079", "080", "166") + _code("MP", "RD", "VP") + _type("M"),
        "NY",
        "SHIPMENT_CREATED",
    ),
    # Pickup attempted: UPS does not have the package yet.
    (_status("065", "131", "135"), "NY", "AWAITING_PICKUP_DROP_OFF"),
    # First physical scans.
    (_status("038") + _code("PU") + _type("P"), "AC", "PICKED_UP"),
    (_status("160") + _code("OR"), "AC", "RECEIVED_BY_CARRIER"),
    (
        _status("167", "168", "169", "044", "045") + _code("XD") + _type("DO"),
        "AC",
        "DROPPED_OFF",
    ),
    # On the way.
    (
        _status("005", "010", "025", "039", "047", "087", "158", "159", "164", "165", "070")
        + _code("EP", "IP")
        + _type("I"),
        "IT",
        "IN_TRANSIT",
    ),
    (_code("AR"), "IT", "HUB_SCAN_IN"),
    (_code("DP"), "IT", "HUB_SCAN_OUT"),
    (_code("DS"), "IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
    (_code("WH") + _type("W"), "IT", "HUB_PROCESSING"),
    (_status("071") + _code("YP"), "IT", "DELIVERY_SCHEDULED"),
    (_status("073", "074", "137"), "IT", "SUB_CONTRACTOR_RECEIVED"),
    (_status("019", "020") + _code("MF"), "IT", "DELIVERY_ARRANGED_WITH_RECIPIENT"),
    # Customs progress is IT; customs holds are EX (below).
    (_status("012", "092"), "IT", "CUSTOMS_PROCESSING"),
    (_status("014", "084", "134") + _code("SR"), "IT", "CUSTOMS_CLEARED"),
    # Delays stay IT (the package still moves and stays tracked), with a delay detail.
    (_status("046", "048", "086", "090"), "IT", "CARRIER_DELAYS"),
    (_status("051", "052", "053"), "IT", "DELAYED_NOT_CARRIER"),
    # Out for delivery is IT / OUT_FOR_DELIVERY.
    (
        _status("006", "021", "037", "089", "091", "146", "162", "072") + _code("OT", "OF", "OD"),
        "IT",
        "OUT_FOR_DELIVERY",
    ),
    # Delivered.
    (_status("011", "026", "143") + _code("F4", "FS", "KB", "YC") + _type("D"), "DE", "DELIVERED"),
    # Pickup points: SP.
    (_status("161") + _code("2Q"), "SP", "DELIVERED_TO_PICKUP_POINT"),
    (_status("144"), "SP", "COLLECT_AT_LOCAL_PO"),
    (_status("017") + _type("DD"), "SP", "CUSTOMER_TO_COLLECT_FROM_CARRIER"),
    (
        _status("040", "100", "101", "106", "107", "108", "109"),
        "SP",
        "AWAITING_COLLECTION_FROM_PICKUP_POINT",
    ),
    # Delivery attempts.
    (
        _status("022", "023", "060", "145", "061", "062", "066")
        + _code("48", "55", "G3", "5R", "3J"),
        "AT",
        "ATTEMPTED_DELIVERY",
    ),
    ([*_status("024"), "wording:final_attempt"], "AT", "ATTEMPTED_DELIVERY_FINAL"),
    (["wording:attempt"], "AT", "ATTEMPTED_DELIVERY"),
    # Exceptions, returns, holds.
    (_status("007") + _type("MV"), "EX", "CANCELLED"),
    (
        _status("013", "029", "030", "032", "049", "076", "132") + _type("X"),
        "EX",
        "UNSPECIFIED_EXCEPTION",
    ),
    (_status("050"), "EX", "ADDRESS_QUERY"),
    (_status("058", "124", "125", "123", "126", "147"), "EX", "HELD_BY_CUSTOMS"),
    (_status("059", "081"), "EX", "PARCEL_DAMAGED"),
    (_status("064"), "EX", "REFUSED_BY_CUSTOMER"),
    (_status("033", "034", "035", "036", "118", "119", "067"), "EX", "RETURN_TO_SENDER"),
    (_status("068", "083"), "EX", "HELD_BY_CARRIER"),
    (_status("069"), "EX", "NOT_DELIVERED"),
    (_status("085"), "EX", "COD_AMOUNT_NOT_PAID"),
    (_status("149"), "EX", "PARCEL_DISPOSED"),
    # Informational: UN never decides the package's status (domain.changes), so these keep it.
    (
        _status("043", "148", "163", "153", "154") + _code("PX", "UP", "UT") + _type("U", "NA"),
        "UN",
        "INFORMATION",
    ),
]

EXPECTED_BY_KEY = {key: (status, detail) for keys, status, detail in EXPECTED for key in keys}

#: Every 3-digit status/description code in the UPS code table, plus those the recommended mapping
#: names (030, 032, 132, 100, 101, 106-109).
DOCUMENTED_STATUS_CODES = {
    *("003", "157", "005", "010", "025", "039", "047", "087", "158", "159", "164", "165"),
    *("006", "021", "037", "089", "091", "146", "162", "072", "071", "007", "011"),
    *("012", "092", "014", "084", "134", "013", "017", "040", "019", "020"),
    *("022", "023", "024", "026", "029", "030", "032", "038", "043", "044", "045"),
    *_range(33, 36),
    *("118", "119", "046", "048", "086", "090", "049", "050"),
    *_range(51, 53),
    *("058", "124", "125", "059", "081", "060", "145", "061", "062", "064"),
    *("065", "131", "135", "066", "067", "068", "069", "070", "073", "074", "137"),
    *("076", "079", "080", "083", "085", "100", "101"),
    *_range(106, 109),
    *("123", "126", "132", "143", "144", "147", "148", "163", "149", "153", "154"),
    *("160", "161", "166"),
    *_range(167, 169),
}
#: Every 2-character activity code the UPS notes list (movement, manifest, updates, delivery and
#: exception codes) and the spec's example code SR.
DOCUMENTED_ACTIVITY_CODES = {
    *("AR", "DP", "OR", "PU", "OT", "OF", "OD", "YP", "DS", "EP", "IP", "XD", "WH"),
    *("MP", "RD", "VP", "PX", "UP", "UT", "F4", "FS", "KB", "2Q", "YC"),
    *("48", "55", "G3", "5R", "3J", "MF", "SR"),
}
#: Every activity status type (Track API and Track Alert), and the P type of live data.
DOCUMENTED_TYPES = {"D", "I", "M", "MV", "X", "DO", "DD", "W", "NA", "U", "P"}


def _csv_rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("ups.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


# --- the table ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(EXPECTED_BY_KEY))
def test_each_documented_code_maps_as_the_policy_says(key: str) -> None:
    mapped = table("ups").lookup([key])
    assert (mapped.status_code.value, mapped.status_detail_code) == EXPECTED_BY_KEY[key]


def test_every_documented_code_is_in_the_table_and_nothing_else() -> None:
    documented = (
        {f"status:{code}" for code in DOCUMENTED_STATUS_CODES}
        | {f"code:{code}" for code in DOCUMENTED_ACTIVITY_CODES}
        | {f"type:{t}" for t in DOCUMENTED_TYPES}
    )
    keys = {row["key"] for row in _csv_rows()}
    documented |= {"wording:attempt", "wording:final_attempt"}  # the attempt wordings' decisions
    assert documented - keys == set(), "documented UPS codes missing from ups.csv"
    assert keys - documented == set(), "ups.csv maps codes UPS does not document"
    assert keys == set(EXPECTED_BY_KEY)


def test_every_row_is_an_official_decision_with_a_reason() -> None:
    rows = _csv_rows()
    assert len(rows) == len({row["key"] for row in rows})
    for row in rows:
        assert row["status_code"] in StatusCode.__members__, row
        assert row["status_detail_code"] in STATUS_DETAIL_DESCRIPTIONS, row
        assert row["status_detail_code"] != NOT_MAPPED, row
        assert row["note"].strip(), row


def test_only_informational_codes_have_no_status() -> None:
    unknown = {row["key"] for row in _csv_rows() if row["status_code"] == "UN"}
    assert all(table("ups").rows[key].status_detail_code == "INFORMATION" for key in unknown)
    assert {"type:U", "status:153", "status:154"} <= unknown


# --- the order of the lookup ----------------------------------------------------------------------


def test_status_code_beats_the_type_customs_in_progress_under_type_X_is_in_transit() -> None:
    mapped = map_activity("X", "CI", "092")
    assert (mapped.status_code, mapped.status_detail_code) == ("IT", "CUSTOMS_PROCESSING")


def test_activity_code_beats_the_type_when_the_status_code_is_unknown() -> None:
    mapped = map_activity("D", "2Q", None)
    assert (mapped.status_code, mapped.status_detail_code) == ("SP", "DELIVERED_TO_PICKUP_POINT")
    mapped = map_activity("D", "OT", "999")
    assert (mapped.status_code, mapped.status_detail_code) == ("IT", "OUT_FOR_DELIVERY")


def test_the_type_decides_when_no_code_is_known() -> None:
    mapped = map_activity("X", "ZZ", "999")
    assert (mapped.status_code, mapped.status_detail_code) == ("EX", "UNSPECIFIED_EXCEPTION")


@pytest.mark.parametrize(
    ("codes", "description", "expected"),
    [
        # Attempt codes win over a generic exception status code under type X.
        (("X", "48", "013"), "THE RECEIVER WAS NOT AVAILABLE FOR DELIVERY.", "ATTEMPTED_DELIVERY"),
        (("X", "55", "029"), None, "ATTEMPTED_DELIVERY"),
        (("X", "48", "022"), None, "ATTEMPTED_DELIVERY"),
        (("X", "48", "024"), None, "ATTEMPTED_DELIVERY_FINAL"),
        # Codes UPS does not document for it: the wording says it was an attempt.
        (("X", "ZZ", "013"), "DELIVERY ATTEMPTED", "ATTEMPTED_DELIVERY"),
        (("X", None, None), "The receiver was not available for delivery.", "ATTEMPTED_DELIVERY"),
        (
            ("X", "ZZ", "999"),
            "WE TRIED TO DELIVER TO THE BUSINESS, BUT IT WAS CLOSED.",
            "ATTEMPTED_DELIVERY",
        ),
        (
            ("X", "ZZ", "013"),
            "THE RECEIVER WAS NOT AVAILABLE FOR DELIVERY. A FINAL ATTEMPT WILL BE MADE TOMORROW.",
            "ATTEMPTED_DELIVERY",
        ),
        (
            ("X", "ZZ", "013"),
            "The receiver was not available at the time of the final delivery attempt.",
            "ATTEMPTED_DELIVERY_FINAL",
        ),
    ],
    ids=[
        "code-48-under-013",
        "code-55-under-029",
        "status-022",
        "status-024",
        "wording-delivery-attempted",
        "wording-receiver-not-available",
        "wording-business-closed",
        "wording-final-attempt-announced",
        "wording-final-attempt",
    ],
)
def test_a_failed_attempt_ups_files_as_an_exception_is_an_attempt(
    codes: tuple[str, str | None, str | None], description: str | None, expected: str
) -> None:
    mapped = map_activity(*codes, description)
    assert (mapped.status_code, mapped.status_detail_code) == ("AT", expected)


@pytest.mark.parametrize(
    ("codes", "description", "expected"),
    [
        (("X", "ZZ", "013"), "Exception: package damaged", "UNSPECIFIED_EXCEPTION"),
        (("X", "RS", "064"), "Delivery attempted: the receiver refused it", "REFUSED_BY_CUSTOMER"),
        (
            ("X", "48", "033"),
            "The receiver was not available. Returning to sender.",
            "RETURN_TO_SENDER",
        ),
        (
            ("X", "ZZ", "013"),
            "The receiver was not available at the final attempt. Returning to the sender.",
            "UNSPECIFIED_EXCEPTION",
        ),
        (("X", "AE", "050"), "The address is incomplete.", "ADDRESS_QUERY"),
        (
            ("X", "ZZ", "058"),
            "Delivery attempted; clearance information required",
            "HELD_BY_CUSTOMS",
        ),
    ],
    ids=["plain", "refused", "return-code", "return-wording", "address", "customs"],
)
def test_exceptions_stay_exceptions(
    codes: tuple[str, str | None, str | None], description: str, expected: str
) -> None:
    mapped = map_activity(*codes, description)
    assert (mapped.status_code, mapped.status_detail_code) == ("EX", expected)


def test_the_attempt_wording_never_turns_a_scan_that_is_not_an_exception_into_an_attempt() -> None:
    mapped = map_activity("I", "AR", "005", "Arrived; a delivery attempt is planned for tomorrow")
    assert (mapped.status_code, mapped.status_detail_code) == ("IT", "IN_TRANSIT")


def test_an_update_is_informational_whatever_codes_it_carries() -> None:
    assert mapping_keys("U", "AR", "005")[0] == "type:U"
    mapped = map_activity("U", "AR", "005")
    assert (mapped.status_code, mapped.status_detail_code) == ("UN", "INFORMATION")


def test_an_activity_with_no_known_code_is_kept_unmapped() -> None:
    mapped = map_activity("Q", "ZZ", "999")
    assert (mapped.status_code, mapped.status_detail_code) == ("UN", NOT_MAPPED)
    assert map_activity(None, None, None).status_detail_code == NOT_MAPPED


# --- why informational events are UN: they never change the status -------------------------------


def _event(status: str, detail: str, hour: int, code: str) -> TrackEvent:
    return TrackEvent(
        status_code=status,
        status_detail_code=detail,
        occurred_at=datetime(2026, 4, 22, hour, tzinfo=UTC),
        carrier_occurred_at=f"2026-04-22T{hour - 4:02d}:00:00",
        carrier_status_code="X",
        event_code=code,
    )


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        ("EX", "ADDRESS_QUERY"),
        ("AT", "ATTEMPTED_DELIVERY"),
        ("IT", "OUT_FOR_DELIVERY"),
        ("SP", "DELIVERED_TO_PICKUP_POINT"),
    ],
)
def test_a_newer_update_keeps_the_package_status_and_is_stored(status: str, detail: str) -> None:
    before = _event(status, detail, 10, "050")
    update = map_activity("U", "UT", "154")
    newer = _event(update.status_code.value, update.status_detail_code, 18, "154")
    known = Known(
        status_code=status,
        status_detail_code=detail,
        sequence=3,
        settled=True,
        newest_event_at=before.occurred_at,
        identities=frozenset({event_identity(before)}),
    )
    observation = observe(known, CarrierReport(events=(newer, before)))
    assert observation.changes == []
    assert (observation.status_code, observation.status_detail_code) == (status, detail)
    assert [event for _, event in observation.new_events] == [newer]
