"""ShipEngine's RSA signatures, made in processes of their own, many per trip.

RSA-2048 is the costliest step of a delivery (a quarter of a millisecond of CPU). Signing threads
share the interpreter lock with the event loop: each signature took the lock back once, and behind
a busy loop that wait was three times the signature itself (0.8 ms for 0.29 ms of CPU, BENCHMARKS.md
0h). Processes sign without it. Every signature asked for in one turn of the loop (a claim starts
its deliveries' signatures together) is shared out in chunks of at most :data:`SIGN_CHUNK` among
:data:`SIGNING_PROCESSES` processes, and each chunk comes back in one wake-up of the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from shiptrack.webhooks.signing import SigningKey, exit_with, private_pem, sign_many

log = logging.getLogger("shiptrack.dispatcher")

#: Processes that make RSA signatures (each signs on a core of its own, beside the event loop):
#: two sign about 7,600 a second on this project's machines, more than one dispatcher sends.
SIGNING_PROCESSES = max(1, min(2, os.cpu_count() or 1))
#: Most signatures made in one trip to a signing process.
SIGN_CHUNK = 32

_SignJob = tuple[SigningKey, bytes, datetime, "asyncio.Future[dict[str, str]]"]
_Signed = list[dict[str, str] | BaseException]


class RsaSigner:
    """Makes the ``x-shipengine-*`` headers of deliveries in signing processes, started on first
    use and stopped by :meth:`close`."""

    def __init__(self, processes: int = SIGNING_PROCESSES, chunk: int = SIGN_CHUNK) -> None:
        self.processes = processes
        self.chunk = chunk
        self._pending: list[_SignJob] = []
        self._pool: Executor | None = None
        #: Each key's PEM, as the processes receive it (made once per key).
        self._pems: dict[str, str] = {}

    async def headers(self, key: SigningKey, body: bytes, now: datetime) -> dict[str, str]:
        """The three ``x-shipengine-*`` headers of ``body`` sent at ``now``."""
        return await self.start(key, body, now)

    def start(self, key: SigningKey, body: bytes, now: datetime) -> asyncio.Future[dict[str, str]]:
        """Start making the headers of :meth:`headers`; their future (call in the event loop)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, str]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush, loop)
        self._pending.append((key, body, now, future))
        return future

    def warm_up(self) -> None:
        """Start the signing processes now (they take a few hundred milliseconds), so that the
        first deliveries do not wait for them."""
        pool = self._processes()
        for _ in range(self.processes):
            pool.submit(sign_many, [])

    def close(self) -> None:
        """Stop the signing processes (signatures still asked for are not made)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs, self._pending = self._pending, []
        size = max(1, min(self.chunk, -(-len(jobs) // self.processes)))
        for start in range(0, len(jobs), size):
            part = jobs[start : start + size]
            signing = [(key.kid, self._pem(key), body, now) for key, body, now, _ in part]
            done = self._submit(signing)
            done.add_done_callback(functools.partial(_wake, loop, part))

    def _submit(self, signing: list[tuple[str, str, bytes, datetime]]) -> Future[_Signed]:
        try:
            return self._processes().submit(sign_many, signing)
        except BrokenProcessPool:  # a signing process died: start them again
            self.close()
            return self._processes().submit(sign_many, signing)

    def _processes(self) -> Executor:
        if self._pool is None:
            try:
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=_context(),
                    initializer=exit_with,
                    initargs=(os.getpid(),),
                )
            except (OSError, NotImplementedError) as error:
                # No processes here (a sandbox without POSIX semaphores, say): threads still
                # sign beside the event loop, only slower.
                log.warning("signing webhooks in threads, not processes: %s", error)
                self._pool = ThreadPoolExecutor(self.processes, thread_name_prefix="rsa-signer")
        return self._pool

    def _pem(self, key: SigningKey) -> str:
        pem = self._pems.get(key.kid)
        if pem is None:
            pem = self._pems[key.kid] = private_pem(key)
        return pem


@functools.cache
def _context() -> multiprocessing.context.BaseContext:
    """Processes started from a small server process (not forked from this one, whose threads
    and event loop a fork would copy), with the signing module loaded once."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["shiptrack.webhooks.signing"])
    return context


def _wake(loop: asyncio.AbstractEventLoop, part: list[_SignJob], finished: Future[_Signed]) -> None:
    """In the pool's thread: hand the chunk's signatures out on the event loop (one wake-up)."""
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(_hand_out, part, finished)


def _hand_out(part: list[_SignJob], finished: Future[_Signed]) -> None:
    if finished.cancelled():
        results: _Signed = [asyncio.CancelledError()] * len(part)
    else:
        error = finished.exception()
        results = finished.result() if error is None else [error] * len(part)
    for (_, _, _, future), result in zip(part, results, strict=True):
        if future.done():  # its send was cancelled meanwhile
            continue
        if isinstance(result, asyncio.CancelledError):
            future.cancel()
        elif isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
