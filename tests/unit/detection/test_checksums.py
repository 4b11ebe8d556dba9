"""Each check-digit algorithm on numbers worked by hand and on a wrong check digit."""

from __future__ import annotations

import pytest

from shiptrack.domain.detection import checksums
from shiptrack.domain.detection.formats import FORMATS

UPS = {"evens_multiplier": 1, "odds_multiplier": 2}
GS1 = {"evens_multiplier": 3, "odds_multiplier": 1}
FEDEX_12 = {"weightings": [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1], "modulo1": 11, "modulo2": 10}
ALPHANUMERIC = {"modulo": 36, "alphabet": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
WEIGHTED = "sum_product_with_weightings_and_modulo"


@pytest.mark.parametrize(
    ("name", "sequence", "check", "spec", "valid"),
    [
        # UPS 1Z5R89390357567127: letters weigh (ord - 3) % 10, R -> 9.
        ("mod10", "5R8939035756712", "7", UPS, True),
        ("mod10", "5R8939035756712", "8", UPS, False),
        # GS1 with the index counted from the right (USPS IMpb).
        ("mod10", "940011120620640626078", "7", {**GS1, "reverse": True}, True),
        ("mod10", "12", "0", {}, False),  # 1 + 2 = 3 -> 7
        ("mod10", "12", "7", {}, True),
        ("mod10", "1*", "7", {}, False),
        ("mod7", "331881002", "5", {"modulo": 7}, True),  # 331881002 % 7 == 5
        ("mod7", "331881002", "4", {"modulo": 7}, False),
        ("mod7", "33188100X", "4", {}, False),
        # 1*8 + 2*6 + ... + 8*7 = 204; 204 % 11 = 6; 11 - 6 = 5.
        ("s10", "12345678", "5", {}, True),
        ("s10", "12345678", "6", {}, False),
        ("s10", "00000000", "5", {}, True),  # remainder 0 -> 5
        ("s10", "00000008", "0", {}, True),  # 8 * 7 = 56; 56 % 11 = 1 -> 0
        (WEIGHTED, "98657878885", "5", FEDEX_12, True),
        (WEIGHTED, "98657878885", "4", FEDEX_12, False),
        (WEIGHTED, "9865787888", "5", FEDEX_12, False),
        ("luhn", "7992739871", "3", {}, True),  # the textbook Luhn example
        ("luhn", "7992739871", "4", {}, False),
        ("mod_37_36", "09980000020033", "F", ALPHANUMERIC, True),
        ("mod_37_36", "09980000020033", "D", ALPHANUMERIC, False),
        ("mod_37_36", "0998000002003!", "D", ALPHANUMERIC, False),
    ],
)
def test_algorithms(
    name: str, sequence: str, check: str, spec: dict[str, object], valid: bool
) -> None:
    prepared = checksums.prepare({"name": name, **spec})
    assert prepared is not None
    assert prepared(sequence, check) is valid


def test_an_algorithm_not_implemented_is_none() -> None:
    assert checksums.prepare({"name": "pallet"}) is None
    assert checksums.prepare({}) is None


@pytest.mark.parametrize("algorithm", sorted(checksums.ALGORITHMS))
@pytest.mark.parametrize("junk", ["", "A", "é", "12", "💥"])
def test_algorithms_never_raise(algorithm: str, junk: str) -> None:
    prepared = checksums.prepare({"name": algorithm, "weightings": "x", "modulo": 0})
    assert prepared is not None
    assert prepared(junk, junk) in (True, False)


def test_every_checksum_the_data_names_is_implemented() -> None:
    named = {f.checksum_name for f in FORMATS if f.checksum_name}
    assert named <= set(checksums.ALGORITHMS), named - set(checksums.ALGORITHMS)
    assert all(f.checksum is not None for f in FORMATS if f.checksum_name)
