"""``GET /metrics`` of real processes, parsed as Prometheus parses it.

Covers, on the session's server: no API key needed, the counters moving between two scrapes by
exactly the traffic sent (starts, reads, a 404 of an id, a path no route matches, a 401), labelled
by route template and never by a raw path, and ``/metrics`` left out of the OpenAPI document.
Then the README's production layout: ``shiptrack serve --processes 2`` (API only) and a
``shiptrack worker --metrics-port``, both with ``SHIPTRACK_METRICS_TOKEN``: the token rule on
both, one scrape of the shared port adding up both API processes, the worker counting its checks
and status changes, and the database gauges.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import (
    DatabaseServer,
    Server,
    Tenant,
    assert_error,
    engine_env,
    free_port,
    make_tenant,
    start_server,
)
from tests.support import get_tracking, start_tracking

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
#: How long a test waits for a worker to get something done.
DEADLINE = 30.0


def scrape(url: str, token: str | None = None) -> Samples:
    """``GET {url}/metrics``, every sample by name and labels."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample (0 when the series does not exist yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, method: str, route: str, status: int) -> float:
    return value(
        samples, "shiptrack_http_requests_total", method=method, route=route, status=str(status)
    )


def wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_counters_move_by_route_template_between_two_scrapes(
    server: Server, tenant: Tenant, anonymous: httpx.Client
) -> None:
    tenant.add_track_webhook()
    before = scrape(server.url)  # no API key

    start_tracking(tenant, "ups", "1ZMETRICS0000001")
    start_tracking(tenant, "ups", "1ZMETRICS0000002")
    get_tracking(tenant, "ups", "1ZMETRICS0000001")
    assert tenant.client.get("/v1/carriers/se-987654").status_code == 404
    assert anonymous.get("/no/such/path/123").status_code == 404
    assert anonymous.get("/v1/tracking/subscriptions").status_code == 401
    after = scrape(server.url)

    def moved(method: str, route: str, status: int) -> float:
        return requests(after, method, route, status) - requests(before, method, route, status)

    assert moved("POST", "/v1/tracking/start", 204) == 2
    assert moved("GET", "/v1/tracking", 200) == 1
    assert moved("GET", "/v1/carriers/{carrier_id}", 404) == 1
    assert moved("GET", "unmatched", 404) == 1
    # Refused by the edge before routing, still counted under its route.
    assert moved("GET", "/v1/tracking/subscriptions", 401) == 1
    assert moved("GET", "/metrics", 200) == 1  # the first scrape
    duration = "shiptrack_http_request_duration_seconds_count"
    start = {"method": "POST", "route": "/v1/tracking/start"}
    assert value(after, duration, **start) - value(before, duration, **start) == 2
    routes = {value for _, labels in after for label, value in labels if label == "route"}
    assert all(route == "unmatched" or route.startswith("/") for route in routes), routes
    assert not any("se-987654" in route or "/no/such" in route for route in routes), routes


def test_metrics_is_not_in_the_openapi_document(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    assert "/metrics" not in document["paths"]
    assert "/health" in document["paths"]


TOKEN = "metrics-token-for-the-suite"


@pytest.fixture
def production(test_database: DatabaseServer, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """Two API processes sharing a port and a worker serving metrics on a port of its own, as
    the README lays them out; the API server and the worker's metrics URL."""
    env = engine_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_METRICS_TOKEN=TOKEN,
        SHIPTRACK_METRICS_REFRESH="1",
    )
    api = start_server(env, tmp_path / "api.log", serve_args=("--processes", "2"))
    port = free_port()
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "shiptrack", "worker", "--metrics-port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker_url = f"http://127.0.0.1:{port}"
    try:
        wait_for("the worker's metrics port", lambda: _answers(worker_url))
        yield api, worker_url
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        api.stop()


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/metrics", timeout=1)
    except httpx.TransportError:
        return False
    return True


@pytest.mark.slow
def test_api_processes_and_a_worker_each_serve_metrics_behind_the_token(
    production: tuple[Server, str],
) -> None:
    api, worker_url = production
    for url in (api.url, worker_url):
        assert_error(httpx.get(f"{url}/metrics", timeout=10), 401, "unauthorized")
        wrong = {"Authorization": "Bearer not-the-token"}
        assert_error(httpx.get(f"{url}/metrics", headers=wrong, timeout=10), 401, "unauthorized")
    assert_error(httpx.get(f"{worker_url}/v1/carriers", timeout=10), 404, "unspecified")

    # One scrape of the shared port adds up both processes, whichever of them answers.
    before = scrape(api.url, TOKEN)
    for _ in range(30):
        assert httpx.get(f"{api.url}/health", timeout=10).status_code == 200  # a new connection
    after = scrape(api.url, TOKEN)
    assert requests(after, "GET", "/health", 200) - requests(before, "GET", "/health", 200) == 30

    tenant = make_tenant(api, sandbox=True)
    try:
        tenant.add_track_webhook()
        start_tracking(tenant, "ups", "1ZMETRICSWORKER1")

        def checked_and_changed() -> bool:
            samples = scrape(worker_url, TOKEN)
            found = value(samples, "shiptrack_checks_total", carrier_code="ups", outcome="found")
            changes = sum(
                count
                for (name, _), count in samples.items()
                if name == "shiptrack_status_changes_total"
            )
            return found >= 1 and changes >= 1

        wait_for("the worker to count a check and a status change", checked_and_changed)

        # The change's delivery waits for a retry (its receiver does not resolve): pending.
        wait_for(
            "the database gauges",
            lambda: value(scrape(api.url, TOKEN), "shiptrack_outbox_pending") >= 1,
        )
        samples = scrape(api.url, TOKEN)
        tracked = {
            dict(labels)["status_code"]
            for name, labels in samples
            if name == "shiptrack_tracked_packages"
        }
        assert tracked == {"UN", "AC", "IT", "DE", "EX", "AT", "NY", "SP"}
        assert value(samples, "shiptrack_outbox_oldest_pending_age_seconds") > 0
    finally:
        tenant.client.close()
    samples = scrape(worker_url, TOKEN)
    assert not any(name.startswith("shiptrack_http_") for name, _ in samples)  # no API there
    assert value(samples, "shiptrack_webhooks_disabled") == 0
