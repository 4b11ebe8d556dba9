"""The dispatcher of one process (``engine.dispatcher.Dispatcher``, running as a task on the
in-memory store) and how much it sends each endpoint at once, against real receivers on 127.0.0.1
that hold every request until the test answers it.

Covers: an endpoint that hangs holds its eight starting slots and never delays another account's
deliveries; an endpoint that keeps up is sent more at once than it started with (each accepted
delivery adds a slot); a failing endpoint is soon held to one request at a time (each failure
halves its slots), and the slots of one endpoint never hold back another's.

Whether the dispatcher sent more than it should is shown without waiting: a test event to another
webhook goes through the same claim as anything else that is due, so once it arrived, anything the
held endpoint had room for would have been sent too.
"""

from __future__ import annotations

from pathlib import Path

from shiptrack.domain.accounts import Account
from shiptrack.domain.webhooks import Webhook
from tests.e2e.webhook_support import Reply, always
from tests.engine.delivery_support import Parts, Receiver, dispatching, receiving, running_parts

#: What the dispatcher gives every endpoint to start with.
STARTING_SLOTS = 8
#: Retries of the failures here would come long after the tests end.
NO_RETRY_SOON = {"webhook_retry_schedule": (3600.0,)}
HOLD = always(Reply(hang=True))


class Barrier:
    """A webhook of another account whose deliveries show that the dispatcher has claimed again."""

    def __init__(self, parts: Parts, account: Account, webhook: Webhook, receiver: Receiver):
        self.parts, self.account, self.webhook, self.receiver = parts, account, webhook, receiver

    @classmethod
    async def make(cls, parts: Parts, receiver: Receiver) -> Barrier:
        account = await parts.account("elsewhere")
        webhook, _ = await parts.webhook(account, receiver.url)
        return cls(parts, account, webhook, receiver)

    async def passed(self) -> None:
        """Queue a test event here and wait for it to arrive."""
        count = len(self.receiver.requests)
        await self.parts.test_event(self.account, self.webhook)
        await self.receiver.wait_for_requests(count + 1, "the other webhook's test event")


async def test_a_hanging_endpoint_does_not_delay_another_accounts_deliveries(
    tmp_path: Path,
) -> None:
    async with (
        running_parts(tmp_path, webhook_timeout=60) as parts,
        dispatching(parts),
        receiving(HOLD) as hanging,
        receiving() as healthy,
    ):
        stuck_account, healthy_account = await parts.account("stuck"), await parts.account()
        stuck, _ = await parts.webhook(stuck_account, hanging.url)
        # More deliveries than the eight requests one endpoint may have in flight at first.
        for _ in range(10):
            await parts.test_event(stuck_account, stuck)
        await hanging.until(lambda r: r.held == STARTING_SLOTS, "eight requests held")

        webhook, _ = await parts.webhook(healthy_account, healthy.url)
        number = await parts.start(healthy_account, "ups", "delivered")
        await parts.walk()
        queued = sorted(d.view.sequence for d in await parts.deliveries(healthy_account, webhook))
        await healthy.wait_for_requests(len(queued), "the healthy webhook's notifications")

        # Every notification arrived while the hanging endpoint held its eight requests (none
        # answered, none timed out: the timeout is a minute), and it got no more than eight.
        assert [r.sequence for r in healthy.accepted()] == queued
        assert {r.tracking_number for r in healthy.requests} == {number}
        assert hanging.held == STARTING_SLOTS
        assert len(hanging.requests) == STARTING_SLOTS


async def test_an_endpoint_that_keeps_up_is_sent_more_at_once_than_it_started_with(
    tmp_path: Path,
) -> None:
    async with (
        running_parts(tmp_path) as parts,
        dispatching(parts),
        receiving(HOLD) as receiver,
        receiving() as elsewhere,
    ):
        barrier = await Barrier.make(parts, elsewhere)
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        for _ in range(40):
            await parts.test_event(account, webhook)

        # Eight at first ...
        await receiver.until(lambda r: r.held == STARTING_SLOTS, "eight requests held")
        await barrier.passed()
        assert len(receiver.requests) == STARTING_SLOTS
        # ... and each accepted one adds a slot: one accepted, two more sent, nine open.
        receiver.answer(Reply(), count=1)
        await receiver.until(lambda r: r.held == STARTING_SLOTS + 1, "nine requests held")
        await barrier.passed()
        assert len(receiver.requests) == STARTING_SLOTS + 2
        assert receiver.held == STARTING_SLOTS + 1

        # A receiver that keeps up gets the backlog more than eight at a time.
        receiver.behaviour = always(Reply())
        receiver.answer(Reply())
        await receiver.until(lambda r: len(r.accepted()) == 40, "all forty accepted")
        assert receiver.most_open > STARTING_SLOTS


async def test_a_failing_endpoint_is_soon_held_to_one_request_at_a_time(tmp_path: Path) -> None:
    async with (
        running_parts(tmp_path, **NO_RETRY_SOON) as parts,
        dispatching(parts),
        receiving(HOLD) as failing,
        receiving() as elsewhere,
    ):
        barrier = await Barrier.make(parts, elsewhere)
        account = await parts.account()
        webhook, _ = await parts.webhook(account, failing.url)
        for _ in range(20):
            await parts.test_event(account, webhook)
        await failing.until(lambda r: r.held == STARTING_SLOTS, "eight requests held")

        # Each failure halves the slots: after eight, one request at a time, each sent once the
        # one before it failed. The other webhook is not held back meanwhile.
        failing.answer(Reply(503))
        for sent in range(STARTING_SLOTS + 1, STARTING_SLOTS + 4):
            await failing.wait_for_requests(sent, f"request {sent}")
            await barrier.passed()
            assert len(failing.requests) == sent
            assert failing.held == 1
            failing.answer(Reply(503))
