"""A fast fake USPS + FedEx host for the engine benchmark: any number is a package in transit, and
one poll in ten of a number brings a new scan that changes its status.

    python -m bench.fake_carriers PORT
"""

from __future__ import annotations

import json
import sys
import zlib
from collections import Counter
from typing import Any

from aiohttp import web
from tests.fakes import fedex as fedex_fake
from tests.fakes import usps as usps_fake

polls: Counter[str] = Counter()
changes: Counter[str] = Counter()


def _changes_now(number: str) -> int:
    """How many status changes the number has had, advancing one poll in ten (deterministic)."""
    polls[number] += 1
    if zlib.crc32(f"{number}:{polls[number]}".encode()) % 10 == 0:
        changes[number] += 1
    return changes[number]


def usps_detail(number: str) -> dict[str, Any]:
    extra = []
    for i in range(_changes_now(number), 0, -1):
        code, kind = ("OF", "Out for Delivery") if i % 2 else ("10", "Arrived at USPS Facility")
        extra.append(usps_fake.scan(code, kind, f"2026-05-01T{i % 24:02d}:{i % 60:02d}:00"))
    base = [
        usps_fake.scan("10", "Arrived at USPS Regional Facility", "2026-04-29T06:10:00"),
        usps_fake.scan("03", "USPS in possession of item", "2026-04-28T16:00:00"),
    ]
    return usps_fake.detail(number, extra + base, category="In Transit")


def fedex_result(number: str) -> dict[str, Any]:
    extra = []
    for i in range(_changes_now(number), 0, -1):
        when = f"2026-05-01T{i % 24:02d}:{i % 60:02d}:00-05:00"
        if i % 2:
            extra.append(
                fedex_fake.scan(
                    when,
                    "OD",
                    "On FedEx vehicle for delivery",
                    "IT",
                    "In transit",
                    fedex_fake.MEMPHIS,
                )
            )
        else:
            extra.append(
                fedex_fake.scan(
                    when, "AR", "Arrived at FedEx location", "IT", "In transit", fedex_fake.MEMPHIS
                )
            )
    base = [
        fedex_fake.scan(
            "2026-04-29T06:10:00-05:00",
            "AR",
            "Arrived at FedEx location",
            "IT",
            "In transit",
            fedex_fake.MEMPHIS,
        ),
        fedex_fake.scan(
            "2026-04-28T16:00:00-05:00", "PU", "Picked up", "PU", "Picked up", fedex_fake.MEMPHIS
        ),
    ]
    return fedex_fake.shipment(
        number,
        f"2460~{number}~FDEG",
        extra + base,
        status=("IT", "IT", "In transit"),
        dates={"ACTUAL_PICKUP": "2026-04-28T16:00:00-05:00"},
    )


async def token(request: web.Request) -> web.Response:
    return web.json_response(
        {"access_token": "bench", "token_type": "Bearer", "expires_in": "28799"}
    )


async def usps_track(request: web.Request) -> web.Response:
    items = json.loads(await request.read())
    return web.json_response([usps_detail(item["trackingNumber"]) for item in items])


async def fedex_track(request: web.Request) -> web.Response:
    body = json.loads(await request.read())
    numbers = [item["trackingNumberInfo"]["trackingNumber"] for item in body["trackingInfo"]]
    return web.json_response(
        fedex_fake.track_output({number: [fedex_result(number)] for number in numbers})
    )


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"polls": sum(polls.values()), "changes": sum(changes.values())})


def main() -> None:
    app = web.Application()
    app.router.add_post("/oauth2/v3/token", token)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/tracking/v3r2/tracking", usps_track)
    app.router.add_post("/track/v1/trackingnumbers", fedex_track)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    main()
