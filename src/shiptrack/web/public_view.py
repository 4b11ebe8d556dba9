"""What the public tracking page shows of a package: decided here, without I/O, and nothing else.

Anyone holding the link sees the page, so it shows what the recipient needs and no more: the
carrier, the status in a plain sentence, the estimated (or actual) delivery, when the carrier was
last asked, and the scans at city level (city, state or province, country). Never the signer,
postal codes, company names, coordinates, proof-of-delivery links, the carrier's free-text
descriptions (they can hold names and streets), errors, or anything of the account: its name,
keys, webhooks, connection. The page and its JSON are both built from :class:`PublicPage` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.timefmt import format_utc
from shiptrack.domain.tracking import Subscription, TrackEvent
from shiptrack.web.i18n import LANGUAGES, format_date, format_day, format_moment, format_time
from shiptrack.web.public_texts import (
    DETAIL_EVENT_LABELS,
    DETAIL_SENTENCES,
    EVENT_LABELS,
    LABELS,
    SENTENCES,
)
from shiptrack.web.timeline import group_by_day, zone_label


@dataclass(frozen=True, slots=True)
class PublicEntry:
    """One scan as the public sees it."""

    status_code: str
    status_detail_code: str | None
    label: str
    #: ``City, ST, CC`` (the parts the carrier gave), or empty.
    place: str
    city_locality: str | None
    state_province: str | None
    country_code: str | None
    occurred_at: datetime | None
    #: The local wall time and its offset from UTC (either may be unknown).
    local: datetime | None
    offset: timedelta | None
    time_text: str
    zone_text: str


@dataclass(frozen=True, slots=True)
class PublicDay:
    """The scans of one local day, with the day written in the page's language."""

    day: date | None
    heading: str
    entries: tuple[PublicEntry, ...]


@dataclass(frozen=True, slots=True)
class PublicPage:
    """Everything the public page (and its JSON) may show of a package."""

    lang: str
    carrier_code: str
    carrier_name: str
    tracking_number: str
    tracking_url: str
    status_code: str
    status_detail_code: str | None
    sentence: str
    estimated_delivery_date: str | None
    actual_delivery_date: str | None
    #: What the page writes for them (``None`` when not known).
    estimated_text: str | None
    delivered_text: str | None
    checked_at: datetime | None
    checked_text: str | None
    #: Whether the package is still being watched (a delivered one has stopped).
    active: bool
    days: tuple[PublicDay, ...]

    def text(self, name: str, **values: str) -> str:
        """A label of the page in its language."""
        return LABELS[self.lang][name].format(**values)


def sentence(status_code: str, status_detail_code: str | None, lang: str) -> str:
    """The banner's plain-language sentence for a status (its detail when that says more)."""
    index = LANGUAGES.index(lang)
    if status_detail_code in DETAIL_SENTENCES:
        return DETAIL_SENTENCES[status_detail_code][index]
    return SENTENCES.get(status_code, SENTENCES["UN"])[index]


def event_label(status_code: str, status_detail_code: str | None, lang: str) -> str:
    """A scan's short label in the timeline."""
    index = LANGUAGES.index(lang)
    if status_detail_code in DETAIL_EVENT_LABELS:
        return DETAIL_EVENT_LABELS[status_detail_code][index]
    return EVENT_LABELS.get(status_code, EVENT_LABELS["UN"])[index]


def public_page(subscription: Subscription, events: list[TrackEvent], *, lang: str) -> PublicPage:
    """What the public page shows of ``subscription`` with its scans ``events`` (most recent
    first), in ``lang``."""
    kind = CARRIERS[subscription.carrier_code]
    estimated = _day_of(subscription.estimated_delivery_date)
    delivered = _day_of(subscription.actual_delivery_date)
    checked = subscription.last_checked_at
    return PublicPage(
        lang=lang,
        carrier_code=subscription.carrier_code,
        carrier_name=kind.friendly_name,
        tracking_number=subscription.tracking_number,
        tracking_url=kind.tracking_url(subscription.tracking_number),
        status_code=subscription.status_code,
        status_detail_code=subscription.status_detail_code,
        sentence=sentence(subscription.status_code, subscription.status_detail_code, lang),
        estimated_delivery_date=subscription.estimated_delivery_date,
        actual_delivery_date=subscription.actual_delivery_date,
        estimated_text=format_date(estimated, lang) if estimated else None,
        delivered_text=format_date(delivered, lang) if delivered else None,
        checked_at=checked,
        checked_text=f"{format_moment(checked, lang)} UTC" if checked else None,
        active=subscription.active,
        days=tuple(_days(events, lang)),
    )


def _days(events: list[TrackEvent], lang: str) -> list[PublicDay]:
    days = []
    for group in group_by_day(events):
        heading = format_day(group.day, lang) if group.day else LABELS[lang]["undated"]
        entries = tuple(
            _entry(entry.event, entry.local, entry.offset, lang) for entry in group.entries
        )
        days.append(PublicDay(day=group.day, heading=heading, entries=entries))
    return days


def _entry(
    event: TrackEvent, local: datetime | None, offset: timedelta | None, lang: str
) -> PublicEntry:
    city = _city(event.city_locality)
    return PublicEntry(
        status_code=event.status_code,
        status_detail_code=event.status_detail_code,
        label=event_label(event.status_code, event.status_detail_code, lang),
        place=", ".join(part for part in (city, event.state_province, event.country_code) if part),
        city_locality=city,
        state_province=event.state_province,
        country_code=event.country_code,
        occurred_at=event.occurred_at,
        local=local,
        offset=offset,
        time_text=format_time(local, lang) if local else "",
        zone_text=_zone(offset, lang) if local else "",
    )


def _city(name: str | None) -> str | None:
    """Carriers shout city names (``NEW YORK``): written as a name (``New York``)."""
    if not name:
        return None
    return name.title() if name.isupper() else name


def _zone(offset: timedelta | None, lang: str) -> str:
    return LABELS[lang]["local_time"] if offset is None else zone_label(offset)


def _day_of(text: str | None) -> date | None:
    """The day a carrier's date (``2026-12-03``, or a time stamp) names, as it wrote it."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def page_json(page: PublicPage) -> dict[str, Any]:
    """The page as JSON (``Accept: application/json``): codes that do not depend on the language,
    and the sentence and labels in the page's language (see the README, "The public tracking
    page")."""
    return {
        "language": page.lang,
        "carrier_code": page.carrier_code,
        "carrier_name": page.carrier_name,
        "tracking_number": page.tracking_number,
        "tracking_url": page.tracking_url,
        "status_code": page.status_code,
        "status_detail_code": page.status_detail_code,
        "sentence": page.sentence,
        "estimated_delivery_date": page.estimated_delivery_date,
        "actual_delivery_date": page.actual_delivery_date,
        "checked_at": format_utc(page.checked_at),
        "active": page.active,
        "events": [
            {
                "occurred_at": format_utc(entry.occurred_at),
                "local_time": entry.local.isoformat() if entry.local else None,
                "utc_offset": _offset_text(entry.offset),
                "status_code": entry.status_code,
                "status_detail_code": entry.status_detail_code,
                "label": entry.label,
                "city_locality": entry.city_locality,
                "state_province": entry.state_province,
                "country_code": entry.country_code,
            }
            for day in page.days
            for entry in day.entries
        ],
    }


def _offset_text(offset: timedelta | None) -> str | None:
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"
