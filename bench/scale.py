"""Scenario 4: 10 k, 100 k and 1 M active subscriptions.

    python -m bench.scale --database postgresql --sizes 10000,100000,1000000

For each size: database bytes per subscription (each with 10 stored events, as a package in transit
has), the RSS of a ``shiptrack worker`` process after it claimed and checked batches across the
whole table, the median time of one claim of 200 due subscriptions, and for ``GET /metrics``: the
median time of reading the database gauges (what a scrape starts in the background every
``SHIPTRACK_METRICS_REFRESH`` seconds) and the median and slowest scrape of a ``shiptrack serve``
on that database (``--metrics-scrapes``, one every half second, so that background reads happen
during them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.common import (
    database,
    env_for,
    machine,
    median,
    run_async,
    shiptrack_server,
    sql_database,
)
from shiptrack.app import build
from shiptrack.domain.changes import event_identity
from shiptrack.domain.statuses import StatusCode
from shiptrack.domain.tracking import TrackEvent
from shiptrack.metrics.store_gauges import read_counts
from shiptrack.settings import Settings
from shiptrack.store import migrate
from shiptrack.store.histories import encode
from shiptrack.store.tables import subscriptions, tracking_histories

EVENTS_PER_SUBSCRIPTION = 10


def _events(number: int, start: datetime) -> list[TrackEvent]:
    return [
        TrackEvent(
            status_code=StatusCode.IT,
            status_detail_code="IN_TRANSIT",
            occurred_at=start + timedelta(hours=i),
            carrier_occurred_at=(start + timedelta(hours=i - 5)).replace(tzinfo=None).isoformat(),
            description="Departed from facility",
            city_locality="MEMPHIS",
            state_province="TN",
            postal_code="38118",
            country_code="US",
            event_code="DP",
            carrier_detail_code="DP",
            carrier_status_code="I",
            carrier_status_description="Departed from facility",
        )
        for i in range(EVENTS_PER_SUBSCRIPTION)
    ]


async def prepare(settings: Settings) -> tuple[int, int]:
    """A migrated database with one sandbox account; its id and its UPS connection's id."""
    services = build(settings)
    try:
        await migrate.upgrade(sql_database(services))
        account, _ = await services.accounts.create(name="scale", sandbox=True)
        async with sql_database(services).read() as conn:
            found = await conn.execute(
                sa.text(
                    "SELECT id FROM carrier_connections "
                    "WHERE account_id = :a AND carrier_code = 'ups'"
                ),
                {"a": account.id},
            )
            return account.id, int(found.scalar_one())
    finally:
        await services.close()


async def fill(settings: Settings, account_id: int, connection_id: int, size: int) -> None:
    """``size`` active in-transit subscriptions with 10 events each."""
    services = build(settings)
    try:
        now = datetime.now(UTC)
        start = now - timedelta(days=2)
        chunk = 5000
        for offset in range(0, size, chunk):
            count = min(chunk, size - offset)
            async with sql_database(services).write() as conn:
                result = await conn.execute(
                    subscriptions.insert().returning(subscriptions.c.id),
                    [
                        {
                            "account_id": account_id,
                            "connection_id": connection_id,
                            "carrier_code": "ups",
                            "tracking_number": f"1ZSCALE{offset + i:011d}",
                            "active": True,
                            "status_code": "IT",
                            "status_detail_code": "IN_TRANSIT",
                            "carrier_status_code": "I",
                            "carrier_detail_code": "DP",
                            "carrier_status_description": "Departed from facility",
                            "sequence": 3,
                            "next_check_at": now + timedelta(hours=3),
                            "last_checked_at": now,
                            "status_since": now,
                            "created_at": start,
                            "updated_at": now,
                        }
                        for i in range(count)
                    ],
                )
                ids = [row[0] for row in result]
                await conn.execute(
                    tracking_histories.insert(),
                    [
                        {
                            "subscription_id": sub_id,
                            "events": encode(
                                (event_identity(event), event) for event in _events(sub_id, start)
                            ),
                        }
                        for sub_id in ids
                    ],
                )
    finally:
        await services.close()


async def database_bytes(settings: Settings) -> int:
    services = build(settings)
    try:
        async with sql_database(services).read() as conn:
            if sql_database(services).is_sqlite:
                pages = (await conn.execute(sa.text("PRAGMA page_count"))).scalar_one()
                size = (await conn.execute(sa.text("PRAGMA page_size"))).scalar_one()
                return int(pages * size)
            return int(
                (
                    await conn.execute(sa.text("SELECT pg_database_size(current_database())"))
                ).scalar_one()
            )
    finally:
        await services.close()


async def claim_times(settings: Settings, repeats: int = 20) -> float:
    """Median seconds of one claim of 200 due subscriptions (made due, claimed, put back)."""
    services = build(settings)
    timings = []
    try:
        for _ in range(repeats):
            now = datetime.now(UTC)
            async with sql_database(services).write() as conn:
                await conn.execute(
                    sa.text(
                        "UPDATE subscriptions SET next_check_at = :due WHERE id IN "
                        "(SELECT id FROM subscriptions ORDER BY random() LIMIT 200)"
                    ),
                    {"due": now - timedelta(seconds=1)},
                )
            started = time.perf_counter()
            async with services.store.write() as tx:
                claimed = await tx.packages.claim_due(
                    now=now, lease_until=now + timedelta(hours=3), limit=200
                )
            timings.append(time.perf_counter() - started)
            assert len(claimed) >= 150, len(claimed)
        return median(timings)
    finally:
        await services.close()


async def gauge_read_times(settings: Settings, repeats: int = 5) -> float:
    """Median seconds of one read of the database gauges (the query behind a refresh)."""
    services = build(settings)
    timings = []
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            await read_counts(services.store)
            timings.append(time.perf_counter() - started)
        return median(timings)
    finally:
        await services.close()


def scrape_times(env: dict[str, str], scrapes: int) -> list[float]:
    """Seconds of each of ``scrapes`` scrapes of ``GET /metrics`` of a ``shiptrack serve`` (no
    workers), one every half second, once the first read of the database gauges is done."""
    with shiptrack_server({**env, "SHIPTRACK_RUN_WORKERS": "false"}) as server:
        deadline = time.monotonic() + 600
        while "shiptrack_tracked_packages{" not in httpx.get(server.url + "/metrics").text:
            if time.monotonic() > deadline:
                raise RuntimeError("the database gauges were never read")
            time.sleep(0.5)
        timings = []
        with httpx.Client(base_url=server.url) as client:
            for _ in range(scrapes):
                started = time.perf_counter()
                client.get("/metrics").raise_for_status()
                timings.append(time.perf_counter() - started)
                time.sleep(0.5)
        return timings


def worker_rss(env: dict[str, str], settings: Settings, seconds: float) -> int:
    """RSS (bytes) of a worker process after ``seconds`` of checking due packages."""

    async def make_due() -> None:
        services = build(settings)
        try:
            async with sql_database(services).write() as conn:
                await conn.execute(
                    sa.text("UPDATE subscriptions SET next_check_at = :due"),
                    {"due": datetime.now(UTC) - timedelta(seconds=1)},
                )
        finally:
            await services.close()

    run_async(make_due())
    popen = subprocess.Popen([sys.executable, "-m", "shiptrack", "worker"], env=env)
    try:
        time.sleep(seconds)
        status = Path(f"/proc/{popen.pid}/status").read_text()
        line = next(row for row in status.splitlines() if row.startswith("VmRSS"))
        return int(line.split()[1]) * 1024
    finally:
        popen.terminate()
        popen.wait(60)


def measure(kind: str, size: int, worker_seconds: float, scrapes: int = 20) -> dict[str, Any]:
    with database(kind) as url, tempfile.TemporaryDirectory() as home:
        env = env_for(url, Path(home), SHIPTRACK_POLL_BATCH_SIZE="500", SHIPTRACK_SANDBOX_SPEED="1")
        settings = Settings(
            _env_file=None, database_url=url, data_dir=Path(home), secret_key="bench-secret"
        )
        account_id, connection_id = run_async(prepare(settings))
        empty = run_async(database_bytes(settings))
        run_async(fill(settings, account_id, connection_id, size))
        total = run_async(database_bytes(settings))
        figures = {
            "subscriptions": size,
            "bytes_per_subscription": (total - empty) / size,
            "claim_200_ms": 1000 * run_async(claim_times(settings)),
        }
        if scrapes:
            timings = scrape_times(env, scrapes)
            figures["metrics_read_ms"] = 1000 * run_async(gauge_read_times(settings))
            figures["metrics_scrape_ms"] = 1000 * median(timings)
            figures["metrics_scrape_max_ms"] = 1000 * max(timings)
        figures["worker_rss_mib"] = worker_rss(env, settings, worker_seconds) / 2**20
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--worker-seconds", type=float, default=20)
    parser.add_argument(
        "--metrics-scrapes",
        type=int,
        default=20,
        help="scrapes of GET /metrics to time at each size (0: none)",
    )
    args = parser.parse_args()
    rows = [
        measure(args.database, int(s), args.worker_seconds, args.metrics_scrapes)
        for s in args.sizes.split(",")
    ]
    print(
        json.dumps(
            {"scenario": "scale", "database": args.database, "machine": machine(), "results": rows},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
