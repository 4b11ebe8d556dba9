"""The check-digit algorithms the data names, each a small pure function.

Every function takes the payload (``sequence``: the format's ``SerialNumber`` group, after its
``serial_number_format`` rule) and the check digit as printed, with the algorithm's constants as
keywords (their documented values by default). It answers whether the check digit is right and
never raises: a character an algorithm cannot weigh makes the number fail. :func:`prepare` binds
the constants the data gives in ``validation.checksum`` once, when the formats are loaded. The
rules are those of the data's ``CHECKSUM_ALGORITHMS.md`` and ``README.md``.

The data's ``SOURCE.txt`` note says ``pallet`` is named once, for Old Dominion; it is not: v2.0.0
gives both Old Dominion formats ``luhn``, and "pallet" only appears as a FedEx SSCC container-type
name. An algorithm missing from :data:`ALGORITHMS` is reported as ``checksum_valid: None``
(``engine``), never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

#: A check-digit test with its constants bound: ``(sequence, check digit) -> valid``.
Check = Callable[[str, str], bool]

_DIGITS = "0123456789"
_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: What a character weighs in :func:`mod10`: a digit its value, a letter ``(ord - 3) % 10``.
_MOD10_VALUES = {c: int(c) if c in _DIGITS else (ord(c) - 3) % 10 for c in _ALPHANUMERIC}


def _digit(check: str) -> int | None:
    return int(check) if len(check) == 1 and check in _DIGITS else None


def mod10(
    sequence: str,
    check: str,
    *,
    evens_multiplier: int = 1,
    odds_multiplier: int = 1,
    modulo: int = 10,
    reverse: bool = False,
) -> bool:
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
    chars = sequence[::-1] if reverse else sequence
    try:
        evens = sum(map(_MOD10_VALUES.__getitem__, chars[0::2]))
        odds = sum(map(_MOD10_VALUES.__getitem__, chars[1::2]))
    except KeyError:  # neither a digit nor an upper-case letter
        return False
    total = evens * evens_multiplier + odds * odds_multiplier
    return (modulo - total % modulo) % modulo == digit


def mod7(sequence: str, check: str, *, modulo: int = 7) -> bool:
    """The payload read as one number, modulo ``modulo`` (7), is the check digit (DHL Express)."""
    digit = _digit(check)
    if digit is None or not sequence or any(c not in _DIGITS for c in sequence):
        return False
    return int(sequence) % modulo == digit


def s10(
    sequence: str,
    check: str,
    *,
    weightings: Sequence[int] = (8, 6, 4, 2, 3, 5, 9, 7),
    modulo: int = 11,
) -> bool:
    """UPU S10: the eight serial digits weighted 8, 6, 4, 2, 3, 5, 9, 7 and summed; with ``r``
    the sum modulo 11, the check digit is 0 when ``r`` is 1, 5 when ``r`` is 0, else ``11 - r``.
    """
    digit = _digit(check)
    if digit is None or len(sequence) != len(weightings):
        return False
    if any(c not in _DIGITS for c in sequence):
        return False
    remainder = sum(int(c) * w for c, w in zip(sequence, weightings, strict=True)) % modulo
    expected = {0: 5, 1: 0}.get(remainder, 11 - remainder)
    return expected == digit


def sum_product_with_weightings_and_modulo(
    sequence: str,
    check: str,
    *,
    weightings: Sequence[int] = (),
    modulo1: int = 11,
    modulo2: int = 10,
) -> bool:
    """Each payload digit times its weight in ``weightings`` (the first with the first), summed;
    the sum modulo ``modulo1`` then modulo ``modulo2`` is the check digit (FedEx Express 12/34,
    ASTRA, Ground GSN). The payload must have one digit per weight."""
    digit = _digit(check)
    if digit is None or not weightings or len(sequence) != len(weightings):
        return False
    if any(c not in _DIGITS for c in sequence):
        return False
    total = sum(int(c) * w for c, w in zip(sequence, weightings, strict=True))
    return total % modulo1 % modulo2 == digit


def luhn(sequence: str, check: str, *, modulo: int = 10) -> bool:
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
    return (modulo - total % modulo) % modulo == digit


def mod_37_36(
    sequence: str, check: str, *, modulo: int = 36, alphabet: str = _ALPHANUMERIC
) -> bool:
    """ISO 7064 MOD 37,36 hybrid (DPD): with ``m`` the ``modulo`` (36) and the ``alphabet``'s
    index as each character's value, start ``p = m``; per character ``p += value``, ``p -= m``
    when above ``m``, ``p *= 2``, ``p -= m + 1`` when above ``m``. The check character is the
    alphabet's ``m + 1 - p`` (``0`` when that is ``m``)."""
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
ALGORITHMS: dict[str, Callable[..., bool]] = {
    "mod10": mod10,
    "mod7": mod7,
    "s10": s10,
    "sum_product_with_weightings_and_modulo": sum_product_with_weightings_and_modulo,
    "luhn": luhn,
    "mod_37_36": mod_37_36,
}

#: The constants each algorithm reads from the data, with the type each must have.
CONSTANTS: dict[str, dict[str, type]] = {
    "mod10": {"evens_multiplier": int, "odds_multiplier": int, "modulo": int, "reverse": bool},
    "mod7": {"modulo": int},
    "s10": {"weightings": list, "modulo": int},
    "sum_product_with_weightings_and_modulo": {"weightings": list, "modulo1": int, "modulo2": int},
    "luhn": {"modulo": int},
    "mod_37_36": {"modulo": int, "alphabet": str},
}


def _usable(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and value > 0
    if kind is list:
        return isinstance(value, list) and bool(value) and all(type(w) is int for w in value)
    return type(value) is kind and bool(value)


def prepare(spec: Mapping[str, Any]) -> Check | None:
    """The check of a ``validation.checksum`` spec with the data's constants bound (a constant of
    the wrong type, or a modulo not above 0, keeps the documented value); ``None`` for an
    algorithm this module does not implement."""
    name = spec.get("name")
    function = ALGORITHMS.get(name) if isinstance(name, str) else None
    if function is None or not isinstance(name, str):
        return None
    constants = {
        key: tuple(spec[key]) if kind is list else spec[key]
        for key, kind in CONSTANTS[name].items()
        if key in spec and _usable(spec[key], kind)
    }
    return partial(function, **constants)
