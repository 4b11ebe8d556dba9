"""The La Poste adapter (``shiptrack.carriers.la_poste.LaPosteCarrier``) over real HTTP against the
fake Suivi v2 API (``tests/fakes/la_poste.py``) on 127.0.0.1.

Covers: the request La Poste documents (1 to 10 ids in the path, ``X-Okapi-Key``, ``lang=en_GB``);
the 207 multi-status answer with per-id results and partial failures (found, unknown, invalid, an
id La Poste cannot answer for), also as JSON texts; a delivered Colissimo in true UTC with its
dates; a failed presentation (AT), a pickup point (SP), a return (EX), customs, an unmapped code;
offset-less dates in Paris across the October 2026 change and in Réunion; a single unknown or
invalid id; a 400 refusing several ids at once, answered by asking each alone; bodies that are not
La Poste's (HTML, a gateway 404). 429, 5xx, outages, revoked keys and ``verify()`` are tested for
every carrier by the carrier transport contract.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shiptrack.carriers.base import ConnectionContext, Result, TrackRequest, TransportError
from shiptrack.carriers.http import CredentialsRejected
from shiptrack.carriers.la_poste import LaPosteCarrier
from shiptrack.domain.changes import NOT_FOUND, CarrierReport, InvalidNumber, Known, observe
from tests.carrier_kit import FAKE_CARRIERS, adapter_fixtures
from tests.fakes import la_poste as lp
from tests.fakes.server import FakeServer

running, fake, carrier = adapter_fixtures(FAKE_CARRIERS["la_poste"])


def context(url: str, key: str | None = lp.API_KEY) -> ConnectionContext:
    return ConnectionContext(
        connection_id=7,
        carrier_code="la_poste",
        simulated=False,
        base_url=url,
        credentials={"api_key": key} if key else {},
    )


async def track_all(carrier: LaPosteCarrier, fake: FakeServer, *numbers: str) -> dict[str, Result]:
    results = await carrier.track(context(fake.url), [TrackRequest(n) for n in numbers])
    assert set(results) == set(numbers)
    return results


async def report(carrier: LaPosteCarrier, fake: FakeServer, number: str) -> CarrierReport:
    result = (await track_all(carrier, fake, number))[number]
    assert isinstance(result, CarrierReport), result
    return result


def package_status(result: Result) -> tuple[str, str | None]:
    """The status a subscriber sees after a first check with this answer."""
    first = Known(
        status_code="UN", status_detail_code=None, sequence=0, settled=False, newest_event_at=None
    )
    observation = observe(first, result)
    return observation.status_code, observation.status_detail_code


# --- the requests ---------------------------------------------------------------------------------


async def test_ids_go_ten_at_a_time_in_the_path_with_the_okapi_key_in_english(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    numbers = [f"6Z{i:011d}" for i in range(23)]
    results = await track_all(carrier, fake, *numbers)
    assert results == dict.fromkeys(numbers, NOT_FOUND)
    assert [r.path.removeprefix("/idships/").split(",") for r in fake.requests] == [
        numbers[:10],
        numbers[10:20],
        numbers[20:],
    ]
    request = fake.requests[0]
    assert request.query == {"lang": "en_GB"}
    assert request.headers["X-Okapi-Key"] == lp.API_KEY
    assert request.headers["Accept"] == "application/json"
    assert LaPosteCarrier.batch_size == 10
    # One call a second: a tenth of the 10 a second documented for the plan.
    assert LaPosteCarrier.budget.requests_per_second == 1.0


async def test_the_base_url_path_is_kept(carrier: LaPosteCarrier, fake: FakeServer) -> None:
    results = await carrier.track(context(f"{fake.url}/suivi/v2/"), [TrackRequest(lp.IN_TRANSIT)])
    assert isinstance(results[lp.IN_TRANSIT], CarrierReport)
    assert fake.paths() == [f"/suivi/v2/idships/{lp.IN_TRANSIT}"]


# --- the 207 multi-status answer -----------------------------------------------------------------


@pytest.mark.parametrize("as_text", [False, True], ids=["objects", "json-texts"])
async def test_a_multi_status_answer_is_read_id_by_id_with_its_partial_failures(
    carrier: LaPosteCarrier, fake: FakeServer, as_text: bool
) -> None:
    fake.state["as_text"] = as_text
    unknown = "6A99999999999"
    results = await track_all(
        carrier, fake, lp.DELIVERED, lp.INVALID, unknown, lp.PICKUP_POINT, lp.BACKEND_DOWN
    )

    assert len(fake.requests) == 1  # one call for the five ids, answered 207
    assert package_status(results[lp.DELIVERED]) == ("DE", "DELIVERED")
    assert package_status(results[lp.PICKUP_POINT]) == (
        "SP",
        "AWAITING_COLLECTION_FROM_PICKUP_POINT",
    )
    assert results[unknown] is NOT_FOUND  # returnCode 104: not yet available
    assert results[lp.BACKEND_DOWN] is NOT_FOUND  # 504 for that id alone: the others are read
    invalid = results[lp.INVALID]
    assert isinstance(invalid, InvalidNumber)
    assert (invalid.carrier, invalid.code) == ("La Poste", "400")
    assert "pas valide" in (invalid.message or "")


async def test_an_answer_under_another_spelling_is_the_single_ids_but_left_out_of_several(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    fake.state["shown"] = {lp.IN_TRANSIT: "6A 0000 0000 002", lp.DELIVERED: "6A0000000000X"}
    alone = await track_all(carrier, fake, lp.IN_TRANSIT)
    assert package_status(alone[lp.IN_TRANSIT]) == ("IT", "IN_TRANSIT")
    several = await track_all(carrier, fake, lp.DELIVERED, lp.PICKUP_POINT)
    assert several[lp.DELIVERED] is NOT_FOUND  # the 207 names no such id
    assert isinstance(several[lp.PICKUP_POINT], CarrierReport)


# --- what the shipments say ----------------------------------------------------------------------


async def test_a_delivered_colissimo_in_true_utc_with_its_dates(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, lp.DELIVERED)

    delivered = result.events[0]
    assert (delivered.event_code, delivered.status_code) == ("DI1", "DE")
    assert delivered.occurred_at == datetime(2026, 3, 9, 8, 38, tzinfo=UTC)
    assert delivered.carrier_occurred_at == "2026-03-09T09:38:00"
    assert delivered.description == "Your parcel is delivered."  # asked in English
    assert {e.carrier_detail_code for e in result.events} == {"colissimo"}  # holder 4
    assert [e.status_code for e in result.events] == ["DE", "IT", "IT", "IT", "AC", "NY"]
    assert result.ship_date == "2026-02-17T13:43:00Z"  # entryDate
    assert result.estimated_delivery_date == "2026-03-09T08:38:00Z"
    assert result.actual_delivery_date == "2026-03-09T08:38:00Z"


@pytest.mark.parametrize(
    ("number", "status", "holder"),
    [
        (lp.IN_TRANSIT, ("IT", "IN_TRANSIT"), "colissimo"),
        (lp.ATTEMPTED, ("AT", "ATTEMPTED_DELIVERY"), "courrier"),
        (lp.PICKUP_POINT, ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"), "colissimo"),
        (lp.RETURNED, ("EX", "UNDELIVERABLE_RETURNED_TO_SENDER"), "chronopost"),
        (lp.CUSTOMS, ("EX", "HELD_BY_CUSTOMS"), "colissimo"),
        # The newest code is unknown: kept, but the package stays as its newest mapped scan says.
        (lp.UNMAPPED, ("IT", "IN_TRANSIT"), "colissimo"),
    ],
    ids=["in-transit", "attempted", "pickup-point", "returned", "customs", "unmapped"],
)
async def test_each_journey_shows_its_status_and_network(
    carrier: LaPosteCarrier,
    fake: FakeServer,
    number: str,
    status: tuple[str, str],
    holder: str,
) -> None:
    result = await report(carrier, fake, number)
    assert package_status(result) == status
    assert {e.carrier_detail_code for e in result.events} == {holder}


async def test_the_pickup_point_is_named_and_a_return_is_an_exception_on_its_way(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    waiting = (await report(carrier, fake, lp.PICKUP_POINT)).events[0]
    assert waiting.company_name == "Bureau de poste Lyon Bellecour"
    returned = await report(carrier, fake, lp.RETURNED)
    assert [(e.event_code, e.status_code) for e in returned.events] == [
        ("DI2", "EX"),
        ("RE1", "EX"),
        ("ND1", "AT"),
        ("PC1", "AC"),
    ]
    assert returned.actual_delivery_date is None  # delivered to the sender is no delivery
    unmapped = (await report(carrier, fake, lp.UNMAPPED)).events[0]
    assert (unmapped.status_code, unmapped.status_detail_code) == (
        "UN",
        "CARRIER_STATUS_NOT_MAPPED",
    )
    assert (unmapped.event_code, unmapped.description) == ("ZZ9", "Something unusual.")


async def test_offsetless_dates_read_in_paris_across_the_clock_change_and_in_reunion(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    result = await report(carrier, fake, lp.OVERSEAS)
    assert [(e.carrier_occurred_at, e.occurred_at) for e in result.events] == [
        ("2026-10-27T07:30:00", datetime(2026, 10, 27, 3, 30, tzinfo=UTC)),  # RE, +04:00
        ("2026-10-25T02:30:00", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # first 02:30, CEST
        ("2026-10-24T23:00:00", datetime(2026, 10, 24, 21, 0, tzinfo=UTC)),  # FR, CEST
        ("2026-10-24T18:00:00", datetime(2026, 10, 24, 16, 0, tzinfo=UTC)),  # no country: Paris
    ]
    assert result.events[0].country_code == "RE"
    assert result.ship_date == "2026-10-24T16:00:00Z"


# --- one id, and refusals -------------------------------------------------------------------------


async def test_a_single_unknown_or_invalid_id(carrier: LaPosteCarrier, fake: FakeServer) -> None:
    assert (await track_all(carrier, fake, "6A99999999999")) == {"6A99999999999": NOT_FOUND}
    invalid = (await track_all(carrier, fake, lp.INVALID))[lp.INVALID]
    assert isinstance(invalid, InvalidNumber)
    assert invalid.verdict().startswith("La Poste says the tracking number is invalid (400 ")


async def test_a_400_refusing_several_ids_asks_each_alone(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    fake.state["max_ids"] = 1
    results = await track_all(carrier, fake, lp.IN_TRANSIT, lp.INVALID, "6A99999999999")
    assert isinstance(results[lp.IN_TRANSIT], CarrierReport)
    assert isinstance(results[lp.INVALID], InvalidNumber)
    assert results["6A99999999999"] is NOT_FOUND
    assert len(fake.requests) == 4  # the refused call, then one per id

    fake.state["max_ids"] = 0  # even one id is refused: the request, never the number
    with pytest.raises(TransportError, match=r"La Poste refused the request \(HTTP 400\)"):
        await track_all(carrier, fake, lp.IN_TRANSIT)


@pytest.mark.parametrize(
    ("suffix", "number", "message"),
    [
        ("", lp.NOT_JSON, "not the JSON it documents"),
        ("/elsewhere", lp.IN_TRANSIT, "HTTP 404 with a body that is not the JSON"),
    ],
    ids=["html", "gateway-404"],
)
async def test_answers_that_are_not_la_postes_are_transport_errors(
    carrier: LaPosteCarrier, fake: FakeServer, suffix: str, number: str, message: str
) -> None:
    with pytest.raises(TransportError, match=message):
        await carrier.track(context(fake.url + suffix), [TrackRequest(number)])


async def test_a_connection_without_a_key_is_refused_before_calling(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    with pytest.raises(CredentialsRejected, match="needs an api_key"):
        await carrier.verify(context(fake.url, key=None))
    with pytest.raises(TransportError, match="needs an api_key"):
        await carrier.track(context(fake.url, key=None), [TrackRequest(lp.IN_TRANSIT)])
    assert fake.requests == []


async def test_verify_asks_one_lookup_with_the_key(
    carrier: LaPosteCarrier, fake: FakeServer
) -> None:
    await carrier.verify(context(fake.url))
    assert len(fake.requests) == 1
    assert fake.requests[0].headers["X-Okapi-Key"] == lp.API_KEY
    with pytest.raises(CredentialsRejected, match=r"refused the api_key \(HTTP 401\)"):
        await carrier.verify(context(fake.url, key="wrong"))
