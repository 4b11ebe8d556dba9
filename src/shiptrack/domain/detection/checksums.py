"""The check-digit algorithms the data names, each a small pure function.

Every function takes the payload (``sequence``: the format's ``SerialNumber`` group, after its
``serial_number_format`` rule), the check digit as printed, and the constants the data gives in
``validation.checksum`` (``spec``; the documented defaults apply when a key is missing). It answers
whether the check digit is right and never raises: a character an algorithm cannot weigh makes the
number fail. The rules are those of the data's ``CHECKSUM_ALGORITHMS.md`` and ``README.md``.

The data's ``SOURCE.txt`` note says ``pallet`` is named once, for Old Dominion; it is not: v2.0.0
gives both Old Dominion formats ``luhn``, and "pallet" only appears as a FedEx SSCC container-type
name. An algorithm missing from :data:`ALGORITHMS` is reported as ``checksum_valid: None``
(``engine``), never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Spec = Mapping[str, Any]
Algorithm = Callable[[str, str, Spec], bool]

_DIGITS = "0123456789"
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: What a character weighs in :func:`mod10`: a digit its value, a letter ``(ord - 3) % 10``.
_MOD10_VALUES = {c: int(c) if c in _DIGITS else (ord(c) - 3) % 10 for c in _ALPHANUMERIC}


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _weights(value: Any, default: Sequence[int]) -> Sequence[int]:
    if isinstance(value, list) and all(isinstance(w, int) for w in value):
        return value
    return default


def _digit(check: str) -> int | None:
    return int(check) if len(check) == 1 and check in _DIGITS else None


def mod10(sequence: str, check: str, spec: Spec) -> bool:
    """Weighted sum modulo 10 (UPS, FedEx Ground, USPS, OnTrac, Canada Post, GS1).

    Characters are taken left to right (right to left when ``reverse``); a digit counts its
    value, a letter ``(ord(letter) - 3) % 10`` (the UPS rule: ``A`` is 2). The character at
    an even index (0, 2, …) is multiplied by ``evens_multiplier``, at an odd index by
    ``odds_multiplier`` (1 when not given). The check digit brings the sum to a multiple of
    ``modulo`` (10): ``(modulo - sum % modulo) % modulo``. No digit sums, unlike Luhn.
    """
    digit = _digit(check)
    if digit is None or not sequence:
        return False
    evens = _int(spec.get("evens_multiplier"), 1)
    odds = _int(spec.get("odds_multiplier"), 1)
    modulo = _int(spec.get("modulo"), 10) or 10
    chars = sequence[::-1] if spec.get("reverse") is True else sequence
    try:
        total = evens * sum(map(_MOD10_VALUES.__getitem__, chars[0::2])) + odds * sum(
            map(_MOD10_VALUES.__getitem__, chars[1::2])
        )
    except KeyError:  # neither a digit nor an upper-case letter
        return False
    return (modulo - total % modulo) % modulo == digit


def mod7(sequence: str, check: str, spec: Spec) -> bool:
    """The payload read as one number, modulo ``modulo`` (7), is the check digit (DHL Express)."""
    digit = _digit(check)
    if digit is None or not sequence or any(c not in _DIGITS for c in sequence):
        return False
    return int(sequence) % (_int(spec.get("modulo"), 7) or 7) == digit


def s10(sequence: str, check: str, spec: Spec) -> bool:
    """UPU S10: the eight serial digits weighted 8, 6, 4, 2, 3, 5, 9, 7 and summed; with ``r``
    the sum modulo 11, the check digit is 0 when ``r`` is 1, 5 when ``r`` is 0, else ``11 - r``.
    """
    digit = _digit(check)
    weights = _weights(spec.get("weightings"), (8, 6, 4, 2, 3, 5, 9, 7))
    if digit is None or len(sequence) != len(weights) or any(c not in _DIGITS for c in sequence):
        return False
    remainder = sum(int(c) * w for c, w in zip(sequence, weights, strict=True)) % (
        _int(spec.get("modulo"), 11) or 11
    )
    expected = {0: 5, 1: 0}.get(remainder, 11 - remainder)
    return expected == digit


def sum_product_with_weightings_and_modulo(sequence: str, check: str, spec: Spec) -> bool:
    """Each payload digit times its weight in ``weightings`` (the first with the first), summed;
    the sum modulo ``modulo1`` then modulo ``modulo2`` is the check digit (FedEx Express 12/34,
    ASTRA, Ground GSN). The payload must have one digit per weight."""
    digit = _digit(check)
    weights = _weights(spec.get("weightings"), ())
    if digit is None or not weights or len(sequence) != len(weights):
        return False
    if any(c not in _DIGITS for c in sequence):
        return False
    total = sum(int(c) * w for c, w in zip(sequence, weights, strict=True))
    first = _int(spec.get("modulo1"), 11) or 11
    second = _int(spec.get("modulo2"), 10) or 10
    return total % first % second == digit


def luhn(sequence: str, check: str, spec: Spec) -> bool:
    """Luhn: from the right of the payload, every other digit (starting with the rightmost) is
    doubled, 9 taken off a double above 9, all summed; the check digit brings the sum to a
    multiple of ``modulo`` (10). (The data's README names luhn; its site code describes it.)"""
    digit = _digit(check)
    if digit is None or not sequence or any(c not in _DIGITS for c in sequence):
        return False
    total = 0
    for index, char in enumerate(reversed(sequence)):
        value = ord(char) - 48
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    modulo = _int(spec.get("modulo"), 10) or 10
    return (modulo - total % modulo) % modulo == digit


def mod_37_36(sequence: str, check: str, spec: Spec) -> bool:
    """ISO 7064 MOD 37,36 hybrid (DPD): with ``m`` the ``modulo`` (36) and the ``alphabet``'s
    index as each character's value, start ``p = m``; per character ``p += value``, ``p -= m``
    when above ``m``, ``p *= 2``, ``p -= m + 1`` when above ``m``. The check character is the
    alphabet's ``m + 1 - p`` (``0`` when that is ``m``)."""
    alphabet = spec.get("alphabet")
    if not isinstance(alphabet, str) or not alphabet:
        alphabet = _ALPHANUMERIC
    modulo = _int(spec.get("modulo"), 36) or 36
    if len(check) != 1 or not sequence or len(alphabet) < modulo:
        return False
    position = modulo
    for char in sequence:
        value = alphabet.find(char)
        if value < 0:
            return False
        position += value
        if position > modulo:
            position -= modulo
        position *= 2
        if position > modulo:
            position -= modulo + 1
    expected = modulo + 1 - position
    if expected == modulo:
        expected = 0
    return 0 <= expected < len(alphabet) and alphabet[expected] == check


#: The data's algorithm names and their functions.
ALGORITHMS: dict[str, Algorithm] = {
    "mod10": mod10,
    "mod7": mod7,
    "s10": s10,
    "sum_product_with_weightings_and_modulo": sum_product_with_weightings_and_modulo,
    "luhn": luhn,
    "mod_37_36": mod_37_36,
}
