"""The FedEx mapping table (``domain/mappings/fedex.csv``), code by code.

Covers every row of the table against the decision written here (so an edit to the CSV shows up as
a failing code), every movement and regulatory code of FedEx's "Tracking Status Codes" list being
in the table, the derived status codes seen in real answers, the policy decisions (label created
and return labels are NY, out for delivery is IT/OUT_FOR_DELIVERY, delays stay IT, customs holds
and returns are exceptions, pickup points are SP, informational scans never decide a status), and
the order in which keys are tried (``eventType:exceptionCode``, ``eventType``, ``derived:code``).
"""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from shiptrack.domain.mapping import NOT_MAPPED, UNMAPPED, table

FEDEX = table("fedex")

#: FedEx's "Tracking Status Codes" (movement and regulatory columns), as FedEx spells them.
#: The possession codes of the same page (carrier, recipient, shipper, customs, broker, transfer
#: partner) describe who holds the parcel, not a scan, and are not event types.
DOCUMENTED = {
    "AA": "At Airport",
    "AC": "At Canada Post facility",
    "AD": "At Delivery",
    "AF": "At local FedEx Facility",
    "AO": "Shipment arriving On-time",
    "AP": "At Pickup",
    "AR": "Arrived at FedEx location",
    "AX": "At USPS facility",
    "CA": "Shipment Cancelled",
    "CH": "Location Changed",
    "DD": "Delivery Delay",
    "DE": "Delivery Exception",
    "DL": "Delivered",
    "DP": "Departed",
    "DR": "Vehicle furnished but not used",
    "DS": "Vehicle Dispatched",
    "DY": "Delay",
    "EA": "Enroute to Airport / Export Approved",
    "ED": "Enroute to Delivery",
    "EO": "Enroute to Origin Airport",
    "EP": "Enroute to Pickup",
    "FD": "At FedEx Destination",
    "HL": "Hold at Location",
    "HP": "Ready for Recipient Pickup",
    "IT": "In Transit",
    "IX": "In transit (see Details)",
    "LO": "Left Origin",
    "OC": "Order Created",
    "OD": "Out for Delivery",
    "OF": "At FedEx origin facility",
    "Ow": "On the way",
    "OX": "Shipment information sent to USPS",
    "PD": "Pickup Delay",
    "PF": "Plane in Flight",
    "PL": "Plane Landed",
    "PM": "In Progress",
    "PU": "Picked Up",
    "PX": "Picked up (see Details)",
    "RR": "CDO requested",
    "RM": "CDO Modified",
    "RC": "CDO Cancelled",
    "RS": "Return to Shipper",
    "RP": "Return label link emailed to return sender",
    "LP": "Return label link cancelled by shipment originator",
    "RG": "Return label link expiring soon",
    "RD": "Return label link expired",
    "SE": "Shipment Exception",
    "SF": "At Sort Facility",
    "SP": "Split Status",
    "TR": "Transfer",
    "CC": "Cleared Customs",
    "CD": "Clearance Delay",
    "CP": "Clearance in Progress",
}

#: Derived status codes (``derivedStatusCode`` / ``derivedCode``) seen in the spec and real data.
DERIVED = ("IN", "OC", "PU", "IT", "DP", "DY", "RL", "DE", "HL", "DL")

INFORMATIONAL = ("UN", NOT_MAPPED)

#: The decision for every key of the table.
EXPECTED: dict[str, tuple[str, str]] = {
    "OC": ("NY", "SHIPMENT_CREATED"),
    "EP": ("NY", "AWAITING_PICKUP_DROP_OFF"),
    "PD": ("NY", "PICKUP_FAILED"),
    "AP": ("AC", "PICKED_UP"),
    "PU": ("AC", "PICKED_UP"),
    "PX": ("AC", "PICKED_UP"),
    "AF:A3": ("AC", "DROPPED_OFF"),
    "OF": ("AC", "RECEIVED_BY_CARRIER"),
    "AA": ("IT", "IN_TRANSIT"),
    "AC": ("IT", "SUB_CONTRACTOR_RECEIVED"),
    "AE": ("IT", "IN_TRANSIT"),
    "AF": ("IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
    "AO": ("IT", "IN_TRANSIT"),
    "AR": ("IT", "HUB_SCAN_IN"),
    "AX": ("IT", "SUB_CONTRACTOR_RECEIVED"),
    "DP": ("IT", "HUB_SCAN_OUT"),
    "EA": ("IT", "IN_TRANSIT"),
    "EO": ("IT", "IN_TRANSIT"),
    "FD": ("IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
    "IT": ("IT", "IN_TRANSIT"),
    "IX": ("IT", "IN_TRANSIT"),
    "LO": ("IT", "HUB_SCAN_OUT"),
    "OW": ("IT", "IN_TRANSIT"),
    "PF": ("IT", "IN_TRANSIT"),
    "PL": ("IT", "IN_TRANSIT"),
    "PM": ("IT", "IN_TRANSIT"),
    "SF": ("IT", "HUB_PROCESSING"),
    "TR": ("IT", "IN_TRANSIT"),
    "CC": ("IT", "CUSTOMS_CLEARED"),
    "CP": ("IT", "CUSTOMS_PROCESSING"),
    "CD": ("EX", "HELD_BY_CUSTOMS"),
    "DY": ("IT", "CARRIER_DELAYS"),
    "DD": ("IT", "CARRIER_DELAYS"),
    "OD": ("IT", "OUT_FOR_DELIVERY"),
    "ED": ("IT", "OUT_FOR_DELIVERY"),
    "AD": ("IT", "OUT_FOR_DELIVERY"),
    "DE:08": ("AT", "ATTEMPTED_DELIVERY"),
    "DE:15": ("AT", "ATTEMPTED_DELIVERY"),
    "DE:A47": ("IT", "PARCEL_REDIRECTED_BY_CARRIER"),
    "DE": ("EX", "UNSPECIFIED_EXCEPTION"),
    "SE": ("EX", "UNSPECIFIED_EXCEPTION"),
    "CA": ("EX", "CANCELLED"),
    "RS": ("EX", "RETURN_TO_SENDER"),
    "HP": ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
    "HL": ("SP", "CUSTOMER_TO_COLLECT_FROM_CARRIER"),
    "DL": ("DE", "DELIVERED"),
    "RP": ("NY", "SHIPMENT_CREATED"),
    "RG": ("NY", "AWAITING_PICKUP_DROP_OFF"),
    "LP": ("EX", "CANCELLED"),
    "RD": ("EX", "CANCELLED"),
    "CH": INFORMATIONAL,
    "DR": INFORMATIONAL,
    "DS": INFORMATIONAL,
    "OX": INFORMATIONAL,
    "RR": INFORMATIONAL,
    "RM": INFORMATIONAL,
    "RC": INFORMATIONAL,
    "SP": INFORMATIONAL,
    "derived:IN": ("NY", "SHIPMENT_CREATED"),
    "derived:OC": ("NY", "SHIPMENT_CREATED"),
    "derived:PU": ("AC", "PICKED_UP"),
    "derived:IT": ("IT", "IN_TRANSIT"),
    "derived:DP": ("IT", "HUB_SCAN_OUT"),
    "derived:DY": ("IT", "CARRIER_DELAYS"),
    "derived:RL": ("IT", "CARRIER_DELAYS"),
    "derived:DE": ("EX", "UNSPECIFIED_EXCEPTION"),
    "derived:HL": ("SP", "CUSTOMER_TO_COLLECT_FROM_CARRIER"),
    "derived:DL": ("DE", "DELIVERED"),
}


def _rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("fedex.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def _decision(*keys: str | None) -> tuple[str, str]:
    mapped = FEDEX.lookup(list(keys))
    return mapped.status_code.value, mapped.status_detail_code


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_row_maps_as_decided(key: str) -> None:
    assert _decision(key) == EXPECTED[key]


def test_the_table_has_no_row_without_a_decision_here() -> None:
    assert set(FEDEX.rows) == set(EXPECTED)


def test_every_row_explains_its_decision() -> None:
    unexplained = [row["key"] for row in _rows() if not row["note"].strip()]
    assert unexplained == []


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_every_documented_fedex_code_is_in_the_table(code: str) -> None:
    # Event codes are looked up in upper case ("Ow" is written so in FedEx's list).
    assert code.upper() in FEDEX.rows, DOCUMENTED[code]


@pytest.mark.parametrize("code", DERIVED)
def test_every_derived_status_seen_from_fedex_is_in_the_table(code: str) -> None:
    assert f"derived:{code}" in FEDEX.rows


def test_label_created_and_return_labels_are_not_yet_in_system() -> None:
    assert _decision("OC")[0] == "NY"
    assert _decision("derived:IN")[0] == "NY"
    assert _decision("RP")[0] == "NY"


def test_out_for_delivery_is_in_transit_with_its_detail() -> None:
    for code in ("OD", "ED", "AD"):
        assert _decision(code) == ("IT", "OUT_FOR_DELIVERY")


def test_delays_keep_the_package_in_transit() -> None:
    # EX stops tracking by default; a delayed parcel is still coming.
    for key in ("DY", "DD", "derived:DY", "derived:RL"):
        assert _decision(key) == ("IT", "CARRIER_DELAYS")


def test_customs_processing_is_progress_and_a_clearance_delay_is_a_hold() -> None:
    assert _decision("CP") == ("IT", "CUSTOMS_PROCESSING")
    assert _decision("CC") == ("IT", "CUSTOMS_CLEARED")
    assert _decision("CD") == ("EX", "HELD_BY_CUSTOMS")


def test_returns_and_cancellations_are_exceptions() -> None:
    assert _decision("RS") == ("EX", "RETURN_TO_SENDER")
    assert _decision("CA") == ("EX", "CANCELLED")


def test_pickup_points_are_delivered_to_collection_location() -> None:
    assert _decision("HP")[0] == "SP"
    assert _decision("HL")[0] == "SP"
    # The recipient collecting it is a plain delivery.
    assert _decision("DL") == ("DE", "DELIVERED")


@pytest.mark.parametrize("code", ["CH", "DR", "DS", "OX", "RR", "RM", "RC", "SP"])
def test_informational_scans_never_decide_the_status(code: str) -> None:
    mapped = FEDEX.lookup([code])
    assert mapped.known is False
    assert mapped == UNMAPPED


def test_the_exception_reason_refines_a_delivery_exception() -> None:
    assert _decision("DE:08", "DE", "derived:DE") == ("AT", "ATTEMPTED_DELIVERY")
    assert _decision("DE:15", "DE", "derived:DE") == ("AT", "ATTEMPTED_DELIVERY")
    assert _decision("DE:A47", "DE", "derived:DE") == ("IT", "PARCEL_REDIRECTED_BY_CARRIER")


def test_an_unknown_reason_falls_back_to_the_event_code() -> None:
    assert _decision("DE:03", "DE", "derived:DE") == ("EX", "UNSPECIFIED_EXCEPTION")


def test_an_unknown_event_code_falls_back_to_fedex_derived_status() -> None:
    assert _decision("ZZ:1", "ZZ", "derived:IT") == ("IT", "IN_TRANSIT")


def test_nothing_known_is_not_mapped() -> None:
    assert FEDEX.lookup(["ZZ:1", "ZZ", "derived:ZZ"]) == UNMAPPED
    assert FEDEX.lookup([None, None, None]) == UNMAPPED
