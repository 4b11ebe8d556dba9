"""shiptrack's own endpoints beside ShipEngine's, and the ``shiptrack account update`` command.

Covers ``GET /v1/tracking/subscriptions`` (the account's packages with their freshness: only its
own, filtered by ``status_code``, ``carrier_code`` (``stamps_com`` and ``usps`` find the same
packages) and ``active``, paged with ``page_size`` and an opaque ``cursor`` in the order packages
were first started, and every way its query can be wrong), ``GET /v1/sandbox/scenarios`` (a number
per carrier code for every journey, every official status code reachable, numbers that really drive
the journeys they are listed for, sandbox keys only), ``GET /v1/labels/{label_id}/track`` (always
``404``: shiptrack creates no labels), and ``shiptrack account update`` (one-line errors, and a new
rate limit enforced from the account's next request on).

Most tests use the session server without workers, where a started package stays ``UN`` and
active until stopped. The status filter over the statuses journeys end in is an engine rule,
tested in-process (``tests/engine/test_checks_lifecycle.py``); the engine server only shows its
sandbox speed here.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import (
    ENGINE_SPEED,
    DatabaseServer,
    Server,
    Tenant,
    assert_error,
    cli_env,
    make_tenant,
    start_server,
)

#: The official ShipEngine OpenAPI extract kept in the repository (see tests/contract/README.md).
SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"

SUBSCRIPTIONS = "/v1/tracking/subscriptions"
SCENARIOS = "/v1/sandbox/scenarios"
CARRIER_CODES = {
    "ups",
    "fedex",
    "usps",
    "stamps_com",
    "dhl_express",
    "canada_post",
    "royal_mail",
    "australia_post",
    "gls",
    "postnl",
    "la_poste",
    "dhl_parcel",
    "dhl_ecommerce",
}
#: The fields of one entry of the subscription listing.
SUBSCRIPTION_FIELDS = {
    "carrier_code",
    "carrier_id",
    "tracking_number",
    "status_code",
    "status_detail_code",
    "active",
    "stop_reason",
    "started_at",
    "last_checked_at",
    "next_check_at",
    "last_error",
}
#: The freshness fields GET /v1/tracking adds to ShipEngine's TrackingInformation.
FRESHNESS = ("active", "stop_reason", "last_checked_at", "next_check_at", "last_error")


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def tracker(tenant: Tenant) -> Tenant:
    """A sandbox account with a ``track`` webhook, so it may start tracking."""
    tenant.add_track_webhook()
    return tenant


def started(tenant: Tenant, carrier_code: str, tracking_number: str) -> None:
    response = tenant.start(carrier_code, tracking_number)
    assert response.status_code == 204, response.text


def stop(tenant: Tenant, carrier_code: str, tracking_number: str) -> None:
    response = tenant.client.post(
        "/v1/tracking/stop",
        params={"carrier_code": carrier_code, "tracking_number": tracking_number},
    )
    assert response.status_code == 204, response.text


def page(tenant: Tenant, **params: str | int) -> dict[str, Any]:
    """One page of ``GET /v1/tracking/subscriptions``."""
    response = tenant.client.get(SUBSCRIPTIONS, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"subscriptions", "next_cursor"}, body
    return body


def listed(tenant: Tenant, **params: str | int) -> list[tuple[str, str]]:
    """``(carrier_code, tracking_number)`` of every listed package, on a single page."""
    body = page(tenant, **params)
    assert body["next_cursor"] is None, body
    return [(s["carrier_code"], s["tracking_number"]) for s in body["subscriptions"]]


def every_page(tenant: Tenant, **params: str | int) -> list[list[dict[str, Any]]]:
    """Follow ``next_cursor`` from the first page to the last."""
    pages = []
    cursor: str | None = None
    while True:
        body = page(tenant, **params, **({"cursor": cursor} if cursor else {}))
        pages.append(body["subscriptions"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor, body
        assert len(pages) < 50, "the cursor never ends"


def primary_connection(tenant: Tenant, carrier_code: str) -> str:
    response = tenant.client.get("/v1/carriers")
    assert response.status_code == 200, response.text
    (found,) = [
        c["carrier_id"]
        for c in response.json()["carriers"]
        if c["carrier_code"] == carrier_code and c["primary"]
    ]
    return str(found)


def parse_utc(text: str) -> datetime:
    """A timestamp as shiptrack writes it: ISO 8601 in UTC with a ``Z``."""
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def cursor_of(text: str) -> str:
    """An unpadded URL-safe base64 text, the way a client might forge a cursor."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def scenarios(tenant: Tenant) -> dict[str, Any]:
    response = tenant.client.get(SCENARIOS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def official_status_codes() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return set(spec["components"]["schemas"]["status_code"]["enum"])


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """A CLI failure as an operator should see it: exit 1, one line on stderr, nothing else."""
    assert result.returncode == 1, result
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- GET /v1/tracking/subscriptions: contents -----------------------------------------------------


def test_subscriptions_of_an_account_that_tracks_nothing_are_an_empty_list(tenant: Tenant) -> None:
    assert page(tenant) == {"subscriptions": [], "next_cursor": None}


def test_subscriptions_list_only_the_accounts_own_packages(
    tracker: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()
    started(tracker, "ups", "1Z0000000000000001")
    started(tracker, "fedex", "794600000001")
    started(other_tenant, "ups", "1Z0000000000000001")
    started(other_tenant, "dhl_express", "9990000042")

    mine = page(tracker)["subscriptions"]
    theirs = page(other_tenant)["subscriptions"]

    assert [(s["carrier_code"], s["tracking_number"]) for s in mine] == [
        ("ups", "1Z0000000000000001"),
        ("fedex", "794600000001"),
    ]
    assert [(s["carrier_code"], s["tracking_number"]) for s in theirs] == [
        ("ups", "1Z0000000000000001"),
        ("dhl_express", "9990000042"),
    ]
    # The package both track is listed for each through its own connection.
    assert mine[0]["carrier_id"] == primary_connection(tracker, "ups")
    assert theirs[0]["carrier_id"] == primary_connection(other_tenant, "ups")
    assert mine[0]["carrier_id"] != theirs[0]["carrier_id"]


def test_subscription_entry_has_the_package_and_the_freshness_of_its_tracking(
    tracker: Tenant,
) -> None:
    before = datetime.now(UTC)
    started(tracker, "ups", " 1z999aa10123456784 ")
    after = datetime.now(UTC)

    (entry,) = page(tracker)["subscriptions"]

    assert set(entry) == SUBSCRIPTION_FIELDS
    assert entry["carrier_code"] == "ups"
    assert entry["carrier_id"] == primary_connection(tracker, "ups")
    assert entry["tracking_number"] == "1Z999AA10123456784"
    # Not checked yet (no workers here), and due at once.
    assert (entry["status_code"], entry["status_detail_code"]) == ("UN", None)
    assert (entry["active"], entry["stop_reason"], entry["last_error"]) == (True, None, None)
    assert entry["last_checked_at"] is None
    started_at = parse_utc(entry["started_at"])
    assert before - timedelta(milliseconds=1) <= started_at <= after
    assert parse_utc(entry["next_check_at"]) <= after
    # The listing and GET /v1/tracking tell the same story.
    response = tracker.client.get(
        "/v1/tracking", params={"carrier_code": "ups", "tracking_number": "1Z999AA10123456784"}
    )
    assert response.status_code == 200, response.text
    tracking = response.json()
    for name in ("status_code", "status_detail_code", *FRESHNESS):
        assert entry[name] == tracking[name], name
    assert entry["carrier_id"] == f"se-{tracking['carrier_id']}"


def test_stopped_package_is_listed_inactive_with_its_stop_reason(tracker: Tenant) -> None:
    started(tracker, "fedex", "794600000002")

    stop(tracker, "fedex", "794600000002")

    (entry,) = page(tracker)["subscriptions"]
    assert (entry["active"], entry["stop_reason"], entry["next_check_at"]) == (
        False,
        "stopped_by_user",
        None,
    )


def test_subscriptions_need_an_api_key(anonymous: httpx.Client) -> None:
    assert_error(anonymous.get(SUBSCRIPTIONS), 401, "unauthorized", error_type="security")


# --- GET /v1/tracking/subscriptions: filters ------------------------------------------------------


def test_carrier_code_filter_lists_that_carriers_packages(tracker: Tenant) -> None:
    started(tracker, "ups", "1Z0000000000000001")
    started(tracker, "fedex", "794600000001")
    started(tracker, "ups", "1Z0000000000000002")

    assert listed(tracker, carrier_code="ups") == [
        ("ups", "1Z0000000000000001"),
        ("ups", "1Z0000000000000002"),
    ]
    assert listed(tracker, carrier_code="fedex") == [("fedex", "794600000001")]
    assert listed(tracker, carrier_code="dhl_express") == []


def test_stamps_com_and_usps_filters_both_find_usps_packages(tracker: Tenant) -> None:
    started(tracker, "stamps_com", "9400100000000000000101")
    started(tracker, "ups", "1Z0000000000000001")
    started(tracker, "usps", "9400100000000000000102")
    usps_packages = [("usps", "9400100000000000000101"), ("usps", "9400100000000000000102")]

    assert listed(tracker, carrier_code="stamps_com") == usps_packages
    assert listed(tracker, carrier_code="usps") == usps_packages


def test_active_filter_separates_stopped_packages_from_tracked_ones(tracker: Tenant) -> None:
    for number in ("1Z0000000000000001", "1Z0000000000000002", "1Z0000000000000003"):
        started(tracker, "ups", number)
    stop(tracker, "ups", "1Z0000000000000002")

    assert listed(tracker, active="true") == [
        ("ups", "1Z0000000000000001"),
        ("ups", "1Z0000000000000003"),
    ]
    assert listed(tracker, active="false") == [("ups", "1Z0000000000000002")]
    assert len(listed(tracker)) == 3


def test_filters_combine(tracker: Tenant) -> None:
    started(tracker, "ups", "1Z0000000000000001")
    started(tracker, "fedex", "794600000001")
    started(tracker, "fedex", "794600000002")
    stop(tracker, "fedex", "794600000001")

    assert listed(tracker, carrier_code="fedex", active="true") == [("fedex", "794600000002")]
    assert listed(tracker, carrier_code="ups", active="false") == []
    assert listed(tracker, carrier_code="fedex", status_code="UN", active="false") == [
        ("fedex", "794600000001")
    ]
    assert listed(tracker, carrier_code="fedex", status_code="DE") == []


@pytest.fixture
def engine_tracker(engine_server: Server) -> Iterator[Tenant]:
    """A sandbox account on the server that runs the tracking engine, with a track webhook."""
    made = make_tenant(engine_server, sandbox=True, name="extensions")
    made.add_track_webhook()
    yield made
    made.client.close()


# --- GET /v1/tracking/subscriptions: pages --------------------------------------------------------


def test_pages_return_every_package_exactly_once_in_start_order(tracker: Tenant) -> None:
    numbers = [f"1Z00000000000000{i:02d}" for i in range(1, 6)]
    for number in numbers:
        started(tracker, "ups", number)
    # Stopping and starting again does not move a package: the order is that of first starts.
    stop(tracker, "ups", numbers[0])
    started(tracker, "ups", numbers[0])

    pages = every_page(tracker, page_size=2)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [entry["tracking_number"] for p in pages for entry in p] == numbers


def test_a_page_size_that_divides_the_list_ends_with_a_null_cursor(tracker: Tenant) -> None:
    for i in range(1, 5):
        started(tracker, "fedex", f"79460000000{i}")

    pages = every_page(tracker, page_size=2)

    # The second page already says it is the last: no empty page to fetch.
    assert [[entry["tracking_number"] for entry in p] for p in pages] == [
        ["794600000001", "794600000002"],
        ["794600000003", "794600000004"],
    ]


def test_the_cursor_keeps_the_filters_of_the_pages_before(tracker: Tenant) -> None:
    for i in range(1, 7):
        started(tracker, "ups" if i % 2 else "fedex", f"{i}23456789012")

    pages = every_page(tracker, page_size=1, carrier_code="fedex")

    assert [[(e["carrier_code"], e["tracking_number"]) for e in p] for p in pages] == [
        [("fedex", "223456789012")],
        [("fedex", "423456789012")],
        [("fedex", "623456789012")],
    ]


def test_page_size_may_be_anything_from_1_to_500(tracker: Tenant) -> None:
    for i in range(3):
        started(tracker, "dhl_express", f"JD{i:08d}")

    assert len(page(tracker, page_size=500)["subscriptions"]) == 3
    first = page(tracker, page_size=1)
    assert len(first["subscriptions"]) == 1
    assert first["next_cursor"] is not None


def test_another_accounts_cursor_shows_nothing_of_the_other_account(
    tracker: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()
    started(other_tenant, "ups", "1Z0000000000000001")
    started(other_tenant, "ups", "1Z0000000000000002")
    started(tracker, "ups", "1Z0000000000000009")
    theirs = page(other_tenant, page_size=1)["next_cursor"]
    assert theirs is not None

    body = page(tracker, cursor=theirs)

    # The cursor is only a position: this account's own packages after it, nobody else's.
    assert [s["tracking_number"] for s in body["subscriptions"]] == ["1Z0000000000000009"]


# --- GET /v1/tracking/subscriptions: refused queries ----------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "not a cursor",
        cursor_of("before:1"),
        cursor_of("after:-1"),
        cursor_of("after:1e3"),
        cursor_of("after:"),
        cursor_of("after:\u0661"),
        cursor_of("after:" + "9" * 40),
    ],
    ids=repr,
)
def test_a_cursor_this_server_did_not_give_out_is_refused(tenant: Tenant, cursor: str) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params={"cursor": cursor})

    assert_error(response, 400, "invalid_field_value", error_type="validation", field_name="cursor")


def test_an_empty_cursor_is_refused(tenant: Tenant) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params={"cursor": ""})

    assert_error(response, 400, "field_value_required", field_name="cursor")


def test_an_overlong_cursor_is_refused(tenant: Tenant) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params={"cursor": "x" * 201})

    assert_error(response, 400, "invalid_string_length", field_name="cursor")


@pytest.mark.parametrize("page_size", ["0", "501", "abc", "-1", "1.5", ""])
def test_page_size_outside_1_to_500_is_refused(tenant: Tenant, page_size: str) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params={"page_size": page_size})

    assert_error(response, 400, "invalid_field_value", field_name="page_size")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status_code": "XX"}, "status_code"),
        ({"status_code": "de"}, "status_code"),
        ({"active": "maybe"}, "active"),
        ({"tracking_number": "1Z0000000000000001"}, "tracking_number"),
        ({"page": "2"}, "page"),
    ],
    ids=["unknown-status", "lower-case-status", "not-a-boolean", "unknown-param", "page"],
)
def test_a_wrong_filter_or_unknown_parameter_is_refused_by_name(
    tenant: Tenant, params: dict[str, str], field: str
) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params=params)

    assert_error(response, 400, "invalid_field_value", field_name=field)


def test_an_unsupported_carrier_code_filter_is_refused(tenant: Tenant) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params={"carrier_code": "pony_express"})

    assert_error(response, 400, "carrier_not_supported", field_name="carrier_code")


def test_a_repeated_parameter_is_refused(tenant: Tenant) -> None:
    response = tenant.client.get(SUBSCRIPTIONS, params=[("page_size", "1"), ("page_size", "2")])

    assert_error(response, 400, "invalid_field_value", field_name="page_size")


# --- GET /v1/sandbox/scenarios --------------------------------------------------------------------


def test_every_scenario_has_a_tracking_number_for_every_carrier_code(tenant: Tenant) -> None:
    listed_scenarios = scenarios(tenant)["scenarios"]

    assert len(listed_scenarios) >= 2
    for scenario in listed_scenarios:
        assert set(scenario["tracking_numbers"]) == CARRIER_CODES, scenario["name"]
        assert all(scenario["tracking_numbers"].values()), scenario["name"]
        assert scenario["description"], scenario["name"]
    names = [scenario["name"] for scenario in listed_scenarios]
    assert len(names) == len(set(names))
    assert scenarios(tenant)["default_scenario"] in names


def test_scenarios_reach_every_official_status_code(tenant: Tenant) -> None:
    reached = {code for s in scenarios(tenant)["scenarios"] for code in s["status_codes"]}

    assert reached == official_status_codes() == {"NY", "AC", "IT", "AT", "DE", "SP", "EX", "UN"}


def test_scenario_numbers_are_unique_per_carrier(tenant: Tenant) -> None:
    listed_scenarios = scenarios(tenant)["scenarios"]

    for code in CARRIER_CODES:
        numbers = [s["tracking_numbers"][code] for s in listed_scenarios]
        assert len(numbers) == len(set(numbers)), code


def test_scenario_numbers_play_the_journeys_they_are_listed_for(tenant: Tenant) -> None:
    # A package never started is asked of the sandbox carrier live, a year into its journey:
    # every journey has ended where its status codes say, except that a number the carrier
    # never knows is not yet in its system (expiry is a matter of tracking it for long).
    for scenario in scenarios(tenant)["scenarios"]:
        expected = "NY" if scenario["status_codes"][-1] == "UN" else scenario["status_codes"][-1]
        for code, number in scenario["tracking_numbers"].items():
            response = tenant.client.get(
                "/v1/tracking", params={"carrier_code": code, "tracking_number": number}
            )
            assert response.status_code == 200, response.text
            assert response.json()["status_code"] == expected, (scenario["name"], code)


def test_a_number_that_is_no_scenario_plays_the_default_journey(tenant: Tenant) -> None:
    body = scenarios(tenant)
    (default,) = [s for s in body["scenarios"] if s["name"] == body["default_scenario"]]

    def scan_codes(number: str) -> list[str]:
        response = tenant.client.get(
            "/v1/tracking", params={"carrier_code": "ups", "tracking_number": number}
        )
        assert response.status_code == 200, response.text
        return [event["event_code"] for event in response.json()["events"]]

    ordinary = scan_codes("1Z0000000000009999")

    assert ordinary
    assert ordinary == scan_codes(default["tracking_numbers"]["ups"])


def test_scenarios_tell_the_sandbox_speed_of_the_server(
    tenant: Tenant, engine_tracker: Tenant
) -> None:
    assert scenarios(tenant)["sandbox_speed"] == 1
    assert scenarios(engine_tracker)["sandbox_speed"] == ENGINE_SPEED


def test_scenarios_are_forbidden_to_a_production_key(production_tenant: Tenant) -> None:
    response = production_tenant.client.get(SCENARIOS)

    first = assert_error(response, 403, "forbidden", error_type="security")
    assert "TEST_" in str(first["message"])


def test_scenarios_need_an_api_key(anonymous: httpx.Client) -> None:
    assert_error(anonymous.get(SCENARIOS), 401, "unauthorized")


def test_scenarios_take_no_query_parameters(tenant: Tenant) -> None:
    response = tenant.client.get(SCENARIOS, params={"carrier_code": "ups"})

    assert_error(response, 400, "invalid_field_value", field_name="carrier_code")


# --- GET /v1/labels/{label_id}/track --------------------------------------------------------------


@pytest.mark.parametrize("label_id", ["se-1", "se-999999999", "se-abc123"])
def test_tracking_by_label_id_is_404_naming_label_id(tenant: Tenant, label_id: str) -> None:
    response = tenant.client.get(f"/v1/labels/{label_id}/track")

    first = assert_error(
        response, 404, "invalid_identifier", error_type="validation", field_name="label_id"
    )
    # The answer says how to track instead.
    assert "/v1/tracking" in str(first["message"])


def test_an_id_of_the_accounts_own_objects_is_no_label_either(tracker: Tenant) -> None:
    webhook_id = str(tracker.client.get("/v1/environment/webhooks").json()[0]["webhook_id"])
    carrier_id = primary_connection(tracker, "ups")

    for label_id in (webhook_id, carrier_id):
        response = tracker.client.get(f"/v1/labels/{label_id}/track")
        assert_error(response, 404, "invalid_identifier", field_name="label_id")


@pytest.mark.parametrize("label_id", ["abc", "SE-1", "se_1", "12345", "se-" + "1" * 23])
def test_tracking_by_a_malformed_label_id_is_400(tenant: Tenant, label_id: str) -> None:
    response = tenant.client.get(f"/v1/labels/{label_id}/track")

    assert_error(response, 400, "invalid_identifier", field_name="label_id")


def test_tracking_by_label_id_needs_an_api_key(anonymous: httpx.Client) -> None:
    assert_error(anonymous.get("/v1/labels/se-1/track"), 401, "unauthorized")


def test_tracking_by_label_id_takes_no_query_parameters(tenant: Tenant) -> None:
    response = tenant.client.get("/v1/labels/se-1/track", params={"carrier_code": "ups"})

    assert_error(response, 400, "invalid_field_value", field_name="carrier_code")


# --- shiptrack account update ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["se-999999999", "--rate-limit", "5"], "se-999999999"),
        (["abc", "--rate-limit", "5"], "abc"),
        (["SE-1", "--exception-watch-days", "3"], "SE-1"),
    ],
    ids=["unknown-account", "malformed-id", "upper-case-id"],
)
def test_account_update_of_an_account_that_does_not_exist_is_a_one_line_error(
    server: Server, args: list[str], mentions: str
) -> None:
    line = assert_one_line_error(server.cli("account", "update", *args, check=False))

    assert mentions in line, line


def test_account_update_with_nothing_to_change_is_a_one_line_error(
    server: Server, tenant: Tenant
) -> None:
    line = assert_one_line_error(server.cli("account", "update", tenant.account_id, check=False))

    assert "--rate-limit" in line, line
    assert "--exception-watch-days" in line, line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--rate-limit", "0"),
        ("--rate-limit", "-5"),
        ("--rate-limit", "abc"),
        ("--rate-limit", str(2**31)),
        ("--rate-limit", "9" * 30),
        ("--exception-watch-days", "-1"),
        ("--exception-watch-days", "1.5"),
        ("--exception-watch-days", str(10**9)),
    ],
)
def test_account_update_refuses_values_out_of_range_without_a_traceback(
    server: Server, tenant: Tenant, option: str, value: str
) -> None:
    result = server.cli("account", "update", tenant.account_id, option, value, check=False)

    assert result.returncode != 0, result
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert option in result.stderr, result.stderr


def test_account_update_says_what_it_updated(server: Server, tenant: Tenant) -> None:
    result = server.cli(
        "account", "update", tenant.account_id, "--rate-limit", "600", "--exception-watch-days", "7"
    )

    assert result.stdout.strip() == f"updated {tenant.account_id}"
    assert result.stderr == ""


@pytest.fixture
def limited_server(test_database: DatabaseServer, tmp_path: Path) -> Iterator[Server]:
    """A server of its own whose default rate limit (1000 a minute) the tests never reach."""
    env = cli_env(
        test_database.fresh(tmp_path),
        tmp_path / "data",
        SHIPTRACK_RATE_LIMIT_PER_MINUTE="1000",
        SHIPTRACK_RUN_WORKERS="false",
    )
    running = start_server(env, tmp_path / "server.log")
    yield running
    running.stop()


@pytest.mark.slow
def test_a_changed_rate_limit_applies_from_the_accounts_next_request(
    limited_server: Server,
) -> None:
    limited = make_tenant(limited_server, sandbox=True, name="limited")
    bystander = make_tenant(limited_server, sandbox=True, name="bystander")
    try:
        # Known to the running server before the change.
        assert limited.client.get("/v1/carriers").status_code == 200

        limited_server.cli("account", "update", limited.account_id, "--rate-limit", "3")

        answers = [limited.client.get("/v1/carriers") for _ in range(4)]
        assert [r.status_code for r in answers[:3]] == [200, 200, 200]
        assert_error(answers[3], 429, "rate_limit_exceeded", error_type="system")
        # One request every 60 / 3 = 20 seconds once the allowance is spent.
        assert 1 <= int(answers[3].headers["retry-after"]) <= 20
        # Other accounts keep the server's default.
        assert [bystander.client.get("/v1/carriers").status_code for _ in range(10)] == [200] * 10

        # Raising it again lifts the block at once, without waiting out the minute.
        limited_server.cli("account", "update", limited.account_id, "--rate-limit", "100000")
        assert limited.client.get("/v1/carriers").status_code == 200
    finally:
        limited.client.close()
        bystander.client.close()
