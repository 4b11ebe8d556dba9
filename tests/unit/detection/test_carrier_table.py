"""The reviewable tables next to the data: ``carriers.csv``, ``s10_countries.csv``,
``aliases.csv``. A data update that adds a format without a row fails here."""

from __future__ import annotations

from importlib import resources

from shiptrack.domain.detection import detect
from shiptrack.domain.detection.formats import (
    FORMATS,
    KNOWN_CARRIER_CODES,
    PLANNED_CARRIER_CODES,
    S10_FORMAT_ID,
    aliases,
    by_current_id,
    carrier_rows,
    parse_csv,
    s10_carriers,
)

CODES = KNOWN_CARRIER_CODES | PLANNED_CARRIER_CODES


def test_shiptrack_tracks_these_carriers_today() -> None:
    assert {"ups", "fedex", "usps", "dhl_express"} <= KNOWN_CARRIER_CODES
    assert {"canada_post", "royal_mail", "australia_post"} <= KNOWN_CARRIER_CODES
    assert "gls" in KNOWN_CARRIER_CODES


def test_a_planned_carrier_is_one_not_tracked_yet() -> None:
    assert not PLANNED_CARRIER_CODES & KNOWN_CARRIER_CODES


def test_every_format_of_the_data_has_exactly_one_row() -> None:
    rows = carrier_rows()
    ids = [f.format_id for f in FORMATS]
    assert len(ids) == len(set(ids)) == 39
    assert sorted(rows) == sorted(ids)
    table = resources.files("shiptrack.domain.detection").joinpath("carriers.csv").read_text()
    assert len(parse_csv(table)) == len(ids)  # no format twice (under its old and new id)


def test_every_row_says_why_and_names_the_courier() -> None:
    couriers = {f.format_id: f.courier_code for f in FORMATS}
    for format_id, row in carrier_rows().items():
        assert row["reason"], format_id
        assert row["courier_code"] == couriers[format_id], format_id


def test_every_carrier_code_is_known_or_planned() -> None:
    used = {row["carrier_code"] for row in carrier_rows().values()} | set(s10_carriers().values())
    assert used - {""} <= CODES


def test_the_formats_carry_the_table() -> None:
    rows = carrier_rows()
    for f in FORMATS:
        assert f.carrier_code == (rows[f.format_id]["carrier_code"] or None)


def test_aliases_point_at_formats_of_the_data() -> None:
    ids = {f.format_id for f in FORMATS}
    for old, new in aliases().items():
        assert old not in ids
        assert new in ids


def test_a_row_keyed_by_an_old_id_applies_to_the_new_one() -> None:
    renamed = aliases()
    assert renamed["fedex_smartpost"] == "usps_impb_c"
    assert renamed["usps_22"] == "usps_impb_n"
    rows = parse_csv("format_id,courier_code,carrier_code,reason\nusps_22,usps,usps,old id\n")
    assert by_current_id(rows, renamed)["usps_impb_n"]["reason"] == "old id"


def test_s10_countries_are_in_the_datas_lookup() -> None:
    (s10,) = [f for f in FORMATS if f.format_id == S10_FORMAT_ID]
    for country, code in s10_carriers().items():
        assert s10.countries[country][0] == (code or None)


def test_s10_is_decided_by_the_issuing_country() -> None:
    gb, us, cv = (detect(f"RB123456785{c}").candidates[0] for c in ("GB", "US", "CV"))
    assert (gb.carrier_code, gb.carrier_name) == ("royal_mail", "Royal Mail Group plc")
    assert (us.carrier_code, us.carrier_name) == ("usps", "United States Postal Service")
    assert cv.carrier_code is None
    assert cv.confidence == "high"
    unknown = detect("RB123456785XX").candidates
    assert [(c.format_id, c.carrier_code, c.checksum_valid, c.confidence) for c in unknown] == [
        ("s10", None, True, "low")
    ]
    assert unknown[0].carrier_name == "S10 International Standard"


def test_a_courier_shiptrack_cannot_track_is_still_reported() -> None:
    (found,) = detect("TBA000000000000").candidates
    assert found.carrier_code is None
    assert found.carrier_name == "Amazon"
    assert found.confidence == "medium"
