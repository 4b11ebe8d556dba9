"""The collision table: every pair of formats whose regexes both match one of the data's valid
test numbers. A data update that adds (or removes) an ambiguity changes the computed set and fails
here; review the new pair, then list it."""

from __future__ import annotations

from shiptrack.domain.detection import detect
from shiptrack.domain.detection.formats import courier_files, slug

#: Reviewed: which formats can match the same number (sorted pairs of format ids).
COLLISIONS = {
    # 10-11 digits: a DHL Express waybill (mod 7) has the shape of an Old Dominion PRO (Luhn).
    ("dhl_express", "old_dominion"),
    ("dhl_express", "old_dominion_guaranteed_shipment"),
    # J + letters + digits: a DHL piece id has the shape of Purolator's alpha + 9.
    ("dhl_express_piece_id", "purolator_alpha"),
    # 15 digits: DPD's 14 + check character (digit) and FedEx Ground.
    ("dpd_14", "fedex_ground"),
    # 12 digits: FedEx Express and Purolator.
    ("fedex_12", "purolator_numeric"),
    # 34 digits: FedEx Express 34 and a USPS IMpb C with its 420 + ZIP+4 routing prefix.
    ("fedex_34", "usps_impb_c"),
    # 20 digits: USPS 20 and USPS legacy without its AI 91.
    ("usps_20", "usps_legacy"),
}


def computed() -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for courier in courier_files():
        for definition in courier["tracking_numbers"]:
            format_id = definition.get("id") or slug(definition["name"])
            for number in definition["test_numbers"]["valid"]:
                for found in detect(number).candidates:
                    if found.format_id != format_id:
                        first, second = sorted((format_id, found.format_id))
                        pairs.add((first, second))
    return pairs


def test_the_collision_table_is_complete_and_current() -> None:
    assert computed() == COLLISIONS


def test_a_collision_is_ranked_by_its_check_digits() -> None:
    # A Purolator number has FedEx Express's shape; only Purolator's check digit holds.
    candidates = detect("320595463938").candidates
    assert [(c.format_id, c.confidence) for c in candidates] == [
        ("purolator_numeric", "high"),
        ("fedex_12", "low"),
    ]
    assert [c.carrier_code for c in candidates] == [None, "fedex"]
