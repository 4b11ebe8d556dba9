"""Replaying webhook deliveries (``Deliveries.redeliver`` and ``redeliver_range``), in-process.

Covers: a delivery that failed for good, redelivered, arrives as the same message (same
``webhook-id``, same bytes) and its list shows every attempt, old and new; replaying a range sends
again every delivery created in ``[since, until)`` and nothing else, each package's in ``sequence``
order, as the same messages; without ``until``, everything from ``since`` on.
"""

from __future__ import annotations

from pathlib import Path

from shiptrack.domain.ids import format_id
from tests.e2e.webhook_support import Reply, always
from tests.engine.delivery_support import receiving, running_parts


async def test_a_delivery_that_failed_for_good_can_be_redelivered(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts, receiving(always(Reply(500))) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        delivery_id = await parts.test_event(account, webhook)
        await parts.deliver_everything()
        [failed] = await parts.deliveries(account, webhook)
        assert failed.view.state == "failed"
        refused = len(receiver.requests)

        receiver.behaviour = always(Reply())
        count = await parts.parts.deliveries.redeliver(
            account, format_id(webhook.id), format_id(delivery_id)
        )
        await parts.deliver_everything()

        [entry] = await parts.deliveries(account, webhook)
        requests = receiver.requests

    assert count == 1
    assert entry.view.state == "delivered"
    assert len(requests) == refused + 1
    assert {r.webhook_id for r in requests} == {failed.view.message_id}
    assert {r.body for r in requests} == {requests[0].body}
    assert [a.response_status for a in entry.attempts] == [500] * refused + [204]


async def test_redelivering_a_range_resends_each_of_its_deliveries_in_order(
    tmp_path: Path,
) -> None:
    async with running_parts(tmp_path) as parts, receiving() as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        webhook_id = format_id(webhook.id)
        await parts.start(account, "ups", "out_for_delivery")
        await parts.start(account, "fedex", "failed_attempt")
        # Each journey hour's changes are recorded, and queued, at a moment of their own.
        await parts.walk(each_hour=parts.deliver_everything)
        listed = sorted(
            (d.view for d in await parts.deliveries(account, webhook)), key=lambda d: d.id
        )
        first_round = receiver.requests
        assert len(first_round) == len(listed) >= 10
        since, until = listed[2].created_at, listed[-3].created_at
        expected = [d for d in listed if since <= d.created_at < until]
        assert 0 < len(expected) < len(listed)

        count = await parts.parts.deliveries.redeliver_range(
            account, webhook_id, since=since, until=until
        )
        del parts.rounds[:]
        await parts.deliver_everything()
        # One change of a package at a time: the next is sent once the earlier one arrived.
        for sent in parts.rounds:
            numbers = [s.tracking_number for s in sent]
            assert len(numbers) == len(set(numbers)), numbers
        replayed = receiver.requests[len(first_round) :]

        # Without until: everything from since on.
        everything = await parts.parts.deliveries.redeliver_range(
            account, webhook_id, since=listed[0].created_at, until=None
        )
        await parts.deliver_everything()
        again = receiver.requests[len(first_round) + len(replayed) :]
        states = {d.view.state for d in await parts.deliveries(account, webhook)}

    assert count == len(expected)
    assert sorted(r.webhook_id for r in replayed) == sorted(d.message_id for d in expected)
    by_message = {r.webhook_id: r for r in first_round}
    for request in replayed:
        assert request.body == by_message[request.webhook_id].body
    for number in {d.tracking_number for d in expected}:
        sequences = [r.sequence for r in replayed if r.tracking_number == number]
        assert sequences == sorted(d.sequence for d in expected if d.tracking_number == number)
    assert everything == len(listed)
    for number in {d.tracking_number for d in listed}:
        sequences = [r.sequence for r in again if r.tracking_number == number]
        assert sequences == list(range(1, len(sequences) + 1)) and len(sequences) >= 4
    assert states == {"delivered"}
