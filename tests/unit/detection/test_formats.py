"""Loading the data: the regex conversion, and the data shipped with the package."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from shiptrack.domain.detection.formats import python_regex, slug

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "src" / "shiptrack"


@pytest.mark.parametrize(
    ("pcre", "python"),
    [
        (r"\s*(?<Serial>([0-9]\s*){9})", r"(?P<Serial>([0-9]){9})"),
        (r"(?<=A)(?<!B)(?=C)(?!D)", r"(?<=A)(?<!B)(?=C)(?!D)"),  # lookarounds stay
        (r"[0-9A-Z\s]{10}[^-\]]", r"[0-9A-Z\s]{10}[^-\]]"),  # classes stay whole
        (r"[]-]x", r"[]-]x"),
        (r"0\s*1-\s*1", r"011"),  # a literal dash goes: numbers are matched without dashes
        (r"\\s*", r"\\s*"),  # an escaped backslash followed by s* is not \s*
        (r"\s+\d", r"\s+\d"),
    ],
)
def test_regexes_are_made_pythons(pcre: str, python: str) -> None:
    assert python_regex(pcre) == python
    re.compile(python)


def test_formats_without_an_id_get_the_slug_of_their_name() -> None:
    assert slug("LaserShip 1LS7 (18)") == "lasership_1ls7_18"
    assert slug("Old Dominion Guaranteed Shipment") == "old_dominion_guaranteed_shipment"


def test_the_wheel_ships_the_data_and_the_tables() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["shiptrack"]
    folder = PACKAGE / "domain" / "detection"
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert len(files) >= 18 + 5 + 3
    for path in files:
        name = path.relative_to(PACKAGE).as_posix()
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
