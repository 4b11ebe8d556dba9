"""Which language the public page speaks, and dates and times as each language writes them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shiptrack.web.i18n import choose_language, format_date, format_day, format_moment, format_time
from shiptrack.web.public import wants_json

THURSDAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("query", "header", "chosen"),
    [
        # ?lang= wins over the browser's wish, in any case and with a region.
        ("fr", "de-DE,de;q=0.9", "fr"),
        ("ES", None, "es"),
        ("de-CH", "en", "de"),
        # A ?lang= we do not speak leaves the choice to the header.
        ("pt", "es-MX,es;q=0.9", "es"),
        # Accept-Language by q-value, not by position.
        (None, "en;q=0.5, fr;q=0.9, de;q=0.7", "fr"),
        (None, "de-AT", "de"),
        (None, "pt-BR,pt;q=0.9,es;q=0.8,en;q=0.7", "es"),
        # Equal q-values keep the header's order.
        (None, "fr-CA, de", "fr"),
        # q=0 means "not this one"; malformed q-values and * are ignored.
        (None, "de;q=0, fr;q=oops, es;q=0.1", "es"),
        (None, "*", "en"),
        # Nothing we speak, or nothing asked: English.
        (None, "ja,zh;q=0.8", "en"),
        (None, None, "en"),
        ("", "", "en"),
    ],
)
def test_the_language_is_the_query_then_the_best_accept_language_then_english(
    query: str | None, header: str | None, chosen: str
) -> None:
    assert choose_language(query, header) == chosen


@pytest.mark.parametrize(
    ("lang", "heading"),
    [
        ("en", "Thursday, December 3, 2026"),
        ("de", "Donnerstag, 3. Dezember 2026"),
        ("fr", "jeudi 3 décembre 2026"),
        ("es", "jueves, 3 de diciembre de 2026"),
    ],
)
def test_day_headings_are_written_as_each_language_writes_them(lang: str, heading: str) -> None:
    assert format_day(THURSDAY, lang) == heading


def test_french_writes_the_first_of_the_month_as_premier() -> None:
    assert format_date(date(2026, 12, 1), "fr") == "1er décembre 2026"
    assert format_date(date(2026, 3, 1), "de") == "1. März 2026"
    assert format_date(date(2026, 8, 15), "es") == "15 de agosto de 2026"


@pytest.mark.parametrize(
    ("moment", "en", "twenty_four"),
    [
        (datetime(2026, 12, 3, 0, 5), "12:05 AM", "00:05"),
        (datetime(2026, 12, 3, 9, 30), "9:30 AM", "09:30"),
        (datetime(2026, 12, 3, 12, 0), "12:00 PM", "12:00"),
        (datetime(2026, 12, 3, 17, 45), "5:45 PM", "17:45"),
    ],
)
def test_english_times_have_am_and_pm_the_others_24_hours(
    moment: datetime, en: str, twenty_four: str
) -> None:
    assert format_time(moment, "en") == en
    for lang in ("de", "fr", "es"):
        assert format_time(moment, lang) == twenty_four


def test_a_date_with_its_time() -> None:
    moment = datetime(2026, 12, 3, 17, 45)
    assert format_moment(moment, "en") == "December 3, 2026, 5:45 PM"
    assert format_moment(moment, "de") == "3. Dezember 2026, 17:45"
    assert format_moment(moment, "fr") == "3 décembre 2026 à 17:45"
    assert format_moment(moment, "es") == "3 de diciembre de 2026, 17:45"


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ("application/json", True),
        ("application/json, text/html;q=0.5", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("text/html, application/json", False),
        ("*/*", False),
        (None, False),
    ],
)
def test_json_is_answered_only_when_preferred_to_html(accept: str | None, json: bool) -> None:
    assert wants_json(accept) is json
