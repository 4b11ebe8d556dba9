"""DHL's codes and phrases (``domain/mappings/dhl_phrases.csv``) and the zones of offset-less DHL
times (``shiptrack.carriers.dhl_divisions``).

Covers: every row says why, names a language and a refinement the mapping table reads; every row
is reached by its own wording (no earlier row hides it); what the rows mean under DHL's
statusCode (German and English wording of each meaning the issue names: out for delivery,
pickup point, attempt, return, delivery); the statusCode still decides where a phrase has no row
under it; a German text the table does not know is never guessed at; and the zone rules (event
country, a country named in the locality, the service's home country, none for the US).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from importlib import resources

import pytest

from shiptrack.carriers.dhl_divisions import (
    ECOMMERCE,
    EXPRESS,
    PARCEL,
    event_zone,
    parse_phrases,
    phrase_refinement,
)
from shiptrack.carriers.dhl_reading import TEXT_RULES, map_event, parse_timestamp
from shiptrack.domain.mapping import table

LANGUAGES = {"code", "de", "en", "pl"}


def _rows() -> list[dict[str, str]]:
    text = resources.files("shiptrack.domain.mappings").joinpath("dhl_phrases.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def _mapped(status_code: str, text: str, status: str | None = None) -> tuple[str, str]:
    event = {"statusCode": status_code, "status": status or text, "description": text}
    mapped = map_event(event, table("dhl"))
    return mapped.status_code.value, mapped.status_detail_code


def test_every_row_says_why_in_which_language_and_what_it_refines_to() -> None:
    refinements = {name for name, _ in TEXT_RULES} | {
        key.split(":", 1)[1] for key in table("dhl").rows if ":" in key
    }
    for row in _rows():
        assert row["note"].strip(), row["match"]
        assert row["language"] in LANGUAGES, row["match"]
        assert (row["language"] == "code") == row["match"].startswith("code:"), row["match"]
        assert row["refinement"] == "" or row["refinement"] in refinements, row["match"]


def test_every_row_is_reached_by_its_own_wording() -> None:
    for row in _rows():
        kind, _, value = row["match"].partition(":")
        if kind == "code":
            found = phrase_refinement(value, value)
        else:
            found = phrase_refinement(None, f"Die Sendung: {value.upper()} .")
        assert found is not None and found.match == row["match"], row["match"]


def test_a_row_without_a_reason_or_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_phrases("match,language,refinement,note\ntext:zugestellt,de,delivered,\n")
    twice = "match,language,refinement,note\ncode:X,code,,a\ncode:X,code,,b\n"
    with pytest.raises(ValueError, match="given twice"):
        parse_phrases(twice)


@pytest.mark.parametrize(
    ("status_code", "text", "expected"),
    [
        # out for delivery, filed by DHL under transit
        (
            "transit",
            "Die Sendung wurde in das Zustellfahrzeug geladen.",
            ("IT", "OUT_FOR_DELIVERY"),
        ),
        (
            "transit",
            "The shipment has been loaded onto the delivery vehicle",
            ("IT", "OUT_FOR_DELIVERY"),
        ),
        # pickup point and locker
        (
            "transit",
            "Die Sendung liegt in der Filiale zur Abholung bereit.",
            ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ),
        (
            "transit",
            "The shipment is ready for pick-up at the PACKSTATION.",
            ("SP", "AWAITING_COLLECTION_FROM_PICKUP_POINT"),
        ),
        (
            "delivered",
            "Die Sendung wurde in die PACKSTATION eingeliefert.",
            ("SP", "DELIVERED_TO_PICKUP_POINT"),
        ),
        (
            "delivered",
            "The recipient has picked up the shipment from the retail outlet.",
            ("DE", "PARCEL_COLLECTED_FROM_PICKUP_POINT"),
        ),
        # a Filiale where the sender posts it is no pickup point
        (
            "transit",
            "Die Sendung wurde vom Absender in der Filiale eingeliefert.",
            ("AC", "DROPPED_OFF"),
        ),
        # failed attempts
        ("failure", "Der Empfänger wurde nicht angetroffen.", ("AT", "ATTEMPTED_DELIVERY")),
        (
            "failure",
            "The shipment could not be delivered, and the recipient has been notified.",
            ("AT", "ATTEMPTED_DELIVERY"),
        ),
        (
            "failure",
            "Aufgrund eines Adressfehlers konnte die Sendung nicht zugestellt werden.",
            ("EX", "ADDRESS_QUERY"),
        ),
        # returns
        (
            "transit",
            "Die Rücksendung an den Absender wurde eingeleitet.",
            ("EX", "RETURN_TO_SENDER"),
        ),
        ("transit", "The shipment is being returned to the sender.", ("EX", "RETURN_TO_SENDER")),
        ("failure", "Die Sendung wird an den Absender zurückgesendet.", ("EX", "RETURN_TO_SENDER")),
        # deliveries
        ("delivered", "Die Sendung wurde erfolgreich zugestellt.", ("DE", "DELIVERED")),
        ("delivered", "The shipment has been successfully delivered", ("DE", "DELIVERED")),
        # a new attempt under way is no attempt itself
        ("transit", "Es erfolgt ein 2. Zustellversuch.", ("IT", "IN_TRANSIT")),
    ],
)
def test_german_and_english_wording_mean_the_same(
    status_code: str, text: str, expected: tuple[str, str]
) -> None:
    assert _mapped(status_code, text) == expected


def test_the_status_code_still_decides_where_the_table_has_no_row_for_the_phrase() -> None:
    # "zugestellt" under pre-transit means nothing more than pre-transit.
    assert _mapped("pre-transit", "Die Sendung wurde zugestellt.") == (
        "NY",
        "ELEC_ADVICE_RECD_BY_CARRIER",
    )
    # parcel-nl codes DHL files under unknown stay unknown: kept, never deciding.
    assert _mapped("unknown", "", "INTERVENTION_PROCESSED_FOR_COLLECTION_AT_PARCELSHOP")[0] == "UN"


def test_german_text_the_table_does_not_know_is_not_guessed_at() -> None:
    assert _mapped("transit", "Die Sendung wurde im Zentrum sortiert und wartet.") == (
        "IT",
        "IN_TRANSIT",
    )
    assert _mapped("unknown", "Bitte wenden Sie sich an den Kundenservice.") == (
        "UN",
        "CARRIER_STATUS_NOT_MAPPED",
    )


def test_codes_match_only_the_whole_status() -> None:
    assert phrase_refinement("NOT_HOME", "NOT_HOME") is not None
    assert phrase_refinement("not_home", "not_home") is None


# --- zones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "service", "zone"),
    [
        ({"countryCode": "NL"}, "parcel-de", "Europe/Amsterdam"),
        ({"addressLocality": "Radefeld, Germany"}, None, "Europe/Berlin"),
        ({"addressLocality": "Deutschland"}, None, "Europe/Berlin"),
        ({}, "parcel-de", "Europe/Berlin"),
        ({}, "post-de", "Europe/Berlin"),
        ({}, "parcel-pl", "Europe/Warsaw"),
        ({}, "parcel-uk", "Europe/London"),
        ({"addressLocality": "AMM"}, "parcel-nl", "Europe/Amsterdam"),
        ({"countryCode": "US"}, "ecommerce", None),
        ({}, "ecommerce", None),
    ],
)
def test_the_zone_of_an_offset_less_time(
    address: dict[str, str], service: str | None, zone: str | None
) -> None:
    found = event_zone(address, service)
    assert (found.key if found else None) == zone


def test_an_offset_wins_over_the_zone_and_the_zone_follows_summer_time() -> None:
    berlin = event_zone({}, "parcel-de")
    assert parse_timestamp("2026-07-01T12:00:00+02:00", berlin)[0] == datetime(
        2026, 7, 1, 10, 0, tzinfo=UTC
    )
    assert parse_timestamp("2026-07-01T12:00:00", berlin)[0] == datetime(
        2026, 7, 1, 10, 0, tzinfo=UTC
    )
    assert parse_timestamp("2026-01-01T12:00:00", berlin) == (
        datetime(2026, 1, 1, 11, 0, tzinfo=UTC),
        "2026-01-01T12:00:00",
    )


def test_express_keeps_only_the_wall_time_and_the_others_read_zones() -> None:
    assert (EXPRESS.local_zones, PARCEL.local_zones, ECOMMERCE.local_zones) == (False, True, True)
    assert PARCEL.services == {"parcel-de", "parcel-nl", "parcel-pl", "parcel-uk", "post-de"}
    assert ECOMMERCE.services == {"ecommerce", "ecommerce-europe"}
    assert (EXPRESS.hint, PARCEL.hint, ECOMMERCE.hint) == ("express", None, "ecommerce")
