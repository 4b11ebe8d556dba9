"""Writing through a database restart (``shiptrack.engine.retrying``): the pauses between tries,
trying again only while the database is unavailable, and giving up at the caller's deadline."""

from __future__ import annotations

import itertools
import time

import pytest

from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.engine.retrying import pauses, write_until


def test_pauses_start_short_and_double_up_to_two_seconds() -> None:
    assert list(itertools.islice(pauses(), 8)) == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]


class FlakyWrite:
    """A write that fails with ``error`` its first ``failures`` times."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ServiceUnavailable("The database is unavailable right now")
        self.tries = 0

    async def __call__(self) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise self.error


async def test_a_write_is_tried_again_while_the_database_is_unavailable() -> None:
    write = FlakyWrite(failures=2)

    assert await write_until(write, deadline=time.monotonic() + 60, what="test") is True
    assert write.tries == 3


async def test_a_write_that_goes_through_at_once_is_run_once() -> None:
    write = FlakyWrite(failures=0)

    assert await write_until(write, deadline=time.monotonic() + 60, what="test") is True
    assert write.tries == 1


async def test_a_write_is_given_up_when_the_next_try_would_pass_the_deadline() -> None:
    write = FlakyWrite(failures=100)

    # 0.1 + 0.2 s of pauses fit before the deadline, the next 0.4 s would not.
    assert await write_until(write, deadline=time.monotonic() + 0.5, what="test") is False
    assert write.tries == 3


async def test_a_write_past_its_deadline_is_still_tried_once() -> None:
    write = FlakyWrite(failures=0)

    assert await write_until(write, deadline=time.monotonic() - 1, what="test") is True
    assert write.tries == 1


async def test_other_errors_are_not_tried_again() -> None:
    write = FlakyWrite(failures=1, error=ValueError("a bug"))

    with pytest.raises(ValueError, match="a bug"):
        await write_until(write, deadline=time.monotonic() + 60, what="test")
    assert write.tries == 1
