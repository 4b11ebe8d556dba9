"""The warnings an operator reads about failed webhook deliveries, in-process, against real
receivers on 127.0.0.1 (README, Operations > Logs): each names the webhook, the delivery and its
event, the status or error, and the next try (or that none is left); a dead endpoint gets at most
one line a minute, however many deliveries fail meanwhile."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shiptrack.domain.delivery import RetryPolicy
from shiptrack.domain.ids import format_id
from shiptrack.domain.timefmt import format_utc
from tests.conftest import free_port
from tests.e2e.webhook_support import Reply, always
from tests.engine.delivery_support import receiving, running_parts

LOGGER = "shiptrack.dispatcher"


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and "failed on attempt" in r.message]


async def test_a_failed_attempt_is_a_warning_naming_webhook_delivery_answer_and_next_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    async with running_parts(tmp_path) as parts, receiving(always(Reply(503))) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        delivery_id = await parts.test_event(account, webhook)
        await parts.deliver_due()
        [entry] = await parts.deliveries(account, webhook)

    [line] = failure_lines(caplog)
    assert line.levelno == logging.WARNING
    assert entry.view.next_attempt_at is not None
    assert line.getMessage() == (
        f"webhook {format_id(webhook.id)}: delivery {format_id(delivery_id)} "
        f"(API_TRACK DE, a test event) failed on attempt 1: HTTP 503; "
        f"next try at {format_utc(entry.view.next_attempt_at)}"
    )
    assert line.__dict__["webhook_id"] == format_id(webhook.id)
    assert line.__dict__["account_id"] == format_id(account.id)


async def test_the_last_failure_says_no_retry_is_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    async with (
        running_parts(tmp_path, webhook_retry_schedule=()) as parts,
        receiving(always(Reply(500))) as receiver,
    ):
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)
        await parts.deliver_due()
        [entry] = await parts.deliveries(account, webhook)

    [line] = failure_lines(caplog)
    assert entry.view.state == "failed"
    assert line.getMessage().endswith(
        "failed on attempt 1: HTTP 500; no retry left: failed for good"
    )


async def test_a_receiver_that_cannot_be_reached_is_named_by_the_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    async with running_parts(tmp_path) as parts:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, f"http://127.0.0.1:{free_port()}/hooks")
        await parts.test_event(account, webhook)
        await parts.deliver_due()
        [entry] = await parts.deliveries(account, webhook)

    [line] = failure_lines(caplog)
    [attempt] = entry.attempts
    assert attempt.response_status is None and attempt.error
    assert f"failed on attempt 1: {attempt.error}; next try at" in line.getMessage()


async def test_a_dead_endpoint_gets_one_line_a_minute_while_another_gets_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    async with (
        running_parts(tmp_path) as parts,
        receiving(always(Reply(500))) as dead,
        receiving(always(Reply(502))) as other,
    ):
        account = await parts.account()
        first, _ = await parts.webhook(account, dead.url)
        for _ in range(5):
            await parts.test_event(account, first)
        second_account = await parts.account("globex")
        second, _ = await parts.webhook(second_account, other.url)
        await parts.test_event(second_account, second)
        # Every attempt of the schedule, all failing: 8 per delivery.
        attempts = await parts.deliver_everything()

    assert len(attempts) == 6 * (len(RetryPolicy().schedule) + 1)
    lines = failure_lines(caplog)
    assert sorted(line.__dict__["webhook_id"] for line in lines) == sorted(
        [format_id(first.id), format_id(second.id)]
    )
