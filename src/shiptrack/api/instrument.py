"""Counting and timing every HTTP request (``shiptrack_http_requests_total``,
``shiptrack_http_request_duration_seconds``), by route template, never by raw path.

The outermost ASGI middleware, so that it times the whole answer and counts the answers the edge
gives before routing (``401``, ``413``, ``429``, ...) too. After routing, Starlette leaves the
route that answered in the scope; a request the edge answered first never got that far, so its
route is looked up the way the router would (only those pay for it). A path no route matches is
counted under one fixed label, ``unmatched``, so a scan of random URLs cannot create series.
Requests ``shiptrack serve`` refuses before the app sees them (a malformed or oversized head,
``api.protocol``) are not counted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match

from shiptrack.api.edge import ASGIApp, Message, Receive, Scope, Send
from shiptrack.metrics.families import UNMATCHED_ROUTE, Metrics


class HttpMetrics:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # A request that ends in an exception is answered 500 by the server's last handler.
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.metrics.http_request(
                scope["method"], self._route(scope), status, time.perf_counter() - started
            )

    def _route(self, scope: Scope) -> str:
        route: Any = scope.get("route")
        if route is None:
            route = self._match(scope)
            if route is None:
                return UNMATCHED_ROUTE
        template: str | None = getattr(route, "path_format", None) or getattr(route, "path", None)
        return template or UNMATCHED_ROUTE

    def _match(self, scope: Scope) -> BaseRoute | None:
        """The route the router would pick (or ``None``), for a request answered before it."""
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
            if match is Match.PARTIAL and partial is None:
                partial = route
        return partial
