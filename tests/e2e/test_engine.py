"""The tracking engine observed from outside: real HTTP to a server running the workers on a
fast sandbox clock, plus direct reads of the ``status_changes`` and ``deliveries`` tables (the
outbox) where the API shows nothing (the outbox rows are the notifications to be sent).

The engine's rules (every sandbox scenario's walk and stop, events, the outbox rows of every
change, outages, restarts, stops, deleted webhooks) are tested in-process in ``tests/engine``, in
milliseconds. Here the wire and the process keep their tests: one journey per carrier code played
by a real server on its database (the recorded walk, the events as ``GET /v1/tracking`` lists
them, one outbox row per change whose last payload is exactly what ``GET /v1/tracking`` shows,
the listing of the finished packages agreeing with it), the payload's shape against ShipEngine's
OpenAPI with a ``resource_url`` that reads the package over HTTP, a Stamps.com package found under
both codes; live lookups of never-started numbers; and ``shiptrack worker`` as a separate process
that checks packages and stops on SIGTERM.

Journeys run at ``ENGINE_SPEED`` journey hours per real second; tests wait for the engine with a
deadline instead of sleeping fixed times. The journeys are all started at once by a module
fixture (one fresh account each) so that they run side by side.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from shiptrack.settings import Settings
from tests.conftest import (
    ENGINE_SPEED,
    DatabaseServer,
    Server,
    Tenant,
    assert_error,
    engine_env,
    make_tenant,
    start_server,
)
from tests.engine.checks_support import (
    EXTENSION_FIELDS,
    SCENARIO,
    Plan,
    assert_events_listed,
    assert_notified,
    assert_walked,
    payload_of,
)
from tests.support import (
    Recorded,
    get_tracking,
    recorded,
    start_tracking,
    wait_until_stopped,
)

SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"
PAYLOAD_FIELDS = {
    "resource_url",
    "resource_type",
    "data",
    "event_id",
    "sequence",
    "previous_status",
    "correction",
    "detected_at",
}
#: How much faster than the engine server the separate worker's journey runs (it only waits for
#: the journey to be over).
WORKER_SPEED = ENGINE_SPEED * 10


@functools.cache
def tracking_information_fields() -> frozenset[str]:
    """The properties of ShipEngine's ``tracking_information`` schema."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return frozenset(spec["components"]["schemas"]["tracking_information"]["properties"])


# --- one journey per carrier code, all started together ------------------------------------------

#: At most two journey days each, so that the longest ends within seconds.
PLANS: dict[str, Plan] = {
    "ups-delivered": Plan("ups", "delivered"),
    "fedex-out_for_delivery": Plan("fedex", "out_for_delivery"),
    "dhl_express-duplicates_out_of_order": Plan("dhl_express", "duplicates_out_of_order"),
    "stamps_com-exception_returned": Plan("stamps_com", "exception_returned"),
    "usps-late_first_scan": Plan("usps", "late_first_scan"),
}


@dataclass
class Journey:
    """A started journey and the account that started it."""

    plan: Plan
    tenant: Tenant
    webhook_ids: list[int]

    def finished(self) -> dict[str, Any]:
        return wait_until_stopped(self.tenant, self.plan.carrier_code, self.plan.number)

    def recorded(self, server: Server) -> Recorded:
        return recorded(server, self.tenant.account_id, self.plan.reported_code, self.plan.number)


def number_of(se_id: object) -> int:
    """``se-42`` → ``42``."""
    prefix, _, digits = str(se_id).partition("-")
    assert prefix == "se" and digits.isdigit(), se_id
    return int(digits)


@pytest.fixture(scope="module")
def journeys(engine_server: Server) -> Iterator[dict[str, Journey]]:
    made: dict[str, Journey] = {}
    try:
        for key, plan in PLANS.items():
            tenant = make_tenant(engine_server, sandbox=True, name=key)
            hook = tenant.add_track_webhook(f"https://example.invalid/hooks/{key}")
            made[key] = Journey(plan, tenant, [number_of(hook["webhook_id"])])
        for journey in made.values():
            start_tracking(journey.tenant, journey.plan.carrier_code, journey.plan.number)
        yield made
    finally:
        for journey in made.values():
            journey.tenant.client.close()


@pytest.mark.parametrize("key", list(PLANS))
def test_recorded_changes_walk_the_scenario_and_stop_by_the_rules(
    engine_server: Server, journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    body = journey.finished()

    assert_walked(journey.plan, body, journey.recorded(engine_server).changes, from_start=False)


@pytest.mark.parametrize("key", list(PLANS))
def test_events_are_stored_once_and_listed_most_recent_first(
    journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]

    assert_events_listed(journey.plan, journey.finished()["events"])


@pytest.mark.parametrize("key", list(PLANS))
def test_every_change_queues_one_notification_per_track_webhook(
    engine_server: Server, journeys: dict[str, Journey], key: str
) -> None:
    journey = journeys[key]
    body = journey.finished()
    record = journey.recorded(engine_server)

    assert_notified(journey.plan, body, record.changes, record.deliveries, journey.webhook_ids)


def test_finished_packages_are_listed_as_get_tracking_shows_them(
    journeys: dict[str, Journey],
) -> None:
    for journey in journeys.values():
        body = journey.finished()
        response = journey.tenant.client.get("/v1/tracking/subscriptions")
        assert response.status_code == 200, response.text
        (entry,) = response.json()["subscriptions"]

        for name in ("status_code", "status_detail_code", *sorted(EXTENSION_FIELDS)):
            assert entry[name] == body[name], name
        assert entry["carrier_code"] == body["carrier_code"]
        assert entry["tracking_number"] == body["tracking_number"]
        assert number_of(entry["carrier_id"]) == body["carrier_id"]


def test_notification_payload_is_shipengines_track_event_with_shiptracks_fields(
    engine_server: Server, journeys: dict[str, Journey]
) -> None:
    journey = journeys["ups-delivered"]
    journey.finished()
    record = journey.recorded(engine_server)
    assert record.changes
    base = engine_server.env.get(
        "SHIPTRACK_PUBLIC_BASE_URL", Settings.model_fields["public_base_url"].default
    )

    for change in record.changes:
        (row,) = record.deliveries_of(change)
        payload = payload_of(row)
        assert set(payload) == PAYLOAD_FIELDS
        assert payload["resource_type"] == "API_TRACK"
        assert payload["resource_url"] == (
            f"{base}/v1/tracking?carrier_code=ups&tracking_number={journey.plan.number}"
        )
        assert set(payload["data"]) == tracking_information_fields() | {"label_url", "public_url"}
        assert payload["data"]["label_url"] is None
        assert isinstance(payload["data"]["carrier_id"], int)
    # The resource_url reads the package.
    url = urlsplit(payload["resource_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    response = journey.tenant.client.get(url.path, params=query)
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == "DE"


def test_stamps_com_package_is_found_under_both_codes(journeys: dict[str, Journey]) -> None:
    journey = journeys["stamps_com-exception_returned"]
    by_stamps = journey.finished()
    by_usps = get_tracking(journey.tenant, "usps", journey.plan.number)

    assert by_stamps == by_usps
    assert by_usps["carrier_code"] == "usps"


# --- live lookups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["failed_attempt", "delivered"])
def test_live_lookup_of_a_never_started_number_answers_the_whole_journey(
    server: Server, tenant: Tenant, scenario: str
) -> None:
    steps = SCENARIO[scenario].steps
    # Any number that is no scenario's walks the plain delivery.
    number = Plan("ups", scenario).number if scenario != "delivered" else "1ZLIVE01"

    body = get_tracking(tenant, "ups", number)

    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    codes = [e["event_code"] for e in body["events"]]
    assert codes == [s.code for s in sorted(steps, key=lambda s: s.hours, reverse=True)]
    assert body["active"] is False
    assert body["stop_reason"] is None
    assert body["next_check_at"] is None
    assert body["actual_delivery_date"] is not None
    listing = tenant.client.get("/v1/tracking/subscriptions")
    assert listing.status_code == 200, listing.text
    assert listing.json()["subscriptions"] == []
    assert recorded(server, tenant.account_id, "ups", number).subscription_id is None
    response = tenant.client.post(
        "/v1/tracking/stop", params={"carrier_code": "ups", "tracking_number": number}
    )
    assert_error(response, 404, "invalid_identifier", field_name="tracking_number")


def test_live_lookup_of_a_number_the_carrier_does_not_know_is_not_yet_found(
    tenant: Tenant,
) -> None:
    body = get_tracking(tenant, "fedex", Plan("fedex", "never_found").number)

    assert (body["status_code"], body["events"], body["active"]) == ("NY", [], False)
    listing = tenant.client.get("/v1/tracking/subscriptions")
    assert listing.status_code == 200, listing.text
    assert listing.json()["subscriptions"] == []


# --- a separate worker process --------------------------------------------------------------------


@pytest.mark.slow
def test_separate_worker_process_checks_packages_and_stops_on_sigterm(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = engine_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_RUN_WORKERS="false",
        SHIPTRACK_PUBLIC_BASE_URL="https://track.example.com",
    )
    env["SHIPTRACK_SANDBOX_SPEED"] = str(WORKER_SPEED)
    api = start_server(env, tmp_path / "api.log")
    tenant = make_tenant(api, sandbox=True)
    worker: subprocess.Popen[bytes] | None = None
    try:
        tenant.add_track_webhook()
        scenario = SCENARIO["delivered"]
        number = Plan("ups", "delivered").number
        begun = time.monotonic()
        start_tracking(tenant, "ups", number)
        # Let the whole journey pass with nobody checking.
        delivery = max(step.hours for step in scenario.steps)
        time.sleep(max(0.0, begun + delivery * 3600 / WORKER_SPEED + 0.5 - time.monotonic()))
        unchecked = get_tracking(tenant, "ups", number)
        assert (unchecked["status_code"], unchecked["events"]) == ("UN", [])
        assert unchecked["last_checked_at"] is None
        assert unchecked["active"] is True
        assert recorded(api, tenant.account_id, "ups", number).changes == []

        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "shiptrack", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        body = wait_until_stopped(tenant, "ups", number)
        record = recorded(api, tenant.account_id, "ups", number)

        # Checked for the first time after delivery: one change, straight to DE.
        assert (body["status_code"], body["stop_reason"]) == ("DE", "delivered")
        assert body["last_checked_at"] is not None
        assert len(body["events"]) == len(scenario.steps)
        assert [(c.previous_status, c.status_code) for c in record.changes] == [("UN", "DE")]
        (row,) = record.deliveries
        assert payload_of(row)["resource_url"] == (
            f"https://track.example.com/v1/tracking?carrier_code=ups&tracking_number={number}"
        )

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait()
        tenant.client.close()
        api.stop()
