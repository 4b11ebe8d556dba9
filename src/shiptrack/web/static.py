"""The stylesheet (and any other static file), served by shiptrack itself from the package."""

from __future__ import annotations

from importlib.resources import files

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_PREFIX = "/static"


def static_mount() -> Mount:
    """``/static/…``: the files in ``shiptrack/web/static``."""
    directory = str(files("shiptrack.web") / "static")
    return Mount(STATIC_PREFIX, app=StaticFiles(directory=directory), name="static")
