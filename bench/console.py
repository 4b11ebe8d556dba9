"""The console's Packages pages with a big account: p50/p99 of each page.

    python -m bench.console --database postgresql --packages 100000 --other-packages 900000
    python -m bench.console --database sqlite --packages 2000 --seconds 3   (a quick check)

Seeds one sandbox account with ``--packages`` packages by bulk insert (as ``bench.scale`` does):
mostly in transit on UPS, a share delivered and stopped, some exceptions, some FedEx, about 1 %
stale (active, due an hour ago), and for the newest ``--with-history`` of them 10 stored events,
3 status changes and a delivery of each to a ``track`` webhook. ``--other-packages`` go to a
second account (the database's size, not the account's). PostgreSQL is ``ANALYZE``d after the
load, as autovacuum would; SQLite is left as ``shiptrack`` leaves it.

Then a ``shiptrack serve`` (no workers) is signed in to through the console's form, and each page
is loaded for ``--seconds`` by ``--connections`` concurrent clients (wrk when installed, else an
asyncio client), in this order: the list's first page, a later page (through the cursor of the
fifth "Older" link), each filter, the search (a prefix of many numbers, and one whole number),
and a package page with its events. A table of p50/p99 (ms) and requests/s is printed, then the
same as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import secrets
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.common import (
    BENCH_DIR,
    database,
    env_for,
    machine,
    percentile,
    run_async,
    shiptrack_server,
    sql_database,
    wrk,
)
from bench.scale import _events
from shiptrack.app import build
from shiptrack.domain.changes import event_identity
from shiptrack.settings import Settings
from shiptrack.store import migrate
from shiptrack.store.histories import encode
from shiptrack.store.tables import (
    deliveries,
    status_changes,
    subscriptions,
    tracking_histories,
    webhooks,
)

PREFIX = "1ZCONSOLE"
JSON = "application/json"
CHUNK = 5000


async def prepare(settings: Settings) -> tuple[str, int, dict[str, int], int, dict[str, int]]:
    """A migrated database with the measured account and another; the measured account's key,
    id and connection ids by carrier, and the other's id and connection ids."""
    services = build(settings)
    try:
        await migrate.upgrade(sql_database(services))
        account, key = await services.accounts.create(name="console", sandbox=True)
        other, _ = await services.accounts.create(name="neighbour", sandbox=True)
        async with services.store.read() as tx:
            mine = {c.carrier_code: c.id for c in await tx.connections.of_account(account.id)}
            theirs = {c.carrier_code: c.id for c in await tx.connections.of_account(other.id)}
        return key.key, account.id, mine, other.id, theirs
    finally:
        await services.close()


def _package_row(
    n: int, account_id: int, connections: dict[str, int], prefix: str, now: datetime
) -> dict[str, Any]:
    carrier = "fedex" if n % 10 == 3 else "ups"
    stopped = n % 5 == 0
    status = "DE" if stopped else ("EX" if n % 50 == 7 else "IT")
    stale = not stopped and n % 100 == 11
    return {
        "account_id": account_id,
        "connection_id": connections[carrier],
        "carrier_code": carrier,
        "tracking_number": f"{prefix}{n:010d}",
        "public_token": secrets.token_hex(16),
        "active": not stopped,
        "status_code": status,
        "status_detail_code": "DELIVERED" if stopped else "IN_TRANSIT",
        "carrier_status_code": "D" if stopped else "I",
        "carrier_status_description": "Delivered" if stopped else "Departed from facility",
        "sequence": 3,
        "next_check_at": None
        if stopped
        else (now - timedelta(hours=1) if stale else now + timedelta(hours=3)),
        "last_checked_at": now - timedelta(minutes=n % 180),
        "last_error": "carrier timed out" if n % 97 == 5 else None,
        "stop_reason": "delivered" if stopped else None,
        "stopped_at": now if stopped else None,
        "status_since": now,
        "created_at": now - timedelta(days=2),
        "updated_at": now,
    }


async def fill(
    settings: Settings,
    account_id: int,
    connections: dict[str, int],
    size: int,
    *,
    prefix: str,
    with_history: int,
) -> list[int]:
    """``size`` packages of the account; the ids of those given a history."""
    services = build(settings)
    now = datetime.now(UTC)
    start = now - timedelta(days=2)
    historic: list[int] = []
    try:
        async with sql_database(services).write() as conn:
            hook = await conn.execute(
                webhooks.insert().returning(webhooks.c.id),
                {
                    "account_id": account_id,
                    "url": "https://receiver.invalid/track",
                    "event": "track",
                    "headers": [],
                    "created_at": now,
                    "updated_at": now,
                },
            )
            webhook_id = int(hook.scalar_one())
        for offset in range(0, size, CHUNK):
            count = min(CHUNK, size - offset)
            rows = [
                _package_row(offset + i, account_id, connections, prefix, now) for i in range(count)
            ]
            async with sql_database(services).write() as conn:
                result = await conn.execute(
                    subscriptions.insert().returning(subscriptions.c.id), rows
                )
                ids = [row[0] for row in result]
                # The newest packages get a history: they are the ones the list shows first.
                chosen = [i for n, i in enumerate(ids) if offset + n >= size - with_history]
                historic += chosen
                if chosen:
                    await _histories(conn, chosen, webhook_id, start)
        return historic
    finally:
        await services.close()


async def _histories(conn: Any, ids: list[int], webhook_id: int, start: datetime) -> None:
    await conn.execute(
        tracking_histories.insert(),
        [
            {
                "subscription_id": sub_id,
                "events": encode((event_identity(e), e) for e in _events(sub_id, start)),
            }
            for sub_id in ids
        ],
    )
    changes = await conn.execute(
        status_changes.insert().returning(
            status_changes.c.id, status_changes.c.subscription_id, status_changes.c.sequence
        ),
        [
            {
                "subscription_id": sub_id,
                "sequence": sequence,
                "previous_status": previous,
                "status_code": status,
                "status_detail_code": None,
                "occurred_at": start + timedelta(hours=sequence),
                "detected_at": start + timedelta(hours=sequence),
                "correction": False,
            }
            for sub_id in ids
            for sequence, previous, status in ((1, "UN", "NY"), (2, "NY", "AC"), (3, "AC", "IT"))
        ],
    )
    await conn.execute(
        deliveries.insert(),
        [
            {
                "webhook_id": webhook_id,
                "status_change_id": change.id,
                "subscription_id": change.subscription_id,
                "sequence": change.sequence,
                "message_id": f"msg_{change.id}",
                "payload": b"{}",
                "state": "delivered",
                "attempts": 1,
                "created_at": start,
                "delivered_at": start,
            }
            for change in changes
        ],
    )


async def analyze(settings: Settings) -> None:
    """Planner statistics, as PostgreSQL's autovacuum gathers them after a big load."""
    services = build(settings)
    try:
        if not sql_database(services).is_sqlite:
            async with sql_database(services).write() as conn:
                await conn.execute(sa.text("ANALYZE"))
    finally:
        await services.close()


def sign_in(url: str, key: str) -> str:
    """The console's session cookie, signed in through the form."""
    with httpx.Client(base_url=url) as client:
        form = client.get("/console/sign-in").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        answer = client.post(
            "/console/sign-in", data={"csrf_token": token.group(1), "api_key": key}
        )
        assert answer.status_code == 303, answer.text
        return f"shiptrack_console={client.cookies['shiptrack_console']}"


def later_page(url: str, cookie: str, hops: int = 5) -> str:
    """The path of the list's page ``hops`` "Older" links away from the first."""
    path = "/console/packages"
    with httpx.Client(base_url=url, headers={"Cookie": cookie}) as client:
        for _ in range(hops):
            found = re.search(r'<a rel="next" href="([^"]+)"', client.get(path).text)
            if found is None:
                break
            path = html.unescape(found.group(1))
    return path


async def public_token_of(settings: Settings, subscription_id: int) -> str:
    """The package's public page token (``/t/{token}``)."""
    services = build(settings)
    try:
        async with sql_database(services).write() as conn:
            token = await conn.scalar(
                sa.select(subscriptions.c.public_token).where(subscriptions.c.id == subscription_id)
            )
            return str(token)
    finally:
        await services.close()


def pages(
    url: str, cookie: str, historic: list[int], prefix: str, public_token: str
) -> list[tuple[str, ...]]:
    """The pages to measure: (name, path) or (name, path, Accept header)."""
    whole = f"{prefix}{len(historic) // 2:010d}"
    return [
        ("list, first page", "/console/packages"),
        ("list, 5th page (cursor)", later_page(url, cookie)),
        ("status = IT", "/console/packages?status=IT"),
        ("status = EX (2 %)", "/console/packages?status=EX"),
        ("carrier = fedex (10 %)", "/console/packages?carrier=fedex"),
        ("active = stopped (20 %)", "/console/packages?active=stopped"),
        ("stale (1 %)", "/console/packages?stale=1"),
        ("search, prefix of all", f"/console/packages?q={prefix}"),
        ("search, whole number", f"/console/packages?q={whole}"),
        ("package page", f"/console/packages/se-{historic[-1]}"),
        ("public page /t/", f"/t/{public_token}"),
        ("public page, JSON", f"/t/{public_token}", JSON),
    ]


def measure_python(
    url: str, path: str, headers: dict[str, str], connections: int, seconds: float
) -> dict[str, float]:
    """Like wrk, from this process: ``connections`` clients in a loop for ``seconds``."""

    async def run() -> dict[str, float]:
        timings: list[float] = []
        errors = 0
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as client:

            async def loop() -> None:
                nonlocal errors
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    answer = await client.get(path)
                    timings.append(time.perf_counter() - started)
                    errors += answer.status_code != 200

            await asyncio.gather(*(loop() for _ in range(connections)))
        timings.sort()
        return {
            "rps": len(timings) / seconds,
            "p50_ms": 1000 * percentile(timings, 50),
            "p99_ms": 1000 * percentile(timings, 99),
            "errors": errors,
            "requests": len(timings),
        }

    return run_async(run())


def measure_page(
    url: str, path: str, cookie: str, accept: str, *, connections: int, seconds: int, tool: str
) -> dict[str, float]:
    """p50/p99 of one page under load."""
    headers = {"Cookie": cookie, **({"Accept": accept} if accept else {})}
    with httpx.Client(base_url=url, headers=headers) as client:
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    if tool == "wrk":
        return wrk(
            url,
            script=BENCH_DIR / "console_page.lua",
            connections=connections,
            seconds=seconds,
            env={"BENCH_PATH": path, "BENCH_COOKIE": cookie, "BENCH_ACCEPT": accept},
        )
    return measure_python(url, path, headers, connections, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--other-packages", type=int, default=0)
    parser.add_argument("--with-history", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--runs", type=int, default=3, help="rounds over all pages; medians are reported"
    )
    args = parser.parse_args()
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    results: list[dict[str, Any]] = []
    with database(args.database) as url, tempfile.TemporaryDirectory() as home:
        env = env_for(url, Path(home), SHIPTRACK_RUN_WORKERS="false")
        settings = Settings(
            _env_file=None, database_url=url, data_dir=Path(home), secret_key="bench-secret"
        )
        key, account_id, mine, other_id, theirs = run_async(prepare(settings))
        started = time.perf_counter()
        historic = run_async(
            fill(
                settings,
                account_id,
                mine,
                args.packages,
                prefix=PREFIX,
                with_history=args.with_history,
            )
        )
        if args.other_packages:
            run_async(
                fill(
                    settings,
                    other_id,
                    theirs,
                    args.other_packages,
                    prefix="1ZNEIGHBOUR",
                    with_history=0,
                )
            )
        run_async(analyze(settings))
        seeded = time.perf_counter() - started
        token = run_async(public_token_of(settings, historic[-1]))
        env["SHIPTRACK_PUBLIC_PAGE_PER_MINUTE"] = str(10**9)
        with shiptrack_server(env) as server:
            cookie = sign_in(server.url, key)
            measured = pages(server.url, cookie, historic, PREFIX, token)
            rounds: dict[str, list[dict[str, float]]] = {entry[0]: [] for entry in measured}
            # Rounds over all pages rather than one page N times: a slow minute of the
            # machine then spreads over every page instead of landing on one.
            for _ in range(args.runs):
                for name, path, *accept in measured:
                    rounds[name].append(
                        measure_page(
                            server.url,
                            path,
                            cookie,
                            accept[0] if accept else "",
                            connections=args.connections,
                            seconds=args.seconds,
                            tool=tool,
                        )
                    )
            for name, path, *_ in measured:
                runs = rounds[name]
                results.append(
                    {
                        "page": name,
                        "path": path,
                        **{
                            figure: statistics.median(run[figure] for run in runs)
                            for figure in ("rps", "p50_ms", "p99_ms")
                        },
                        "errors": sum(run["errors"] for run in runs),
                        "runs": runs,
                    }
                )
    print(f"{'page':<28} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
    for row in results:
        print(
            f"{row['page']:<28} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['rps']:>8.0f} {int(row['errors']):>7}"
        )
    print(
        json.dumps(
            {
                "scenario": "console",
                "database": args.database,
                "packages": args.packages,
                "other_packages": args.other_packages,
                "seed_seconds": round(seeded, 1),
                "tool": tool,
                "connections": args.connections,
                "runs": args.runs,
                "seconds": args.seconds,
                "machine": machine(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
