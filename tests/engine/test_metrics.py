"""What the engine counts, in-process: the families of ``GET /metrics`` moving as the engine works.

Each test reads the registry of its own process's parts (``app.build`` gives every build one of
its own). Covers: checks counted by carrier and outcome and status changes by status as a journey
is walked (a simulated carrier makes no carrier request to time); a carrier outage counted as
errors, then as packages not asked while the connection backs off; a real carrier call (the fake
UPS on 127.0.0.1) timed; how late a due package was claimed; delivery attempts counted as
retrying, delivered and failed; and two builds never sharing a counter.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from shiptrack.app import Shiptrack
from shiptrack.metrics.families import PrometheusMetrics
from shiptrack.services.connections import ConnectRequest
from tests.e2e.webhook_support import Reply, always, fail_first
from tests.engine.checks_support import Plan
from tests.engine.conftest import Engine, engine_settings
from tests.engine.delivery_support import receiving, running_parts
from tests.fakes import ups
from tests.fakes.server import serve

DELIVERED = Plan("ups", "delivered")
OUTAGE = Plan("ups", "carrier_outage")


def sample(parts: Shiptrack, name: str, **labels: str) -> float:
    """One sample of the process's registry (0 when it does not exist yet)."""
    assert isinstance(parts.metrics, PrometheusMetrics)
    return parts.metrics.registry.get_sample_value(name, labels) or 0.0


def checks(parts: Shiptrack, outcome: str, carrier_code: str = "ups") -> float:
    return sample(parts, "shiptrack_checks_total", carrier_code=carrier_code, outcome=outcome)


async def test_a_walked_journey_counts_its_checks_and_each_status_change(engine: Engine) -> None:
    shipper = await engine.shipper()
    await engine.start(shipper.account, "ups", DELIVERED.number)
    assert sample(engine.parts, "shiptrack_check_lag_seconds_count") == 0

    await engine.follow()

    record = await engine.recorded(shipper.account, "ups", DELIVERED.number)
    rounds = sample(engine.parts, "shiptrack_check_lag_seconds_count")
    # One package, claimed once per round, and answered every time.
    assert rounds >= len(record.changes) >= 3
    assert checks(engine.parts, "found") + checks(engine.parts, "not_found") == rounds
    for outcome in ("error", "backed_off", "deferred"):
        assert checks(engine.parts, outcome) == 0, outcome
    by_status = Counter(change.status_code for change in record.changes)
    for status in ("UN", "AC", "IT", "DE", "EX", "AT", "NY", "SP"):
        counted = sample(engine.parts, "shiptrack_status_changes_total", status_code=status)
        assert counted == by_status[status], status
    # The sandbox carrier is simulated: no carrier request was made, so none was timed.
    assert (
        sample(engine.parts, "shiptrack_carrier_request_duration_seconds_count", carrier_code="ups")
        == 0
    )


async def test_a_carrier_outage_counts_errors_then_packages_left_to_the_back_off(
    engine: Engine,
) -> None:
    shipper = await engine.shipper()
    await engine.start(shipper.account, "ups", OUTAGE.number)
    await engine.check_at(6)
    assert (checks(engine.parts, "error"), checks(engine.parts, "found")) == (0, 1)

    await engine.check_at(12)  # the carrier answers 503
    assert checks(engine.parts, "error") == 1
    await engine.check_at(13)  # backed off still (or, on a slow machine, a 503 again)

    assert checks(engine.parts, "error") + checks(engine.parts, "backed_off") == 2
    assert checks(engine.parts, "found") == 1


async def test_a_call_to_a_real_carrier_is_timed_whatever_it_answers(engine: Engine) -> None:
    shipper = await engine.shipper("production", sandbox=False)
    with serve(ups.app()) as fake:
        await engine.parts.connections.connect(
            shipper.account,
            "ups",
            ConnectRequest(
                client_id=ups.CLIENT_ID, client_secret=ups.CLIENT_SECRET, base_url=fake.url
            ),
        )
        await engine.start(shipper.account, "ups", ups.UNAVAILABLE)  # UPS answers 503
        assert await engine.checks.run_round() == 1

    timed = "shiptrack_carrier_request_duration_seconds"
    assert sample(engine.parts, f"{timed}_count", carrier_code="ups") == 1
    assert sample(engine.parts, f"{timed}_sum", carrier_code="ups") > 0
    assert checks(engine.parts, "error") == 1


async def test_how_late_a_due_package_is_claimed_is_measured_from_when_it_was_due(
    engine: Engine,
) -> None:
    shipper = await engine.shipper()
    # Due an hour ago (of real time: 7,200 journey hours at the engine tests' speed).
    await engine.start_earlier(shipper.account, "ups", DELIVERED.number, hours_ago=7200)

    assert await engine.checks.run_round() == 1

    lag = "shiptrack_check_lag_seconds"
    assert sample(engine.parts, f"{lag}_count") == 1
    assert 3600 <= sample(engine.parts, f"{lag}_sum") < 3660
    assert sample(engine.parts, f"{lag}_bucket", le="900.0") == 0
    assert sample(engine.parts, f"{lag}_bucket", le="10800.0") == 1


async def test_delivery_attempts_are_counted_as_retrying_then_delivered(tmp_path: Path) -> None:
    async with running_parts(tmp_path) as parts, receiving(fail_first(2)) as receiver:
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)

        await parts.deliver_everything()

    attempts = "shiptrack_webhook_deliveries_total"
    assert sample(parts.parts, attempts, outcome="retrying") == 2
    assert sample(parts.parts, attempts, outcome="delivered") == 1
    assert sample(parts.parts, attempts, outcome="failed") == 0


async def test_a_delivery_given_up_on_is_counted_as_failed_once(tmp_path: Path) -> None:
    schedule = "1,1,1"
    async with (
        running_parts(tmp_path, webhook_retry_schedule=schedule) as parts,
        receiving(always(Reply(500))) as receiver,
    ):
        account = await parts.account()
        webhook, _ = await parts.webhook(account, receiver.url)
        await parts.test_event(account, webhook)

        await parts.deliver_everything(within=timedelta(seconds=10))

    attempts = "shiptrack_webhook_deliveries_total"
    assert len(receiver.requests) == 4
    assert sample(parts.parts, attempts, outcome="retrying") == 3
    assert sample(parts.parts, attempts, outcome="failed") == 1
    assert sample(parts.parts, attempts, outcome="delivered") == 0


async def test_two_builds_never_share_a_counter(engine: Engine) -> None:
    other = Engine.build(engine_settings())
    try:
        shipper = await engine.shipper()
        await engine.start(shipper.account, "ups", DELIVERED.number)
        await engine.check_at(0)

        assert sample(engine.parts, "shiptrack_check_lag_seconds_count") == 1
        assert sample(other.parts, "shiptrack_check_lag_seconds_count") == 0
    finally:
        await other.parts.close()
