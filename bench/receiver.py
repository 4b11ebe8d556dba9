"""A fast webhook receiver for the benchmarks: answers 204 (or hangs, for one path) and keeps, per
delivery, when it arrived and how long after the change it reports (``detected_at``)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

from aiohttp import web

received: list[tuple[str, float, float | None]] = []


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    now = time.time()
    detected: float | None = None
    if request.query.get("latency"):
        detected_at = json.loads(body).get("detected_at")
        if detected_at:
            detected = datetime.fromisoformat(detected_at.replace("Z", "+00:00")).timestamp()
    received.append((request.headers.get("webhook-id", ""), now, detected))
    return web.Response(status=204)


async def hang(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)
    return web.Response(status=204)


async def stats(request: web.Request) -> web.Response:
    latencies = sorted(now - d for _, now, d in received if d is not None)
    ids = [i for i, _, _ in received]
    return web.json_response(
        {
            "count": len(received),
            "unique": len(set(ids)),
            "first": received[0][1] if received else None,
            "last": received[-1][1] if received else None,
            "latencies": latencies,
        }
    )


async def reset(request: web.Request) -> web.Response:
    received.clear()
    return web.Response(status=204)


def main() -> None:
    app = web.Application()
    app.router.add_post("/hook", receive)
    app.router.add_post("/hang", hang)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    main()
