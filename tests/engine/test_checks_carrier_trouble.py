"""A carrier that fails, through the in-process engine (``tests/engine/conftest.py``).

Covers the sandbox carrier's outage (hours 10 to 24 of the journey: 503 with ``Retry-After``):
the package keeps the status and scans it had, ``last_error`` says why, the other package of the
connection waits too, and tracking catches up once the back-off is over, walking, listing and
notifying the whole journey; and a production account whose UPS (the fake of
``tests/fakes/ups.py`` on 127.0.0.1) is down: asked with a token at the connection's base URL, the
package stays unknown with ``last_error`` and is checked again only after the carrier back-off,
with no change and no notification.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from shiptrack.domain.timefmt import utcnow
from shiptrack.services.connections import ConnectRequest
from tests.engine.checks_support import (
    Plan,
    assert_events_listed,
    assert_notified,
    assert_walked,
    parse_time,
)
from tests.engine.conftest import Engine
from tests.fakes import ups
from tests.fakes.server import serve

OUTAGE = Plan("ups", "carrier_outage")
#: A plain delivery on the same connection.
NEIGHBOUR = "1ZPLAINDELIVERY01"


async def test_carrier_outage_keeps_the_status_and_shows_the_error_until_it_ends(
    engine: Engine,
) -> None:
    outage = OUTAGE.scenario.outage
    assert outage is not None and outage[0] <= 12 and 13 < outage[1] < 30
    shipper = await engine.shipper()
    account = shipper.account
    await engine.start(account, "ups", OUTAGE.number)
    await engine.start(account, "ups", NEIGHBOUR)
    for hours in (0, 3, 6):  # departed Austin at hour 5
        await engine.check_at(hours)

    failing: list[dict[str, Any]] = []
    neighbours: list[dict[str, Any]] = []
    # The carrier answers 503; an hour later the connection is still backed off (or, on a slow
    # machine, answers 503 again): nothing changes either way.
    for hours in (12, 13):
        await engine.check_at(hours)
        failing.append(await engine.tracking(account, "ups", OUTAGE.number))
        neighbours.append(await engine.tracking(account, "ups", NEIGHBOUR))

    await engine.wait_out_backoff()
    await engine.follow(since=30)
    final = await engine.tracking(account, "ups", OUTAGE.number)
    record = await engine.recorded(account, "ups", OUTAGE.number)

    assert all(b["last_error"] is not None for b in neighbours), (
        "the other package on the connection did not wait for the outage"
    )
    assert {b["last_error"] for b in failing} == {failing[0]["last_error"]}
    assert "503" in failing[0]["last_error"]
    # Throughout the outage the package stays as it was before it: departed Austin (hour 5),
    # with no scan of the outage hours stored.
    assert {(b["status_code"], b["status_detail_code"]) for b in failing} == {
        ("IT", "HUB_SCAN_OUT")
    }
    assert all(b["active"] is True for b in failing)
    assert {json.dumps(b["events"]) for b in failing} == {json.dumps(failing[0]["events"])}
    assert [e["event_code"] for e in failing[0]["events"]] == ["DEPART", "PICKUP", "LABEL"]
    assert final["status_code"] == "DE"
    assert final["stop_reason"] == "delivered"
    assert final["last_error"] is None
    # The scans of the outage hours were caught up afterwards.
    assert len(final["events"]) == len(OUTAGE.scenario.steps)
    assert_walked(OUTAGE, final, record.changes, from_start=True)
    assert_events_listed(OUTAGE, final["events"])
    assert_notified(OUTAGE, final, record.changes, record.deliveries, shipper.webhook_ids)
    neighbour = await engine.tracking(account, "ups", NEIGHBOUR)
    assert (neighbour["status_code"], neighbour["last_error"]) == ("DE", None)


async def test_a_production_ups_outage_keeps_the_package_unknown_shows_why_and_backs_off(
    engine: Engine,
) -> None:
    shipper = await engine.shipper("production", sandbox=False)
    account = shipper.account
    number = ups.UNAVAILABLE  # the fake UPS answers 503 "Resource is not available"
    with serve(ups.app()) as fake:
        await engine.parts.connections.connect(
            account,
            "ups",
            ConnectRequest(
                client_id=ups.CLIENT_ID, client_secret=ups.CLIENT_SECRET, base_url=fake.url
            ),
        )
        await engine.start(account, "ups", number)
        asked_at = utcnow()
        assert await engine.checks.run_round() == 1
        # The engine did ask UPS, at the connection's base URL, with a token it fetched.
        asked = [r for r in fake.requests if r.path == f"/api/track/v1/details/{number}"]
        assert asked, fake.paths()
        assert asked[0].headers["Authorization"].startswith("Bearer ")

    body = await engine.tracking(account, "ups", number)
    assert "UPS" in body["last_error"] and "503" in body["last_error"], body["last_error"]
    assert (body["status_code"], body["status_detail_code"], body["events"]) == ("UN", None, [])
    assert (body["active"], body["stop_reason"]) == (True, None)
    # The next check waits out the carrier back-off (SHIPTRACK_CARRIER_BACKOFF_MIN, 60 s by
    # default, less at most the schedule's 10 % jitter) instead of hammering a failing carrier.
    next_check = parse_time(body["next_check_at"])
    assert next_check - asked_at >= timedelta(seconds=60 * 0.9 - 1), body["next_check_at"]
    assert await engine.checks.run_round() == 0
    (entry,) = await engine.listing(account)
    assert entry["last_error"] == body["last_error"]
    assert entry["status_code"] == "UN"
    record = await engine.recorded(account, "ups", number)
    assert record.changes == []
    assert record.deliveries == []
