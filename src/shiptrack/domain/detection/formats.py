"""The vendored data as compiled formats, read once at import.

``data/couriers/*.json`` (verbatim upstream, in file-name order) gives each format's regex,
checksum, serial-number rule, validation lookups and tracking URL. Three tables next to the data,
ours and meant to be reviewed, say what shiptrack makes of it:

``carriers.csv`` (``format_id,courier_code,carrier_code,reason``)
    the shiptrack carrier code of each format, empty for a courier shiptrack cannot track yet.
``s10_countries.csv`` (``country_code,carrier_code,reason``)
    for UPU S10 numbers, the shiptrack carrier of the issuing country's post.
``aliases.csv`` (``old_format_id,new_format_id``)
    format ids the data renamed: a ``carriers.csv`` row keyed by an old id applies to the new one.

A format without an ``id`` in the data (four in v2.0.0) gets ``<slug of its name>``
(``UPS Waybill`` → ``ups_waybill``). Regexes are made Python's: ``(?<name>`` becomes
``(?P<name>``; since a number is matched with its whitespace and dashes removed, the data's
``\\s*`` and literal ``-`` (LaserShip 1LS7 (18) has ``…-1``) are dropped from the pattern, which
also lets the pattern's length bounds be computed for the engine's pre-filter.
"""

from __future__ import annotations

import csv
import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.detection.checksums import Check, prepare

#: Carrier codes shiptrack tracks today (the tracking codes of ``domain.carriers``).
KNOWN_CARRIER_CODES = frozenset(kind.tracking_code for kind in CARRIERS.values())
#: Carrier codes the tables may name before their adapter lands (reported as not trackable until
#: then); none since issue 17 brought the last planned ones.
PLANNED_CARRIER_CODES: frozenset[str] = frozenset()
#: The format whose carrier is decided by the issuing country (``s10_countries.csv``).
S10_FORMAT_ID = "s10"
#: A pattern that can match more characters than this counts as unbounded (no pre-filter).
_LONGEST_BOUND = 4096


@dataclass(frozen=True, slots=True)
class Rule:
    """``validation.additional.exists``: the value of ``group`` must be in a lookup."""

    group: str
    values: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    def holds(self, value: str | None) -> bool:
        """Whether ``value`` is one the lookup names."""
        if value is None:
            return False
        return value in self.values or any(p.fullmatch(value) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Format:
    """One tracking-number format of the data, compiled."""

    format_id: str
    name: str
    courier_code: str
    courier_name: str
    pattern: re.Pattern[str]
    min_length: int
    #: ``None``: no upper bound could be computed.
    max_length: int | None
    #: The data's algorithm name, ``None`` for a format without a check digit.
    checksum_name: str | None
    #: ``None`` also when the algorithm is not implemented (``checksum_valid`` is then ``None``).
    checksum: Check | None
    prepend_if: re.Pattern[str] | None
    prepend: str
    rules: tuple[Rule, ...]
    carrier_code: str | None
    tracking_url: str | None
    #: S10 only: issuing country → (shiptrack carrier code or None, the post's name).
    countries: Mapping[str, tuple[str | None, str]] = field(default_factory=dict)


def python_regex(pattern: str) -> str:
    """The data's PCRE ``pattern`` for Python's ``re``, for numbers without whitespace or dashes:
    named groups ``(?<name>…)`` → ``(?P<name>…)``, unescaped ``\\s*`` and literal ``-`` (outside
    character classes) dropped."""
    out: list[str] = []
    i, in_class, size = 0, False, len(pattern)
    while i < size:
        char = pattern[i]
        if char == "\\" and i + 1 < size:
            pair = pattern[i : i + 2]
            if not in_class and pair == "\\s" and pattern[i + 2 : i + 3] == "*":
                i += 3
                continue
            out.append(pair)
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            start = i + 2 if pattern[i + 1 : i + 2] == "^" else i + 1
            if pattern[start : start + 1] == "]":  # a leading "]" is a literal
                start += 1
            out.append(pattern[i:start])
            i = start
            continue
        elif char == "-":
            i += 1
            continue
        elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


def length_bounds(pattern: str) -> tuple[int, int | None]:
    """The fewest and most characters ``pattern`` can match (``None``: unbounded or unknown),
    from the parser behind ``re``; ``(0, None)`` when that parser is not available."""
    try:
        parser: Any = importlib.import_module("re._parser")
        low, high = parser.parse(pattern).getwidth()
        return int(low), (int(high) if high <= _LONGEST_BOUND else None)
    except Exception:  # a private module: if it changes, there is no pre-filter, nothing worse
        return 0, None


def slug(name: str) -> str:
    """The id of a format the data gives none: ``LaserShip 1LS7 (18)`` → ``lasership_1ls7_18``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def parse_csv(text: str) -> list[dict[str, str]]:
    """The rows of a table, every value stripped."""
    return [
        {key: (value or "").strip() for key, value in row.items()}
        for row in csv.DictReader(text.splitlines())
    ]


def _csv_rows(name: str) -> list[dict[str, str]]:
    folder = resources.files("shiptrack.domain.detection")
    return parse_csv(folder.joinpath(name).read_text("utf-8"))


def aliases() -> dict[str, str]:
    """``aliases.csv``: renamed format id → its id in the vendored data."""
    return {row["old_format_id"]: row["new_format_id"] for row in _csv_rows("aliases.csv")}


def by_current_id(
    rows: list[dict[str, str]], renamed: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """Table rows keyed by the data's current format id: a row keyed by an old id (``renamed``)
    applies to the new one."""
    return {renamed.get(row["format_id"], row["format_id"]): row for row in rows}


def carrier_rows() -> dict[str, dict[str, str]]:
    """``carriers.csv`` keyed by the current format id (old ids mapped through the aliases)."""
    return by_current_id(_csv_rows("carriers.csv"), aliases())


def s10_carriers() -> dict[str, str]:
    """``s10_countries.csv``: issuing country → shiptrack carrier code (empty: none)."""
    return {row["country_code"]: row["carrier_code"] for row in _csv_rows("s10_countries.csv")}


def _lookup_rule(definition: Mapping[str, Any], name: str) -> Rule:
    for extra in definition.get("additional") or ():
        if extra.get("name") == name:
            values = frozenset(e["matches"] for e in extra["lookup"] if "matches" in e)
            patterns = tuple(
                re.compile(python_regex(e["matches_regex"]))
                for e in extra["lookup"]
                if "matches_regex" in e
            )
            return Rule(extra["regex_group_name"], values, patterns)
    return Rule(name, frozenset(), ())  # a lookup the data does not define holds for nothing


def _countries(definition: Mapping[str, Any]) -> dict[str, tuple[str | None, str]]:
    codes = s10_carriers()
    out: dict[str, tuple[str | None, str]] = {}
    for extra in definition.get("additional") or ():
        if extra.get("regex_group_name") == "CountryCode":
            for entry in extra["lookup"]:
                if "matches" in entry and "courier" in entry:
                    country = entry["matches"]
                    out[country] = (codes.get(country) or None, entry["courier"])
    return out


def compile_format(
    courier: Mapping[str, Any], definition: Mapping[str, Any], rows: Mapping[str, Mapping[str, str]]
) -> Format:
    """One ``tracking_numbers`` entry of a courier file, compiled."""
    raw = definition["regex"]
    source = python_regex("".join(raw) if isinstance(raw, list) else raw)
    format_id = definition.get("id") or slug(definition["name"])
    validation = definition.get("validation") or {}
    checksum_spec = validation.get("checksum") or {}
    checksum_name = checksum_spec.get("name")
    prepend = (validation.get("serial_number_format") or {}).get("prepend_if") or {}
    exists = (validation.get("additional") or {}).get("exists") or ()
    low, high = length_bounds(source)
    return Format(
        format_id=format_id,
        name=definition["name"],
        courier_code=courier["courier_code"],
        courier_name=courier["name"],
        pattern=re.compile(source),
        min_length=low,
        max_length=high,
        checksum_name=checksum_name,
        checksum=prepare(checksum_spec) if checksum_name else None,
        prepend_if=re.compile(python_regex(prepend["matches_regex"])) if prepend else None,
        prepend=prepend.get("content", ""),
        rules=tuple(_lookup_rule(definition, name) for name in exists),
        carrier_code=(rows.get(format_id) or {}).get("carrier_code") or None,
        tracking_url=definition.get("tracking_url") or None,
        countries=_countries(definition) if format_id == S10_FORMAT_ID else {},
    )


def courier_files() -> list[dict[str, Any]]:
    """The parsed ``couriers/*.json`` files, in file-name order."""
    folder = resources.files("shiptrack.domain.detection.data").joinpath("couriers")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    return [json.loads(entry.read_text("utf-8")) for entry in entries]


def load() -> tuple[Format, ...]:
    """Every format of the data, in the data's order (file name, then position in the file)."""
    rows = carrier_rows()
    return tuple(
        compile_format(courier, definition, rows)
        for courier in courier_files()
        for definition in courier["tracking_numbers"]
    )


#: Every format, compiled at import.
FORMATS: tuple[Format, ...] = load()
