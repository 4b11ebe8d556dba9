"""Composition root: builds the process's parts from the settings."""

from __future__ import annotations

from fastapi import FastAPI

from shiptrack.api.app import build_api
from shiptrack.services import Services
from shiptrack.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app for uvicorn (``shiptrack.app:create_app``, a factory)."""
    return build_api(Services.from_settings(settings or Settings()))
