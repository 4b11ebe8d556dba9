"""La Poste for a production account, end to end: a real ``shiptrack serve`` process (API and
workers, real database) whose ``la_poste`` connection points at the fake Suivi v2 API
(``tests/fakes/la_poste.py``) on 127.0.0.1.

Covers: connecting checks the Okapi key with one lookup (a refused key is ``400``
``integrations``/``verification_failure`` from the carrier and nothing is stored; La Poste down is
``503``); a delivered Colissimo shows its events in true UTC with La Poste's wall times, its
network (``colissimo``) and the La Poste tracking page; packages polled together get one 207
answer and each its own outcome: in transit, attempted, not yet in the system, invalid.
Failures (401, 429, 5xx) are tested for every carrier by the carrier failures contract.
"""

from __future__ import annotations

from tests.carrier_kit import FAKE_CARRIERS, e2e_fixtures, walk
from tests.conftest import Server, Tenant, assert_error
from tests.fakes import la_poste as lp
from tests.fakes.server import FakeServer
from tests.support import get_tracking, recorded, start_tracking, wait_for_tracking

CODE = "la_poste"
CONNECT = f"/v1/connections/carriers/{CODE}"


def ids_of(fake: FakeServer) -> list[list[str]]:
    """The ids of each tracking call the fake received, in order."""
    return [r.path.removeprefix("/idships/").split(",") for r in fake.requests]


KIT = FAKE_CARRIERS[CODE]
engine, fake, shipper, connected = e2e_fixtures(KIT)


# --- connecting ----------------------------------------------------------------------------------


def test_a_key_la_poste_refuses_is_a_verification_failure(
    shipper: Tenant, fake: FakeServer
) -> None:
    response = shipper.client.post(CONNECT, json={"api_key": "wrong-key", "base_url": fake.url})
    assert_error(
        response,
        400,
        "verification_failure",
        error_type="integrations",
        field_name="api_key",
        error_source="carrier",
    )
    assert "wrong-key" not in response.text
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []
    assert len(fake.requests) == 1


def test_la_poste_down_while_connecting_is_503(shipper: Tenant, fake: FakeServer) -> None:
    fake.state["outage"] = True
    response = shipper.client.post(CONNECT, json={"api_key": lp.API_KEY, "base_url": fake.url})
    assert_error(response, 503, "unspecified", error_type="system", error_source="carrier")
    assert shipper.client.get("/v1/carriers").json()["carriers"] == []


def test_a_valid_key_connects_with_one_lookup(shipper: Tenant, fake: FakeServer) -> None:
    carrier_id = KIT.connect(shipper, fake)
    (request,) = fake.requests
    assert request.path.startswith("/idships/")
    assert request.headers["X-Okapi-Key"] == lp.API_KEY
    (carrier,) = shipper.client.get("/v1/carriers").json()["carriers"]
    assert (carrier["carrier_id"], carrier["carrier_code"]) == (carrier_id, CODE)


# --- tracking ------------------------------------------------------------------------------------


def test_a_delivered_colissimo_shows_la_postes_data_in_utc(
    engine: Server, connected: Tenant
) -> None:
    start_tracking(connected, CODE, lp.DELIVERED)
    body = wait_for_tracking(
        connected, CODE, lp.DELIVERED, lambda b: b["active"] is False, "delivery"
    )
    assert (body["status_code"], body["status_detail_code"]) == ("DE", "DELIVERED")
    assert body["carrier_code"] == CODE
    assert body["last_error"] is None
    assert body["tracking_url"] == (
        f"https://www.laposte.fr/outils/suivre-vos-envois?code={lp.DELIVERED}"
    )
    assert (body["ship_date"], body["actual_delivery_date"]) == (
        "2026-02-17T13:43:00Z",
        "2026-03-09T08:38:00Z",
    )
    newest = body["events"][0]
    assert (newest["occurred_at"], newest["carrier_occurred_at"]) == (
        "2026-03-09T08:38:00Z",
        "2026-03-09T09:38:00",
    )
    assert (newest["event_code"], newest["description"]) == ("DI1", "Your parcel is delivered.")
    assert {e["carrier_detail_code"] for e in body["events"]} == {"colissimo"}
    assert walk(recorded(engine, connected.account_id, CODE, lp.DELIVERED)) == [
        ("UN", "DE", "DELIVERED")
    ]


def test_packages_polled_together_get_one_207_and_each_its_own_outcome(
    engine: Server, connected: Tenant, fake: FakeServer
) -> None:
    unknown = "6A99999999999"
    numbers = (lp.IN_TRANSIT, lp.ATTEMPTED, unknown, lp.INVALID)
    # While La Poste is down, every package waits for the connection's back-off: they all become
    # due at the same moment, and are then asked together in one call (a 207).
    fake.state["outage"] = True
    for number in numbers:
        start_tracking(connected, CODE, number)
    for number in numbers:
        wait_for_tracking(
            connected, CODE, number, lambda b: b["last_error"] is not None, "the outage"
        )
    fake.state.pop("outage")
    fake.requests.clear()
    wait_for_tracking(
        connected,
        CODE,
        lp.IN_TRANSIT,
        lambda b: b["status_code"] == "IT",
        "the first answer after the outage",
    )
    asked = ids_of(fake)
    assert set(numbers) <= set(asked[0]), asked
    assert max(len(ids) for ids in asked) <= 10

    def status(number: str) -> tuple[str, str | None]:
        body = get_tracking(connected, CODE, number)
        return body["status_code"], body["status_detail_code"]

    assert status(lp.IN_TRANSIT) == ("IT", "IN_TRANSIT")
    assert status(lp.ATTEMPTED) == ("AT", "ATTEMPTED_DELIVERY")
    not_found = get_tracking(connected, CODE, unknown)
    assert (not_found["status_code"], not_found["events"], not_found["active"]) == ("NY", [], True)
    assert not_found["last_error"] is None
    invalid = get_tracking(connected, CODE, lp.INVALID)
    assert (invalid["status_code"], invalid["status_detail_code"]) == ("UN", "TRACKING_EXPIRED")
    assert invalid["carrier_status_code"] == "400"
    assert invalid["last_error"].startswith("La Poste says the tracking number is invalid (400 ")
