"""Group commit: many concurrent requests' writes, one transaction.

Under load, each ``POST /v1/tracking/start`` would otherwise pay for a transaction of its own,
and on SQLite those transactions queue one after another behind the single writer. A
:class:`WriteBatcher` collects what the requests of the last moment want written, writes it all
in one transaction, and answers each request only once that transaction has committed, so a
``204`` still means "stored".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

#: Most items written in one transaction.
MAX_BATCH = 500


class WriteBatcher(Generic[T]):
    """Runs ``write(items)`` for whatever was submitted meanwhile; one writer at a time."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Return once ``item`` is committed (or raise what the write raised)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        await future

    async def cancel(self) -> None:
        """Stop writing: a write under way is abandoned (its transaction rolls back) and whoever
        still waits for an item learns it was cancelled."""
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.wait([runner])
        pending, self._pending = self._pending, []
        for _, future in pending:
            future.cancel()

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self._write([item for item, _ in batch])
            except BaseException as error:  # every waiting request learns of the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
