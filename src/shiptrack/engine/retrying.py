"""Writing through a database restart: try again after short pauses instead of giving up.

The workers hold work the database does not know is finished (a carrier's answer, a webhook's
response). When a write of it fails because the database cannot be reached (``ServiceUnavailable``:
refused or dropped connections, a server restarting, SQLite's write lock held too long), the work is
kept in memory and written again after 0.1 s, then 0.2 s, ... up to 2 s between tries, until the
write goes through or the caller's deadline passes. Other errors are not retried: a write that
failed for another reason would fail the same way again.

Every write retried this way must be safe to repeat, because a commit can go through while the
connection that sent it breaks: the writes of claimed work match on the claim's lease, which the
first successful write clears.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from shiptrack.domain.errors import ServiceUnavailable

log = logging.getLogger("shiptrack.worker")

#: The first and the longest pause between two tries of a write.
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 2.0


def pauses(first: float = FIRST_PAUSE, longest: float = LONGEST_PAUSE) -> Iterator[float]:
    """The pauses between tries: ``first``, doubling up to ``longest``, then ``longest`` on."""
    pause = first
    while True:
        yield pause
        pause = min(pause * 2, longest)


async def write_until(write: Callable[[], Awaitable[None]], *, deadline: float, what: str) -> bool:
    """Run ``write`` until it goes through (``True``) or, the database still unreachable, the
    monotonic clock reaches ``deadline`` (``False``). Other errors propagate."""
    tries = 0
    for pause in pauses():
        try:
            await write()
        except ServiceUnavailable as error:
            tries += 1
            if tries == 1:
                log.warning("%s: %s; trying again", what, error.message)
            if time.monotonic() + pause >= deadline:
                log.warning("%s: gave up after %d tries", what, tries)
                return False
            await asyncio.sleep(pause)
            continue
        if tries:
            log.info("%s: written after %d failed tries", what, tries)
        return True
    raise AssertionError("pauses() never ends")  # pragma: no cover
