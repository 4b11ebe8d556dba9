"""ShipEngine's RSA signatures made in signing processes (``engine.rsa_signer.RsaSigner``), with
real processes.

Covers: signatures made there verify against the published key; a signing process that dies is
replaced and the next signatures are made; where processes cannot start, threads sign (and the
log says so); the signing processes end with the process that
started them, stopped cleanly or killed outright (nothing is left behind to pile up under a
supervisor that restarts workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

import pytest

from shiptrack.engine import rsa_signer
from shiptrack.engine.rsa_signer import RsaSigner
from shiptrack.webhooks.signing import SigningKey, generate_signing_key, load_signing_key
from tests.e2e.webhook_support import verify_shipengine

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _key() -> tuple[SigningKey, dict[str, dict[str, object]]]:
    kid, pem, jwk = generate_signing_key()
    return load_signing_key(kid, pem), {kid: jwk}


def _children_of(pid: int) -> set[int]:
    """Every process below ``pid`` (the signing processes hang below a fork server)."""
    found: set[int] = set()
    wanted = {pid}
    while wanted:
        kids = _direct_children(wanted.pop())
        found |= kids
        wanted |= kids
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _wait_until_gone(pids: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = {pid for pid in pids if _alive(pid)}
        if not left:
            return left
        time.sleep(0.1)
    return {pid for pid in pids if _alive(pid)}


async def test_signatures_made_in_signing_processes_verify() -> None:
    key, published = _key()
    signer = RsaSigner(processes=2, chunk=4)
    try:
        bodies = [json.dumps({"n": n}).encode() for n in range(10)]
        made = await asyncio.gather(*(signer.headers(key, body, NOW) for body in bodies))
    finally:
        signer.close()

    for headers, body in zip(made, bodies, strict=True):
        assert headers["x-shipengine-timestamp"] == "2026-12-04T12:00:00Z"
        assert verify_shipengine(published, headers, body) == key.kid


async def test_a_signing_process_that_dies_is_replaced() -> None:
    key, published = _key()
    signer = RsaSigner(processes=1)
    try:
        await signer.headers(key, b"{}", NOW)
        [process] = _grandchildren(os.getpid())
        os.kill(process, signal.SIGKILL)
        assert _wait_until_gone({process}) == set()
        # The signature asked for next may fail (the pool learns then that its process died:
        # that delivery is retried) ...
        with contextlib.suppress(BrokenProcessPool):
            await signer.headers(key, b"{}", NOW)
        # ... and signatures are made again after that, by a new process.
        headers = await signer.headers(key, b'{"again": true}', NOW)
        assert _grandchildren(os.getpid()) - {process}
    finally:
        signer.close()

    assert verify_shipengine(published, headers, b'{"again": true}') == key.kid


def _grandchildren(pid: int) -> set[int]:
    """The live processes two levels below ``pid``: the signing processes, which the fork
    server (a child of ``pid``) starts."""
    return {
        grandchild
        for child in _direct_children(pid)
        for grandchild in _direct_children(child)
        if _alive(grandchild)
    }


def _direct_children(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return {int(k) for k in listing.read().split()}
    except OSError:
        return set()


SIGNING_PROGRAM = """
import asyncio, os, sys
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
import pytest

from shiptrack.engine import rsa_signer
from shiptrack.engine.rsa_signer import RsaSigner
from shiptrack.webhooks.signing import generate_signing_key, load_signing_key

async def main():
    kid, pem, _ = generate_signing_key()
    signer = RsaSigner(processes=2)
    await signer.headers(load_signing_key(kid, pem), b"{}", datetime.now(UTC))
    print("signed", flush=True)
    if sys.argv[1] == "close":
        signer.close()
        print("closed", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _run_signing_program(how: str) -> tuple[subprocess.Popen[str], set[int]]:
    program = subprocess.Popen(
        [sys.executable, "-c", SIGNING_PROGRAM, how], stdout=subprocess.PIPE, text=True
    )
    assert program.stdout is not None
    assert program.stdout.readline().strip() == "signed"
    return program, _children_of(program.pid)


def test_the_signing_processes_end_when_the_process_that_started_them_is_killed() -> None:
    program, below = _run_signing_program("keep")
    try:
        assert below and _grandchildren(program.pid)  # signing processes (started as needed)
        program.kill()
        program.wait()
        assert _wait_until_gone(below) == set()
    finally:
        _stop(program)


def test_closing_the_signer_ends_its_processes() -> None:
    program, _ = _run_signing_program("close")
    try:
        assert program.stdout is not None
        assert program.stdout.readline().strip() == "closed"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _grandchildren(program.pid):
            time.sleep(0.1)
        assert _grandchildren(program.pid) == set()
    finally:
        _stop(program)


def _stop(program: subprocess.Popen[str]) -> None:
    program.kill()
    program.wait()
    if program.stdout is not None:
        program.stdout.close()


async def test_where_processes_cannot_start_signatures_are_made_in_threads(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # as where POSIX semaphores are missing

    monkeypatch.setattr(rsa_signer, "ProcessPoolExecutor", no_processes)
    key, published = _key()
    signer = RsaSigner(processes=2)
    try:
        headers = await signer.headers(key, b'{"n": 1}', NOW)
    finally:
        signer.close()

    assert verify_shipengine(published, headers, b'{"n": 1}') == key.kid
    assert "signing webhooks in threads, not processes" in caplog.text
