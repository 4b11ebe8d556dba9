"""How much a dispatcher's next claim asks for, per webhook (``plan_claim``), and how many rounds
of its slots each webhook may hold (``EndpointSlots.rounds_ahead``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.delivery import (
    LEAST_AHEAD,
    MOST_AHEAD,
    STARTING_AHEAD,
    EndpointSlots,
    plan_claim,
)

LEASE = 60.0


def _slots_with(in_flight: dict[int, int], *, start: int = 8) -> EndpointSlots:
    slots = EndpointSlots(start=start, most=64)
    for webhook_id, count in in_flight.items():
        for _ in range(count):
            slots.taken(webhook_id)
    return slots


def _answered(slots: EndpointSlots, webhook_id: int, seconds: float, *, times: int = 1) -> None:
    """``times`` deliveries to ``webhook_id`` accepted, each after ``seconds``."""
    for _ in range(times):
        slots.taken(webhook_id)
        slots.done(webhook_id, delivered=True, seconds=seconds)


def test_a_webhook_with_room_for_a_round_of_its_slots_is_claimed_for_up_to_its_share() -> None:
    slots = _slots_with({7: 8})  # all 8 slots busy, nothing waiting, answer time not known yet

    plan = plan_claim(slots, {}, lease=LEASE)

    assert plan.room == {7: STARTING_AHEAD * 8 - 8}
    assert plan.full == []


def test_a_webhook_short_of_a_whole_round_is_skipped_so_claims_stay_large() -> None:
    # 8 in flight and 50 waiting: 6 more would fit, fewer than its 8 slots.
    slots = _slots_with({7: 8})

    plan = plan_claim(slots, {7: 50}, lease=LEASE)

    assert plan.room == {}
    assert plan.full == [7]


def test_each_webhook_is_planned_on_its_own() -> None:
    slots = _slots_with({1: 8, 2: 3})

    plan = plan_claim(slots, {1: 60, 3: 10}, lease=LEASE)

    # 1 holds 68 of its 64; 2 holds 3 of 64; 3 (not in flight) waits with 10 of 64.
    assert plan.full == [1]
    assert plan.room == {2: 61, 3: 54}


def test_a_fast_webhook_may_hold_the_most_rounds_of_the_slots_it_earned() -> None:
    slots = EndpointSlots(start=8, most=64)
    _answered(slots, 5, 0.005, times=20)  # 8 -> 28 slots, 5 ms answers

    plan = plan_claim(slots, {5: 1}, lease=LEASE)

    assert plan.room == {5: MOST_AHEAD * 28 - 1}


def test_a_slow_webhook_holds_no_more_than_it_is_sent_within_a_quarter_of_the_lease() -> None:
    slots = EndpointSlots(start=8, most=64)
    _answered(slots, 5, 3.75, times=2)  # 10 slots; 4 rounds of 3.75 s fill 15 s of the lease

    assert slots.rounds_ahead(5, lease=LEASE) == 4
    assert plan_claim(slots, {}, lease=LEASE).room == {5: 40}


def test_a_webhook_that_hangs_still_holds_one_round_behind_the_one_in_flight() -> None:
    slots = EndpointSlots(start=8, most=64)
    slots.taken(9)
    slots.done(9, delivered=False, seconds=30.0)  # timed out: 4 slots

    assert slots.rounds_ahead(9, lease=LEASE) == LEAST_AHEAD
    assert plan_claim(slots, {}, lease=LEASE).room == {9: LEAST_AHEAD * 4}


def test_the_answer_time_follows_the_recent_answers_not_one_outlier() -> None:
    slots = EndpointSlots(start=8, most=64)
    _answered(slots, 2, 0.010, times=30)
    _answered(slots, 2, 5.0)  # one slow answer among fast ones

    assert 0.010 < (slots.answer_time(2) or 0) < 1.0
    _answered(slots, 2, 5.0, times=60)  # the receiver became slow

    assert 4.0 < (slots.answer_time(2) or 0) <= 5.0
    assert slots.rounds_ahead(2, lease=LEASE) == 3


def test_a_forgotten_webhook_starts_again_with_the_starting_rounds() -> None:
    slots = EndpointSlots(start=8, most=64)
    slots.taken(4)
    slots.done(4, delivered=False, seconds=20.0)  # 4 slots, slow
    _answered(slots, 4, 20.0, times=4)  # back to 8: nothing known is kept

    assert slots.answer_time(4) is None
    assert slots.rounds_ahead(4, lease=LEASE) == STARTING_AHEAD


@given(
    in_flight=st.dictionaries(st.integers(1, 5), st.integers(0, 64)),
    waiting=st.dictionaries(st.integers(1, 5), st.integers(0, 3000)),
    answers=st.dictionaries(st.integers(1, 5), st.floats(0, 120)),
    lease=st.floats(1, 600),
)
def test_no_webhook_is_planned_beyond_its_rounds_of_its_slots(
    in_flight: dict[int, int], waiting: dict[int, int], answers: dict[int, float], lease: float
) -> None:
    slots = EndpointSlots(start=8, most=64)
    for webhook_id, seconds in answers.items():
        _answered(slots, webhook_id, seconds)
    for webhook_id, count in in_flight.items():
        for _ in range(count):
            slots.taken(webhook_id)

    plan = plan_claim(slots, waiting, lease=lease)

    assert not plan.room.keys() & set(plan.full)
    for webhook_id, room in plan.room.items():
        rounds = slots.rounds_ahead(webhook_id, lease=lease)
        assert LEAST_AHEAD <= rounds <= MOST_AHEAD
        held = slots.in_flight(webhook_id) + waiting.get(webhook_id, 0)
        assert slots.limit(webhook_id) <= room == rounds * slots.limit(webhook_id) - held
