"""Running the background workers next to (or without) the API, and stopping them cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Protocol

log = logging.getLogger("shiptrack.worker")

#: How long a stopping process waits for work under way before cancelling it (the default of
#: ``SHIPTRACK_SHUTDOWN_GRACE``).
GRACE_SECONDS = 10.0


class Worker(Protocol):
    """A loop that runs until asked to stop."""

    name: str

    async def run(self, stopping: asyncio.Event) -> None:
        """Work until ``stopping`` is set."""
        ...


class Workers:
    """Starts workers as tasks and stops them together.

    Stopping asks every worker to finish what it started; after ``grace`` seconds what is left
    is cancelled, and each worker gives back the work it held (due at once for another process)
    before its cancellation completes. A process killed outright keeps its claims until their
    leases run out.
    """

    def __init__(self, workers: list[Worker], *, grace: float = GRACE_SECONDS) -> None:
        self.workers = workers
        self.grace = grace
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start every worker in the running event loop."""
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(worker.run(self._stopping), name=f"shiptrack-{worker.name}")
            for worker in self.workers
        ]
        log.info("workers started: %s", ", ".join(worker.name for worker in self.workers))

    async def stop(self) -> None:
        """Ask every worker to stop, wait for work under way, then cancel what is left."""
        self._stopping.set()
        if not self._tasks:
            return
        log.info("workers stopping (up to %gs for work under way)", self.grace)
        done, pending = await asyncio.wait(self._tasks, timeout=self.grace)
        if pending:
            log.warning(
                "%d workers still busy after %gs: cancelled; what they held is given back",
                len(pending),
                self.grace,
            )
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in done:
            if task.exception() is not None:
                log.error(
                    "worker %s ended with an error", task.get_name(), exc_info=task.exception()
                )
        self._tasks = []
        log.info("workers stopped")

    async def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT (the ``shiptrack worker`` process), then stop cleanly."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        self.start()
        try:
            await self._stopping.wait()
        finally:
            await self.stop()


async def wait_any(*events: asyncio.Event) -> None:
    """Return as soon as any of ``events`` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
