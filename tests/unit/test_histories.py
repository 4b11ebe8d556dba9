"""A package's stored scans come back exactly as they were stored, and stay small."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.changes import event_identity
from shiptrack.domain.tracking import TrackEvent
from shiptrack.store import histories

_text = st.none() | st.text(max_size=80)
_moments = st.none() | st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_coordinates = st.none() | st.floats(allow_nan=False, allow_infinity=False)
_scans = st.builds(
    TrackEvent,
    status_code=st.sampled_from(["UN", "AC", "IT", "DE", "EX", "AT", "NY", "SP"]),
    occurred_at=_moments,
    carrier_occurred_at=_text,
    description=_text,
    city_locality=_text,
    state_province=_text,
    postal_code=_text,
    country_code=_text,
    company_name=_text,
    signer=_text,
    event_code=_text,
    carrier_detail_code=_text,
    status_detail_code=_text,
    carrier_status_code=_text,
    carrier_status_description=_text,
    latitude=_coordinates,
    longitude=_coordinates,
    proof_of_delivery_url=_text,
)


@given(st.lists(_scans, max_size=30))
def test_any_scans_come_back_unchanged_and_in_order(scans: list[TrackEvent]) -> None:
    stored = [(event_identity(scan), scan) for scan in scans]
    assert histories.decode(histories.encode(stored)) == stored


def test_ten_scans_of_a_package_in_transit_fit_in_a_few_hundred_bytes() -> None:
    start = datetime(2026, 11, 20, 8, tzinfo=UTC)
    scans = [
        TrackEvent(
            status_code="IT",
            status_detail_code="IN_TRANSIT",
            occurred_at=start + timedelta(hours=7 * i, minutes=13 * i),
            carrier_occurred_at=(start + timedelta(hours=7 * i - 5))
            .replace(tzinfo=None)
            .isoformat(),
            description="Departed from facility" if i % 2 else "Arrived at facility",
            city_locality=["MEMPHIS", "LOUISVILLE", "CHICAGO", "NEWARK", "DALLAS"][i % 5],
            state_province=["TN", "KY", "IL", "NJ", "TX"][i % 5],
            postal_code=f"{38118 + 997 * i}",
            country_code="US",
            event_code="DP" if i % 2 else "AR",
            carrier_detail_code="DP" if i % 2 else "AR",
            carrier_status_code="I",
            carrier_status_description="Departed from facility" if i % 2 else "Arrived at facility",
        )
        for i in range(10)
    ]
    plain = sum(len(json.dumps(scan.as_json())) for scan in scans)
    stored = histories.encode([(event_identity(scan), scan) for scan in scans])
    # The JSON a client receives for these scans is about 4 KB; the store keeps a fraction of it.
    assert len(stored) < plain / 4, (len(stored), plain)


def test_a_history_written_before_a_field_existed_reads_that_field_as_missing() -> None:
    older = b"\x01" + zlib.compress(b'[["00112233445566778899aabb","DE","2026-11-27T10:00:00"]]')
    [(identity, scan)] = histories.decode(older)
    assert identity == bytes.fromhex("00112233445566778899aabb")
    assert scan == TrackEvent(status_code="DE", occurred_at=datetime(2026, 11, 27, 10, tzinfo=UTC))


@pytest.mark.parametrize(
    "damaged",
    [b"", b"\x02" + zlib.compress(b"[]"), b"\x01not zlib", b"\x01" + zlib.compress(b"{oops")],
)
def test_a_damaged_history_is_reported_not_misread(damaged: bytes) -> None:
    with pytest.raises(histories.CorruptHistory):
        histories.decode(damaged)
