"""The timeline's day grouping follows each event's own local time and says its zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shiptrack.domain.tracking import TrackEvent
from shiptrack.web.timeline import group_by_day, local_time, zone_label


def _event(utc: datetime | None = None, local: str | None = None) -> TrackEvent:
    return TrackEvent(status_code="IT", occurred_at=utc, carrier_occurred_at=local)


def test_a_late_evening_scan_west_of_utc_belongs_to_its_local_day_not_the_utc_one() -> None:
    # 23:30 in Chicago on 1 December is already 2 December in UTC.
    scan = _event(datetime(2026, 12, 2, 5, 30, tzinfo=UTC), "2026-12-01T23:30:00")
    (day,) = group_by_day([scan])
    assert day.day == date(2026, 12, 1)
    assert day.entries[0].zone == "UTC\u221206:00"


def test_an_offset_given_by_the_carrier_is_used_as_given() -> None:
    wall, offset = local_time(_event(local="2026-12-01T09:30:00+05:30"))
    assert wall == datetime(2026, 12, 1, 9, 30)
    assert offset == timedelta(hours=5, minutes=30)
    assert zone_label(offset) == "UTC+05:30"


def test_only_utc_known_shows_utc() -> None:
    (day,) = group_by_day([_event(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))])
    assert day.entries[0].zone == "UTC"
    assert day.entries[0].local == datetime(2026, 12, 1, 12, 0)


def test_a_wall_time_without_any_utc_says_local_time() -> None:
    (day,) = group_by_day([_event(local="2026-12-01T08:00:00")])
    assert day.entries[0].zone == "local time"


def test_events_of_two_zones_and_days_are_grouped_in_order_undated_last() -> None:
    events = [
        _event(datetime(2026, 12, 3, 15, 0, tzinfo=UTC), "2026-12-03T10:00:00-05:00"),
        _event(datetime(2026, 12, 3, 6, 0, tzinfo=UTC), "2026-12-02T22:00:00-08:00"),
        _event(),
        _event(datetime(2026, 12, 2, 18, 0, tzinfo=UTC), "2026-12-02T10:00:00-08:00"),
    ]
    days = group_by_day(events)
    assert [d.day for d in days] == [date(2026, 12, 3), date(2026, 12, 2), None]
    assert len(days[1].entries) == 2
    assert days[2].entries[0].local is None


def test_a_nonsense_local_time_does_not_break_the_timeline() -> None:
    (day,) = group_by_day([_event(datetime(2026, 12, 1, tzinfo=UTC), "yesterday-ish")])
    assert day.entries[0].zone == "UTC"
