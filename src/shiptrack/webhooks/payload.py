"""The body of a ``track`` webhook: ShipEngine's shape plus fields ShipEngine clients ignore.

``{"resource_url", "resource_type": "API_TRACK", "data": TrackingInformation + "label_url"}`` is
what ShipEngine sends; ``event_id``, ``sequence``, ``previous_status``, ``correction`` and
``detected_at`` are shiptrack's additions, so a receiver can drop a stale update that arrives
after a newer one. The bytes are built once, stored in the outbox, and signed and sent as they are.

A test event (sent on request, not for a change) has the same shape, so a receiver runs its usual
path, with ``"test_event": true`` added at the top level (never inside ``data``, whose schema
allows no other field) and a package no account can have: :data:`TEST_EVENT_TRACKING_NUMBER`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from shiptrack.domain.timefmt import format_utc
from shiptrack.serialization import dump_json

#: The tracking number of test events. ``_`` is refused in tracking numbers
#: (``domain.tracking.normalise_tracking_number``), so no package ever has it, and a receiver that
#: looks it up, or follows the event's ``resource_url``, never finds or changes a real package.
TEST_EVENT_TRACKING_NUMBER = "SHIPTRACK_TEST_EVENT"


def resource_url(base_url: str, carrier_code: str, tracking_number: str) -> str:
    """Where the receiver can read the package's current tracking information."""
    query = urlencode({"carrier_code": carrier_code, "tracking_number": tracking_number})
    return f"{base_url.rstrip('/')}/v1/tracking?{query}"


def track_payload(
    *,
    base_url: str,
    tracking_information: dict[str, Any],
    event_id: str,
    sequence: int,
    previous_status: str | None,
    correction: bool,
    detected_at: datetime,
    test: bool = False,
) -> bytes:
    """The exact bytes of one ``track`` notification (``test``: sent on request, not a change)."""
    extra = {"test_event": True} if test else {}
    return dump_json(
        {
            "resource_url": resource_url(
                base_url,
                tracking_information["carrier_code"],
                tracking_information["tracking_number"],
            ),
            "resource_type": "API_TRACK",
            "data": {"label_url": None, **tracking_information},
            "event_id": event_id,
            "sequence": sequence,
            "previous_status": previous_status,
            "correction": correction,
            "detected_at": format_utc(detected_at),
            **extra,
        }
    )
