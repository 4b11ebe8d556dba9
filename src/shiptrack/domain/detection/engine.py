"""The detection engine over the vendored data (``formats.FORMATS``, compiled at import).

A number is normalised (whitespace and dashes removed, upper-cased), and every format whose
length bounds admit it is matched whole against it. A match is a candidate:

* ``high``: the format has a check digit and it validated (and the format's other rules held);
* ``medium``: the format has no check digit (or one shiptrack does not implement:
  ``checksum_valid`` is then ``None``) and its other rules held;
* ``low``: the check digit failed, or another rule of the format failed (an S10 number from a
  country the data's lookup does not know).

Candidates come high first, then medium, then low, each group in the data's order.
"""

from __future__ import annotations

import re

from shiptrack.domain.detection.formats import FORMATS, Format
from shiptrack.domain.detection.model import Candidate, Confidence, Detection

#: Dashes removed from a number, besides whitespace: ASCII and the Unicode dashes people paste.
_DASHES = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"))


def _by_length(formats: tuple[Format, ...]) -> tuple[tuple[tuple[Format, ...], ...], int]:
    """For each length up to the longest bounded format, the formats that can have it."""
    longest = max((f.max_length or f.min_length for f in formats), default=0)
    table = tuple(
        tuple(
            f for f in formats if f.min_length <= n and (f.max_length is None or n <= f.max_length)
        )
        for n in range(longest + 1)
    )
    return table, longest


_BY_LENGTH, _LONGEST = _by_length(FORMATS)
_UNBOUNDED = tuple(f for f in FORMATS if f.max_length is None)


def normalise(raw: str) -> str:
    """``raw`` as it is matched: whitespace and dashes removed, upper-cased."""
    number = "".join(raw.split()).replace("-", "")
    if not number.isascii():
        number = number.translate(_DASHES)
    return number.upper()


def _group(match: re.Match[str], name: str) -> str | None:
    try:
        return match.group(name)
    except IndexError:  # the format has no such group
        return None


def _checksum(fmt: Format, match: re.Match[str]) -> bool | None:
    """Whether the format's check digit validated; ``None`` without one (or one not implemented)."""
    if fmt.checksum is None:
        return None
    serial = _group(match, "SerialNumber")
    check = _group(match, "CheckDigit")
    if serial is None or check is None:
        return False
    if fmt.prepend_if is not None and fmt.prepend_if.search(serial):
        serial = fmt.prepend + serial
    return fmt.checksum(serial, check)


def candidate(fmt: Format, match: re.Match[str], number: str) -> Candidate:
    """What a format that matched ``number`` says about it."""
    valid = _checksum(fmt, match)
    rules_hold = not fmt.rules or all(rule.holds(_group(match, rule.group)) for rule in fmt.rules)
    confidence: Confidence
    if valid is False or not rules_hold:
        confidence = "low"
    elif valid is None:
        confidence = "medium"
    else:
        confidence = "high"
    carrier_code, carrier_name = fmt.carrier_code, fmt.courier_name
    if fmt.countries:
        country = _group(match, "CountryCode")
        if country is not None and country in fmt.countries:
            carrier_code, carrier_name = fmt.countries[country]
    url = fmt.tracking_url.replace("%s", number) if fmt.tracking_url else None
    return Candidate(
        carrier_code=carrier_code,
        carrier_name=carrier_name,
        format=fmt.name,
        format_id=fmt.format_id,
        checksum_valid=valid,
        confidence=confidence,
        tracking_url=url,
    )


def detect(raw: str) -> Detection:
    """Every format ``raw`` matches, ranked (see :class:`Detection`). Never raises for any
    string: a number no format matches has no candidates."""
    number = normalise(raw)
    size = len(number)
    if size <= _LONGEST:
        formats = _BY_LENGTH[size]
    else:
        formats = tuple(f for f in _UNBOUNDED if f.min_length <= size)
    ranked: dict[Confidence, list[Candidate]] = {"high": [], "medium": [], "low": []}
    for fmt in formats:
        match = fmt.pattern.fullmatch(number)
        if match is not None:
            found = candidate(fmt, match, number)
            ranked[found.confidence].append(found)
    return Detection(number, (*ranked["high"], *ranked["medium"], *ranked["low"]))
