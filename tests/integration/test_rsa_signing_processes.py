"""ShipEngine's RSA signatures made in signing processes (``ProcessSigner``), with real child
processes, checked against the published JWK with ``cryptography`` alone.

Covers: signatures from the processes verify, under each of two keys (a rotation); a signing
process killed while it holds signatures is replaced and none is lost, and so is an idle one
killed long after its start; SIGTERM and SIGINT (sent
to a whole group) leave it signing until its parent stops it; stopping ends every
signing process, and a later signature starts them again; a killed parent takes its signing
processes with it (no orphans); where processes cannot start, or end before signing anything,
signing goes on in threads with a warning; ``0`` processes signs in threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shiptrack.webhooks import rsa_signers
from shiptrack.webhooks.rsa_signers import ProcessSigner, ThreadSigner, open_rsa_signer
from shiptrack.webhooks.signing import SigningKey, generate_signing_key, load_signing_key
from tests.e2e.webhook_support import verify_shipengine
from tests.support import process_ended, processes_end


def new_key() -> tuple[SigningKey, dict[str, dict[str, str]]]:
    kid, pem, jwk = generate_signing_key()
    return load_signing_key(kid, pem), {kid: jwk}


def body(number: int) -> bytes:
    return b'{"resource_url": "https://shiptrack.example/v1/tracking", "n": %d}' % number


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait at most ``seconds`` for ``condition``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within the time")


async def test_signatures_made_in_processes_verify_under_each_key() -> None:
    signer = ProcessSigner(2)
    old, old_jwks = new_key()
    new, new_jwks = new_key()
    now = datetime.now(UTC)
    try:
        signing = [signer.start(old if n % 2 else new, body(n), now) for n in range(200)]
        signed = await asyncio.gather(*signing)
        assert len(signer.pids()) == 2
    finally:
        await signer.close()

    jwks = old_jwks | new_jwks
    kids = [verify_shipengine(jwks, headers, body(n)) for n, headers in enumerate(signed)]
    assert kids == [old.kid if n % 2 else new.kid for n in range(200)]
    assert {headers["x-shipengine-timestamp"] for headers in signed} == {
        now.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    }


async def test_a_killed_signing_process_is_replaced_and_no_signature_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signer = ProcessSigner(2)
    key, jwks = new_key()
    now = datetime.now(UTC)
    try:
        await asyncio.gather(*(signer.start(key, body(n), now) for n in range(20)))  # both up
        victim = signer.pids()[0]
        signing = [signer.start(key, body(n), now) for n in range(2000)]
        await asyncio.sleep(0.05)  # the batch is written out: the victim holds part of it
        os.kill(victim, signal.SIGKILL)
        signed = await asyncio.gather(*signing)
        await signer.start(key, body(0), now)
        after = signer.pids()
    finally:
        await signer.close()

    for n, headers in enumerate(signed):
        verify_shipengine(jwks, headers, body(n))
    assert victim not in after and len(after) == 2
    [warning] = [r.getMessage() for r in caplog.records if "process ended" in r.getMessage()]
    held = int(re.search(r"while signing (\d+) deliveries", warning).group(1))  # type: ignore[union-attr]
    assert held > 0  # it was killed holding signatures, and they were made all the same
    assert not signer.in_threads


async def test_a_sigterm_to_the_group_leaves_signing_to_the_parent_s_processes() -> None:
    signer = ProcessSigner(2)
    key, jwks = new_key()
    now = datetime.now(UTC)
    try:
        # Both processes have signed (so both run past their start, where the signals are set
        # aside: an interpreter still starting would end, and be replaced).
        await asyncio.gather(*(signer.start(key, body(n), now) for n in range(20)))
        before = signer.pids()
        for pid in before:  # as systemd's stop or a terminal's Ctrl-C reach every process
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGINT)
        await asyncio.sleep(0.2)
        signed = await asyncio.gather(*(signer.start(key, body(n), now) for n in range(50)))
        assert signer.pids() == before
    finally:
        await signer.close()
    for n, headers in enumerate(signed):
        verify_shipengine(jwks, headers, body(n))
    assert all(process_ended(pid) for pid in before)


async def test_an_idle_signing_process_killed_long_after_its_start_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Started long ago (here: any time at all), so its end says nothing against processes.
    monkeypatch.setattr(rsa_signers, "BROKEN_WITHIN", 0.0)
    signer = ProcessSigner(2)
    key, jwks = new_key()
    try:
        signer.open()
        await until(lambda: len(signer.pids()) == 2)
        victim = signer.pids()[0]
        os.kill(victim, signal.SIGKILL)  # it never signed anything
        await until(lambda: victim not in signer.pids())
        headers = await signer.start(key, body(3), datetime.now(UTC))
        after = signer.pids()
    finally:
        await signer.close()
    verify_shipengine(jwks, headers, body(3))
    assert not signer.in_threads
    assert victim not in after and len(after) == 2


async def test_stopping_ends_the_signing_processes_and_signing_starts_them_again() -> None:
    signer = ProcessSigner(2)
    key, jwks = new_key()
    now = datetime.now(UTC)
    await signer.start(key, body(1), now)
    first = signer.pids()
    await signer.close()
    assert signer.pids() == []
    assert all(process_ended(pid) for pid in first)  # exited and reaped once close() returns

    try:
        headers = await signer.start(key, body(2), now)
        second = signer.pids()
    finally:
        await signer.close()
    verify_shipengine(jwks, headers, body(2))
    assert len(second) == 2 and not set(second) & set(first)


def test_a_killed_parent_takes_its_signing_processes_with_it(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from datetime import UTC, datetime
        from shiptrack.webhooks.rsa_signers import ProcessSigner
        from shiptrack.webhooks.signing import generate_signing_key, load_signing_key

        async def main():
            signer = ProcessSigner(2)
            kid, pem, _ = generate_signing_key()
            await signer.start(load_signing_key(kid, pem), b"{}", datetime.now(UTC))
            print(*signer.pids(), flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=tmp_path, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            line = parent.stdout.readline()
            children = [int(pid) for pid in line.split()]
            assert len(children) == 2 and not any(process_ended(pid) for pid in children)
            parent.kill()
            assert processes_end(children)
        finally:
            parent.kill()


@pytest.mark.parametrize(
    ("program", "why"),
    [
        ("/nonexistent/python", "cannot be started"),
        ("/bin/true", "before it signed anything"),
    ],
)
async def test_where_processes_cannot_sign_threads_do_with_a_warning(
    program: str, why: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", program)
    signer = ProcessSigner(2)
    key, jwks = new_key()
    now = datetime.now(UTC)
    caplog.set_level(logging.WARNING, "shiptrack.dispatcher")
    try:
        signed = await asyncio.gather(*(signer.start(key, body(n), now) for n in range(20)))
        later = await signer.start(key, body(99), now)
    finally:
        await signer.close()

    for n, headers in enumerate(signed):
        verify_shipengine(jwks, headers, body(n))
    verify_shipengine(jwks, later, body(99))
    assert signer.in_threads
    [warning] = [r.getMessage() for r in caplog.records if "signing in threads" in r.getMessage()]
    assert why in warning


async def test_no_signing_processes_means_signing_in_threads() -> None:
    signer = open_rsa_signer(0)
    key, jwks = new_key()
    assert isinstance(signer, ThreadSigner)
    headers = await signer.start(key, body(5), datetime.now(UTC))
    await signer.close()
    verify_shipengine(jwks, headers, body(5))
