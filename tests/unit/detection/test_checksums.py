"""Each check-digit algorithm on numbers worked by hand and on a wrong check digit."""

from __future__ import annotations

import pytest

from shiptrack.domain.detection import checksums
from shiptrack.domain.detection.formats import FORMATS

UPS = {"evens_multiplier": 1, "odds_multiplier": 2}
GS1 = {"evens_multiplier": 3, "odds_multiplier": 1}
FEDEX_12 = {"weightings": [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1], "modulo1": 11, "modulo2": 10}
ALPHANUMERIC = {"modulo": 36, "alphabet": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


@pytest.mark.parametrize(
    ("algorithm", "sequence", "check", "spec", "valid"),
    [
        # UPS 1Z5R89390357567127: letters weigh (ord - 3) % 10, R -> 9.
        (checksums.mod10, "5R8939035756712", "7", UPS, True),
        (checksums.mod10, "5R8939035756712", "8", UPS, False),
        # GS1 with the index counted from the right (USPS IMpb).
        (checksums.mod10, "940011120620640626078", "7", {**GS1, "reverse": True}, True),
        (checksums.mod10, "12", "0", {}, False),  # 1 + 2 = 3 -> 7
        (checksums.mod10, "12", "7", {}, True),
        (checksums.mod10, "1*", "7", {}, False),
        (checksums.mod7, "331881002", "5", {"modulo": 7}, True),  # 331881002 % 7 == 5
        (checksums.mod7, "331881002", "4", {"modulo": 7}, False),
        (checksums.mod7, "33188100X", "4", {}, False),
        # 1*8 + 2*6 + ... + 8*7 = 204; 204 % 11 = 6; 11 - 6 = 5.
        (checksums.s10, "12345678", "5", {}, True),
        (checksums.s10, "12345678", "6", {}, False),
        (checksums.sum_product_with_weightings_and_modulo, "98657878885", "5", FEDEX_12, True),
        (checksums.sum_product_with_weightings_and_modulo, "98657878885", "4", FEDEX_12, False),
        (checksums.sum_product_with_weightings_and_modulo, "9865787888", "5", FEDEX_12, False),
        (checksums.luhn, "7992739871", "3", {}, True),  # the textbook Luhn example
        (checksums.luhn, "7992739871", "4", {}, False),
        (checksums.mod_37_36, "09980000020033", "F", ALPHANUMERIC, True),
        (checksums.mod_37_36, "09980000020033", "D", ALPHANUMERIC, False),
        (checksums.mod_37_36, "0998000002003!", "D", ALPHANUMERIC, False),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_algorithms(
    algorithm: checksums.Algorithm, sequence: str, check: str, spec: dict[str, object], valid: bool
) -> None:
    assert algorithm(sequence, check, spec) is valid


@pytest.mark.parametrize("algorithm", sorted(checksums.ALGORITHMS))
@pytest.mark.parametrize("junk", ["", "A", "é", "12", "💥"])
def test_algorithms_never_raise(algorithm: str, junk: str) -> None:
    function = checksums.ALGORITHMS[algorithm]
    assert function(junk, junk, {"weightings": "x", "modulo": 0}) in (True, False)


def test_every_checksum_the_data_names_is_implemented() -> None:
    named = {f.checksum_name for f in FORMATS if f.checksum_name}
    assert named <= set(checksums.ALGORITHMS), named - set(checksums.ALGORITHMS)
