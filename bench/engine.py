"""Scenario 2: package refreshes per second per worker process, against a fake carrier over real
HTTP (USPS v3r2 with 35 numbers per call, FedEx with 30), one refresh in ten changing a status.

Every package is checked once before the measured pass (not timed, no webhook yet), so the measured
refreshes meet what production meets: packages with their stored scans, most answers bringing
nothing new. The account's ``track`` webhook points at a local receiver, so the worker also sends
every notification, as it does in production.

    python -m bench.engine --database sqlite --carrier usps --packages 20000 --runs 3

Also measures, on the same database, the ceilings the issue names: single-row upserts and
``SKIP LOCKED`` claims of 100 rows straight through the driver.
"""

from __future__ import annotations

import argparse
import asyncio
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
    helper_server,
    machine,
    median,
    percentile,
    read_row,
    run_async,
    sql_database,
)
from shiptrack.app import build
from shiptrack.domain.accounts import Account
from shiptrack.services.connections import ConnectRequest
from shiptrack.settings import Settings
from shiptrack.store import histories, migrate
from shiptrack.store.tables import status_changes, subscriptions, tracking_histories


async def prepare(settings: Settings, carrier: str, fake_url: str, packages: int) -> Account:
    """A production account with one connection at the fake and ``packages`` due packages, never
    checked yet."""
    services = build(settings)
    try:
        await migrate.upgrade(sql_database(services))
        account, _ = await services.accounts.create(name="engine-bench", sandbox=False)
        connection_id = await services.connections.connect(
            account,
            carrier,
            ConnectRequest(
                client_id="bench",
                client_secret="bench",
                base_url=fake_url,
                requests_per_minute=1_000_000,
            ),
        )
        now = datetime.now(UTC)
        prefix = {"usps": "9400100000", "fedex": "77"}[carrier]
        for offset in range(0, packages, 5000):
            async with sql_database(services).write() as conn:
                await conn.execute(
                    subscriptions.insert(),
                    [
                        {
                            "account_id": account.id,
                            "connection_id": connection_id,
                            "carrier_code": carrier,
                            "tracking_number": f"{prefix}{n:012d}",
                            "active": True,
                            "status_code": "UN",
                            "sequence": 0,
                            "announce": True,
                            "next_check_at": now,
                            "created_at": now - timedelta(days=1),
                            "updated_at": now,
                        }
                        for n in range(offset, min(packages, offset + 5000))
                    ],
                )
        return account
    finally:
        await services.close()


async def subscribe_and_make_due(settings: Settings, account: Account, hook_url: str) -> None:
    """Add the account's ``track`` webhook and make every active package due now."""
    services = build(settings)
    try:
        await services.webhooks.create(
            account, url=hook_url, event="track", name=None, store_id=None, headers=[]
        )
        async with sql_database(services).write() as conn:
            await conn.execute(
                subscriptions.update()
                .where(subscriptions.c.active)
                .values(next_check_at=datetime.now(UTC))
            )
    finally:
        await services.close()


async def checked_since(settings: Settings, since: datetime) -> int:
    """Packages checked since ``since``."""
    query = sa.select(sa.func.count()).where(subscriptions.c.last_checked_at >= since)
    return int((await read_row(settings, query))[0])


async def checking_span(settings: Settings, since: datetime) -> float:
    """Seconds from the first to the last check recorded since ``since``."""
    row = await read_row(
        settings,
        sa.select(
            sa.func.min(subscriptions.c.last_checked_at),
            sa.func.max(subscriptions.c.last_checked_at),
        ).where(subscriptions.c.last_checked_at >= since),
    )
    first, last = row[0], row[1]
    return float((last - first).total_seconds()) if first and last else 0.0


async def status_changes_since(settings: Settings, since: datetime) -> int:
    """Status changes the engine recorded since ``since``."""
    query = sa.select(sa.func.count()).where(status_changes.c.detected_at >= since)
    return int((await read_row(settings, query))[0])


async def count_duplicates(settings: Settings, queries: dict[str, str]) -> dict[str, int]:
    """Rows each query counts as duplicates, and scans stored twice in one package's history."""
    services = build(settings)
    try:
        async with sql_database(services).read() as conn:
            found = {
                name: int((await conn.execute(sa.text(query))).scalar_one())
                for name, query in queries.items()
            }
            twice = 0
            for (stored,) in await conn.execute(sa.select(tracking_histories.c.events)):
                identities = [identity for identity, _ in histories.decode(bytes(stored))]
                twice += len(identities) - len(set(identities))
            found["scans_stored_twice"] = twice
            return found
    finally:
        await services.close()


def check_everything(
    env: dict[str, str],
    settings: Settings,
    packages: int,
    workers: int,
    *,
    receiver_url: str | None = None,
) -> tuple[datetime, int, float]:
    """Run ``workers`` worker processes until every package was checked once more: when that pass
    started, how many were checked and how long checking took (from the first check recorded to
    the last, so the processes' start-up is not counted). With ``receiver_url``, the workers then
    run on until the receiver holds a webhook for every status change of the pass (at most 60 s)."""
    started = datetime.now(UTC)
    processes = [
        subprocess.Popen([sys.executable, "-m", "shiptrack", "worker"], env=env)
        for _ in range(workers)
    ]
    try:
        begin = time.monotonic()
        done = 0
        while done < packages and time.monotonic() - begin < 600:
            time.sleep(0.25)
            if any(process.poll() is not None for process in processes):
                raise RuntimeError("a worker process ended during the benchmark")
            done = run_async(checked_since(settings, started))
        elapsed = run_async(checking_span(settings, started))
        if receiver_url:
            expected = run_async(status_changes_since(settings, started))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if httpx.get(receiver_url + "/stats").json()["count"] >= expected:
                    break
                time.sleep(0.25)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)
    return started, done, elapsed


def run_once(
    kind: str,
    carrier: str,
    packages: int,
    workers: int,
    *,
    duplicates: dict[str, str] | None = None,
) -> dict[str, Any]:
    with (
        database(kind) as url,
        tempfile.TemporaryDirectory() as home,
        helper_server("bench.fake_carriers") as fake,
        helper_server("bench.receiver") as hooks,
    ):
        env = env_for(
            url,
            Path(home),
            SHIPTRACK_POLL_BATCH_SIZE="500",
            SHIPTRACK_POLL_INTERVAL="0.05",
            SHIPTRACK_POLL_LEASE="600",
            SHIPTRACK_WEBHOOK_ALLOW_PRIVATE="true",
        )
        settings = Settings(
            _env_file=None,
            database_url=url,
            data_dir=Path(home),
            secret_key="bench-secret",
            webhook_allow_private=True,
        )
        account = run_async(prepare(settings, carrier, fake, packages))
        check_everything(env, settings, packages, 1)  # the first check of every package
        run_async(subscribe_and_make_due(settings, account, hooks + "/hook?latency=1"))
        polls_before = httpx.get(fake + "/stats").json()
        started, done, elapsed = check_everything(
            env, settings, packages, workers, receiver_url=hooks
        )
        polls_after = httpx.get(fake + "/stats").json()
        received = httpx.get(hooks + "/stats").json()
        changes = run_async(status_changes_since(settings, started))
        result: dict[str, Any] = {
            "refreshes_per_s": (done - 1) / elapsed,
            "per_worker": (done - 1) / elapsed / workers,
            "changed_share": (polls_after["changes"] - polls_before["changes"])
            / max(1, polls_after["polls"] - polls_before["polls"]),
            "status_changes_per_refresh": changes / max(1, done),
            "webhooks_received": received["count"] / max(1, changes),
            "change_to_webhook_p50_ms": percentile(received["latencies"], 50) * 1000,
            "change_to_webhook_p99_ms": percentile(received["latencies"], 99) * 1000,
        }
        if duplicates:
            found = run_async(count_duplicates(settings, duplicates))
            found["webhooks_received_twice"] = received["count"] - received["unique"]
            result["duplicates"] = found
        return result


async def driver_ceilings(url: str, seconds: float = 5.0) -> dict[str, float]:
    """Single-row upserts/s (8 concurrent connections) and SKIP LOCKED claims of 100 rows/s,
    straight through the driver (asyncpg, or aiosqlite for SQLite)."""
    if url.startswith("postgresql"):
        import asyncpg

        dsn = url.replace("postgresql+asyncpg", "postgresql")
        pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
        await pool.execute(
            "CREATE TABLE ceiling (id bigserial primary key, k text unique, due timestamptz, v int)"
        )
        counter = iter(range(10**9))

        async def upserter(deadline: float) -> int:
            n = 0
            async with pool.acquire() as conn:
                while time.monotonic() < deadline:
                    await conn.execute(
                        "INSERT INTO ceiling (k, due, v) VALUES ($1, now(), 0) "
                        "ON CONFLICT (k) DO UPDATE SET v = ceiling.v + 1",
                        f"k{next(counter)}",
                    )
                    n += 1
            return n

        deadline = time.monotonic() + seconds
        upserts = sum(await asyncio.gather(*(upserter(deadline) for _ in range(8)))) / seconds
        await pool.execute("CREATE INDEX ceiling_due ON ceiling (due)")

        async def claimer(deadline: float) -> int:
            n = 0
            async with pool.acquire() as conn:
                while time.monotonic() < deadline:
                    rows = await conn.fetch(
                        "UPDATE ceiling SET due = now() - interval '1 second' WHERE id IN "
                        "(SELECT id FROM ceiling WHERE due <= now() ORDER BY due LIMIT 100 "
                        "FOR UPDATE SKIP LOCKED) RETURNING id"
                    )
                    n += len(rows)
            return n

        deadline = time.monotonic() + seconds
        claims = sum(await asyncio.gather(*(claimer(deadline) for _ in range(4)))) / seconds
        await pool.close()
        return {"upserts_per_s": upserts, "claimed_rows_per_s": claims}
    import aiosqlite

    path = url.split("///", 1)[1]
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(
            "CREATE TABLE ceiling (id integer primary key, k text unique, due text, v int)"
        )
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            await conn.execute(
                "INSERT INTO ceiling (k, due, v) VALUES (?, datetime('now'), 0) "
                "ON CONFLICT (k) DO UPDATE SET v = v + 1",
                (f"k{n}",),
            )
            await conn.commit()
            n += 1
        upserts = n / seconds
        await conn.execute("CREATE INDEX ceiling_due ON ceiling (due)")
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            cursor = await conn.execute(
                "UPDATE ceiling SET due = datetime('now', '-1 second') WHERE id IN "
                "(SELECT id FROM ceiling WHERE due <= datetime('now') ORDER BY due LIMIT 100) "
                "RETURNING id"
            )
            n += len(list(await cursor.fetchall()))
            await conn.commit()
        return {"upserts_per_s": upserts, "claimed_rows_per_s": n / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--carrier", choices=["usps", "fedex"], default="usps")
    parser.add_argument("--packages", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = [
        run_once(args.database, args.carrier, args.packages, args.workers) for _ in range(args.runs)
    ]
    with database(args.database) as url:
        ceilings = run_async(driver_ceilings(url))
    result: dict[str, Any] = {
        "scenario": "engine",
        "database": args.database,
        "carrier": args.carrier,
        "workers": args.workers,
        "machine": machine(),
        "settings": vars(args),
        "results": {k: median([r[k] for r in runs]) for k in runs[0]},
        "driver_ceilings": ceilings,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
