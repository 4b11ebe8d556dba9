"""The public page's four languages: which one a request gets, and dates and times written the
way each language writes them. Small tables of our own instead of a locale library: four
languages, a handful of formats, and nothing depends on the machine's installed locales.
"""

from __future__ import annotations

from datetime import date, datetime

#: The languages the public page speaks, the first the fallback.
LANGUAGES = ("en", "de", "fr", "es")
DEFAULT_LANGUAGE = LANGUAGES[0]
#: Each language by its own name, for the switcher.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español"}

#: How many entries of an ``Accept-Language`` header are looked at (a header is at most 16 KB).
_MAX_RANGES = 32


def choose_language(query: str | None, accept_language: str | None) -> str:
    """The language of a page: ``?lang=`` when it names one we speak, else the best of
    ``Accept-Language`` by q-value (``de-AT`` counts as ``de``; ties keep the header's order),
    else English."""
    if query:
        asked = _primary(query)
        if asked in LANGUAGES:
            return asked
    for tag in _ranked(accept_language or ""):
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def _primary(tag: str) -> str:
    """``de-AT`` → ``de``, ``pt_BR`` → ``pt``, lower-cased."""
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


def weighted_values(header: str, *, limit: int = _MAX_RANGES) -> list[tuple[str, float]]:
    """The values of a header with q-values (``Accept``, ``Accept-Language``), each with its
    quality, in the header's order; a malformed q-value counts as ``0``. At most ``limit``."""
    values: list[tuple[str, float]] = []
    for item in header.split(",")[:limit]:
        value, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, given = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(given)
                except ValueError:
                    quality = 0.0
        values.append((value, quality))
    return values


def _ranked(header: str) -> list[str]:
    """The primary language tags of an ``Accept-Language`` header, most wanted first; ranges with
    ``q=0`` (not acceptable), ``*`` and malformed q-values are left out."""
    weighted = [
        (-quality, position, _primary(tag))
        for position, (tag, quality) in enumerate(weighted_values(header))
        if tag and tag != "*" and 0 < quality <= 1
    ]
    return [tag for _, _, tag in sorted(weighted)]


_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
}  # fmt: skip


def format_day(day: date, lang: str) -> str:
    """A day heading: ``Thursday, December 3, 2026``, ``Donnerstag, 3. Dezember 2026``,
    ``jeudi 3 décembre 2026``, ``jueves, 3 de diciembre de 2026``."""
    weekday = _WEEKDAYS[lang][day.weekday()]
    return f"{weekday}{',' if lang != 'fr' else ''} {format_date(day, lang)}"


def format_date(day: date, lang: str) -> str:
    """A date without its weekday: ``December 3, 2026``, ``3. Dezember 2026``,
    ``3 décembre 2026`` (``1er`` for the first), ``3 de diciembre de 2026``."""
    month = _MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{month} {day.day}, {day.year}"
    if lang == "de":
        return f"{day.day}. {month} {day.year}"
    if lang == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{day.day} de {month} de {day.year}"


def format_time(moment: datetime, lang: str) -> str:
    """A wall-clock time: ``9:30 AM`` in English, ``09:30`` (24-hour) in German, French and
    Spanish."""
    if lang == "en":
        hour = moment.hour % 12 or 12
        return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def format_moment(moment: datetime, lang: str) -> str:
    """A date and a time together (``December 3, 2026, 9:30 AM``; French ``… à 09:30``)."""
    joiner = " à " if lang == "fr" else ", "
    return f"{format_date(moment.date(), lang)}{joiner}{format_time(moment, lang)}"
