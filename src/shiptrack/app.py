"""Composition root: builds the process's parts from the settings."""

from __future__ import annotations

from fastapi import FastAPI

from shiptrack.api.application import build_api
from shiptrack.engine.checks import Checks
from shiptrack.engine.dispatcher import Dispatcher
from shiptrack.engine.poller import Poller
from shiptrack.engine.runner import Workers
from shiptrack.engine.sending import Sending
from shiptrack.services import Services
from shiptrack.settings import Settings


def build_checks(services: Services) -> Checks:
    """What the poller runs: claim due packages, ask their carriers, record what changed."""
    settings = services.settings
    return Checks(
        store=services.store,
        carriers=services.carriers,
        pacer=services.pacer,
        opener=services.opener,
        recorder=services.recorder,
        schedule=settings.schedule,
        lease=settings.poll_lease,
        batch_size=settings.poll_batch_size,
        packages_due=services.packages_due,
    )


def build_sending(services: Services) -> Sending:
    """What the dispatcher runs: sign and send deliveries, record their attempts."""
    settings = services.settings
    return Sending(
        store=services.store,
        keyring=services.keyring,
        sealer=services.sealer,
        retry_policy=settings.retry_policy,
        user_agent=settings.webhook_user_agent,
        max_response_bytes=settings.webhook_max_response_bytes,
        deliveries_due=services.deliveries_due,
    )


def build_workers(services: Services) -> Workers:
    """The background workers of a process."""
    settings = services.settings
    return Workers(
        [
            Poller(build_checks(services), idle=settings.poll_interval),
            Dispatcher(build_sending(services), settings),
        ],
        grace=settings.shutdown_grace,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app for uvicorn (``shiptrack.app:create_app``, a factory).

    With ``SHIPTRACK_RUN_WORKERS`` (the default) the workers run in the same process.
    """
    settings = settings or Settings()
    services = Services.from_settings(settings)
    return build_api(services, build_workers(services) if settings.run_workers else None)
