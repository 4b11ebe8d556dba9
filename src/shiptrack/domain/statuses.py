"""ShipEngine status codes and status detail codes with their official descriptions.

The texts are the ones the official OpenAPI file gives for each enum value; clients show them to
their customers, so they are kept word for word.
"""

from __future__ import annotations

from enum import StrEnum


class StatusCode(StrEnum):
    """The eight ShipEngine tracking status codes."""

    UN = "UN"
    AC = "AC"
    IT = "IT"
    DE = "DE"
    EX = "EX"
    AT = "AT"
    NY = "NY"
    SP = "SP"


STATUS_DESCRIPTIONS: dict[StatusCode, str] = {
    StatusCode.UN: "Unknown",
    StatusCode.AC: "Accepted",
    StatusCode.IT: "In Transit",
    StatusCode.DE: "Delivered",
    StatusCode.EX: "Exception",
    StatusCode.AT: "Delivery Attempt",
    StatusCode.NY: "Not Yet In System",
    StatusCode.SP: "Delivered To Collection Location",
}

#: Every ``status_detail_code`` of the official enum, with its official description.
STATUS_DETAIL_DESCRIPTIONS: dict[str, str] = {
    "CARRIER_STATUS_NOT_MAPPED": (
        "Status not mapped. Please check the carrier's website for updates."
    ),
    "SHIPMENT_CREATED": (
        "Your tracking number is ready. Your parcel is waiting to be registered in the "
        "carrier system and scheduled for pickup."
    ),
    "AWAITING_PICKUP_DROP_OFF": "Your parcel is waiting to be handed over to the carrier.",
    "DROPPED_OFF": "Your parcel has been dropped off and is ready for carrier processing.",
    "ELEC_ADVICE_RECD_BY_CARRIER": "Your shipment is now in the carrier's system.",
    "PICKED_UP": "Your parcel has been picked up by the carrier.",
    "CUSTOMS_CLEARED": "Your parcel has cleared customs and is continuing its journey.",
    "CUSTOMS_PROCESSING": "Your parcel is currently being processed by customs.",
    "DELIVERY_ARRANGED_WITH_RECIPIENT": (
        "Your parcel's delivery has been arranged with the carrier."
    ),
    "HUB_SCAN_OUT": "Your parcel has left the carrier's hub.",
    "HUB_SCAN_IN": "Your parcel has arrived at the carrier's hub for processing.",
    "IN_TRANSIT": "Your shipment is on its way between the carrier hubs.",
    "INFORMATION": "The carrier has shared additional information about your parcel.",
    "PARCEL_OVER_LABELLED": (
        "Your parcel's label has been updated by the carrier, which may affect tracking visibility."
    ),
    "PARCEL_UPDATE_NOTIFICATION": (
        "The carrier has sent you an update on your parcel status via SMS or email."
    ),
    "RECEIVED_BY_CARRIER": (
        "Your parcel has been received by the carrier and is beginning its journey."
    ),
    "RECEIVED_LOCAL_DELIVERY_DEPOT": (
        "Your parcel has arrived at the local delivery depot and is almost ready for delivery."
    ),
    "SUB_CONTRACTOR_EVENT": (
        "The carrier has shared additional information about your parcel's handling by a "
        "delivery partner."
    ),
    "SUB_CONTRACTOR_RECEIVED": (
        "Your parcel has been received by the carrier's local delivery partner."
    ),
    "PARCEL_REDIRECTED": (
        "Your parcel has been redirected to a new delivery address per your request."
    ),
    "DELIVERY_SCHEDULED": (
        "Your parcel's delivery has been scheduled and will soon be out for delivery."
    ),
    "HUB_PROCESSING": "Your parcel is being processed at a carrier hub.",
    "DELIVERY_RESCHEDULED": (
        "Your parcel's delivery has been rescheduled due to operational issues."
    ),
    "ATTEMPTED_DELIVERY": (
        "The carrier attempted to deliver your parcel but was unable to complete delivery."
    ),
    "ATTEMPTED_DELIVERY_FINAL": (
        "The carrier made a final attempt to deliver your parcel but was unable to "
        "complete delivery. Please check the carrier's instructions for next steps."
    ),
    "COD_AMOUNT_PAID": "Cash on delivery payment received.",
    "CUSTOMER_CARDED": (
        "Delivery attempt failed. Please follow delivery instructions left by the carrier."
    ),
    "OUT_FOR_DELIVERY": "Your parcel is on its way and will be delivered today.",
    "AWAITING_COLLECTION_FROM_PICKUP_POINT": (
        "Your parcel is ready for collection at the selected pickup point."
    ),
    "COLLECT_AT_LOCAL_PO": "Your parcel is ready for collection at your local post office.",
    "CUSTOMER_TO_COLLECT_FROM_CARRIER": (
        "Your parcel is available for collection from the carrier's local delivery unit."
    ),
    "DELIVERED_TO_RECEPTION": (
        "Your parcel has been delivered to your building's reception or designated mail area."
    ),
    "DELIVERED": "Your parcel has been successfully delivered.",
    "DELIVERED_DAMAGED": "Your parcel was delivered but arrived with visible damage.",
    "DELIVERED_IN_PART": "Part of your shipment has been delivered. Check for updates on the rest.",
    "DELIVERED_SPECIFIED_SAFE_PLACE": (
        "Your parcel has been delivered to your specified safe place."
    ),
    "DELIVERED_TO_ALTERNATIVE_DELIVERY_LOCATION": (
        "Your parcel was delivered to an alternative location due to the delivery company "
        "being unable to deliver it to the specified address. Check carrier instructions "
        "for pickup details."
    ),
    "DELIVERED_TO_NEIGHBOUR": "Your parcel was delivered to your neighbor.",
    "DELIVERED_TO_PO_BOX": "Your parcel has been delivered to your specified PO Box.",
    "PARCEL_COLLECTED_FROM_PICKUP_POINT": "Your package has been picked up from the pick up point.",
    "POST_TRANSIT_STATUS": "The carrier has added more information about your delivery.",
    "PROOF_OF_DELIVERY": (
        "The carrier has confirmed delivery with proof, such as a signature or photo."
    ),
    "PICKUP_FAILED": "Parcel pickup failed. The delivery company will try again soon.",
    "NOT_YET_RECEIVED_BY_CARRIER": (
        "The carrier has not yet received your parcel, which may cause a delay."
    ),
    "PARCEL_DAMAGED": "Your parcel was damaged in transit but will still be delivered.",
    "ADDRESS_QUERY": "There is an issue with the delivery address, which may delay your parcel.",
    "CARRIER_DELAYS": "Your parcel is delayed due to issues within the carrier network.",
    "DELAYED_NOT_CARRIER": (
        "Your parcel is delayed due to circumstances beyond the carrier's control."
    ),
    "HELD_BY_CARRIER": (
        "Your parcel is being held due to an operational issue. Contact with the carrier "
        "for more information."
    ),
    "HELD_BY_CARRIER_FOR_CLEARANCE_PRE_PROCESSING": (
        "Your parcel is being held by the carrier for customs documentation checks. This "
        "may occur when the carrier must confirm documentation before the parcel can "
        "continue its journey."
    ),
    "HELD_BY_CUSTOMS": "Your parcel is being held at customs, which may delay delivery.",
    "INCORRECT_DECLARATION": (
        "Your parcel has been incorrectly declared but is still moving forward for delivery."
    ),
    "MISROUTED": (
        "Your parcel was sent to the wrong place due to a routing error but is being redirected."
    ),
    "PARCEL_REPACKED": (
        "Your parcel was repackaged by the carrier due to damage and will still be delivered."
    ),
    "RECD_BY_CARRIER_NO_ELEC_ADVICE": (
        "Your parcel has been received by the carrier but may experience delays due to "
        "missing pre-advice."
    ),
    "COD_AMOUNT_NOT_PAID": (
        "Delivery failed due to unpaid cash on delivery. Please follow carrier instructions."
    ),
    "CUSTOMER_IDENTIFICATION_FAILED": (
        "Delivery couldn't be completed as identification requirements were not met."
    ),
    "NO_ACCESS_TO_RECIPIENTS_ADDRESS": (
        "The carrier couldn't access the delivery location due to restricted entry."
    ),
    "CANCELLED": "Your parcel has been cancelled.",
    "CUSTOMER_MOVED": (
        "Delivery failed as the recipient is no longer at the specified address. Your "
        "parcel is being returned."
    ),
    "HAZARDOUS_PROHIBITED": "Your parcel contains restricted items and will not be delivered.",
    "NOT_COLLECTED_FROM_PICKUP_POINT": (
        "Your parcel was not collected from the pickup point within the designated time "
        "and will be returned."
    ),
    "NOT_DELIVERED": "All delivery attempts failed. Your parcel is being returned to the sender.",
    "NOT_DELIVERED_ADDRESSEE_DECEASED": (
        "The parcel could not be delivered as the addressee is reported deceased."
    ),
    "PARCEL_DISPOSED": (
        "Your parcel has been disposed of due to its contents or condition and will not "
        "be delivered."
    ),
    "PARCEL_LOST": "The carrier has reported that your parcel is lost and will not be delivered.",
    "PARCEL_OUTSIDE_OF_SERVICE_CAPABILITY": (
        "The parcel cannot be delivered as it exceeds the carrier's service limits."
    ),
    "REFUSED_BY_CUSTOMER": "You have refused the parcel, and it will be returned to the sender.",
    "RETURN_TO_SENDER": "Your parcel is being returned to the sender due to delivery issues.",
    "UNSPECIFIED_EXCEPTION": (
        "The carrier has reported an issue with your parcel, but details are unavailable."
    ),
    "TRACKING_EXPIRED": (
        "Tracking for this parcel has expired. If you are still expecting this delivery, "
        "please contact the carrier for assistance."
    ),
    "DUTY_NOT_PAID": (
        "The import taxes or duties for this package havent been paid and it may be "
        "subject to disposal by customs authorities if payment is not made."
    ),
    "PARCEL_REDIRECTED_BY_CARRIER": (
        "The carrier has redirected your parcel due to an operational issue. The package "
        "is likely being rerouted to a nearby pickup point. You may contact the carrier "
        "for more details about the new delivery location."
    ),
    "DELIVERED_TO_PICKUP_POINT": (
        "Your package has been delivered to the pickup point. You will be notified when "
        "its ready for collection."
    ),
    "UNDELIVERABLE_RETURNED_TO_SENDER": (
        "The shipment has been returned to the sender. Please contact the sender for "
        "further information."
    ),
}

TERMINAL_STATUSES = frozenset({StatusCode.DE, StatusCode.EX})
"""Statuses after which ShipEngine stops watching a package by itself."""


def status_description(code: str | None) -> str | None:
    """The human description of a status code, ``None`` when the code is unknown."""
    if code is None:
        return None
    try:
        return STATUS_DESCRIPTIONS[StatusCode(code)]
    except ValueError:
        return None


def status_detail_description(code: str | None) -> str | None:
    """The official description of a status detail code, ``None`` when unknown."""
    return STATUS_DETAIL_DESCRIPTIONS.get(code) if code is not None else None
