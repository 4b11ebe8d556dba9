"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, with every file they load
served by shiptrack itself: no CDN, no font service, no validator badge, nothing outside this
server, so they work offline and behind a firewall.

The files come from the ``fastapi-standalone-docs`` package (MIT), which ships Swagger UI
(Apache-2.0), Redoc (MIT, its bundle made to load its logo from beside the page instead of
Redocly's CDN) and FastAPI's favicon (MIT). They are served under
``/docs/assets/<package version>/`` with a year's ``Cache-Control: immutable``: another version
of the package is another URL, so a browser never keeps an old file after an upgrade. The pages
themselves are ``no-cache``, so they always name the files of the running version.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from shiptrack.domain.errors import RouteNotFound

ASSETS_DISTRIBUTION = "fastapi-standalone-docs"
ASSETS_VERSION = version(ASSETS_DISTRIBUTION)
ASSETS_PREFIX = f"/docs/assets/{ASSETS_VERSION}"

#: Public name → where the file lies in the package (``static/<folder>/<file>``). The two
#: ``.LICENSE.txt`` names are the ones the bundles' first line points to.
_ASSETS: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger", "swagger-ui-bundle.js"),
    "swagger-ui.css": ("swagger", "swagger-ui.css"),
    "swagger-ui-bundle.js.LICENSE.txt": ("swagger", "LICENSE"),
    "redoc.standalone.js": ("redoc", "redoc.standalone.js"),
    "redoc.standalone.js.LICENSE.txt": ("redoc", "redoc.standalone.js.LICENSE.txt"),
    "favicon.png": ("fastapi", "favicon.png"),
}
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
#: Versioned URLs never change what they name.
_IMMUTABLE = "public, max-age=31536000, immutable"
#: Redoc asks for its logo at ``<page path>/logo-mini.svg``, a URL without a version.
_A_DAY = "public, max-age=86400"
_NO_CACHE = "no-cache"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``."""
    app: FastAPI = request.app
    root = _root_path(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PREFIX}/favicon.png",
        oauth2_redirect_url=None,
        # Swagger UI would show a badge image from validator.swagger.io for a document served
        # from any host but localhost.
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers["Cache-Control"] = _NO_CACHE
    return page


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Redoc over ``/openapi.json``, without Google's fonts (the browser's own are used)."""
    app: FastAPI = request.app
    root = _root_path(request)
    page = get_redoc_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_PREFIX}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PREFIX}/favicon.png",
        with_google_fonts=False,
    )
    page.headers["Cache-Control"] = _NO_CACHE
    return page


@router.api_route("/redoc/logo-mini.svg", methods=["GET", "HEAD"])
async def redoc_logo() -> Response:
    """The logo Redoc's bundle shows in its menu (see the module docstring)."""
    return _file("redoc", "logo-mini.svg", _A_DAY)


@router.api_route("/docs/assets/{asset_version}/{name}", methods=["GET", "HEAD"])
async def docs_asset(request: Request, asset_version: str, name: str) -> Response:
    """One file of the pages, cached by browsers for a year."""
    if asset_version != ASSETS_VERSION or name not in _ASSETS:
        raise RouteNotFound(
            f"There is no endpoint at {request.method} {request.url.path}: the documentation's "
            f"files are under {ASSETS_PREFIX}/ (see /docs)"
        )
    return _file(*_ASSETS[name], _IMMUTABLE)


def _file(folder: str, name: str, cache_control: str) -> Response:
    return Response(
        _content(folder, name),
        media_type=_MEDIA_TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream"),
        headers={"Cache-Control": cache_control},
    )


@cache
def _content(folder: str, name: str) -> bytes:
    """A packaged file, read once per process (about 3 MB in all), not on every request."""
    return files("fastapi_standalone_docs").joinpath("static", folder, name).read_bytes()


def _root_path(request: Request) -> str:
    """The prefix a proxy serves the API under (``root_path``), as FastAPI's own pages use it."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")
