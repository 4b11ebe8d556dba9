"""Holding a fake carrier's answers until the test lets them go: a check that is "under way" for
exactly as long as a test needs.

``Gate.hold(app)`` adds a middleware to a fake's aiohttp application (before ``serve``): while the
gate is closed, every request whose path starts with ``prefix`` waits (the fake has received it,
so :meth:`Gate.wait_for_held` sees it) until :meth:`Gate.open`. Closing the fake's server also
lets them go (they are cancelled).
"""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp import web
from aiohttp.typedefs import Handler


class Gate:
    """Open by default; requests under ``prefix`` wait while it is closed."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self.held = 0

    def hold(self, app: web.Application) -> web.Application:
        """``app`` with the gate in front of its handlers."""

        @web.middleware
        async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith(self.prefix) and not self._open.is_set():
                with self._lock:
                    self.held += 1
                # Opened from the test's thread: a threading.Event, looked at every 10 ms.
                while not self._open.is_set():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            return await handler(request)

        app.middlewares.append(gate)
        return app

    def close(self) -> None:
        """Hold every request from now on."""
        with self._lock:
            self.held = 0
        self._open.clear()

    def open(self) -> None:
        """Let every held request (and later ones) through."""
        self._open.set()

    def wait_for_held(self, count: int = 1, *, deadline: float = 30.0) -> None:
        """Wait until ``count`` requests are held."""
        give_up = time.monotonic() + deadline
        while self.held < count:
            if time.monotonic() > give_up:
                raise AssertionError(f"no request reached the closed gate in {deadline:.0f}s")
            time.sleep(0.01)
