"""The rules of the kept ``GET /v1/tracking`` answers (``services.answers``): how long an answer
is served, what a write makes it forget, a read that raced a write, and the scans' JSON rendered
once per stored history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from shiptrack.domain.tracking import Subscription, TrackEvent, tracking_information
from shiptrack.services.answers import TrackingAnswers
from shiptrack.store import histories
from shiptrack.store.port import FoundPackage, WrittenPackages
from tests.support import HandClock

KEY = (1, "ups", "1ZKEPT")
OTHER = (1, "ups", "1ZOTHER")
SCANS = [
    TrackEvent("AC", occurred_at=datetime(2026, 3, 1, 9, tzinfo=UTC), description="Picked up"),
    TrackEvent("IT", occurred_at=datetime(2026, 3, 2, 9, tzinfo=UTC), description="Departed"),
]


def answers(ttl: float = 2.0, spread: float = 0.0) -> tuple[TrackingAnswers, HandClock[float]]:
    clock = HandClock(100.0)
    return TrackingAnswers(ttl, clock=clock, spread=lambda: spread), clock


def test_an_answer_is_served_until_its_time_is_up() -> None:
    kept, clock = answers(ttl=2.0)
    kept.keep(KEY, 7, b"{}", kept.ticket())
    clock.now += 1.9
    assert kept.fresh(KEY) == b"{}"
    clock.now += 0.1
    assert kept.fresh(KEY) is None


def test_answers_kept_together_expire_apart_but_never_beyond_the_time() -> None:
    # The most an answer can be cut short: kept half the time.
    kept, clock = answers(ttl=2.0, spread=1.0)
    kept.keep(KEY, 7, b"{}", kept.ticket())
    clock.now += 0.9
    assert kept.fresh(KEY) == b"{}"
    clock.now += 0.1
    assert kept.fresh(KEY) is None

    spread = TrackingAnswers(2.0, clock=clock)
    for number in range(50):
        spread.keep((1, "ups", str(number)), number, b"{}", spread.ticket())
    clock.now += 1.5
    alive = sum(spread.fresh((1, "ups", str(number))) is not None for number in range(50))
    assert 0 < alive < 50  # some expired already, some not yet
    clock.now += 0.5
    assert all(spread.fresh((1, "ups", str(number))) is None for number in range(50))


def test_an_answer_asked_for_late_in_its_time_is_read_again_once_in_the_background() -> None:
    kept, clock = answers(ttl=2.0)
    kept.keep(KEY, 7, b"old", kept.ticket())
    clock.now += 1.4
    assert not kept.refresh_due(KEY)  # three quarters of 2 s not yet passed
    clock.now += 0.1
    assert kept.refresh_due(KEY)
    assert not kept.refresh_due(KEY)  # one background read at a time
    assert kept.fresh(KEY) == b"old"  # served meanwhile, still within its time

    kept.keep(KEY, 7, b"new", kept.ticket())
    kept.refreshed(KEY)
    clock.now += 1.9  # 3.4 s after the first answer: the new one's own time counts
    assert kept.fresh(KEY) == b"new"
    assert kept.refresh_due(KEY)


def test_a_background_read_that_raced_a_write_does_not_replace_the_answer_dropped() -> None:
    kept, clock = answers(ttl=2.0)
    kept.keep(KEY, 7, b"old", kept.ticket())
    clock.now += 1.6
    assert kept.refresh_due(KEY)
    ticket = kept.ticket()  # the background read starts
    kept.forget(WrittenPackages(ids={7}))
    kept.keep(KEY, 7, b"read before the write", ticket)
    kept.refreshed(KEY)
    assert kept.fresh(KEY) is None
    assert not kept.refresh_due(KEY)  # nothing kept, nothing to refresh


def test_an_answer_past_its_time_is_not_served_while_a_refresh_is_under_way() -> None:
    kept, clock = answers(ttl=2.0)
    kept.keep(KEY, 7, b"old", kept.ticket())
    clock.now += 1.8
    assert kept.refresh_due(KEY)
    clock.now += 0.2  # the refresh never lands in time
    assert kept.fresh(KEY) is None


def test_no_time_keeps_nothing() -> None:
    kept, _ = answers(ttl=0)
    kept.keep(KEY, 7, b"{}", kept.ticket())
    assert kept.fresh(KEY) is None


def test_a_write_of_the_package_by_id_or_by_key_drops_its_answer_only() -> None:
    kept, _ = answers()
    kept.keep(KEY, 7, b"seven", kept.ticket())
    kept.keep(OTHER, 8, b"eight", kept.ticket())

    kept.forget(WrittenPackages(ids={7}))
    assert (kept.fresh(KEY), kept.fresh(OTHER)) == (None, b"eight")

    kept.forget(WrittenPackages(keys={OTHER}))
    assert kept.fresh(OTHER) is None


def test_an_answer_read_before_a_write_of_its_package_is_not_kept() -> None:
    kept, _ = answers()
    ticket = kept.ticket()  # the read starts
    kept.forget(WrittenPackages(ids={7}))  # a write lands meanwhile
    kept.keep(KEY, 7, b"old", ticket)
    assert kept.fresh(KEY) is None

    # A start names its package by key: the same holds.
    ticket = kept.ticket()
    kept.forget(WrittenPackages(keys={KEY}))
    kept.keep(KEY, 7, b"old", ticket)
    assert kept.fresh(KEY) is None

    # A write of another package does not stop it being kept, nor does one before the read.
    ticket = kept.ticket()
    kept.forget(WrittenPackages(ids={8}))
    kept.keep(KEY, 7, b"new", ticket)
    assert kept.fresh(KEY) == b"new"


def test_forgetting_stays_bounded_and_refuses_reads_it_can_no_longer_judge() -> None:
    kept = TrackingAnswers(2.0, max_answers=4)
    ticket = kept.ticket()
    for package_id in range(10):
        kept.forget(WrittenPackages(ids={package_id}))
    # Package 99 was never written, but the record of what was got too long and was emptied.
    kept.keep(KEY, 99, b"old", ticket)
    assert kept.fresh(KEY) is None
    kept.keep(KEY, 99, b"new", kept.ticket())
    assert kept.fresh(KEY) == b"new"


@dataclass(frozen=True, slots=True)
class CountedPackage(FoundPackage):
    """A found package that counts how often its history is decoded."""

    decoded: list[int] | None = None

    def events(self) -> list[TrackEvent]:
        assert self.decoded is not None
        self.decoded.append(1)
        return FoundPackage.events(self)


def found(scans: list[TrackEvent], decoded: list[int], status: str = "IT") -> CountedPackage:
    subscription = Subscription(
        id=7,
        account_id=1,
        connection_id=3,
        carrier_code="ups",
        tracking_number="1ZKEPT",
        active=True,
        status_code=status,
    )
    stored = histories.encode((bytes([i]) * 8, scan) for i, scan in enumerate(scans))
    return CountedPackage(subscription, stored, decoded)


def test_the_answer_is_tracking_information_with_the_scans_most_recent_first() -> None:
    kept, _ = answers()
    package = found(SCANS, [])
    head = {"tracking_number": "1ZKEPT", "status_code": "IT", "active": True}

    answer = json.loads(kept.render(package, head))

    expected = tracking_information(
        package.subscription, SCANS[::-1], tracking_url="https://ups.example", public_base_url=None
    )
    assert answer == {**head, "events": expected["events"]}
    assert [event["status_code"] for event in answer["events"]] == ["IT", "AC"]


def test_the_scans_are_decoded_and_rendered_once_per_stored_history() -> None:
    kept, _ = answers()
    decoded: list[int] = []
    head = {"status_code": "IT"}
    first = kept.render(found(SCANS, decoded), head)
    # The head changes (a check with nothing new), the history does not: not decoded again.
    again = kept.render(found(SCANS, decoded, "IT"), {"status_code": "IT", "active": False})
    assert len(decoded) == 1
    assert json.loads(again)["events"] == json.loads(first)["events"]
    assert json.loads(again)["active"] is False

    grown = [*SCANS, TrackEvent("DE", occurred_at=datetime(2026, 3, 3, 9, tzinfo=UTC))]
    latest = json.loads(kept.render(found(grown, decoded, "DE"), {"status_code": "DE"}))
    assert len(decoded) == 2
    assert [event["status_code"] for event in latest["events"]] == ["DE", "IT", "AC"]
