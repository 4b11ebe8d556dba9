"""``POST /v1/tracking/start``, ``POST /v1/tracking/stop`` and ``GET /v1/tracking`` over real HTTP.

Covers every success and error path of the three tracking endpoints: the empty ``204`` answers,
idempotent start, trailing slashes, tracking-number normalisation and validation, naming the carrier
by ``carrier_code`` or by ``carrier_id`` (and the two disagreeing), Stamps.com packages reported as
USPS, unsupported and unconnected carriers, the ``track`` webhook requirement, stop semantics, the
``TrackingInformation`` shape checked against the official OpenAPI schema plus shiptrack's five
freshness fields, the live carrier lookup that answers ``GET`` for a package the account never
started (stored nowhere), the carrier tracking page, account isolation, and what happens to tracked
packages when their carrier is disconnected.

The session server runs no tracking workers, so a started package keeps what start stored (``UN``,
no events) while a live lookup asks the sandbox carrier, which answers any number that is not a
sandbox scenario as a completed plain delivery (``DE``). Whether a package is *actively* tracked
shows in ``active`` and ``stop_reason``, and in behaviour: ``start`` on an active package changes
nothing, while ``start`` on a stopped one resumes it on the connection it picks now; and
disconnecting a carrier moves active packages to another connection of the same carrier, which
``GET /v1/tracking`` reports as the new integer ``carrier_id``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.conftest import Server, Tenant, assert_error, make_tenant

#: The official ShipEngine OpenAPI extract kept in the repository (see tests/contract/README.md).
SPEC = Path(__file__).parents[1] / "contract" / "shipengine-openapi-tracking.yaml"

UPS_NUMBER = "1Z999AA10123456784"
USPS_NUMBER = "9405511899223197428490"

#: What shiptrack adds to ShipEngine's TrackingInformation (README, "Freshness").
FRESHNESS = frozenset({"active", "stop_reason", "last_checked_at", "next_check_at", "last_error"})
#: Every field shiptrack adds: freshness and the package's public page (README, "Extensions").
EXTENSIONS = FRESHNESS | {"public_url"}


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def tracker(tenant: Tenant) -> Tenant:
    """A sandbox account that has a ``track`` webhook, so it may start tracking."""
    tenant.add_track_webhook()
    return tenant


def call(tenant: Tenant, action: str, **params: str) -> httpx.Response:
    """``start``/``stop`` (POST) or ``get`` (GET /v1/tracking) with exactly these parameters."""
    if action == "get":
        return tenant.client.get("/v1/tracking", params=params)
    return tenant.client.post(f"/v1/tracking/{action}", params=params)


def tracked(tenant: Tenant, carrier_code: str, tracking_number: str) -> dict[str, Any]:
    """``GET /v1/tracking`` of a package that must be tracked."""
    response = call(tenant, "get", carrier_code=carrier_code, tracking_number=tracking_number)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_started(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


def carriers_of(tenant: Tenant) -> list[dict[str, Any]]:
    response = tenant.client.get("/v1/carriers")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["carriers"]
    return found


def connection_of(tenant: Tenant, carrier_code: str) -> str:
    """The ``se-`` id of the account's primary connection of a carrier."""
    (found,) = [
        c["carrier_id"]
        for c in carriers_of(tenant)
        if c["carrier_code"] == carrier_code and c["primary"]
    ]
    return str(found)


def connect(tenant: Tenant, carrier_code: str) -> str:
    """Connect another (simulated) account of a carrier; its ``se-`` id."""
    response = tenant.client.post(f"/v1/connections/carriers/{carrier_code}", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["carrier_id"])


def disconnect(tenant: Tenant, carrier_code: str, carrier_id: str) -> None:
    response = tenant.client.delete(f"/v1/connections/carriers/{carrier_code}/{carrier_id}")
    assert response.status_code == 204, response.text


def number_of(se_id: str) -> int:
    """``se-42`` → ``42``: TrackingInformation reports ``carrier_id`` as an integer."""
    prefix, _, digits = se_id.partition("-")
    assert prefix == "se" and digits.isdigit(), se_id
    return int(digits)


def parse_utc(text: str) -> datetime:
    """A timestamp as shiptrack writes it: ISO 8601 in UTC with a ``Z``."""
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def subscriptions_of(tenant: Tenant) -> list[dict[str, Any]]:
    """Every package the account has started (``GET /v1/tracking/subscriptions``)."""
    response = tenant.client.get("/v1/tracking/subscriptions")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["subscriptions"]
    return found


def live_lookup(
    tenant: Tenant, tracking_number: str, **params: str
) -> tuple[dict[str, Any], tuple[datetime, datetime]]:
    """``GET /v1/tracking`` of a package the account never started, and when it was asked."""
    before = datetime.now(UTC)
    response = call(tenant, "get", tracking_number=tracking_number, **params)
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body, (before, after)


def assert_live_answer(
    body: dict[str, Any], asked: tuple[datetime, datetime], *, connection: str, number: str
) -> None:
    """``body`` is the carrier's answer of the moment through the account's own ``connection``:
    not a subscription (inactive, never scheduled, no stop reason), checked while it was asked.

    The sandbox carrier answers a number that is no scenario as a plain delivery, completed."""
    before, after = asked
    assert body["tracking_number"] == number
    assert body["carrier_id"] == number_of(connection)
    assert body["active"] is False
    assert body["stop_reason"] is None
    assert body["next_check_at"] is None
    assert body["last_error"] is None
    # Milliseconds on the wire: allow for the truncation.
    checked = parse_utc(body["last_checked_at"])
    assert before - timedelta(milliseconds=1) <= checked <= after, body["last_checked_at"]
    assert body["status_code"] == "DE"
    assert body["events"], body


# --- start ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "carrier_code",
    [
        "ups",
        "fedex",
        "usps",
        "stamps_com",
        "dhl_express",
        "canada_post",
        "australia_post",
        "gls",
        "postnl",
        "la_poste",
        "dhl_parcel",
        "dhl_ecommerce",
    ],
)
def test_start_answers_204_with_an_empty_body_for_every_supported_carrier(
    tracker: Tenant, carrier_code: str
) -> None:
    response = tracker.start(carrier_code, "ABC123456789")

    assert_started(response)
    assert "x-request-id" in response.headers


def test_started_package_can_be_read_back(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))

    body = tracked(tracker, "ups", UPS_NUMBER)

    assert body["tracking_number"] == UPS_NUMBER
    assert body["carrier_code"] == "ups"
    assert body["carrier_id"] == number_of(connection_of(tracker, "ups"))


def test_start_is_idempotent(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))
    first = tracked(tracker, "ups", UPS_NUMBER)

    assert_started(tracker.start("ups", UPS_NUMBER))

    assert tracked(tracker, "ups", UPS_NUMBER) == first


def test_start_on_an_active_package_keeps_its_connection(tracker: Tenant) -> None:
    first = connection_of(tracker, "ups")
    second = connect(tracker, "ups")
    assert_started(call(tracker, "start", carrier_id=first, tracking_number=UPS_NUMBER))

    # Naming another connection does not create a second subscription nor move the package.
    assert_started(call(tracker, "start", carrier_id=second, tracking_number=UPS_NUMBER))

    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(first)


@pytest.mark.parametrize(
    "path", ["/v1/tracking/start/", "/v1/tracking/stop/", "/v1/tracking/"], ids=lambda p: p
)
def test_trailing_slash_is_accepted(tracker: Tenant, path: str) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))

    method = "GET" if path == "/v1/tracking/" else "POST"
    response = tracker.client.request(
        method, path, params={"carrier_code": "ups", "tracking_number": UPS_NUMBER}
    )

    assert response.status_code == (200 if method == "GET" else 204), response.text
    if method == "GET":
        assert response.json()["tracking_number"] == UPS_NUMBER
    else:
        assert response.content == b""


# --- tracking number normalisation and validation -------------------------------------------------


def test_tracking_numbers_are_trimmed_and_upper_cased(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", "  1z999aa10123456784 "))

    for spelling in (UPS_NUMBER, UPS_NUMBER.lower(), f" {UPS_NUMBER.lower()}\t"):
        body = tracked(tracker, "ups", spelling)
        assert body["tracking_number"] == UPS_NUMBER


def test_differently_spelt_numbers_are_one_package(tracker: Tenant) -> None:
    first = connection_of(tracker, "ups")
    second = connect(tracker, "ups")
    assert_started(call(tracker, "start", carrier_id=first, tracking_number=UPS_NUMBER.lower()))

    assert_started(call(tracker, "start", carrier_id=second, tracking_number=f" {UPS_NUMBER} "))

    # The second start found the package the first one created, so nothing moved.
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(first)
    assert_started(
        tracker.client.post(
            "/v1/tracking/stop",
            params={"carrier_code": "ups", "tracking_number": UPS_NUMBER.lower()},
        )
    )


def test_the_same_number_with_another_carrier_is_another_package(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))

    body, asked = live_lookup(tracker, UPS_NUMBER, carrier_code="fedex")

    # FedEx is asked about the number live; the UPS subscription is not what answers.
    assert_live_answer(body, asked, connection=connection_of(tracker, "fedex"), number=UPS_NUMBER)
    assert body["carrier_code"] == "fedex"
    assert_error(
        call(tracker, "stop", carrier_code="fedex", tracking_number=UPS_NUMBER),
        404,
        "invalid_identifier",
        field_name="tracking_number",
    )
    assert [(s["carrier_code"], s["tracking_number"]) for s in subscriptions_of(tracker)] == [
        ("ups", UPS_NUMBER)
    ]
    assert tracked(tracker, "ups", UPS_NUMBER)["active"] is True


@pytest.mark.parametrize(
    "number",
    [
        "1Z999 AA101",
        "ABC/123",
        "ABC%2F123",
        "ABC_123",
        "ABC.123",
        "ABC123;DROP",
        "ÄBC123",
        "ABC\u200b123",
        "ABC\x00123",
    ],
    ids=repr,
)
@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_tracking_number_with_characters_other_than_letters_digits_and_dash_is_refused(
    tracker: Tenant, action: str, number: str
) -> None:
    response = call(tracker, action, carrier_code="ups", tracking_number=number)

    assert_error(
        response, 400, "invalid_field_value", error_type="validation", field_name="tracking_number"
    )


def test_tracking_number_may_contain_dashes(tracker: Tenant) -> None:
    assert_started(tracker.start("dhl_express", "JD-0141-2345"))

    assert tracked(tracker, "dhl_express", "jd-0141-2345")["tracking_number"] == "JD-0141-2345"


def test_tracking_number_of_64_characters_is_accepted(tracker: Tenant) -> None:
    number = "A" * 64

    assert_started(tracker.start("fedex", number))

    assert tracked(tracker, "fedex", number)["tracking_number"] == number


@pytest.mark.parametrize("length", [65, 201, 1000])
@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_tracking_number_over_64_characters_is_refused(
    tracker: Tenant, action: str, length: int
) -> None:
    response = call(tracker, action, carrier_code="fedex", tracking_number="7" * length)

    assert_error(response, 400, "invalid_string_length", field_name="tracking_number")


def test_surrounding_spaces_do_not_count_towards_the_length(tracker: Tenant) -> None:
    assert_started(tracker.start("fedex", f"  {'7' * 64}  "))


# --- missing and empty parameters -----------------------------------------------------------------


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_missing_tracking_number_is_required(tracker: Tenant, action: str) -> None:
    response = call(tracker, action, carrier_code="ups")

    assert_error(
        response, 400, "field_value_required", error_type="validation", field_name="tracking_number"
    )


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_no_carrier_for_a_number_of_no_known_format_is_a_400_asking_for_one(
    tracker: Tenant, action: str
) -> None:
    response = call(tracker, action, tracking_number="NOTANUMBER42")

    first = assert_error(response, 400, "invalid_field_value", field_name="carrier_code")
    assert "matches no known format" in str(first["message"])
    assert "carrier_id" in str(first["message"])


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_no_parameters_at_all_is_a_400(tracker: Tenant, action: str) -> None:
    response = call(tracker, action)

    assert_error(response, 400, "field_value_required")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"carrier_code": "ups", "tracking_number": ""}, "tracking_number"),
        ({"carrier_code": "ups", "tracking_number": "   "}, "tracking_number"),
        ({"carrier_code": "", "tracking_number": UPS_NUMBER}, "carrier_code"),
        ({"carrier_id": "", "tracking_number": UPS_NUMBER}, "carrier_id"),
    ],
    ids=["empty-number", "blank-number", "empty-carrier-code", "empty-carrier-id"],
)
@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_empty_values_are_required_values(
    tracker: Tenant, action: str, params: dict[str, str], field: str
) -> None:
    response = call(tracker, action, **params)

    assert_error(response, 400, "field_value_required", field_name=field)


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_unknown_query_parameter_is_refused(tracker: Tenant, action: str) -> None:
    response = call(
        tracker, action, carrier_code="ups", tracking_number=UPS_NUMBER, tracking_numbr="x"
    )

    assert_error(response, 400, "invalid_field_value", field_name="tracking_numbr")


def test_repeated_query_parameter_is_refused(tracker: Tenant) -> None:
    response = tracker.client.post(
        "/v1/tracking/start",
        params=[("carrier_code", "ups"), ("tracking_number", "A1"), ("tracking_number", "A2")],
    )

    assert_error(response, 400, "invalid_field_value", field_name="tracking_number")
    # Nothing was started, under either number.
    assert subscriptions_of(tracker) == []
    for number in ("A1", "A2"):
        assert_error(
            call(tracker, "stop", carrier_code="ups", tracking_number=number),
            404,
            "invalid_identifier",
        )


# --- carriers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["pony_express", "UPS", "Ups", "ups ", "canada-post", "x" * 40])
@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_unsupported_carrier_code_is_refused(tracker: Tenant, action: str, code: str) -> None:
    response = call(tracker, action, carrier_code=code, tracking_number=UPS_NUMBER)

    first = assert_error(
        response, 400, "carrier_not_supported", error_type="validation", field_name="carrier_code"
    )
    # The message tells the client what it may use instead.
    assert "dhl_express" in str(first["message"])


def test_overlong_carrier_code_is_refused(tracker: Tenant) -> None:
    response = call(tracker, "start", carrier_code="u" * 41, tracking_number=UPS_NUMBER)

    assert_error(response, 400, "invalid_string_length", field_name="carrier_code")


def test_unsupported_carrier_is_reported_before_tracking_number_problems(tracker: Tenant) -> None:
    response = call(tracker, "start", carrier_code="pony_express", tracking_number="bad number!")

    assert_error(response, 400, "carrier_not_supported", field_name="carrier_code")


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_carrier_not_connected_on_a_production_account(
    production_tenant: Tenant, action: str
) -> None:
    production_tenant.add_track_webhook()

    response = call(production_tenant, action, carrier_code="ups", tracking_number=UPS_NUMBER)

    first = assert_error(
        response,
        400,
        "carrier_not_connected",
        error_type="business_rules",
        field_name="carrier_code",
    )
    assert "/v1/connections/carriers/ups" in str(first["message"])


def test_connecting_the_carrier_lets_a_production_account_track(
    production_tenant: Tenant, carrier_host: str
) -> None:
    production_tenant.add_track_webhook()
    connected = production_tenant.client.post(
        "/v1/connections/carriers/fedex",
        json={"client_id": "id", "client_secret": "secret", "base_url": carrier_host},
    )
    assert connected.status_code == 200, connected.text

    assert_started(production_tenant.start("fedex", "794601234567"))

    body = tracked(production_tenant, "fedex", "794601234567")
    assert body["carrier_id"] == number_of(connected.json()["carrier_id"])
    # Other carriers are still not connected.
    assert_error(production_tenant.start("ups", UPS_NUMBER), 400, "carrier_not_connected")


def test_carrier_not_connected_comes_before_the_missing_webhook(
    production_tenant: Tenant,
) -> None:
    response = production_tenant.start("ups", UPS_NUMBER)

    assert_error(response, 400, "carrier_not_connected", field_name="carrier_code")


# --- the track webhook requirement ----------------------------------------------------------------


def test_start_without_a_track_webhook_is_refused(tenant: Tenant) -> None:
    response = tenant.start("ups", UPS_NUMBER)

    first = assert_error(response, 400, "invalid_status", error_type="business_rules")
    assert "/v1/environment/webhooks" in str(first["message"])
    # Nothing was tracked.
    assert subscriptions_of(tenant) == []
    assert_error(
        call(tenant, "stop", carrier_code="ups", tracking_number=UPS_NUMBER),
        404,
        "invalid_identifier",
    )


def test_a_webhook_for_another_event_does_not_count(tenant: Tenant) -> None:
    created = tenant.client.post(
        "/v1/environment/webhooks", json={"event": "batch", "url": "https://example.invalid/batch"}
    )
    assert created.status_code == 200, created.text

    assert_error(tenant.start("ups", UPS_NUMBER), 400, "invalid_status")


def test_another_accounts_track_webhook_does_not_count(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()

    assert_error(tenant.start("ups", UPS_NUMBER), 400, "invalid_status")


def test_tracking_can_start_once_the_webhook_exists(tenant: Tenant) -> None:
    assert_error(tenant.start("ups", UPS_NUMBER), 400, "invalid_status")

    tenant.add_track_webhook()

    assert_started(tenant.start("ups", UPS_NUMBER))


def test_deleting_the_track_webhook_blocks_new_starts(tracker: Tenant) -> None:
    (webhook,) = tracker.client.get("/v1/environment/webhooks").json()
    assert_started(tracker.start("ups", UPS_NUMBER))

    deleted = tracker.client.delete(f"/v1/environment/webhooks/{webhook['webhook_id']}")
    assert deleted.status_code == 204, deleted.text

    assert_error(tracker.start("fedex", "794601234567"), 400, "invalid_status")
    # What was tracked before stays readable.
    assert tracked(tracker, "ups", UPS_NUMBER)["tracking_number"] == UPS_NUMBER


# --- carrier_id -----------------------------------------------------------------------------------


def test_carrier_id_can_name_the_carrier(tracker: Tenant) -> None:
    fedex = connection_of(tracker, "fedex")

    assert_started(call(tracker, "start", carrier_id=fedex, tracking_number="794601234567"))

    body = tracked(tracker, "fedex", "794601234567")
    assert body["carrier_code"] == "fedex"
    assert body["carrier_id"] == number_of(fedex)
    by_id = call(tracker, "get", carrier_id=fedex, tracking_number="794601234567")
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == body
    assert_started(call(tracker, "stop", carrier_id=fedex, tracking_number="794601234567"))


def test_carrier_id_and_matching_carrier_code_together(tracker: Tenant) -> None:
    ups = connection_of(tracker, "ups")

    response = call(
        tracker, "start", carrier_id=ups, carrier_code="ups", tracking_number=UPS_NUMBER
    )

    assert_started(response)
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(ups)


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_carrier_id_and_carrier_code_disagreeing_is_refused(tracker: Tenant, action: str) -> None:
    if action != "start":
        assert_started(tracker.start("fedex", UPS_NUMBER))
    ups = connection_of(tracker, "ups")

    response = call(
        tracker, action, carrier_id=ups, carrier_code="fedex", tracking_number=UPS_NUMBER
    )

    assert_error(
        response, 400, "identifiers_must_match", error_type="validation", field_name="carrier_code"
    )


def test_carrier_id_picks_the_connection_among_several_of_a_carrier(tracker: Tenant) -> None:
    connection_of(tracker, "ups")
    second = connect(tracker, "ups")

    assert_started(call(tracker, "start", carrier_id=second, tracking_number=UPS_NUMBER))

    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(second)


def test_carrier_code_picks_the_oldest_connection_of_a_carrier(tracker: Tenant) -> None:
    oldest = connection_of(tracker, "ups")
    connect(tracker, "ups")

    assert_started(tracker.start("ups", UPS_NUMBER))

    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(oldest)


@pytest.mark.parametrize(
    "carrier_id",
    ["abc", "SE-1", "se_1", "se-", "12345", "se-1 ", "se-1\n", "se-" + "1" * 23, "se-" + "1" * 60],
    ids=repr,
)
@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_malformed_carrier_id_is_an_invalid_identifier(
    tracker: Tenant, action: str, carrier_id: str
) -> None:
    response = call(tracker, action, carrier_id=carrier_id, tracking_number=UPS_NUMBER)

    assert_error(response, 400, "invalid_identifier", field_name="carrier_id")


@pytest.mark.parametrize("action", ["start", "stop", "get"])
def test_unknown_and_foreign_carrier_ids_are_the_same_404(
    tracker: Tenant, other_tenant: Tenant, action: str
) -> None:
    foreign = connection_of(other_tenant, "ups")
    answers = [
        call(tracker, action, carrier_id=carrier_id, tracking_number=UPS_NUMBER)
        for carrier_id in (foreign, "se-999999999", "se-abc")
    ]

    for response in answers:
        assert_error(response, 404, "invalid_identifier", field_name="carrier_id")
    assert {r.json()["errors"][0]["error_type"] for r in answers} == {"validation"}


def test_disconnected_carrier_id_is_not_found(tracker: Tenant) -> None:
    second = connect(tracker, "ups")
    disconnect(tracker, "ups", second)

    response = call(tracker, "start", carrier_id=second, tracking_number=UPS_NUMBER)

    assert_error(response, 404, "invalid_identifier", field_name="carrier_id")


# --- Stamps.com and USPS --------------------------------------------------------------------------


def test_stamps_com_package_is_reported_as_usps_and_found_by_both_codes(tracker: Tenant) -> None:
    stamps = connection_of(tracker, "stamps_com")

    assert_started(tracker.start("stamps_com", USPS_NUMBER))

    by_stamps = tracked(tracker, "stamps_com", USPS_NUMBER)
    by_usps = tracked(tracker, "usps", USPS_NUMBER)
    assert by_stamps == by_usps
    assert by_usps["carrier_code"] == "usps"
    # The package is tracked through the Stamps.com connection it was started with.
    assert by_usps["carrier_id"] == number_of(stamps)
    assert urlsplit(by_usps["tracking_url"]).hostname == "tools.usps.com"


def test_usps_and_stamps_com_starts_are_one_package(tracker: Tenant) -> None:
    usps = connection_of(tracker, "usps")
    assert_started(tracker.start("usps", USPS_NUMBER))

    assert_started(tracker.start("stamps_com", USPS_NUMBER))

    assert tracked(tracker, "stamps_com", USPS_NUMBER)["carrier_id"] == number_of(usps)
    # One stop through either code stops the one package; stopping again still succeeds.
    assert_started(call(tracker, "stop", carrier_code="stamps_com", tracking_number=USPS_NUMBER))
    assert_started(call(tracker, "stop", carrier_code="usps", tracking_number=USPS_NUMBER))


def test_stamps_com_carrier_id_with_usps_carrier_code_agree(tracker: Tenant) -> None:
    stamps = connection_of(tracker, "stamps_com")

    response = call(
        tracker, "start", carrier_id=stamps, carrier_code="usps", tracking_number=USPS_NUMBER
    )

    assert_started(response)
    assert tracked(tracker, "usps", USPS_NUMBER)["carrier_id"] == number_of(stamps)


def test_usps_package_can_be_tracked_through_a_stamps_com_connection_alone(
    production_tenant: Tenant, carrier_host: str
) -> None:
    production_tenant.add_track_webhook()
    connected = production_tenant.client.post(
        "/v1/connections/carriers/stamps_com",
        json={"client_id": "id", "client_secret": "secret", "base_url": carrier_host},
    )
    assert connected.status_code == 200, connected.text

    assert_started(production_tenant.start("usps", USPS_NUMBER))

    body = tracked(production_tenant, "usps", USPS_NUMBER)
    assert body["carrier_code"] == "usps"
    assert body["carrier_id"] == number_of(connected.json()["carrier_id"])


# --- stop -----------------------------------------------------------------------------------------


def test_stop_of_a_never_tracked_package_is_404(tracker: Tenant) -> None:
    response = call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER)

    assert_error(
        response, 404, "invalid_identifier", error_type="validation", field_name="tracking_number"
    )


def test_stop_of_a_tracked_package_is_204_with_an_empty_body(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))

    response = call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER)

    assert_started(response)


def test_stopping_twice_still_succeeds(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert_started(call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER))

    response = call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER)

    assert_started(response)


def test_stopped_package_stays_readable(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))
    before = tracked(tracker, "ups", UPS_NUMBER)

    assert_started(call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER))

    after = tracked(tracker, "ups", UPS_NUMBER)
    # ShipEngine's fields read exactly as before; only the subscription's freshness changed.
    assert {k: v for k, v in after.items() if k not in FRESHNESS} == {
        k: v for k, v in before.items() if k not in FRESHNESS
    }
    assert (before["active"], before["stop_reason"]) == (True, None)
    assert before["next_check_at"] is not None
    assert (after["active"], after["stop_reason"]) == (False, "stopped_by_user")
    assert after["next_check_at"] is None
    assert after["last_checked_at"] == before["last_checked_at"]
    assert after["last_error"] == before["last_error"]


def test_stopped_package_no_longer_follows_its_carrier(tracker: Tenant) -> None:
    first = connection_of(tracker, "ups")
    second = connect(tracker, "ups")
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert_started(tracker.start("ups", "1Z0000000000000001"))
    assert_started(call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER))

    disconnect(tracker, "ups", first)

    # The active package moved to the remaining connection; the stopped one did not.
    assert tracked(tracker, "ups", "1Z0000000000000001")["carrier_id"] == number_of(second)
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(first)


def test_start_after_stop_resumes_tracking(tracker: Tenant) -> None:
    first = connection_of(tracker, "ups")
    second = connect(tracker, "ups")
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert_started(call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER))

    assert_started(tracker.start("ups", UPS_NUMBER))

    disconnect(tracker, "ups", first)
    # Active again, so it followed the carrier to its remaining connection.
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(second)
    assert_started(call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER))


def test_start_after_stop_uses_the_connection_named_now(tracker: Tenant) -> None:
    first = connection_of(tracker, "ups")
    second = connect(tracker, "ups")
    assert_started(call(tracker, "start", carrier_id=first, tracking_number=UPS_NUMBER))
    assert_started(call(tracker, "stop", carrier_id=first, tracking_number=UPS_NUMBER))

    assert_started(call(tracker, "start", carrier_id=second, tracking_number=UPS_NUMBER))

    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(second)


# --- GET /v1/tracking -----------------------------------------------------------------------------


def test_get_of_an_untracked_package_asks_the_carrier_live_and_stores_nothing(
    tracker: Tenant,
) -> None:
    body, asked = live_lookup(tracker, f" {UPS_NUMBER.lower()}", carrier_code="ups")

    assert_live_answer(body, asked, connection=connection_of(tracker, "ups"), number=UPS_NUMBER)
    assert body["carrier_code"] == "ups"
    assert body["actual_delivery_date"] is not None
    assert body["events"][0]["status_code"] == "DE"
    occurred = [parse_utc(e["occurred_at"]) for e in body["events"] if e["occurred_at"]]
    assert occurred == sorted(occurred, reverse=True)
    # Nothing was stored: the account tracks nothing, and cannot stop what it never started.
    assert subscriptions_of(tracker) == []
    assert_error(
        call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER),
        404,
        "invalid_identifier",
        field_name="tracking_number",
    )
    # Starting it now begins from scratch, not from the live answer.
    assert_started(tracker.start("ups", UPS_NUMBER))
    stored = tracked(tracker, "ups", UPS_NUMBER)
    assert (stored["status_code"], stored["events"], stored["active"]) == ("UN", [], True)


def test_live_lookup_by_carrier_id_asks_that_connection(tracker: Tenant) -> None:
    second = connect(tracker, "ups")

    body, asked = live_lookup(tracker, UPS_NUMBER, carrier_id=second)

    assert_live_answer(body, asked, connection=second, number=UPS_NUMBER)
    assert subscriptions_of(tracker) == []


def test_live_lookup_of_a_stamps_com_number_is_reported_as_usps(tracker: Tenant) -> None:
    stamps = connection_of(tracker, "stamps_com")

    body, asked = live_lookup(tracker, USPS_NUMBER, carrier_code="stamps_com")

    assert_live_answer(body, asked, connection=stamps, number=USPS_NUMBER)
    assert body["carrier_code"] == "usps"
    assert urlsplit(body["tracking_url"]).hostname == "tools.usps.com"


def _schema() -> tuple[set[str], set[str], dict[str, Any]]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    properties = schemas["tracking_information"]["properties"]
    required = set(schemas["get_tracking_log_response_body"]["required"])
    return set(properties), required, schemas


def test_get_returns_every_field_of_the_tracking_information_schema(tracker: Tenant) -> None:
    fields, required, _ = _schema()
    assert_started(tracker.start("ups", UPS_NUMBER))

    body = tracked(tracker, "ups", UPS_NUMBER)

    assert required <= fields
    # Every schema field, plus exactly shiptrack's freshness fields and public_url (none is
    # ShipEngine's).
    assert EXTENSIONS.isdisjoint(fields)
    assert set(body) == fields | EXTENSIONS
    # Before the tracking engine has asked the carrier, nothing but the basics is known.
    for name in required - {"carrier_detail_code", "carrier_status_code"}:
        assert body[name] is not None, name


def test_live_lookup_returns_every_field_of_the_schema_and_its_events_too(
    tracker: Tenant,
) -> None:
    fields, required, schemas = _schema()
    event_fields = set(schemas["track_event"]["properties"])

    body, _ = live_lookup(tracker, "794601234567", carrier_code="fedex")

    assert set(body) == fields | EXTENSIONS
    # Asked live and not stored: the package has no public page.
    assert body["public_url"] is None
    # The carrier has answered, so every required field is known, its codes included.
    for name in required:
        assert body[name] is not None, name
    assert body["status_code"] in schemas["status_code"]["enum"]
    assert body["status_detail_code"] in schemas["status_detail_code"]["enum"]
    for event in body["events"]:
        assert set(event) == event_fields, event
        assert event["status_code"] in schemas["status_code"]["enum"]


def test_get_fields_have_the_schema_types(tracker: Tenant) -> None:
    _, _, schemas = _schema()
    assert_started(tracker.start("ups", UPS_NUMBER))

    body = tracked(tracker, "ups", UPS_NUMBER)

    assert body["tracking_number"] == UPS_NUMBER
    assert isinstance(body["tracking_url"], str)
    assert body["status_code"] in schemas["status_code"]["enum"]
    assert body["carrier_code"] == "ups"
    assert type(body["carrier_id"]) is int
    assert 0 < body["carrier_id"] <= 2**31 - 1
    assert body["events"] == []
    for name in (
        "status_description",
        "status_detail_description",
        "carrier_status_code",
        "carrier_detail_code",
        "carrier_status_description",
        "exception_description",
    ):
        assert body[name] is None or isinstance(body[name], str), name
    assert body["status_detail_code"] is None or (
        body["status_detail_code"] in schemas["status_detail_code"]["enum"]
    )
    for name in ("ship_date", "estimated_delivery_date", "actual_delivery_date"):
        assert body[name] is None, name


def test_new_package_is_unknown_until_the_carrier_is_asked(tracker: Tenant) -> None:
    assert_started(tracker.start("dhl_express", "1234567890"))

    body = tracked(tracker, "dhl_express", "1234567890")

    assert body["status_code"] == "UN"
    assert body["status_description"] == "Unknown"
    assert body["status_detail_code"] is None
    assert body["carrier_status_code"] is None
    assert body["events"] == []


@pytest.mark.parametrize(
    ("carrier_code", "number", "host"),
    [
        ("ups", UPS_NUMBER, "www.ups.com"),
        ("fedex", "794601234567", "www.fedex.com"),
        ("usps", USPS_NUMBER, "tools.usps.com"),
        ("stamps_com", USPS_NUMBER, "tools.usps.com"),
        ("dhl_express", "JD-014600006", "www.dhl.com"),
    ],
)
def test_tracking_url_is_the_carriers_page_for_the_number(
    tracker: Tenant, carrier_code: str, number: str, host: str
) -> None:
    assert_started(tracker.start(carrier_code, number.lower()))

    url = urlsplit(tracked(tracker, carrier_code, number)["tracking_url"])

    assert url.scheme == "https"
    assert url.hostname == host
    assert [number] in parse_qs(url.query).values()


def test_get_answers_json_with_a_request_id_header(tracker: Tenant) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))

    response = call(tracker, "get", carrier_code="ups", tracking_number=UPS_NUMBER)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]


# --- isolation, auth and methods ------------------------------------------------------------------


def test_another_account_cannot_see_or_stop_a_package(
    tracker: Tenant, other_tenant: Tenant
) -> None:
    assert_started(tracker.start("ups", UPS_NUMBER))
    mine = tracked(tracker, "ups", UPS_NUMBER)

    theirs, asked = live_lookup(other_tenant, UPS_NUMBER, carrier_code="ups")
    stop = call(other_tenant, "stop", carrier_code="ups", tracking_number=UPS_NUMBER)

    # The other account gets its own live carrier answer, not this account's subscription.
    assert_live_answer(
        theirs,
        asked,
        connection=connection_of(other_tenant, "ups"),
        number=UPS_NUMBER,
    )
    assert theirs["carrier_id"] != mine["carrier_id"]
    assert (mine["active"], mine["status_code"], mine["events"]) == (True, "UN", [])
    assert mine["next_check_at"] is not None
    assert_error(stop, 404, "invalid_identifier", field_name="tracking_number")
    assert subscriptions_of(other_tenant) == []
    assert tracked(tracker, "ups", UPS_NUMBER) == mine


def test_two_accounts_track_the_same_package_independently(
    tracker: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.add_track_webhook()
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert_started(other_tenant.start("ups", UPS_NUMBER))

    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(
        connection_of(tracker, "ups")
    )
    assert tracked(other_tenant, "ups", UPS_NUMBER)["carrier_id"] == number_of(
        connection_of(other_tenant, "ups")
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/tracking/start"), ("POST", "/v1/tracking/stop"), ("GET", "/v1/tracking")],
)
def test_tracking_endpoints_need_an_api_key(
    anonymous: httpx.Client, method: str, path: str
) -> None:
    params = {"carrier_code": "ups", "tracking_number": UPS_NUMBER}

    assert_error(anonymous.request(method, path, params=params), 401, "unauthorized")
    assert_error(
        anonymous.request(method, path, params=params, headers={"API-Key": "TEST_nope"}),
        401,
        "unauthorized",
        error_type="security",
    )


def test_authentication_comes_before_parameter_checks(anonymous: httpx.Client) -> None:
    response = anonymous.post("/v1/tracking/start", params={"carrier_code": "royal_mail"})

    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/tracking/start", "POST"),
        ("DELETE", "/v1/tracking/stop", "POST"),
        ("POST", "/v1/tracking", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(
    tracker: Tenant, method: str, path: str, allowed: str
) -> None:
    response = tracker.client.request(
        method, path, params={"carrier_code": "ups", "tracking_number": UPS_NUMBER}
    )

    assert_error(response, 405, "unspecified")
    assert allowed in response.headers["allow"]


# --- disconnecting carriers -----------------------------------------------------------------------


@pytest.fixture
def two_ups(tracker: Tenant) -> tuple[Tenant, str, str]:
    """A tracking account with two UPS connections (oldest first) and a package on the first."""
    first = connection_of(tracker, "ups")
    second = connect(tracker, "ups")
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(first)
    return tracker, first, second


def test_second_connection_takes_over_when_one_is_disconnected(
    two_ups: tuple[Tenant, str, str],
) -> None:
    tracker, first, second = two_ups

    disconnect(tracker, "ups", first)

    body = tracked(tracker, "ups", UPS_NUMBER)
    assert body["carrier_id"] == number_of(second)
    # Still active: a start changes nothing, a stop succeeds.
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert tracked(tracker, "ups", UPS_NUMBER) == body


def test_disconnecting_by_carrier_id_moves_packages_too(two_ups: tuple[Tenant, str, str]) -> None:
    tracker, first, second = two_ups

    response = tracker.client.delete(f"/v1/carriers/{first}")

    assert response.status_code == 204, response.text
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(second)


def test_disconnecting_another_carrier_leaves_packages_alone(
    two_ups: tuple[Tenant, str, str],
) -> None:
    tracker, first, _ = two_ups

    disconnect(tracker, "fedex", connection_of(tracker, "fedex"))

    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(first)


def test_disconnecting_the_only_connection_stops_its_packages(tracker: Tenant) -> None:
    only = connection_of(tracker, "ups")
    assert_started(tracker.start("ups", UPS_NUMBER))

    disconnect(tracker, "ups", only)

    # Without a connection nothing new can start, but the tracked package is still known.
    assert_error(tracker.start("ups", "1Z0000000000000001"), 400, "carrier_not_connected")
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(only)
    assert_started(call(tracker, "stop", carrier_code="ups", tracking_number=UPS_NUMBER))
    # A new connection does not pick the package up by itself: it was stopped.
    replacement = connect(tracker, "ups")
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(only)
    # Starting again resumes it (an active package would have kept its connection).
    assert_started(tracker.start("ups", UPS_NUMBER))
    assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(replacement)


def test_stamps_com_connection_takes_over_usps_packages(tracker: Tenant) -> None:
    usps = connection_of(tracker, "usps")
    stamps = connection_of(tracker, "stamps_com")
    assert_started(tracker.start("usps", USPS_NUMBER))
    assert tracked(tracker, "usps", USPS_NUMBER)["carrier_id"] == number_of(usps)

    disconnect(tracker, "usps", usps)

    body = tracked(tracker, "usps", USPS_NUMBER)
    assert body["carrier_id"] == number_of(stamps)
    assert body["carrier_code"] == "usps"


def test_the_successor_is_the_accounts_connection_not_another_accounts(
    tracker: Tenant, server: Server
) -> None:
    # Another account with its own UPS connections must not receive this account's packages.
    stranger = make_tenant(server, sandbox=True, name="stranger")
    try:
        connect(stranger, "ups")
        only = connection_of(tracker, "ups")
        assert_started(tracker.start("ups", UPS_NUMBER))

        disconnect(tracker, "ups", only)

        assert tracked(tracker, "ups", UPS_NUMBER)["carrier_id"] == number_of(only)
        # The stranger tracks nothing; asking about the number asks its own carrier live.
        assert subscriptions_of(stranger) == []
        body, asked = live_lookup(stranger, UPS_NUMBER, carrier_code="ups")
        assert_live_answer(
            body, asked, connection=connection_of(stranger, "ups"), number=UPS_NUMBER
        )
        assert_error(
            call(stranger, "stop", carrier_code="ups", tracking_number=UPS_NUMBER),
            404,
            "invalid_identifier",
        )
    finally:
        stranger.client.close()


@pytest.mark.parametrize(
    "query",
    [
        {"carrier_code": "u" * 41, "tracking_number": "x" * 201},
        {"carrier_code": "", "tracking_number": ""},
        {"carrier_code": "ups", "tracking_number": UPS_NUMBER, "carrier_id": ""},
        {"carrier_code": "ups", "tracking_numbr": UPS_NUMBER},
        {"carrier_code": "pony_express", "tracking_number": UPS_NUMBER},
        {"carrier_code": "ups"},
    ],
)
def test_the_lean_routes_refuse_a_bad_query_with_exactly_the_errors_stop_gives(
    tracker: Tenant, query: dict[str, str]
) -> None:
    """``GET /v1/tracking`` and ``POST /v1/tracking/start`` are served by lean routes of their own
    (README, "Freshness"): they must not answer differently from the route FastAPI validates."""
    stopped = call(tracker, "stop", **query)
    assert stopped.status_code == 400
    for action in ("get", "start"):
        answer = call(tracker, action, **query)
        assert answer.status_code == 400
        assert answer.json()["errors"] == stopped.json()["errors"], action
