"""The rules of ``GET /metrics`` that need no server: who may scrape (the token), how often the
database gauges are read (at most every ``SHIPTRACK_METRICS_REFRESH`` seconds, never waited for),
what they show between two reads, and a process run with metrics off counting nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shiptrack.app import build, build_exposition
from shiptrack.metrics.exposition import Exposition
from shiptrack.metrics.families import PrometheusMetrics
from shiptrack.metrics.store_gauges import StoreGauges
from shiptrack.settings import Settings
from shiptrack.store.memory import MemoryStore
from tests.store.seeds import NOW, Tenant
from tests.support import HandClock


def exposition(token: str | None) -> Exposition:
    return Exposition(PrometheusMetrics(), StoreGauges(MemoryStore(), refresh=5), token=token)


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("Bearer s3cret-token", True),
        ("bearer s3cret-token", True),  # the scheme is case-insensitive (RFC 6750)
        ("Bearer  s3cret-token ", True),
        ("Bearer s3cret-tokeN", False),
        ("Bearer s3cret-token-and-more", False),
        ("Bearer s3cret", False),
        ("Basic s3cret-token", False),
        ("s3cret-token", False),
        ("Bearer", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_bearer_token_opens_metrics_when_one_is_set(
    header: str | None, allowed: bool
) -> None:
    assert exposition("s3cret-token").authorized(header) is allowed


def test_without_a_token_anyone_may_scrape() -> None:
    open_metrics = exposition(None)
    assert open_metrics.authorized(None)
    assert open_metrics.authorized("Bearer anything")


@pytest.mark.parametrize(("value", "token"), [("", None), ("abc", "abc")])
def test_an_empty_token_setting_means_no_token(value: str, token: str | None) -> None:
    settings = Settings(_env_file=None, metrics_token=value)
    assert settings.metrics_bearer_token == token


def test_metrics_off_counts_nothing_and_serves_nothing() -> None:
    parts = build(Settings(_env_file=None, metrics=False, secret_key="x"), store=MemoryStore())
    assert not parts.metrics.enabled
    assert build_exposition(parts) is None
    parts.metrics.checked("ups", "found", 3)  # a no-op, not an error


async def tracked(store: MemoryStore, count: int) -> None:
    """``count`` more packages tracked (all unknown yet)."""
    tenant = await Tenant.create(store, f"shipper{count}")
    for i in range(count):
        await tenant.package(f"1Z{count}X{i}")


def unknown_packages(gauges: StoreGauges) -> float | None:
    for family in gauges.collect():
        if family.name == "shiptrack_tracked_packages":
            return next(s.value for s in family.samples if s.labels["status_code"] == "UN")
    return None


async def settle() -> None:
    """Let a read started in the background finish."""
    reads = [task for task in asyncio.all_tasks() if task.get_name() == "shiptrack-metrics-refresh"]
    if reads:
        await asyncio.wait(reads)


async def test_the_database_gauges_are_read_at_most_every_refresh_seconds() -> None:
    store, clock = MemoryStore(), HandClock(1000.0)
    gauges = StoreGauges(store, refresh=5, clock=clock)
    await tracked(store, 2)

    assert unknown_packages(gauges) is None  # nothing read yet: the families are left out
    gauges.refresh_soon()
    await settle()
    assert unknown_packages(gauges) == 2

    await tracked(store, 3)
    clock.now += 4.9
    gauges.refresh_soon()
    await settle()
    assert unknown_packages(gauges) == 2  # read 4.9 s ago: served as it is

    clock.now += 0.2
    gauges.refresh_soon()
    await settle()
    assert unknown_packages(gauges) == 5


async def test_processes_sharing_a_port_serve_the_groups_newest_read(tmp_path: Path) -> None:
    store, clock = MemoryStore(), HandClock(1000.0)
    first, second = (
        StoreGauges(store, refresh=5, shared_dir=str(tmp_path), clock=clock) for _ in range(2)
    )
    await tracked(store, 2)
    first.refresh_soon()
    await settle()

    await tracked(store, 3)
    clock.now += 1
    second.refresh_soon()  # the group read 1 s ago: no read
    await settle()
    assert unknown_packages(second) == 2

    clock.now += 5
    second.refresh_soon()
    await settle()
    assert unknown_packages(second) == 5
    # The other process, not scraped meanwhile, serves the newer read too.
    assert unknown_packages(first) == 5


async def test_the_oldest_pending_age_grows_between_two_reads() -> None:
    store = MemoryStore()
    tenant = await Tenant.create(store)
    hook, package = await tenant.webhook(), await tenant.package("1ZPENDING")
    await tenant.delivery(hook, package, 1, due=NOW - timedelta(seconds=90))
    moment = NOW
    gauges = StoreGauges(store, refresh=5, now=lambda: moment)
    await gauges.read()

    moment += timedelta(seconds=30)  # no read in between: the age is of the last read's oldest

    families = {family.name: family for family in gauges.collect()}
    assert families["shiptrack_outbox_pending"].samples[0].value == 1
    assert families["shiptrack_outbox_oldest_pending_age_seconds"].samples[0].value == 120


async def test_a_scrape_renders_text_that_prometheus_parses() -> None:
    parts = build(Settings(_env_file=None, secret_key="x"), store=MemoryStore())
    served = build_exposition(parts)
    assert served is not None
    await served.gauges.read()
    parts.metrics.http_request("GET", "/v1/tracking", 200, 0.003)

    body, content_type = served.render(None)

    assert content_type.startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    assert families["shiptrack_http_requests"].type == "counter"
    assert families["shiptrack_http_request_duration_seconds"].type == "histogram"
    assert "process_resident_memory_bytes" in families
    assert families["shiptrack_webhooks_disabled"].samples[0].value == 0
    await served.close()
