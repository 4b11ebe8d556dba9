"""The USPS mapping table (``domain/mappings/usps.csv``), code by code.

Covers: every row of the table against the decision written here (both lists must agree, so a row
cannot change or appear without this file saying so); every scan event code USPS documents in
Publication 199 Appendix G-4 (as collected in ``/work/shared/guides/carriers.md`` §1 and the
USPS::WebTools code list) and every observed ``statusCategory`` has a row; the policy decisions
(label created and pre-shipment are NY, first physical scan is AC, out for delivery is
IT/OUT_FOR_DELIVERY, pickup points are SP, a pickup after a hold for pickup is a delivery, notices
left are AT, returns and refusals are EX, customs processing is IT and a customs hold is EX,
recoverable missorts and missing delivery scans stay IT); only official ShipEngine codes; an
unknown code is not mapped.
"""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from shiptrack.domain.mapping import NOT_MAPPED, table
from shiptrack.domain.statuses import STATUS_DETAIL_DESCRIPTIONS, StatusCode

#: The decisions, one per row of usps.csv: key -> (status_code, status_detail_code).
DECISIONS: dict[str, tuple[str, str]] = {
    # Before USPS has the item: NY.
    "MA": ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    "GX": ("NY", "SHIPMENT_CREATED"),
    # First physical scans: AC.
    "80": ("AC", "PICKED_UP"),
    "03": ("AC", "RECEIVED_BY_CARRIER"),
    "TM": ("AC", "RECEIVED_BY_CARRIER"),
    "PA": ("AC", "RECEIVED_BY_CARRIER"),
    "43": ("AC", "PICKED_UP"),
    "43:after_pickup_point": ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
    # Moving: IT.
    "81": ("IT", "HUB_SCAN_IN"),
    "82": ("IT", "HUB_SCAN_OUT"),
    "10": ("IT", "HUB_SCAN_IN"),
    "A1": ("IT", "HUB_SCAN_IN"),
    "AD": ("IT", "HUB_SCAN_IN"),
    "19": ("IT", "HUB_SCAN_IN"),
    "41": ("IT", "HUB_SCAN_IN"),
    "T1": ("IT", "HUB_SCAN_OUT"),
    "EF": ("IT", "HUB_SCAN_OUT"),
    "SF": ("IT", "HUB_SCAN_OUT"),
    "TL": ("IT", "IN_TRANSIT"),
    "PC": ("IT", "HUB_PROCESSING"),
    "07": ("IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
    "06": ("IT", "PARCEL_REDIRECTED"),
    "42": ("IT", "SUB_CONTRACTOR_RECEIVED"),
    "08": ("IT", "MISROUTED"),
    "15": ("IT", "MISROUTED"),
    "71": ("IT", "DELIVERY_RESCHEDULED"),
    "DX": ("IT", "CARRIER_DELAYS"),
    "OF": ("IT", "OUT_FOR_DELIVERY"),
    # Delivered.
    "01": ("DE", "DELIVERED"),
    "17": ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
    # Pickup points.
    "14": ("SP", "DELIVERED_TO_PICKUP_POINT"),
    "16": ("SP", "COLLECT_AT_LOCAL_PO"),
    # Attempts.
    "02": ("AT", "CUSTOMER_CARDED"),
    "52": ("AT", "CUSTOMER_CARDED"),
    "53": ("AT", "NO_ACCESS_TO_RECIPIENTS_ADDRESS"),
    "54": ("AT", "ATTEMPTED_DELIVERY"),
    "55": ("AT", "ATTEMPTED_DELIVERY"),
    "56": ("AT", "ATTEMPTED_DELIVERY"),
    "51": ("AT", "ATTEMPTED_DELIVERY"),
    "30": ("AT", "NO_ACCESS_TO_RECIPIENTS_ADDRESS"),
    # Exceptions: refusals, undeliverable, returns.
    "04": ("EX", "REFUSED_BY_CUSTOMER"),
    "05": ("EX", "ADDRESS_QUERY"),
    "09": ("EX", "RETURN_TO_SENDER"),
    "21": ("EX", "RETURN_TO_SENDER"),
    "22": ("EX", "RETURN_TO_SENDER"),
    "23": ("EX", "CUSTOMER_MOVED"),
    "24": ("EX", "RETURN_TO_SENDER"),
    "25": ("EX", "RETURN_TO_SENDER"),
    "26": ("EX", "RETURN_TO_SENDER"),
    "27": ("EX", "NOT_COLLECTED_FROM_PICKUP_POINT"),
    "28": ("EX", "NOT_DELIVERED_ADDRESSEE_DECEASED"),
    "29": ("EX", "RETURN_TO_SENDER"),
    "31": ("EX", "NOT_COLLECTED_FROM_PICKUP_POINT"),
    "11": ("EX", "HELD_BY_CARRIER"),
    "44": ("EX", "RETURN_TO_SENDER"),
    # Customs scans, keyed by their wording.
    "text:customs clearance": ("IT", "CUSTOMS_PROCESSING"),
    "text:inbound into customs": ("IT", "CUSTOMS_PROCESSING"),
    "text:customs clearance processing complete": ("IT", "CUSTOMS_CLEARED"),
    "text:inbound out of customs": ("IT", "CUSTOMS_CLEARED"),
    "text:held in customs": ("EX", "HELD_BY_CUSTOMS"),
    # statusCategory, for the newest scan when its code is unknown.
    "category:pre shipment": ("NY", "SHIPMENT_CREATED"),
    "category:shipping label created": ("NY", "SHIPMENT_CREATED"),
    "category:usps awaiting item": ("NY", "SHIPMENT_CREATED"),
    "category:waiting for usps": ("NY", "SHIPMENT_CREATED"),
    "category:accepted": ("AC", "RECEIVED_BY_CARRIER"),
    "category:in transit": ("IT", "IN_TRANSIT"),
    "category:moving through network": ("IT", "IN_TRANSIT"),
    "category:on the way": ("IT", "IN_TRANSIT"),
    "category:international transit": ("IT", "IN_TRANSIT"),
    "category:out for delivery": ("IT", "OUT_FOR_DELIVERY"),
    "category:delivered": ("DE", "DELIVERED"),
    "category:available for pickup": ("SP", "COLLECT_AT_LOCAL_PO"),
    "category:delivery attempt": ("AT", "ATTEMPTED_DELIVERY"),
    "category:alert": ("EX", "UNSPECIFIED_EXCEPTION"),
    "category:return to sender": ("EX", "RETURN_TO_SENDER"),
}

#: Scan event codes USPS documents (Pub 199 App. G-4, via the research notes and the
#: USPS::WebTools::Tracking::Codes list), with USPS's name for each.
DOCUMENTED_CODES: dict[str, str] = {
    "MA": "Manifest Acknowledgement",
    "GX": "Shipping Label Created, USPS Awaiting Item",
    "80": "Picked Up by Shipping Partner",
    "81": "Arrived Shipping Partner Facility",
    "82": "Departed Shipping Partner Facility",
    "03": "Accept or Pickup",
    "TM": "Truck manifest, Shipment Acceptance",
    "PA": "Passive Acceptance, Shipment Acceptance",
    "43": "Picked Up",
    "10": "Processed / Arrived at Regional Origin Facility",
    "A1": "Arrived at Facility",
    "T1": "Departed Facility",
    "TL": "In Transit to Next Facility",
    "SF": "Departed Post Office",
    "EF": "Departed Sort Facility",
    "PC": "Sorting / Processing Complete",
    "07": "Arrival at Unit",
    "AD": "Accepted at Regional Destination Facility",
    "06": "Forwarded",
    "42": "USPS Handoff to Shipping Partner",
    "19": "DC eVS Arrive",
    "41": "Received at Opening Unit",
    "OF": "Out for Delivery",
    "01": "Delivered",
    "17": "Picked Up By Agent",
    "14": "Arrival at Pickup Point",
    "16": "Available for Pickup",
    "02": "Attempted / Notice Left",
    "52": "Notice Left",
    "53": "Receptacle Blocked",
    "54": "Receptacle Full / Item Oversized",
    "55": "No Secure Location Available",
    "56": "No Authorized Recipient Available",
    "51": "Business Closed",
    "30": "Delivery Attempted - No Access to Delivery Location",
    "71": "Rescheduled to Next Delivery Day",
    "04": "Refused",
    "05": "Undeliverable as Addressed",
    "08": "Missent",
    "09": "Return to Sender",
    "21": "No Such Number",
    "22": "Insufficient Address",
    "23": "Moved, Left No Address",
    "24": "Forward Expired",
    "25": "Addressee Unknown",
    "26": "Vacant",
    "27": "Unclaimed",
    "28": "Deceased",
    "29": "Other",
    "31": "Not Picked Up",
    "11": "Dead Letter",
    "15": "Mis-shipped",
    "44": "Customer Recall",
    "DX": "Delivery Status Not Updated",
}

#: statusCategory values seen in USPS answers (USPS publishes no list).
OBSERVED_CATEGORIES = (
    "Pre-Shipment",
    "Shipping Label Created",
    "USPS Awaiting Item",
    "Waiting for USPS",
    "Accepted",
    "In Transit",
    "Moving Through Network",
    "On the Way",
    "International Transit",
    "Out for Delivery",
    "Delivered",
    "Available for Pickup",
    "Delivery Attempt",
    "Alert",
    "Return to Sender",
)


def csv_rows() -> list[dict[str, str]]:
    """The rows of usps.csv, read as plain CSV (not through the code under test)."""
    text = resources.files("shiptrack.domain.mappings").joinpath("usps.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def category_key(category: str) -> str:
    """How the adapter turns a statusCategory into a key: words, lower case."""
    return "category:" + " ".join(category.lower().replace("-", " ").split())


@pytest.mark.parametrize("key", sorted(DECISIONS))
def test_each_key_maps_to_its_decision(key: str) -> None:
    mapped = table("usps").lookup([key])
    assert (mapped.status_code, mapped.status_detail_code) == DECISIONS[key]
    assert mapped.known


def test_the_table_has_exactly_the_decided_rows() -> None:
    keys = [row["key"] for row in csv_rows()]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(DECISIONS)


@pytest.mark.parametrize("row", csv_rows(), ids=lambda row: row["key"])
def test_every_row_uses_official_shipengine_codes(row: dict[str, str]) -> None:
    assert row["status_code"] in StatusCode.__members__
    assert row["status_detail_code"] in STATUS_DETAIL_DESCRIPTIONS
    assert row["status_detail_code"] != NOT_MAPPED


@pytest.mark.parametrize("code", sorted(DOCUMENTED_CODES))
def test_every_documented_event_code_is_mapped(code: str) -> None:
    assert table("usps").lookup([code]).known, f"{code} ({DOCUMENTED_CODES[code]}) is not mapped"


@pytest.mark.parametrize("category", OBSERVED_CATEGORIES)
def test_every_observed_status_category_is_mapped(category: str) -> None:
    assert table("usps").lookup([category_key(category)]).known


def test_every_event_code_row_is_a_documented_code() -> None:
    codes = {k for k in DECISIONS if ":" not in k}
    assert codes == set(DOCUMENTED_CODES)


@pytest.mark.parametrize("code", ["MA", "GX"])
def test_label_and_manifest_are_not_yet_in_system(code: str) -> None:
    assert table("usps").lookup([code]).status_code == StatusCode.NY


def test_out_for_delivery_is_in_transit_with_its_detail() -> None:
    mapped = table("usps").lookup(["OF"])
    assert (mapped.status_code, mapped.status_detail_code) == ("IT", "OUT_FOR_DELIVERY")


@pytest.mark.parametrize("code", ["14", "16"])
def test_pickup_points_are_sp(code: str) -> None:
    assert table("usps").lookup([code]).status_code == StatusCode.SP


def test_a_pickup_after_a_hold_for_pickup_is_a_delivery_and_otherwise_an_acceptance() -> None:
    usps = table("usps")
    assert usps.lookup(["43:after_pickup_point", "43"]).status_code == StatusCode.DE
    assert usps.lookup(["43"]).status_code == StatusCode.AC


@pytest.mark.parametrize("code", ["02", "52", "53", "54", "55", "56", "51", "30"])
def test_notices_and_blocked_deliveries_are_attempts(code: str) -> None:
    assert table("usps").lookup([code]).status_code == StatusCode.AT


@pytest.mark.parametrize("code", ["09", "21", "22", "23", "24", "25", "26", "27", "28", "29", "31"])
def test_returns_to_sender_are_exceptions(code: str) -> None:
    assert table("usps").lookup([code]).status_code == StatusCode.EX


def test_customs_processing_continues_and_a_customs_hold_is_an_exception() -> None:
    usps = table("usps")
    assert usps.lookup(["text:inbound into customs"]).status_code == StatusCode.IT
    held = usps.lookup(["text:held in customs"])
    assert (held.status_code, held.status_detail_code) == ("EX", "HELD_BY_CUSTOMS")


@pytest.mark.parametrize("code", ["08", "15", "DX"])
def test_recoverable_scans_keep_the_package_in_transit(code: str) -> None:
    assert table("usps").lookup([code]).status_code == StatusCode.IT


def test_the_event_code_wins_over_the_status_category() -> None:
    mapped = table("usps").lookup(["OF", None, "category:delivered"])
    assert mapped.status_detail_code == "OUT_FOR_DELIVERY"


def test_an_unknown_code_is_not_mapped() -> None:
    mapped = table("usps").lookup(["Z9", "text:awaiting delivery scan"])
    assert not mapped.known
    assert (mapped.status_code, mapped.status_detail_code) == ("UN", NOT_MAPPED)
