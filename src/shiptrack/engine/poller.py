"""The poller: checks due packages for as long as the process runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.engine.checks import Checks
from shiptrack.engine.runner import wait_any

log = logging.getLogger("shiptrack.poller")


class Poller:
    """Claims and checks due packages in a loop; sleeps when none is due."""

    name = "poller"

    def __init__(self, checks: Checks, *, idle: float) -> None:
        self.checks = checks
        #: Seconds to wait when nothing is due (``SHIPTRACK_POLL_INTERVAL``).
        self.idle = idle

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until ``stopping`` is set. The round under way asks no carrier after that; what
        it checked is recorded and what it did not is given back (``Checks.run_round``)."""
        idle = self.idle
        while not stopping.is_set():
            try:
                checked = await self.checks.run_round(stopping=stopping)
            except ServiceUnavailable as error:
                log.warning("checking packages: %s; retrying in %.1fs", error.message, idle)
                checked = 0
            except Exception:
                log.exception("checking packages failed; retrying in %.1fs", idle)
                checked = 0
            if checked:
                continue
            self.checks.packages_due.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait_any(stopping, self.checks.packages_due), timeout=idle)
