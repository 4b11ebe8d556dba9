"""The DHL divisions shiptrack tracks through the Unified API, DHL's wording, and local times.

One API answers for every DHL division: Express, Parcel Germany/Netherlands/Poland/UK, Deutsche
Post letters, eCommerce, Freight, …; each shipment names its own ``service``. A :class:`Division`
is what one carrier code tracks: the ``service`` values it owns (``dhl_parcel``: ``parcel-de``,
``parcel-nl``, ``parcel-pl``, ``parcel-uk``, ``post-de``), the hint it sends, and whether an
offset-less time is read in the event's country zone.

Wording. DHL gives each event only a coarse ``statusCode``; what happened is in its ``status`` /
``description`` text. :func:`phrase_refinement` reads the reviewed table
``domain/mappings/dhl_phrases.csv`` (one row per code or phrase, with its language and reason):

- ``code:<STATUS>`` rows match the whole ``status`` exactly: the constant event codes parcel-nl
  (``NOT_HOME``, ``DELIVERED_AT_PARCELSHOP``, …) and eCommerce (``OUT FOR DELIVERY``) send;
- ``text:<phrase>`` rows match a phrase anywhere in the event's text (lower case, spaces
  collapsed), in German, English or Polish: Parcel Germany answers in German for some shipments
  although English is asked (``In das Zustellfahrzeug geladen``).

Code rows are tried first, then phrase rows in the table's order (specific before general); the
first match names a refinement that the mapping table reads under the event's ``statusCode``. A row
with an empty refinement says "the statusCode alone" and stops the English wording rules from
reading more into the text (``auf dem Weg zur Packstation`` is not yet at the Packstation).

Times. :func:`event_zone` is the zone an offset-less time is read in: the event's country
(``countryCode``, else a country named at the end of ``addressLocality``: ``Radefeld, Germany``,
``Deutschland``), else the home country of the shipment's service (``parcel-de`` and ``post-de``:
Germany). A country with several zones (the US) gives none: only the wall time is kept.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Division:
    """What one DHL carrier code tracks through the Unified API."""

    code: str
    #: The name in messages and logs ("DHL Parcel could not be reached").
    carrier: str
    #: The ``service`` values of the shipments this code tracks (lower case).
    services: frozenset[str]
    #: The ``service`` hint sent with each lookup (``None``: no hint, DHL resolves the number).
    hint: str | None
    #: Read offset-less times in the event's country zone (Express keeps only the wall time).
    local_zones: bool

    def owns(self, shipment: Mapping[str, Any]) -> bool:
        """Whether a shipment of DHL's answer belongs to this division."""
        service = shipment.get("service")
        return isinstance(service, str) and service.strip().lower() in self.services


EXPRESS = Division("dhl_express", "DHL Express", frozenset({"express"}), "express", False)
PARCEL = Division(
    "dhl_parcel",
    "DHL Parcel",
    frozenset({"parcel-de", "parcel-nl", "parcel-pl", "parcel-uk", "post-de"}),
    # Five services, one hint only: no hint lets DHL resolve the number itself (a hint of
    # parcel-de would hide every Dutch and Polish parcel).
    None,
    True,
)
ECOMMERCE = Division(
    "dhl_ecommerce",
    "DHL eCommerce",
    frozenset({"ecommerce", "ecommerce-europe"}),
    "ecommerce",
    True,
)

#: The zone of each country whose DHL events come without an offset, with one zone for the
#: whole country (or its mainland, where DHL's parcel services deliver).
COUNTRY_ZONES: dict[str, str] = {
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "GB": "Europe/London",
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "FR": "Europe/Paris",
    "CH": "Europe/Zurich",
    "CZ": "Europe/Prague",
    "DK": "Europe/Copenhagen",
    "IT": "Europe/Rome",
    "SE": "Europe/Stockholm",
}
#: Country names DHL writes at the end of ``addressLocality`` instead of a ``countryCode``.
COUNTRY_NAMES: dict[str, str] = {
    "germany": "DE",
    "deutschland": "DE",
    "netherlands": "NL",
    "the netherlands": "NL",
    "nederland": "NL",
    "poland": "PL",
    "polska": "PL",
    "united kingdom": "GB",
    "great britain": "GB",
}
#: The country a service's offset-less times are in when the event names none.
SERVICE_COUNTRIES: dict[str, str] = {
    "parcel-de": "DE",
    "post-de": "DE",
    "parcel-nl": "NL",
    "parcel-pl": "PL",
    "parcel-uk": "GB",
}

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Phrase:
    """One row of ``dhl_phrases.csv``."""

    match: str
    language: str
    #: The refinement it names; empty: the statusCode alone.
    refinement: str
    note: str


@cache
def phrases() -> tuple[dict[str, Phrase], tuple[tuple[str, Phrase], ...]]:
    """``(codes, texts)`` of the phrase table: exact codes, and phrases in the table's order."""
    text = resources.files("shiptrack.domain.mappings").joinpath("dhl_phrases.csv").read_text()
    return parse_phrases(text)


def parse_phrases(
    text: str,
) -> tuple[dict[str, Phrase], tuple[tuple[str, Phrase], ...]]:
    """The phrase table from its CSV text; a row without a reason, a kind or twice is refused."""
    codes: dict[str, Phrase] = {}
    texts: list[tuple[str, Phrase]] = []
    seen: set[str] = set()
    for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        phrase = Phrase(
            row["match"].strip(),
            row["language"].strip(),
            (row["refinement"] or "").strip(),
            (row["note"] or "").strip(),
        )
        kind, _, value = phrase.match.partition(":")
        if not value or kind not in ("code", "text") or not phrase.note:
            raise ValueError(f"dhl_phrases.csv line {number}: {phrase.match!r} is not a row")
        if phrase.match in seen:
            raise ValueError(f"dhl_phrases.csv line {number}: {phrase.match!r} given twice")
        seen.add(phrase.match)
        if kind == "code":
            codes[value] = phrase
        else:
            texts.append((_normal(value), phrase))
    return codes, tuple(texts)


def phrase_refinement(status: str | None, text: str) -> Phrase | None:
    """The phrase-table row an event's ``status`` and whole text match, or ``None``."""
    codes, texts = phrases()
    if status is not None and status.strip() in codes:
        return codes[status.strip()]
    wanted = _normal(text)
    for phrase_text, phrase in texts:
        if phrase_text in wanted:
            return phrase
    return None


def event_zone(
    address: Mapping[str, Any], service: str | None, *, fallback: bool = True
) -> ZoneInfo | None:
    """The zone an offset-less time of this event is read in, or ``None`` (see the module)."""
    country = _country(address)
    if country is None and fallback and service:
        country = SERVICE_COUNTRIES.get(service.strip().lower())
    name = COUNTRY_ZONES.get(country) if country else None
    return ZoneInfo(name) if name else None


def _country(address: Mapping[str, Any]) -> str | None:
    code = address.get("countryCode")
    if isinstance(code, str) and code.strip():
        return code.strip().upper()
    locality = address.get("addressLocality")
    if not isinstance(locality, str):
        return None
    last = locality.rsplit(",", 1)[-1].rsplit(" - ", 1)[-1]
    return COUNTRY_NAMES.get(_normal(last))


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()
