"""Carrier status codes → ShipEngine ``status_code`` and ``status_detail_code``.

Each carrier has one mapping table, kept as a CSV file in ``domain/mappings/`` so that a
reviewer can read (and a carrier expert can correct) every decision without reading code. Columns:

``key``
    what the adapter looks up: a carrier code, or a more specific ``code:subcode``.
``status_code`` / ``status_detail_code``
    the ShipEngine values it means.
``note``
    why, where the choice is not obvious.

A key that is not in the table gives ``UN`` / ``CARRIER_STATUS_NOT_MAPPED``: the event is kept
with its raw carrier codes and texts, and it never decides the package's status (see
``domain.changes``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shiptrack.domain.statuses import STATUS_DETAIL_DESCRIPTIONS, StatusCode

NOT_MAPPED = "CARRIER_STATUS_NOT_MAPPED"


@dataclass(frozen=True, slots=True)
class Mapped:
    """The ShipEngine meaning of a carrier code."""

    status_code: StatusCode
    status_detail_code: str

    @property
    def known(self) -> bool:
        """Whether the carrier code was in the table."""
        return self.status_detail_code != NOT_MAPPED


UNMAPPED = Mapped(StatusCode.UN, NOT_MAPPED)


class MappingTable:
    """One carrier's table."""

    def __init__(self, carrier: str, rows: dict[str, Mapped]) -> None:
        self.carrier = carrier
        self.rows = rows

    def lookup(self, keys: Sequence[str | None]) -> Mapped:
        """The meaning of the first key found (give the most specific key first)."""
        for key in keys:
            if key is not None and key in self.rows:
                return self.rows[key]
        return UNMAPPED


@cache
def table(carrier: str) -> MappingTable:
    """The mapping table of a carrier (``sandbox``, ``ups``, …), read once."""
    text = resources.files("shiptrack.domain.mappings").joinpath(f"{carrier}.csv").read_text()
    return parse_table(carrier, text)


def parse_table(carrier: str, text: str) -> MappingTable:
    """A mapping table from its CSV text; a row that is not a valid decision is refused.

    Raises :class:`ValueError` naming the line for an unknown ``status_code`` or
    ``status_detail_code`` and for a key given twice.
    """
    rows: dict[str, Mapped] = {}
    for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        key = row["key"].strip()
        code = row["status_code"].strip()
        if code not in StatusCode.__members__:
            raise ValueError(f"{carrier}.csv line {number}: unknown status_code {code!r}")
        detail = row["status_detail_code"].strip()
        if detail not in STATUS_DETAIL_DESCRIPTIONS:
            raise ValueError(f"{carrier}.csv line {number}: unknown status_detail_code {detail!r}")
        if key in rows:
            raise ValueError(f"{carrier}.csv line {number}: key {key!r} given twice")
        rows[key] = Mapped(StatusCode(code), detail)
    return MappingTable(carrier, rows)
