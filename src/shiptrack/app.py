"""The composition root: the one place that builds a process's parts from the settings and wires
them together: the store, the carriers, the engine's parts, the use cases, the workers and the API.
Everything else takes what it uses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shiptrack.carriers.pacing import RequestPacer
from shiptrack.carriers.registry import CarrierRegistry
from shiptrack.domain.accounts import Account
from shiptrack.engine.checks import Checks
from shiptrack.engine.connections import ConnectionOpener
from shiptrack.engine.dispatcher import Dispatcher
from shiptrack.engine.poller import Poller
from shiptrack.engine.push import Pushes
from shiptrack.engine.recording import Recorder
from shiptrack.engine.runner import Workers
from shiptrack.engine.sending import Sending
from shiptrack.metrics.exposition import Exposition, multiprocess_dir
from shiptrack.metrics.families import Metrics, PrometheusMetrics, build_metrics
from shiptrack.metrics.store_gauges import StoreGauges
from shiptrack.sealing import Sealer, load_secret
from shiptrack.services.accounts import Accounts
from shiptrack.services.answers import TrackingAnswers
from shiptrack.services.cache import TTLCache
from shiptrack.services.connections import Connections
from shiptrack.services.deliveries import Deliveries
from shiptrack.services.secret_key import SecretKeySource
from shiptrack.services.tracking import Tracking, TrackingSetup
from shiptrack.services.webhooks import Webhooks
from shiptrack.settings import Settings
from shiptrack.store.database import create_database
from shiptrack.store.port import Store
from shiptrack.store.sql import SqlStore
from shiptrack.webhooks.keyring import KeyRing
from shiptrack.webhooks.rsa_signers import open_rsa_signer

if TYPE_CHECKING:  # the CLI builds parts without loading the web framework
    from fastapi import FastAPI

    from shiptrack.api.deps import ApiParts
    from shiptrack.web.console.session import Sessions


@dataclass(frozen=True)
class Shiptrack:
    """One process's parts, built by :func:`build`."""

    settings: Settings
    store: Store
    #: What the process counts: a registry of its own (nothing shared between two builds).
    metrics: Metrics
    sealer: Sealer
    carriers: CarrierRegistry
    keyring: KeyRing
    pacer: RequestPacer
    #: Set when a package becomes due now, so an in-process worker need not wait for its poll.
    packages_due: asyncio.Event
    #: Set when webhook deliveries were queued or may go now.
    deliveries_due: asyncio.Event
    opener: ConnectionOpener
    recorder: Recorder
    pushes: Pushes
    accounts: Accounts
    connections: Connections
    tracking: Tracking
    webhooks: Webhooks
    deliveries: Deliveries

    async def close(self) -> None:
        """Release the carriers' HTTP sessions and the store's connections."""
        await self.carriers.close()
        await self.store.close()


def open_store(settings: Settings) -> Store:
    """The configured database's store. Opening it is lazy: nothing connects until it is used."""
    return SqlStore(
        create_database(
            settings.resolved_database_url,
            pool_size=settings.db_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
    )


def secret_key_source(settings: Settings) -> SecretKeySource:
    """Where the process's secret key comes from."""
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    return SecretKeySource(configured=configured, data_dir=settings.data_dir)


def build(
    settings: Settings, *, store: Store | None = None, sealer: Sealer | None = None
) -> Shiptrack:
    """Build a process's parts; ``store`` replaces the configured database (the in-memory store
    in unit tests), ``sealer`` the configured secret key's (the CLI passes the one it verified
    against the database: ``shiptrack.services.secret_key``)."""
    if store is None:
        store = open_store(settings)
    if sealer is None:
        source = secret_key_source(settings)
        sealer = Sealer(load_secret(source.configured, source.data_dir))
    carriers = CarrierRegistry(
        sandbox_speed=settings.sandbox_speed, outbound=settings.outbound_policy
    )
    pacer = RequestPacer()
    metrics = build_metrics(settings.metrics)
    packages_due, deliveries_due = asyncio.Event(), asyncio.Event()
    setups: TTLCache[int, TrackingSetup] = TTLCache(settings.cache_seconds)
    keys: TTLCache[str, Account] = TTLCache(settings.cache_seconds)
    answers = TrackingAnswers(settings.cache_seconds)
    store.watch_package_writes(answers.forget)
    opener = ConnectionOpener(sealer)
    recorder = Recorder(
        settings.schedule, public_base_url=settings.public_base_url, deliveries_due=deliveries_due
    )
    return Shiptrack(
        settings=settings,
        store=store,
        metrics=metrics,
        sealer=sealer,
        carriers=carriers,
        keyring=KeyRing(store, sealer, refresh=settings.cache_seconds),
        pacer=pacer,
        packages_due=packages_due,
        deliveries_due=deliveries_due,
        opener=opener,
        recorder=recorder,
        pushes=Pushes(store, carriers, opener, recorder, metrics),
        accounts=Accounts(store, keys),
        connections=Connections(store, carriers, opener, settings.outbound_policy, setups, pacer),
        tracking=Tracking(
            store,
            setups,
            answers,
            carriers,
            pacer,
            opener,
            packages_due,
            metrics,
            public_base_url=settings.public_base_url,
        ),
        webhooks=Webhooks(
            store,
            sealer,
            settings.outbound_policy,
            setups,
            secret_overlap=settings.webhook_secret_overlap,
        ),
        deliveries=Deliveries(
            store, public_base_url=settings.public_base_url, deliveries_due=deliveries_due
        ),
    )


def build_checks(parts: Shiptrack) -> Checks:
    """What the poller runs: claim due packages, ask their carriers, record what changed."""
    settings = parts.settings
    return Checks(
        store=parts.store,
        carriers=parts.carriers,
        pacer=parts.pacer,
        opener=parts.opener,
        recorder=parts.recorder,
        schedule=settings.schedule,
        lease=settings.poll_lease,
        batch_size=settings.poll_batch_size,
        packages_due=parts.packages_due,
        metrics=parts.metrics,
    )


def build_sending(parts: Shiptrack) -> Sending:
    """What the dispatcher runs: sign and send deliveries, record their attempts."""
    settings = parts.settings
    return Sending(
        store=parts.store,
        keyring=parts.keyring,
        sealer=parts.sealer,
        retry_policy=settings.retry_policy,
        user_agent=settings.webhook_user_agent,
        max_response_bytes=settings.webhook_max_response_bytes,
        deliveries_due=parts.deliveries_due,
        metrics=parts.metrics,
        rsa_signer=open_rsa_signer(settings.webhook_signing_processes),
    )


def build_workers(parts: Shiptrack) -> Workers:
    """The background workers of a process."""
    settings = parts.settings
    return Workers(
        [
            Poller(build_checks(parts), idle=settings.poll_interval),
            Dispatcher(build_sending(parts), settings),
        ],
        grace=settings.shutdown_grace,
    )


def build_exposition(parts: Shiptrack) -> Exposition | None:
    """What ``GET /metrics`` serves for this process (``None`` when metrics are off); build it
    once per process that serves metrics. In a group of processes sharing a port (``shiptrack
    serve --processes N``) it adds up the whole group's counters."""
    if not isinstance(parts.metrics, PrometheusMetrics):
        return None
    settings = parts.settings
    shared = multiprocess_dir()
    return Exposition(
        parts.metrics,
        StoreGauges(parts.store, refresh=settings.metrics_refresh, shared_dir=shared),
        token=settings.metrics_bearer_token,
        multiprocess_dir=shared,
    )


def console_sessions(parts: Shiptrack) -> Sessions:
    """The console's sessions: sealed with the secret key, ``Secure`` behind HTTPS."""
    from shiptrack.web.console.session import Sessions

    settings = parts.settings
    return Sessions(
        parts.sealer,
        parts.accounts,
        lifetime_seconds=settings.console_session_hours * 3600,
        secure=settings.public_base_url.lower().startswith("https://"),
    )


def api_parts(parts: Shiptrack) -> ApiParts:
    """What the HTTP API serves from."""
    from shiptrack.api.deps import ApiParts

    return ApiParts(
        settings=parts.settings,
        accounts=parts.accounts,
        connections=parts.connections,
        tracking=parts.tracking,
        webhooks=parts.webhooks,
        deliveries=parts.deliveries,
        pushes=parts.pushes,
        keyring=parts.keyring,
        readiness=parts.store,
        metrics=parts.metrics,
        exposition=build_exposition(parts),
        sessions=console_sessions(parts),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app for uvicorn (``shiptrack.app:create_app``, a factory).

    With ``SHIPTRACK_RUN_WORKERS`` (the default) the workers run in the same process.
    """
    from shiptrack.api.application import build_api

    settings = settings or Settings()
    parts = build(settings)
    workers = build_workers(parts) if settings.run_workers else None
    return build_api(api_parts(parts), workers, close=parts.close)
