"""Liveness and readiness probes (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter

from shiptrack.api.deps import ReadinessDep
from shiptrack.api.responses import JSON
from shiptrack.domain.errors import ServiceUnavailable

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Alive", response_class=JSON)
async def health() -> JSON:
    """The process is up and serving HTTP."""
    return JSON({"status": "ok"})


@router.get("/ready", summary="Ready to serve", response_class=JSON)
async def ready(readiness: ReadinessDep) -> JSON:
    """The database answers and is migrated to the version this code needs (`503` otherwise)."""
    problem = await readiness.schema_problem()
    if problem:
        raise ServiceUnavailable(f"Not ready: {problem}")
    return JSON({"status": "ready", "database": readiness.kind})
