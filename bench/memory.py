"""Memory per ``GET /v1/tracking`` (issue 18): what one answer for a package with many scans
allocates at its peak, against the answer's size.

python -m bench.memory --scans 200

The app runs in this process (on SQLite, in a temporary directory) and is called through ASGI, so
``tracemalloc`` sees every allocation of the request: the edge, the route, the store's read on its
reader thread, the rendering. Three GETs in a row, with kept answers off (every GET reads the
database) and then on:

- ``first``: the history was just written, nothing of it is rendered yet (decode and render);
- ``again``: the history is unchanged (its events' JSON is reused);
- ``kept``: with ``SHIPTRACK_CACHE_SECONDS`` on, the answer itself is kept.

Allocation counts are deterministic for the same code and inputs: one run is enough.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import machine

Call = Callable[[str, str, bytes, bytes], Awaitable[tuple[int, bytes]]]


def asgi_caller(app: Any, key: str) -> Call:
    """Call ``app`` over ASGI as uvicorn would, with ``key``; the status and the body."""

    async def call(
        method: str, path: str, query: bytes = b"", body: bytes = b""
    ) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"api-key", key.encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
            "state": {},
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    return call


def history(scans: int) -> bytes:
    """A stored history of ``scans`` realistic scans (UPS-like texts, an hour apart)."""
    from shiptrack.domain.tracking import TrackEvent
    from shiptrack.store import histories

    start = datetime(2026, 3, 1, tzinfo=UTC)
    events = []
    for i in range(scans):
        moment = start + timedelta(hours=i)
        event = TrackEvent(
            "IT",
            occurred_at=moment,
            carrier_occurred_at=moment.replace(tzinfo=None).isoformat(),
            description=f"Departed from facility {i}",
            city_locality="LOUISVILLE",
            state_province="KY",
            postal_code="40201",
            country_code="US",
            event_code="DP",
            carrier_status_code="I",
            carrier_status_description="In transit",
        )
        events.append((i.to_bytes(8, "big"), event))
    return histories.encode(events)


async def measure_app(
    home: Path, key: str, scans: int, cached: bool
) -> dict[str, dict[str, float]]:
    from shiptrack.app import create_app

    app = create_app()
    call = asgi_caller(app, key)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await outbox.get()
    number = "M000000001" if not cached else "M000000002"
    webhook = b'{"event":"track","url":"https://receiver.invalid/hook"}'
    await call("POST", "/v1/environment/webhooks", b"", webhook)
    query = f"carrier_code=ups&tracking_number={number}".encode()
    status, _ = await call("POST", "/v1/tracking/start", query, b"")
    assert status == 204, status
    with sqlite3.connect(home / "db.sqlite3") as db:
        (package_id,) = db.execute(
            "SELECT id FROM subscriptions WHERE tracking_number = ?", (number,)
        ).fetchone()
        db.execute(
            "INSERT INTO tracking_histories (subscription_id, events) VALUES (?, ?)",
            (package_id, history(scans)),
        )
    figures: dict[str, dict[str, float]] = {}
    for label in ("first", "again", "kept" if cached else "again_2"):
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        status, body = await call("GET", "/v1/tracking", query, b"")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert status == 200 and len(json.loads(body)["events"]) == scans, status
        figures[label] = {
            "answer_bytes": len(body),
            "peak_bytes": peak - before,
            "ratio": (peak - before) / len(body),
        }
    await inbox.put({"type": "lifespan.shutdown"})
    await lifespan
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--cache", choices=["off", "on"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cache is None:
        # Each mode in a process of its own: settings are read once per process.
        results = {}
        for mode in ("off", "on"):
            done = subprocess.run(
                [sys.executable, "-m", "bench.memory", "--scans", str(args.scans), "--cache", mode],
                check=True,
                capture_output=True,
                text=True,
            )
            results[f"cache_{mode}"] = json.loads(done.stdout)
        print(
            json.dumps(
                {
                    "scenario": "memory",
                    "scans": args.scans,
                    "machine": machine(),
                    "results": results,
                },
                indent=2,
            )
        )
        return
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        os.environ.update(
            {k: v for k, v in os.environ.items() if not k.startswith("SHIPTRACK_")},
            SHIPTRACK_DATABASE_URL=f"sqlite:///{home}/db.sqlite3",
            SHIPTRACK_DATA_DIR=str(home),
            SHIPTRACK_SECRET_KEY="bench-secret",
            SHIPTRACK_ACCESS_LOG="false",
            SHIPTRACK_RUN_WORKERS="false",
            SHIPTRACK_LOG_LEVEL="warning",
            SHIPTRACK_CACHE_SECONDS="60" if args.cache == "on" else "0",
        )
        shiptrack = [sys.executable, "-m", "shiptrack"]
        subprocess.run([*shiptrack, "db", "upgrade"], check=True, capture_output=True)
        created = subprocess.run(
            [*shiptrack, "account", "create", "--name", "bench", "--sandbox"],
            check=True,
            capture_output=True,
            text=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        figures = asyncio.run(measure_app(home, key, args.scans, args.cache == "on"))
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
