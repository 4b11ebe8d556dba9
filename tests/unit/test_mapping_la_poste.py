"""The La Poste mapping table (``domain/mappings/la_poste.csv``) and the reading of Suivi v2
answers: every documented event code has a row with a reason; the policy decisions (pickup point
or locker SP, a failed presentation AT, a return EX) hold; unknown codes stay unmapped; the
answer's per-id objects are read in every documented shape; dates without an offset follow
Paris or the overseas territory they name."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.la_poste_reading import (
    Malformed,
    entries,
    map_event,
    parse_timestamp,
    shipment_report,
)
from shiptrack.domain.carriers import CARRIERS

#: The event codes of La Poste's Suivi documentation ("codes événements").
DOCUMENTED = (
    *("DR1", "PC1", "PC2", "ET1", "ET2", "ET3", "ET4", "EP1", "DO1", "DO2"),
    *("DO3", "PB1", "PB2", "MD2", "ND1", "AG1", "RE1", "DI1", "DI2"),
)


def rows() -> dict[str, dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("la_poste.csv").read_text()
    return {row["key"]: row for row in csv.DictReader(text.splitlines())}


def test_every_documented_code_has_a_row_with_a_reason() -> None:
    table = rows()
    assert set(DOCUMENTED) <= set(table)
    for key, row in table.items():
        assert row["note"].strip(), key
    # Documented codes are all decided; only third-party codes may stay unmapped or informative.
    for code in DOCUMENTED:
        assert table[code]["status_code"] != "UN", code
        assert table[code]["note"].startswith("[lp-doc]"), code


@pytest.mark.parametrize(
    ("code", "status", "detail"),
    [
        ("DR1", "NY", "ELEC_ADVICE_RECD_BY_CARRIER"),
        ("PC1", "AC", "RECEIVED_BY_CARRIER"),
        ("ET3", "IT", "IN_TRANSIT"),
        ("DO2", "IT", "CUSTOMS_CLEARED"),
        ("DO3", "EX", "HELD_BY_CUSTOMS"),
        ("MD2", "IT", "OUT_FOR_DELIVERY"),
        ("ND1", "AT", "ATTEMPTED_DELIVERY"),
        ("AG1", "SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ("RE1", "EX", "RETURN_TO_SENDER"),
        ("DI1", "DE", "DELIVERED"),
        ("DI2", "EX", "UNDELIVERABLE_RETURNED_TO_SENDER"),
        ("di1", "DE", "DELIVERED"),
        ("ZZ9", "UN", "CARRIER_STATUS_NOT_MAPPED"),
        (None, "UN", "CARRIER_STATUS_NOT_MAPPED"),
    ],
    ids=str,
)
def test_codes_map_to_the_policy(code: str | None, status: str, detail: str) -> None:
    mapped = map_event(code)
    assert (mapped.status_code, mapped.status_detail_code) == (status, detail)


@pytest.mark.parametrize(
    ("wall", "country", "utc"),
    [
        ("2026-07-01T12:00:00", None, datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),  # CEST
        ("2026-01-10T12:00:00", "FR", datetime(2026, 1, 10, 11, 0, tzinfo=UTC)),  # CET
        # 25 October 2026: 02:30 happens twice in Paris; the first (summer) one is taken.
        ("2026-10-25T02:30:00", "FR", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("2026-10-25T03:30:00", "fr", datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
        ("2026-07-01T12:00:00", "RE", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),  # +04:00
        ("2026-07-01T12:00:00", "GP", datetime(2026, 7, 1, 16, 0, tzinfo=UTC)),  # -04:00
        ("2026-07-01T12:00:00", "GF", datetime(2026, 7, 1, 15, 0, tzinfo=UTC)),  # -03:00
        ("2026-07-01T12:00:00", "NC", datetime(2026, 7, 1, 1, 0, tzinfo=UTC)),  # +11:00
        ("2026-07-01T12:00:00", "PF", datetime(2026, 7, 1, 22, 0, tzinfo=UTC)),  # -10:00
    ],
    ids=[
        "paris-summer",
        "paris-winter",
        "repeated-hour",
        "after-change",
        "reunion",
        "guadeloupe",
        "guyane",
        "nouvelle-caledonie",
        "polynesie",
    ],
)
def test_offsetless_dates_use_paris_or_the_territorys_zone(
    wall: str, country: str | None, utc: datetime
) -> None:
    assert parse_timestamp(wall, country) == (utc, wall)


def test_an_offset_wins_and_an_unknown_country_leaves_the_moment_unknown() -> None:
    assert parse_timestamp("2026-07-01T12:00:00-04:00", "FR") == (
        datetime(2026, 7, 1, 16, 0, tzinfo=UTC),
        "2026-07-01T12:00:00",
    )
    assert parse_timestamp("2026-07-01T12:00:00", "BR") == (None, "2026-07-01T12:00:00")
    assert parse_timestamp("not a date", None) == (None, "not a date")


def test_answers_are_read_as_an_array_a_bare_object_or_an_array_of_json_texts() -> None:
    found = {"returnCode": 200, "shipment": {"idShip": "6A1"}}
    unknown = {"returnCode": "104", "idShip": "6A2"}
    assert entries([found, unknown]) == [found, unknown]
    assert entries(unknown) == [unknown]
    assert entries([json.dumps(found), json.dumps(unknown)]) == [found, unknown]
    for bad in ([], {"code": "UNAUTHORIZED"}, ["<html>"], [1]):
        with pytest.raises(Malformed):
            entries(bad)


def test_the_holder_names_the_network_and_a_pickup_point_is_named_while_it_waits() -> None:
    report = shipment_report(
        {
            "idShip": "6A1",
            "holder": 3,
            "contextData": {"removalPoint": {"name": "Relais Pickup Café", "type": "A2P"}},
            "event": [
                {"code": "AG1", "label": "Waiting at your pickup point.", "date": "2026-07-03"},
                {"code": "PC1", "label": "Taken in charge.", "date": "2026-07-01T10:00:00+02:00"},
            ],
        }
    )
    waiting, taken = report.events
    assert [e.carrier_detail_code for e in report.events] == ["chronopost", "chronopost"]
    assert (waiting.status_code, waiting.company_name) == ("SP", "Relais Pickup Café")
    assert taken.company_name is None
    assert (taken.event_code, taken.description) == ("PC1", "Taken in charge.")
    assert report.ship_date == "2026-07-01T08:00:00Z"
    assert report.actual_delivery_date is None


def test_test_and_production_are_the_one_server_the_spec_names() -> None:
    kind = CARRIERS["la_poste"]
    production = "https://api.laposte.fr/suivi/v2"
    assert kind.api_url(None) == kind.api_url("production") == kind.api_url("test") == production
    assert kind.api_url("https://proxy.example/suivi/v2/") == "https://proxy.example/suivi/v2"
    assert kind.credential_fields == ("api_key",)
    assert kind.tracking_url("6A 1") == (
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A%201"
    )
