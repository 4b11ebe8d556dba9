"""The DHL Express mapping table (``domain/mappings/dhl.csv``) and the text rules that pick its rows
(``shiptrack.carriers.dhl``), code by code.

Covers: every row of the table, each reached by a DHL event as DHL words it (statusCode plus
English text) and meaning what the policy says; every statusCode the Unified API documents has a
row; refinements only count under the codes the table lists them for; an undocumented statusCode
stays unmapped; events without a statusCode are read by their text alone; ``returnFlag`` turns a
delivery into a return; and every decision that departs from DHL's own category is explained in
the table's note column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import pytest

from shiptrack.carriers.dhl_reading import map_event, mapping_keys
from shiptrack.domain.mapping import NOT_MAPPED, table

#: ``ShipmentEvent.statusCode`` in DHL's Shipment Tracking - Unified OpenAPI 1.3.1.
DOCUMENTED_STATUS_CODES = ("pre-transit", "transit", "delivered", "failure", "unknown")
#: The ShipEngine status each DHL statusCode stands for when its text says nothing more.
NATURAL = {
    "pre-transit": "NY",
    "transit": "IT",
    "delivered": "DE",
    "failure": "EX",
    "unknown": "UN",
}
LABEL_TEXT = (
    "Shipper has generated a shipment label, but the shipment has not yet been handed over to DHL"
)


@dataclass(frozen=True)
class Sample:
    """A DHL event and what it must mean."""

    key: str
    status_code: str | None
    text: str
    expected: tuple[str, str]
    return_flag: bool = False
    #: DHL's ``status`` when it is an event code (parcel-nl), not the statusCode repeated.
    status: str | None = None


SAMPLES = [
    # pre-transit
    Sample(
        "pre-transit",
        "pre-transit",
        "Shipment information received",
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    ),
    Sample(
        "pre-transit:label-created",
        "pre-transit",
        LABEL_TEXT,
        ("NY", "SHIPMENT_CREATED"),
    ),
    Sample(
        "pre-transit:awaiting-pickup",
        "pre-transit",
        "Pickup has been scheduled",
        ("NY", "AWAITING_PICKUP_DROP_OFF"),
    ),
    Sample(
        "pre-transit:cancelled",
        "pre-transit",
        "Shipment cancelled by the shipper",
        ("EX", "CANCELLED"),
    ),
    # transit
    Sample("transit", "transit", "Shipment is in transit to destination", ("IT", "IN_TRANSIT")),
    Sample("transit:picked-up", "transit", "Shipment picked up", ("AC", "PICKED_UP")),
    Sample(
        "transit:dropped-off",
        "transit",
        "The shipment has been posted by the sender at the retail outlet",
        ("AC", "DROPPED_OFF"),
    ),
    Sample(
        "transit:received",
        "transit",
        "Shipment has been handed over to DHL",
        ("AC", "RECEIVED_BY_CARRIER"),
    ),
    Sample(
        "transit:processed", "transit", "Processed at LEIPZIG - GERMANY", ("IT", "HUB_PROCESSING")
    ),
    Sample(
        "transit:arrived",
        "transit",
        "Arrived at DHL Sort Facility LEIPZIG - GERMANY",
        ("IT", "HUB_SCAN_IN"),
    ),
    Sample(
        "transit:departed",
        "transit",
        "Departed Facility in LEIPZIG - GERMANY",
        ("IT", "HUB_SCAN_OUT"),
    ),
    Sample(
        "transit:local-depot",
        "transit",
        "Arrived at DHL Delivery Facility AMSTERDAM - NETHERLANDS",
        ("IT", "RECEIVED_LOCAL_DELIVERY_DEPOT"),
    ),
    Sample("transit:customs", "transit", "Customs status updated", ("IT", "CUSTOMS_PROCESSING")),
    Sample(
        "transit:customs-cleared",
        "transit",
        "Clearance processing complete at LEIPZIG - GERMANY",
        ("IT", "CUSTOMS_CLEARED"),
    ),
    Sample(
        "transit:customs-held",
        "transit",
        "The shipment is pending completion of customs inspection.",
        ("EX", "HELD_BY_CUSTOMS"),
    ),
    Sample("transit:held", "transit", "Shipment is on hold", ("EX", "HELD_BY_CARRIER")),
    Sample(
        "transit:out-for-delivery", "transit", "With delivery courier", ("IT", "OUT_FOR_DELIVERY")
    ),
    Sample(
        "transit:delivery-arranged",
        "transit",
        "Delivery arranged no details expected",
        ("IT", "DELIVERY_ARRANGED_WITH_RECIPIENT"),
    ),
    Sample("transit:scheduled", "transit", "Scheduled for delivery", ("IT", "DELIVERY_SCHEDULED")),
    Sample(
        "transit:rescheduled", "transit", "Delivery rescheduled", ("IT", "DELIVERY_RESCHEDULED")
    ),
    Sample(
        "transit:redirected",
        "transit",
        "Shipment redirected at the request of the recipient",
        ("IT", "PARCEL_REDIRECTED"),
    ),
    Sample(
        "transit:delayed", "transit", "Shipment delay - missed connection", ("IT", "CARRIER_DELAYS")
    ),
    Sample(
        "transit:delayed-external",
        "transit",
        "Adverse weather conditions may delay the shipment",
        ("IT", "DELAYED_NOT_CARRIER"),
    ),
    Sample("transit:damaged", "transit", "Shipment damaged - repacked", ("IT", "PARCEL_DAMAGED")),
    Sample(
        "transit:pickup-point",
        "transit",
        "Shipment is ready for pickup at DHL ServicePoint AMSTERDAM OOST",
        ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
    ),
    Sample(
        "transit:attempted",
        "transit",
        "Delivery attempted; recipient not home",
        ("AT", "ATTEMPTED_DELIVERY"),
    ),
    Sample(
        "transit:address",
        "transit",
        "Address information needed; contact DHL",
        ("EX", "ADDRESS_QUERY"),
    ),
    Sample(
        "transit:refused", "transit", "Recipient refused delivery", ("EX", "REFUSED_BY_CUSTOMER")
    ),
    Sample(
        "transit:returned",
        "transit",
        "Shipment is being returned to the shipper",
        ("EX", "RETURN_TO_SENDER"),
    ),
    # delivered
    Sample("delivered", "delivered", "Delivered - Signed for by: J DOE", ("DE", "DELIVERED")),
    Sample(
        "delivered:pickup-point",
        "delivered",
        "Delivered to the DHL Packstation 123",
        ("SP", "DELIVERED_TO_PICKUP_POINT"),
    ),
    Sample(
        "delivered:collected",
        "delivered",
        "The shipment has been picked up by the recipient from the DHL ServicePoint",
        ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
    ),
    Sample(
        "delivered:neighbour",
        "delivered",
        "Delivered to neighbour",
        ("DE", "DELIVERED_TO_NEIGHBOUR"),
    ),
    Sample(
        "delivered:reception",
        "delivered",
        "Delivered at reception",
        ("DE", "DELIVERED_TO_RECEPTION"),
    ),
    Sample(
        "delivered:safe-place",
        "delivered",
        "Delivered to the safe place agreed with the recipient",
        ("DE", "DELIVERED_SPECIFIED_SAFE_PLACE"),
    ),
    Sample(
        "delivered:partial",
        "delivered",
        "Partial delivery - 1 of 2 pieces",
        ("DE", "DELIVERED_IN_PART"),
    ),
    Sample(
        "delivered:damaged",
        "delivered",
        "Delivered - shipment damaged",
        ("DE", "DELIVERED_DAMAGED"),
    ),
    Sample(
        "delivered:returned",
        "delivered",
        "Delivered",
        ("EX", "UNDELIVERABLE_RETURNED_TO_SENDER"),
        return_flag=True,
    ),
    # failure
    Sample("failure", "failure", "Please contact DHL", ("EX", "UNSPECIFIED_EXCEPTION")),
    Sample(
        "failure:attempted",
        "failure",
        "Delivery not possible; closed on arrival",
        ("AT", "ATTEMPTED_DELIVERY"),
    ),
    Sample(
        "failure:address",
        "failure",
        "Incorrect address - the street is unknown at the destination",
        ("EX", "ADDRESS_QUERY"),
    ),
    Sample(
        "failure:refused",
        "failure",
        "Delivery refused by the recipient",
        ("EX", "REFUSED_BY_CUSTOMER"),
    ),
    Sample("failure:returned", "failure", "Returned to shipper", ("EX", "RETURN_TO_SENDER")),
    Sample(
        "failure:not-collected",
        "failure",
        "The shipment has not been collected from the ServicePoint and is returned",
        ("EX", "NOT_COLLECTED_FROM_PICKUP_POINT"),
    ),
    Sample("failure:customs-held", "failure", "Clearance delay", ("EX", "HELD_BY_CUSTOMS")),
    Sample("failure:held", "failure", "Shipment held - contact DHL", ("EX", "HELD_BY_CARRIER")),
    Sample("failure:damaged", "failure", "Shipment damaged", ("EX", "PARCEL_DAMAGED")),
    Sample("failure:lost", "failure", "Shipment lost", ("EX", "PARCEL_LOST")),
    Sample("failure:cancelled", "failure", "Shipment cancelled", ("EX", "CANCELLED")),
    # unknown, and events without a statusCode (read as unknown)
    Sample("unknown", "unknown", "Please contact DHL", ("UN", NOT_MAPPED)),
    Sample(
        "unknown:label-created",
        None,
        LABEL_TEXT,
        ("NY", "SHIPMENT_CREATED"),
    ),
    Sample(
        "unknown:data-received",
        None,
        "Shipment information received",
        ("NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
    ),
    Sample("unknown:picked-up", None, "Shipment picked up", ("AC", "PICKED_UP")),
    Sample(
        "unknown:dropped-off",
        "unknown",
        "Dropped off at the DHL ServicePoint",
        ("AC", "DROPPED_OFF"),
    ),
    Sample("unknown:processed", None, "Processed at MILAN - ITALY", ("IT", "HUB_PROCESSING")),
    Sample(
        "unknown:arrived", None, "Arrived at Sort Facility MILAN - ITALY", ("IT", "HUB_SCAN_IN")
    ),
    Sample("unknown:departed", None, "Departed Facility in MILAN - ITALY", ("IT", "HUB_SCAN_OUT")),
    Sample("unknown:out-for-delivery", None, "Out for delivery", ("IT", "OUT_FOR_DELIVERY")),
    Sample(
        "unknown:attempted",
        None,
        "Delivery attempted; recipient not home",
        ("AT", "ATTEMPTED_DELIVERY"),
    ),
    Sample(
        "unknown:pickup-point",
        None,
        "Awaiting collection by recipient as requested",
        ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
    ),
    Sample("unknown:delivered", None, "Delivered", ("DE", "DELIVERED")),
    Sample("unknown:returned", "unknown", "Returned to shipper", ("EX", "RETURN_TO_SENDER")),
    # rows that the phrase table (dhl_phrases.csv) reaches for the Parcel services
    Sample(
        "transit:information",
        "transit",
        "",
        ("UN", "INFORMATION"),
        status="SIGNATURE_RECORDED",
    ),
    Sample(
        "transit:collect-from-carrier",
        "transit",
        "przesyłka oczekuje na odbiór przez klienta w terminalu DHL",
        ("AT", "CUSTOMER_TO_COLLECT_FROM_CARRIER"),
    ),
]


def _event(sample: Sample) -> dict[str, object]:
    event: dict[str, object] = {"timestamp": "2026-04-29T10:00:00", "description": sample.text}
    if sample.status_code is not None:
        event["statusCode"] = sample.status_code
        event["status"] = sample.status or sample.status_code
    return event


def _rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("dhl.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.key)
def test_each_row_is_reached_by_its_dhl_wording_and_means_the_policy(sample: Sample) -> None:
    event = _event(sample)
    rows = table("dhl").rows
    reached = next(k for k in mapping_keys(event, return_flag=sample.return_flag) if k in rows)
    assert reached == sample.key
    mapped = map_event(event, table("dhl"), return_flag=sample.return_flag)
    assert (mapped.status_code, mapped.status_detail_code) == sample.expected


def test_every_row_of_the_table_has_a_sample() -> None:
    assert {sample.key for sample in SAMPLES} == set(table("dhl").rows)


@pytest.mark.parametrize("code", DOCUMENTED_STATUS_CODES)
def test_every_documented_status_code_has_a_row(code: str) -> None:
    mapped = table("dhl").lookup([code])
    assert mapped.status_code == NATURAL[code]


def test_unknown_is_kept_but_never_decides_a_status() -> None:
    mapped = table("dhl").lookup(["unknown"])
    assert not mapped.known


@pytest.mark.parametrize(
    ("status_code", "text", "expected"),
    [
        ("delivered", "Processed at LEIPZIG - GERMANY", ("DE", "DELIVERED")),
        ("pre-transit", "Shipment picked up", ("NY", "ELEC_ADVICE_RECD_BY_CARRIER")),
        ("failure", "With delivery courier", ("EX", "UNSPECIFIED_EXCEPTION")),
        ("transit", "Delivered", ("IT", "IN_TRANSIT")),
        ("TRANSIT", "Shipment picked up", ("AC", "PICKED_UP")),
    ],
)
def test_text_only_refines_within_the_codes_the_table_lists_it_for(
    status_code: str, text: str, expected: tuple[str, str]
) -> None:
    mapped = map_event({"statusCode": status_code, "description": text}, table("dhl"))
    assert (mapped.status_code, mapped.status_detail_code) == expected


def test_an_undocumented_status_code_is_not_mapped() -> None:
    mapped = map_event(
        {"statusCode": "in-customs", "description": "Shipment picked up"}, table("dhl")
    )
    assert not mapped.known
    assert mapped.status_detail_code == NOT_MAPPED


def test_an_event_without_code_or_known_wording_is_not_mapped() -> None:
    mapped = map_event({"description": "Please contact DHL"}, table("dhl"))
    assert not mapped.known


def test_the_status_field_is_read_as_well_as_the_description() -> None:
    event = {"statusCode": "transit", "status": "With delivery courier", "description": "JESSICA"}
    mapped = map_event(event, table("dhl"))
    assert (mapped.status_code, mapped.status_detail_code) == ("IT", "OUT_FOR_DELIVERY")


def test_return_flag_only_changes_deliveries() -> None:
    moving = map_event(
        {"statusCode": "transit", "description": "Processed at MILAN - ITALY"},
        table("dhl"),
        return_flag=True,
    )
    assert (moving.status_code, moving.status_detail_code) == ("IT", "HUB_PROCESSING")


def test_every_departure_from_dhls_own_category_is_explained() -> None:
    unexplained = [
        row["key"]
        for row in _rows()
        if row["status_code"] != NATURAL[row["key"].split(":")[0]] and not row["note"].strip()
    ]
    assert unexplained == []


def test_policy_decisions_are_written_down() -> None:
    notes = {row["key"]: row["note"] for row in _rows()}
    for key in (
        "pre-transit:label-created",
        "transit:out-for-delivery",
        "transit:customs-held",
        "transit:pickup-point",
        "delivered:pickup-point",
        "delivered:returned",
        "failure:returned",
    ):
        assert notes[key].strip(), key
