"""The FastAPI application: routers, the edge middleware and the error handlers."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from shiptrack import __version__
from shiptrack.api import errors
from shiptrack.api.deps import ApiParts
from shiptrack.api.edge import Edge
from shiptrack.api.instrument import HttpMetrics
from shiptrack.api.ratelimit import RateLimiter
from shiptrack.api.routes import (
    carriers,
    deliveries,
    detect,
    docs,
    health,
    labels,
    metrics,
    push,
    sandbox,
    subscriptions,
    tracking,
    webhooks,
)
from shiptrack.engine.runner import Workers
from shiptrack.runtime import settle_heap
from shiptrack.web import pages

log = logging.getLogger("shiptrack.api")


def build_api(
    parts: ApiParts,
    workers: Workers | None = None,
    *,
    close: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """The HTTP API over ``parts``, running ``workers`` beside it; when the app stops, the
    workers stop and ``close`` releases what the process holds (connections, sessions)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if workers is not None:
            workers.start()
        if parts.exposition is not None:
            parts.exposition.gauges.refresh_soon()  # the first scrape finds them read
        settle_heap()
        log.info(
            "API process %d started on %s; workers %s",
            os.getpid(),
            parts.settings.database_description,
            "on" if workers is not None else "off",
        )
        try:
            yield
        finally:
            if workers is not None:
                await workers.stop()
            if parts.exposition is not None:
                await parts.exposition.close()
            if close is not None:
                await close()
            log.info("API process %d stopped", os.getpid())

    app = FastAPI(
        title="shiptrack",
        version=__version__,
        summary="Self-hosted package tracking, wire-compatible with the ShipEngine tracking API",
        redirect_slashes=False,
        lifespan=lifespan,
        # FastAPI's own pages load their files from a CDN; routes/docs.py serves them itself.
        docs_url=None,
        redoc_url=None,
    )
    app.state.parts = parts
    routers = [
        detect.router,
        subscriptions.router,
        tracking.router,
        labels.router,
        webhooks.router,
        deliveries.router,
        webhooks.public,
        carriers.router,
        sandbox.router,
        push.router,
        health.router,
        docs.router,
    ]
    if parts.exposition is not None:
        routers.append(metrics.router)
    for router in routers:
        app.include_router(router)
    # Served first: see lean_routes.
    app.router.routes[:0] = tracking.lean_routes()
    errors.install(app)
    if parts.sessions is not None:
        pages.install(
            app, parts.sessions, auth_failures_per_minute=parts.settings.auth_failures_per_minute
        )
    app.add_middleware(
        Edge, settings=parts.settings, accounts=parts.accounts, limiter=RateLimiter()
    )
    if parts.metrics.enabled:
        # Added last: the outermost middleware, around the edge's own answers. It is given the
        # routes themselves (FastAPI keeps included routers behind wrappers of its own).
        routes: list[BaseRoute] = [r for r in app.router.routes if isinstance(r, Route)]
        routes += [route for router in routers for route in router.routes]
        app.add_middleware(HttpMetrics, metrics=parts.metrics, routes=routes)
    _document_errors_as_served(app)
    return app


def _document_errors_as_served(app: FastAPI) -> None:
    """FastAPI documents validation failures as 422; shiptrack answers them with a 400."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
