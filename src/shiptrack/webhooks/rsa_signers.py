"""Who makes ShipEngine's RSA signatures for the dispatcher: signing processes, or threads.

Both take a signature to make with :meth:`start` (in the event loop, which never waits for it) and
hand it back as a future of the three ``x-shipengine-*`` headers. Every signature asked for in one
turn of the loop (a claim starts its deliveries together) goes out in one trip: one write to each
signing process, or a few chunks to the threads.

Processes are the default: each signs on a core of its own. Threads are what is left where no
process can be started (a sandbox), or when ``SHIPTRACK_WEBHOOK_SIGNING_PROCESSES=0``: the library
lets go of the interpreter lock while it signs, but each signature has to take it back behind the
busy event loop (BENCHMARKS 0h: 0.89 ms of wall time per 0.29 ms signature).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import Future as ThreadFuture
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, cast

from cryptography.hazmat.primitives import serialization

from shiptrack.webhooks import rsa_child
from shiptrack.webhooks.rsa_child import ERROR, HEADER, KEY, KEY_NUMBER, SIGN
from shiptrack.webhooks.signing import (
    SigningKey,
    shipengine_headers,
    shipengine_message,
    shipengine_timestamp,
    signed_headers,
)

log = logging.getLogger("shiptrack.dispatcher")

#: Threads that make RSA signatures when no process does.
SIGNING_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Most signatures made in one trip to a signing thread.
SIGN_CHUNK = 16
#: How long a stopping signing process may take to finish what it was given.
STOP_SECONDS = 5.0
#: A signing process that ends this soon after its start without signing anything says that
#: processes cannot sign here (one ended later, killed say, is replaced like any other).
BROKEN_WITHIN = 10.0

Headers = dict[str, str]


class RsaSigner(Protocol):
    """Makes ShipEngine's signature headers off the event loop."""

    def start(self, key: SigningKey, body: bytes, now: datetime) -> asyncio.Future[Headers]:
        """Start making the ``x-shipengine-*`` headers of ``body`` sent at ``now``; their future
        (call in the event loop)."""

    def open(self) -> None:
        """Get ready to sign (call in the event loop; returns at once): the first signatures then
        do not wait for what signs to start."""

    async def close(self) -> None:
        """Stop what signs; a later :meth:`start` starts it again."""


def open_rsa_signer(processes: int) -> RsaSigner:
    """The dispatcher's signer: ``processes`` signing processes, or threads when 0."""
    return ProcessSigner(processes) if processes > 0 else ThreadSigner()


_ThreadJob = tuple[SigningKey, bytes, datetime, "asyncio.Future[Headers]"]


class ThreadSigner:
    """Signatures made in threads, many per trip: every signature asked for in one turn of the
    loop is shared out in chunks of at most :data:`SIGN_CHUNK` among :data:`SIGNING_THREADS`
    threads, and each chunk comes back in one wake-up of the loop."""

    def __init__(self, threads: int = SIGNING_THREADS, chunk: int = SIGN_CHUNK) -> None:
        self.threads = threads
        self.chunk = chunk
        self._pending: list[_ThreadJob] = []
        self._executor: ThreadPoolExecutor | None = None

    def start(self, key: SigningKey, body: bytes, now: datetime) -> asyncio.Future[Headers]:
        """See :class:`RsaSigner`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Headers] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush, loop)
        self._pending.append((key, body, now, future))
        return future

    def open(self) -> None:
        """Nothing to start: the threads start with the first signatures."""

    async def close(self) -> None:
        """Nothing to stop: the threads end with the process."""

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs, self._pending = self._pending, []
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="webhook-signer")
        size = max(1, min(self.chunk, -(-len(jobs) // self.threads)))
        for start in range(0, len(jobs), size):
            part = jobs[start : start + size]
            signing = [(key, body, now) for key, body, now, _ in part]
            done = self._executor.submit(_sign_all, signing)
            done.add_done_callback(functools.partial(_wake, loop, part))


def _sign_all(jobs: list[tuple[SigningKey, bytes, datetime]]) -> list[Headers | BaseException]:
    results: list[Headers | BaseException] = []
    for key, body, now in jobs:
        try:
            results.append(shipengine_headers(key, body, now))
        except Exception as error:  # one bad signature fails its own delivery only
            results.append(error)
    return results


def _wake(
    loop: asyncio.AbstractEventLoop,
    part: list[_ThreadJob],
    finished: ThreadFuture[list[Headers | BaseException]],
) -> None:
    """In the signing thread: hand the chunk's signatures out on the event loop (one wake-up)."""
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(_hand_out, part, finished)


def _hand_out(
    part: list[_ThreadJob], finished: ThreadFuture[list[Headers | BaseException]]
) -> None:
    error = finished.exception()
    results = finished.result() if error is None else [error] * len(part)
    for (_, _, _, future), result in zip(part, results, strict=True):
        if future.done():  # its send was cancelled meanwhile
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class SigningFailed(Exception):
    """A signing process could not make a signature (it says why)."""


@dataclass(eq=False)
class _Job:
    key: SigningKey
    body: bytes
    now: datetime
    timestamp: str
    future: asyncio.Future[Headers]
    #: Signing processes that ended while holding it.
    lost: int = 0


class ProcessSigner:
    """Signatures made in ``processes`` child processes (:mod:`shiptrack.webhooks.rsa_child`),
    started by :meth:`open` (the dispatcher's start) or else by the first signature asked for.

    Each turn of the loop's signatures go to the processes with the fewest waiting, in one write
    each; answers come back a few at a time. A process that ends (killed, out of memory) hands
    what it held to the others, and another is started in its place; if processes cannot be
    started, or end soon after their start before signing anything, signing goes on in threads
    (with a warning)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.threads = ThreadSigner()
        #: Processes cannot sign here: threads do, from now on.
        self.in_threads = False
        self._children: list[_Child] = []
        self._pending: list[_Job] = []
        self._starting: asyncio.Task[None] | None = None
        self._key_numbers: dict[str, int] = {}
        self._key_bytes: list[bytes] = []
        self._requests = 0

    def start(self, key: SigningKey, body: bytes, now: datetime) -> asyncio.Future[Headers]:
        """See :class:`RsaSigner`."""
        if self.in_threads:
            return self.threads.start(key, body, now)
        loop = asyncio.get_running_loop()
        job = _Job(key, body, now, shipengine_timestamp(now), loop.create_future())
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append(job)
        return job.future

    def open(self) -> None:
        """Start the signing processes in the background (a Python interpreter each, ~0.1 s)."""
        if not self.in_threads:
            self._flush()

    async def close(self) -> None:
        """Stop the signing processes, letting each finish what it holds (at most
        :data:`STOP_SECONDS`); signatures not made by then fail."""
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.wait([self._starting])
        children, self._children = self._children, []
        for child in children:
            child.stop()
        for child in children:
            await child.stopped(STOP_SECONDS)
        for job in self._pending:
            job.future.cancel()
        self._pending.clear()

    def pids(self) -> list[int]:
        """The running signing processes' ids."""
        return [child.pid for child in self._children if child.alive and child.pid is not None]

    def _flush(self) -> None:
        if self.in_threads:
            self._to_threads(self._pending)
            self._pending = []
            return
        live = [child for child in self._children if child.alive]
        self._children = live
        if len(live) < self.processes and self._starting is None:
            self._starting = asyncio.ensure_future(
                self._start_processes(self.processes - len(live))
            )
        if not live or not self._pending:
            return  # the processes being started take what waits
        jobs, self._pending = self._pending, []
        batches: dict[_Child, list[bytes]] = {}
        for job in jobs:
            if job.future.done():
                continue  # its send was cancelled meanwhile
            child = min(live, key=_load)
            frames = batches.setdefault(child, [])
            key_number = self._key_number(job.key)
            if key_number not in child.keys:
                key = self._key_bytes[key_number]
                frames.append(HEADER.pack(KEY, key_number, len(key)) + key)
                child.keys.add(key_number)
            self._requests = number = (self._requests + 1) & 0xFFFFFFFF
            message = shipengine_message(job.timestamp, job.body)
            frames.append(
                HEADER.pack(SIGN, number, KEY_NUMBER.size + len(message))
                + KEY_NUMBER.pack(key_number)
                + message
            )
            child.waiting[number] = job
        for child, frames in batches.items():
            child.send(b"".join(frames))

    def _key_number(self, key: SigningKey) -> int:
        number = self._key_numbers.get(key.kid)
        if number is None:
            number = self._key_numbers[key.kid] = len(self._key_bytes)
            self._key_bytes.append(
                key.private_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return number

    async def _start_processes(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            for _ in range(count):
                _, child = await loop.subprocess_exec(
                    functools.partial(_Child, self),
                    sys.executable,
                    "-m",
                    rsa_child.__name__,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=None,
                )
                self._children.append(child)
        except Exception as error:  # no processes here (a sandbox, a loop without them)
            self._sign_in_threads(f"signing processes cannot be started ({error})")
        finally:
            self._starting = None
        if self._pending:
            self._flush()

    def _ended(self, child: _Child, returncode: int | None) -> None:
        """A signing process ended without being asked to: what it held goes to the others (or
        fails, when it already went down with another one)."""
        held = list(child.waiting.values())
        child.waiting.clear()
        if child.stopping:
            for job in held:
                if not job.future.done():
                    job.future.set_exception(SigningFailed("the signing process was stopped"))
            return
        if not child.answered and time.monotonic() - child.started_at < BROKEN_WITHIN:
            self._sign_in_threads(
                f"a signing process ended (exit code {returncode}) before it signed anything"
            )
        else:
            log.warning(
                "a signing process ended (exit code %s) while signing %d deliveries; "
                "another is started in its place",
                returncode,
                len(held),
            )
        for job in held:
            job.lost += 1
            if job.future.done():
                continue
            if job.lost > 1:
                job.future.set_exception(
                    SigningFailed("two signing processes ended while making this signature")
                )
            else:
                self._pending.append(job)
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush)

    def _sign_in_threads(self, why: str) -> None:
        if not self.in_threads:
            log.warning("%s: signing in threads instead", why)
        self.in_threads = True

    def _to_threads(self, jobs: list[_Job]) -> None:
        for job in jobs:
            if not job.future.done():
                signed = self.threads.start(job.key, job.body, job.now)
                signed.add_done_callback(functools.partial(_pass_on, job.future))


def _load(child: _Child) -> int:
    return len(child.waiting)


def _pass_on(to: asyncio.Future[Headers], signed: asyncio.Future[Headers]) -> None:
    if to.done():
        return
    if signed.cancelled():
        to.cancel()
    elif (error := signed.exception()) is not None:
        to.set_exception(error)
    else:
        to.set_result(signed.result())


@dataclass(eq=False)
class _Child(asyncio.SubprocessProtocol):
    """One signing process, as its parent sees it."""

    signer: ProcessSigner
    #: Requests sent and not answered, by number.
    waiting: dict[int, _Job] = field(default_factory=dict)
    #: The key numbers it has been given.
    keys: set[int] = field(default_factory=set)
    alive: bool = True
    #: Asked to stop (its input is closed).
    stopping: bool = False
    #: It has signed at least once.
    answered: bool = False
    pid: int | None = None
    started_at: float = field(default_factory=time.monotonic)
    _transport: asyncio.SubprocessTransport | None = None
    _input: asyncio.WriteTransport | None = None
    _unread: bytearray = field(default_factory=bytearray)
    _gone: asyncio.Event = field(default_factory=asyncio.Event)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # cast, not isinstance: uvloop's transports do not derive from asyncio's classes.
        self._transport = cast(asyncio.SubprocessTransport, transport)
        self.pid = self._transport.get_pid()
        self._input = cast(asyncio.WriteTransport, self._transport.get_pipe_transport(0))

    def send(self, frames: bytes) -> None:
        """Write ``frames`` to the process's input."""
        assert self._input is not None
        self._input.write(frames)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        unread = self._unread
        unread += data
        offset = 0
        while len(unread) - offset >= HEADER.size:
            kind, number, length = HEADER.unpack_from(unread, offset)
            end = offset + HEADER.size + length
            if len(unread) < end:
                break
            payload = bytes(unread[offset + HEADER.size : end])
            offset = end
            job = self.waiting.pop(number, None)
            if job is None or job.future.done():
                continue
            if kind == SIGN:
                self.answered = True
                job.future.set_result(
                    signed_headers(job.key.kid, payload.decode("ascii"), job.timestamp)
                )
            elif kind == ERROR:
                job.future.set_exception(SigningFailed(payload.decode("utf-8", "replace")))
        del unread[:offset]

    def process_exited(self) -> None:
        self.alive = False

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        returncode = None
        if self._transport is not None:
            returncode = self._transport.get_returncode()
            self._transport.close()
        self._gone.set()
        self.signer._ended(self, returncode)

    def stop(self) -> None:
        """Close its input: it finishes what it holds and exits."""
        self.stopping = True
        if self._input is not None:
            self._input.close()

    async def stopped(self, seconds: float) -> None:
        """Wait at most ``seconds`` for it to exit, then kill it."""
        try:
            await asyncio.wait_for(self._gone.wait(), seconds)
        except TimeoutError:
            if self._transport is not None:
                with contextlib.suppress(ProcessLookupError):
                    self._transport.kill()
                await self._gone.wait()
