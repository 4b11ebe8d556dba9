"""Composition root: builds the process's parts from the settings."""

from __future__ import annotations

from fastapi import FastAPI

from shiptrack.api.app import build_api
from shiptrack.services import Services
from shiptrack.settings import Settings
from shiptrack.worker.dispatcher import Dispatcher
from shiptrack.worker.poller import Poller
from shiptrack.worker.runner import Workers


def build_workers(services: Services) -> Workers:
    """The background workers of a process."""
    return Workers([Poller(services), Dispatcher(services)], grace=services.settings.shutdown_grace)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app for uvicorn (``shiptrack.app:create_app``, a factory).

    With ``SHIPTRACK_RUN_WORKERS`` (the default) the workers run in the same process.
    """
    settings = settings or Settings()
    services = Services.from_settings(settings)
    return build_api(services, build_workers(services) if settings.run_workers else None)
