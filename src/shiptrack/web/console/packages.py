"""The console's Packages list (``/console/packages``) and Package page
(``/console/packages/se-…``), with the stop and restart buttons.

The list is a GET form (it works with JavaScript off): its filters live in the query string, and
the older/newer links carry them with a keyset cursor. Stop and restart are POSTed forms with the
session's CSRF token; they answer 303 back to the package with a flash named in the query string
(``?done=…``), whose text comes from a fixed table here (nothing from the URL is echoed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.errors import ShiptrackError, ValidationFailed
from shiptrack.domain.ids import format_id
from shiptrack.domain.package_list import (
    STALE_GRACE,
    PackageFilter,
    PageRequest,
    is_stale,
    search_prefix,
    stale_cutoff,
)
from shiptrack.domain.statuses import StatusCode, status_description
from shiptrack.domain.timefmt import utcnow
from shiptrack.services.package_pages import PackageDetail, PackagePages, package_path
from shiptrack.web.console.auth import see_other
from shiptrack.web.console.deps import CheckedFormDep, PartsDep, SessionDep
from shiptrack.web.console.session import ConsoleSession
from shiptrack.web.templating import render
from shiptrack.web.timeline import group_by_day

router = APIRouter(prefix="/console", include_in_schema=False)

#: The flashes a redirect may name, and what they say.
FLASHES = {
    "stopped": ("ok", "Tracking stopped. No more checks or notifications for this package."),
    "started": ("ok", "Tracking restarted: the package is checked again at once."),
}
#: The carrier codes packages are stored under (``usps`` for Stamps.com), for the filter.
TRACKING_CODES = sorted({kind.tracking_code for kind in CARRIERS.values()})
ACTIVE_CHOICES = {"": None, "active": True, "stopped": False}


@dataclass(frozen=True)
class ListQuery:
    """The list's filters as the form sent them (kept as text, to fill the form and links)."""

    status: str = ""
    carrier: str = ""
    active: str = ""
    stale: bool = False
    q: str = ""

    def params(self) -> dict[str, str]:
        """The filters as query parameters (empty ones left out)."""
        params = {
            "status": self.status,
            "carrier": self.carrier,
            "active": self.active,
            "q": self.q,
        }
        found = {name: value for name, value in params.items() if value}
        if self.stale:
            found["stale"] = "1"
        return found

    def link(self, **cursor: str) -> str:
        """The list's URL with these filters and a cursor."""
        query = urlencode({**self.params(), **cursor})
        return f"/console/packages?{query}" if query else "/console/packages"

    def to_filter(self) -> PackageFilter:
        """The store's filter; ``ValidationFailed`` for a value the form never offers."""
        if self.status and self.status not in StatusCode.__members__:
            raise ValidationFailed(f"status {self.status[:20]!r} is not a status code")
        if self.carrier and self.carrier not in TRACKING_CODES:
            raise ValidationFailed(f"carrier {self.carrier[:40]!r} is not a supported carrier")
        if self.active not in ACTIVE_CHOICES:
            raise ValidationFailed("active must be empty, 'active' or 'stopped'")
        return PackageFilter(
            status_code=self.status or None,
            carrier_code=self.carrier or None,
            active=ACTIVE_CHOICES[self.active],
            stale_before=stale_cutoff(utcnow()) if self.stale else None,
            number_prefix=search_prefix(self.q),
        )


def _pages(parts: PartsDep) -> PackagePages:
    return PackagePages(parts.tracking)


@router.get("/packages")
async def packages(
    request: Request,
    session: SessionDep,
    parts: PartsDep,
    status: str = "",
    carrier: str = "",
    active: str = "",
    stale: str = "",
    q: str = "",
    before: str = "",
    after: str = "",
) -> Response:
    """The account's packages, newest first, filtered by the GET form."""
    query = ListQuery(status=status, carrier=carrier, active=active, stale=bool(stale), q=q[:100])
    context: dict[str, object] = {
        "session": session,
        "section": "packages",
        "flash": None,
        "query": query,
        "statuses": [(code.value, status_description(code)) for code in StatusCode],
        "carriers": TRACKING_CODES,
        "grace_minutes": int(STALE_GRACE.total_seconds() // 60),
        "rows": [],
        "older": None,
        "newer": None,
        "problem": None,
    }
    try:
        narrowed = query.to_filter()
        # The form and the links show the number as it was normalised (as the API would store it).
        query = replace(query, q=narrowed.number_prefix or "")
        page = await _pages(parts).list_packages(
            session.account, narrowed, PageRequest.parse(before, after)
        )
    except ValidationFailed as error:
        # A search no number can match, or a link edited by hand: said on the page, not a 400.
        context["problem"] = error.message
        return render(request, "console/packages.html", context, status_code=400)
    now = utcnow()
    context |= {
        "query": query,
        "rows": [(package, format_id(package.id), is_stale(package, now)) for package in page.rows],
        "older": query.link(before=page.older) if page.older else None,
        "newer": query.link(after=page.newer) if page.newer else None,
    }
    return render(request, "console/packages.html", context)


@router.get("/packages/{package_id}")
async def package(
    request: Request, session: SessionDep, parts: PartsDep, package_id: str, done: str = ""
) -> Response:
    """One package: status, events by local day, status changes, webhook deliveries."""
    detail = await _pages(parts).detail(session.account, package_id)
    flash = FLASHES.get(done)
    return _package_page(request, session, detail, flash)


def _package_page(
    request: Request,
    session: ConsoleSession,
    detail: PackageDetail,
    flash: tuple[str, str] | None,
    status_code: int = 200,
) -> Response:
    context = {
        "session": session,
        "section": "packages",
        "flash": {"kind": flash[0], "text": flash[1]} if flash else None,
        "detail": detail,
        "package": detail.package,
        "package_id": format_id(detail.package.id),
        "days": group_by_day(detail.events),
        "stale": is_stale(detail.package, detail.read_at),
        "status_description": status_description,
        "csrf_token": session.csrf_token,
    }
    return render(request, "console/package.html", context, status_code=status_code)


@router.post("/packages/{package_id}/stop")
async def stop(
    session: SessionDep, parts: PartsDep, _form: CheckedFormDep, package_id: str
) -> Response:
    """Stop tracking the package (``POST /v1/tracking/stop``), then back to its page."""
    stopped = await _pages(parts).stop(session.account, package_id)
    return see_other(f"{package_path(stopped)}?done=stopped")


@router.post("/packages/{package_id}/start")
async def start(
    request: Request, session: SessionDep, parts: PartsDep, _form: CheckedFormDep, package_id: str
) -> Response:
    """Restart tracking the package (``POST /v1/tracking/start``), then back to its page; a
    refusal (no ``track`` webhook, carrier gone) is shown on the package page."""
    pages = _pages(parts)
    try:
        started = await pages.restart(session.account, package_id)
    except ShiptrackError as error:
        if error.status_code == 404:
            raise
        detail = await pages.detail(session.account, package_id)
        flash = ("error", f"Tracking was not restarted: {error.message}")
        return _package_page(request, session, detail, flash, error.status_code)
    return see_other(f"{package_path(started)}?done=started")
