"""Scenario 3: webhook deliveries per second per dispatcher process, and change → webhook latency.

    python -m bench.webhooks --database sqlite --deliveries 20000 --runs 3

Throughput: the outbox is filled with N deliveries, then one ``shiptrack worker`` process sends them
to a fast local receiver; the ceiling is a bare aiohttp fan-out of the same N requests. Latency:
rows are written to the outbox at a steady rate (as the engine writes them, with their
``detected_at``) while the worker runs; the receiver measures arrival minus detected_at; once
more with a second webhook whose endpoint hangs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.common import (
    database,
    env_for,
    helper_server,
    machine,
    median,
    percentile,
    run_async,
    sql_database,
)
from shiptrack.app import build
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import Subscription, TrackEvent, tracking_information
from shiptrack.settings import Settings
from shiptrack.store import migrate
from shiptrack.store.tables import deliveries
from shiptrack.webhooks.payload import track_payload


@contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    popen = subprocess.Popen(
        [sys.executable, "-m", "shiptrack", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield popen
    finally:
        popen.terminate()
        popen.wait(30)


def sample_payload(number: int) -> bytes:
    """A realistic notification body (a delivered package with six scans), about 4 KB."""
    now = datetime.now(UTC)
    subscription = Subscription(
        id=number,
        account_id=1,
        connection_id=1,
        carrier_code="ups",
        tracking_number=f"1ZBENCH{number:010d}",
        active=True,
        status_code=StatusCode.DE,
        status_detail_code="DELIVERED",
        carrier_status_code="D",
        carrier_detail_code="FS",
        carrier_status_description="DELIVERED",
    )
    events = [
        TrackEvent(
            status_code=StatusCode.IT,
            status_detail_code="IN_TRANSIT",
            occurred_at=now,
            description=f"Arrived at facility {i}",
            city_locality="MEMPHIS",
            state_province="TN",
            postal_code="38118",
            country_code="US",
            carrier_status_code="I",
            carrier_detail_code="AR",
        )
        for i in range(6)
    ]
    return track_payload(
        base_url="https://shiptrack.example",
        tracking_information=tracking_information(
            subscription,
            events,
            tracking_url="https://www.ups.com/track?tracknum=x",
            public_base_url="https://shiptrack.example",
        ),
        event_id=f"se-{number}",
        sequence=1,
        previous_status="IT",
        correction=False,
        detected_at=now,
    )


def delivery_rows(webhook_id: int, count: int, start: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "webhook_id": webhook_id,
            "status_change_id": None,
            "subscription_id": None,
            "sequence": 0,
            "message_id": f"msg_bench_{start + i}",
            "payload": sample_payload(start + i),
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for i in range(count)
    ]


async def setup(
    settings: Settings, urls: list[str], signatures: list[str] | None = None
) -> list[int]:
    """Migrate, and make an account with one webhook per URL (with ``signatures``, both when
    ``None``); the webhook ids."""
    services = build(settings)
    try:
        await migrate.upgrade(sql_database(services))
        account, _ = await services.accounts.create(name="bench", sandbox=True)
        ids = []
        for url in urls:
            webhook, _ = await services.webhooks.create(
                account,
                url=url,
                event="track",
                name=None,
                store_id=None,
                headers=[],
                signatures=signatures,
            )
            ids.append(webhook.id)
        await services.keyring.signing_key()
        return ids
    finally:
        await services.close()


async def fill(settings: Settings, webhook_id: int, count: int) -> None:
    services = build(settings)
    try:
        for start in range(0, count, 1000):
            async with sql_database(services).write() as conn:
                await conn.execute(
                    deliveries.insert(), delivery_rows(webhook_id, min(1000, count - start), start)
                )
    finally:
        await services.close()


async def inject(settings: Settings, webhook_ids: list[int], rate: int, seconds: float) -> int:
    """Write outbox rows at ``rate`` per second, round-robin over the webhooks; how many."""
    services = build(settings)
    tick = 0.02
    per_tick = max(1, round(rate * tick))
    number = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            rows = []
            for _ in range(per_tick):
                rows += delivery_rows(webhook_ids[number % len(webhook_ids)], 1, number)
                number += 1
            async with sql_database(services).write() as conn:
                await conn.execute(deliveries.insert(), rows)
            next_tick = started + (number / per_tick) * tick
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        return number
    finally:
        await services.close()


async def fan_out(url: str, count: int, concurrency: int) -> float:
    """The ceiling: a bare aiohttp client POSTing ``count`` bodies with ``concurrency``."""
    body = sample_payload(1)
    queue = list(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one_worker() -> None:
            while queue:
                queue.pop()
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    await response.read()

        started = time.monotonic()
        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
        return count / (time.monotonic() - started)


def wait_for(url: str, count: int, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = httpx.get(url + "/stats", timeout=10).json()
        if stats["count"] >= count:
            return dict(stats)
        time.sleep(0.2)
    raise RuntimeError(f"only {stats['count']} of {count} deliveries arrived")


def sign_bound(count: int, signatures: list[str] | None) -> float:
    """Signatures per second of a sign-only loop in one thread over ``count`` sample bodies (the
    bound a dispatcher is compared with, issue 18): each body signed as the webhook asks."""
    from shiptrack.webhooks.signing import (
        generate_signing_key,
        load_signing_key,
        new_webhook_secret,
        shipengine_headers,
        standard_headers,
    )

    kid, pem, _ = generate_signing_key()
    key = load_signing_key(kid, pem)
    secret = [new_webhook_secret()]
    bodies = [sample_payload(i) for i in range(min(count, 5000))]
    schemes = signatures or ["shipengine", "standard"]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        if "shipengine" in schemes:
            shipengine_headers(key, body, now)
        if "standard" in schemes:
            standard_headers(f"msg_{i}", body, now, secret)
    return len(bodies) / (time.perf_counter() - started)


def throughput_run(
    kind: str, count: int, concurrency: int, signatures: list[str] | None = None
) -> dict[str, float]:
    with (
        database(kind) as url,
        tempfile.TemporaryDirectory() as home,
        helper_server("bench.receiver") as hook,
    ):
        env = env_for(url, Path(home), **_dispatcher_env(concurrency))
        settings = Settings(_env_file=None, **_settings_kwargs(env))
        [webhook_id] = run_async(setup(settings, [hook + "/hook"], signatures))
        run_async(fill(settings, webhook_id, count))
        with worker(env):
            stats = wait_for(hook, count)
        ours = count / (stats["last"] - stats["first"])
        httpx.post(hook + "/reset")
        ceiling = run_async(fan_out(hook + "/hook", count, concurrency))
        return {
            "deliveries_per_s": ours,
            "ceiling_per_s": ceiling,
            "sign_bound_per_s": sign_bound(count, signatures),
            "duplicates": count - stats["unique"],
        }


def latency_run(kind: str, rate: int, seconds: float, hanging: bool) -> dict[str, float]:
    with (
        database(kind) as url,
        tempfile.TemporaryDirectory() as home,
        helper_server("bench.receiver") as hook,
    ):
        env = env_for(url, Path(home), **_dispatcher_env(64))
        settings = Settings(_env_file=None, **_settings_kwargs(env))
        urls = [hook + "/hook?latency=1"] + ([hook + "/hang"] if hanging else [])
        webhook_ids = run_async(setup(settings, urls))
        with worker(env):
            time.sleep(2)
            written = run_async(inject(settings, webhook_ids, rate, seconds))
            stats = wait_for(hook, written // len(webhook_ids), timeout=120)
        latencies = stats["latencies"]
        return {
            "achieved_rate": written / seconds,
            "p50_ms": 1000 * percentile(latencies, 50),
            "p99_ms": 1000 * percentile(latencies, 99),
            "healthy_deliveries": len(latencies),
        }


#: ``--signing-processes``: ``SHIPTRACK_WEBHOOK_SIGNING_PROCESSES`` of the worker (its default when
#: ``None``; 0 signs in threads).
SIGNING_PROCESSES: int | None = None


def _dispatcher_env(concurrency: int) -> dict[str, str]:
    signing = (
        {}
        if SIGNING_PROCESSES is None
        else {"SHIPTRACK_WEBHOOK_SIGNING_PROCESSES": str(SIGNING_PROCESSES)}
    )
    return {
        **signing,
        "SHIPTRACK_WEBHOOK_ALLOW_PRIVATE": "true",
        "SHIPTRACK_WEBHOOK_CONCURRENCY": "512",
        "SHIPTRACK_WEBHOOK_ENDPOINT_CONCURRENCY": str(concurrency),
        "SHIPTRACK_POLL_BATCH_SIZE": "500",
        "SHIPTRACK_POLL_INTERVAL": "0.05",
        "SHIPTRACK_WEBHOOK_TIMEOUT": "5",
    }


def _settings_kwargs(env: dict[str, str]) -> dict[str, Any]:
    # Any: the values are the environment's strings, which Settings parses as it would there.
    return {
        key.removeprefix("SHIPTRACK_").lower(): value
        for key, value in env.items()
        if key.startswith("SHIPTRACK_")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--signatures",
        choices=["both", "standard", "shipengine"],
        default="both",
        help="the webhook's signatures (extension); standard skips the RSA signature",
    )
    parser.add_argument("--throughput-only", action="store_true", help="skip the latency scenarios")
    parser.add_argument(
        "--signing-processes",
        type=int,
        default=None,
        help="SHIPTRACK_WEBHOOK_SIGNING_PROCESSES of the worker (default: its own; 0: threads)",
    )
    args = parser.parse_args()
    global SIGNING_PROCESSES
    SIGNING_PROCESSES = args.signing_processes
    signatures = None if args.signatures == "both" else [args.signatures]
    throughput = [
        throughput_run(args.database, args.deliveries, args.concurrency, signatures)
        for _ in range(args.runs)
    ]
    latency, hanging = [], []
    if not args.throughput_only:
        latency = [
            latency_run(args.database, args.rate, args.seconds, False) for _ in range(args.runs)
        ]
        hanging = [
            latency_run(args.database, args.rate, args.seconds, True) for _ in range(args.runs)
        ]

    def med(rows: list[dict[str, float]]) -> dict[str, float]:
        return {k: median([r[k] for r in rows]) for k in rows[0]} if rows else {}

    result = {
        "scenario": "webhooks",
        "database": args.database,
        "machine": machine(),
        "settings": vars(args),
        "throughput": med(throughput),
        "latency_at_rate": med(latency),
        "latency_with_hanging_endpoint": med(hanging),
    }
    result["throughput"]["ratio"] = (
        result["throughput"]["deliveries_per_s"] / result["throughput"]["ceiling_per_s"]
    )
    result["throughput"]["of_sign_bound"] = (
        result["throughput"]["deliveries_per_s"] / result["throughput"]["sign_bound_per_s"]
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
