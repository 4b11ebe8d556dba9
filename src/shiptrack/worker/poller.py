"""The poller: checks due packages for as long as the process runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shiptrack.domain.errors import ServiceUnavailable
from shiptrack.services import Services
from shiptrack.services.checks import run_checks
from shiptrack.worker.runner import wait_any

log = logging.getLogger("shiptrack.poller")


class Poller:
    """Claims and checks due packages in a loop; sleeps when none is due."""

    name = "poller"

    def __init__(self, services: Services) -> None:
        self.services = services

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until ``stopping`` is set. The round under way asks no carrier after that; what
        it checked is recorded and what it did not is given back (``run_checks``)."""
        idle = self.services.settings.poll_interval
        while not stopping.is_set():
            try:
                checked = await run_checks(self.services, stopping=stopping)
            except ServiceUnavailable as error:
                log.warning("checking packages: %s; retrying in %.1fs", error.message, idle)
                checked = 0
            except Exception:
                log.exception("checking packages failed; retrying in %.1fs", idle)
                checked = 0
            if checked:
                continue
            self.services.packages_due.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait_any(stopping, self.services.packages_due), timeout=idle)
