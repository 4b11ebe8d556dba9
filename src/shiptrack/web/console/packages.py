"""The packages pages (a placeholder until the list and the package page land)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from shiptrack.web.console.deps import SessionDep
from shiptrack.web.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/packages")
async def packages(request: Request, session: SessionDep) -> Response:
    """The account's packages."""
    return render(
        request,
        "console/packages.html",
        {"session": session, "section": "packages", "flash": None},
    )
