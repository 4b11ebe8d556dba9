"""The public tracking page, ``GET /t/{token}``: no API key, the token is the key.

Anyone with the link (``public_url`` in ``GET /v1/tracking`` and in ``track`` webhooks) sees the
package as :mod:`shiptrack.web.public_view` decides, as a page or, asked with
``Accept: application/json``, as JSON. A stopped package (delivered, expired, stopped by the
account) keeps its page: the recipient still wants to see that it arrived. A token that names no
package, or is not shaped like one, is the same plain 404 page. Each client address may open
``SHIPTRACK_PUBLIC_PAGE_PER_MINUTE`` pages a minute (per process), wrong tokens included, which
keeps guessing as hopeless as 128 random bits already make it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from shiptrack.api.ratelimit import RateLimiter, client_group
from shiptrack.domain.timefmt import retry_after_header
from shiptrack.web.console.deps import parts_of
from shiptrack.web.errors import PUBLIC_HEADERS
from shiptrack.web.i18n import LANGUAGE_NAMES, LANGUAGES, choose_language, weighted_values
from shiptrack.web.public_view import page_json, public_page
from shiptrack.web.templating import render

router = APIRouter(include_in_schema=False)


def _limiter(request: Request) -> RateLimiter:
    """The process's limiter of public page requests per client address."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "public_page_limiter", None)
    if limiter is None:
        limiter = state.public_page_limiter = RateLimiter()
    return limiter


def wants_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header prefers JSON to HTML (``application/json`` ranked above
    ``text/html``, or listed without it)."""
    ranks: dict[str, float] = {}
    for media, quality in weighted_values(accept or ""):
        ranks[media.lower()] = max(quality, ranks.get(media.lower(), 0.0))
    return ranks.get("application/json", 0.0) > ranks.get("text/html", 0.0)


@router.get("/t/{token}")
async def public_tracking_page(request: Request, token: str) -> Response:
    """A package's public tracking page (or its JSON)."""
    parts = parts_of(request)
    address = request.client.host if request.client else ""
    wait = _limiter(request).acquire(client_group(address), parts.settings.public_page_per_minute)
    if wait:
        return render(
            request,
            "public/error.html",
            {
                "lang": "en",
                "title": "Too many requests",
                "message": "Too many tracking pages were opened from your address; "
                "wait a minute and reload.",
            },
            status_code=429,
            headers={**PUBLIC_HEADERS, "Retry-After": retry_after_header(wait)},
        )
    found = await parts.tracking.public_package(token)
    if found is None:
        raise HTTPException(404)
    lang = choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    page = public_page(*found, lang=lang)
    headers = {
        **PUBLIC_HEADERS,
        "Content-Language": lang,
        "Vary": "Accept, Accept-Language",
    }
    if wants_json(request.headers.get("accept")):
        return JSONResponse(page_json(page), headers=headers)
    switcher = [
        (code, LANGUAGE_NAMES[code], f"{request.url.path}?lang={code}") for code in LANGUAGES
    ]
    return render(
        request,
        "public/package.html",
        {"lang": lang, "page": page, "languages": switcher},
        headers=headers,
    )
