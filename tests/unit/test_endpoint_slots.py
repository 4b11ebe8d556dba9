"""How many deliveries one webhook may have in flight (``EndpointSlots``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shiptrack.domain.delivery import EndpointSlots


def test_every_webhook_starts_with_the_starting_slots_all_free() -> None:
    slots = EndpointSlots(start=8, most=64)
    assert slots.limit(1) == 8
    assert slots.free() == {}  # nothing to say: every webhook has its eight


def test_a_delivery_under_way_takes_a_slot_until_it_ends() -> None:
    slots = EndpointSlots(start=8, most=64)
    slots.taken(1)
    slots.taken(1)
    assert slots.free() == {1: 6}
    slots.done(1, delivered=True)
    assert slots.in_flight(1) == 1


def test_each_accepted_delivery_adds_a_slot_up_to_the_most() -> None:
    slots = EndpointSlots(start=2, most=4)
    for _ in range(5):
        slots.taken(7)
        slots.done(7, delivered=True)
    assert slots.limit(7) == 4
    assert slots.free() == {7: 4}
    assert slots.limit(8) == 2  # another webhook is not affected


def test_each_failed_delivery_halves_the_slots_down_to_one() -> None:
    slots = EndpointSlots(start=8, most=64)
    for expected in (4, 2, 1, 1):
        slots.taken(3)
        slots.done(3, delivered=False)
        assert slots.limit(3) == expected
    assert slots.free() == {3: 1}  # idle, but told apart from a webhook with all eight
    slots.taken(3)
    assert slots.free() == {3: 0}


def test_a_webhook_back_at_the_start_is_forgotten() -> None:
    slots = EndpointSlots(start=8, most=64)
    slots.taken(5)
    slots.done(5, delivered=False)  # 4
    for _ in range(4):
        slots.taken(5)
        slots.done(5, delivered=True)
    assert slots.limit(5) == 8
    assert slots.free() == {}


def test_the_start_never_exceeds_the_most() -> None:
    slots = EndpointSlots(start=8, most=3)
    assert slots.limit(1) == 3


@given(
    st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["take", "ok", "fail"])), max_size=200),
    st.integers(1, 10),
    st.integers(1, 20),
)
def test_slots_stay_between_one_and_the_most_and_a_claim_never_gets_more_than_is_free(
    steps: list[tuple[int, str]], start: int, most: int
) -> None:
    slots = EndpointSlots(start=start, most=most)
    open_: dict[int, int] = {}
    for webhook_id, step in steps:
        if step == "take":
            slots.taken(webhook_id)
            open_[webhook_id] = open_.get(webhook_id, 0) + 1
        elif open_.get(webhook_id):
            slots.done(webhook_id, delivered=step == "ok")
            open_[webhook_id] -= 1
        for known in (1, 2, 3):
            assert 1 <= slots.limit(known) <= max(1, most)
            assert slots.in_flight(known) == open_.get(known, 0)
        free = slots.free()
        assert all(n >= 0 for n in free.values())
        for known in (1, 2, 3):
            # What a claim may take for a webhook (its entry, else ``start``) is never more
            # than its slots leave free.
            assert free.get(known, slots.start) <= max(
                0, slots.limit(known) - slots.in_flight(known)
            )
