"""How much a dispatcher's next claim asks for, per webhook (``plan_claim``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.delivery import EndpointSlots, plan_claim


def _slots_with(in_flight: dict[int, int], *, start: int = 8) -> EndpointSlots:
    slots = EndpointSlots(start=start, most=64)
    for webhook_id, count in in_flight.items():
        for _ in range(count):
            slots.taken(webhook_id)
    return slots


def test_a_webhook_with_room_for_a_round_of_its_slots_is_claimed_for_up_to_its_share() -> None:
    slots = _slots_with({7: 8})  # all 8 slots busy, nothing waiting

    plan = plan_claim(slots, {}, ahead=8)

    assert plan.room == {7: 8 * 8 - 8}
    assert plan.full == []


def test_a_webhook_short_of_a_whole_round_is_skipped_so_claims_stay_large() -> None:
    # 8 in flight and 50 waiting: 6 more would fit, fewer than its 8 slots.
    slots = _slots_with({7: 8})

    plan = plan_claim(slots, {7: 50}, ahead=8)

    assert plan.room == {}
    assert plan.full == [7]


def test_each_webhook_is_planned_on_its_own() -> None:
    slots = _slots_with({1: 8, 2: 3})

    plan = plan_claim(slots, {1: 56, 3: 10}, ahead=4)

    # 1 holds 64 of its 32; 2 holds 3 of 32; 3 (not in flight) waits with 10 of 32.
    assert plan.full == [1]
    assert plan.room == {2: 29, 3: 22}


def test_a_webhook_that_earned_more_slots_may_hold_more() -> None:
    slots = EndpointSlots(start=8, most=64)
    for _ in range(20):
        slots.taken(5)
        slots.done(5, delivered=True)  # 8 -> 28 slots

    plan = plan_claim(slots, {5: 1}, ahead=2)

    assert plan.room == {5: 2 * 28 - 1}


@given(
    in_flight=st.dictionaries(st.integers(1, 5), st.integers(0, 64)),
    waiting=st.dictionaries(st.integers(1, 5), st.integers(0, 600)),
    ahead=st.integers(1, 8),
)
def test_no_webhook_is_planned_beyond_ahead_times_its_slots(
    in_flight: dict[int, int], waiting: dict[int, int], ahead: int
) -> None:
    slots = _slots_with(in_flight)

    plan = plan_claim(slots, waiting, ahead=ahead)

    assert not plan.room.keys() & set(plan.full)
    for webhook_id, room in plan.room.items():
        held = slots.in_flight(webhook_id) + waiting.get(webhook_id, 0)
        assert slots.limit(webhook_id) <= room == ahead * slots.limit(webhook_id) - held
