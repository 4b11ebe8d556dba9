"""What ``GET /metrics`` answers, and who may ask.

One process: its own registry (the families of ``metrics.families``), the process and Python
collectors, and the database gauges (``metrics.store_gauges``).

``shiptrack serve --processes N``: the N processes share one port, so a scrape reaches any one of
them. ``serve`` makes a fresh directory for the group and names it in ``PROMETHEUS_MULTIPROC_DIR``
before it starts them (:func:`share_between_processes`); prometheus-client then keeps every
counter and histogram of each process in a file there, and the process that answers a scrape adds
up the files of the whole group (the database gauges share their newest read there too,
``metrics.store_gauges``). Counters of a process that died stay counted. The per-process
collectors (memory, CPU, garbage collection) are left out in that mode: they would describe only
the process that happened to answer.

``SHIPTRACK_METRICS_TOKEN`` set: only requests with ``Authorization: Bearer <token>`` get an
answer (compared in constant time), the others a ShipEngine-format ``401``.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import os
import shutil
import tempfile

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from shiptrack.domain.errors import Unauthorized
from shiptrack.metrics.families import PrometheusMetrics
from shiptrack.metrics.store_gauges import StoreGauges

#: prometheus-client's own variable: set, every counter and histogram of the process lives in a
#: file of that directory (read before the first metric is made, so it must be set at startup).
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Exposition:
    """The registry a scrape reads, the token it needs, and the database gauges behind it."""

    def __init__(
        self,
        metrics: PrometheusMetrics,
        gauges: StoreGauges,
        *,
        token: str | None,
        multiprocess_dir: str | None = None,
    ) -> None:
        if multiprocess_dir:
            registry = CollectorRegistry()
            # prometheus-client declares no types for this one class.
            MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            registry = metrics.registry
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        registry.register(gauges)
        self.registry = registry
        self.gauges = gauges
        self._token = _digest(token) if token else None

    def authorized(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header may scrape."""
        if self._token is None:
            return True
        scheme, _, given = (authorization or "").strip().partition(" ")
        # Both sides hashed first: the comparison takes as long whatever the length of a guess.
        matches = hmac.compare_digest(_digest(given.strip()), self._token)
        return scheme.lower() == "bearer" and matches

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The text a scrape gets and its content type (OpenMetrics when the scraper asks for
        it). The database gauges are the last ones read; reading them again, when due, is
        started in the background and never waited for."""
        self.gauges.refresh_soon()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    async def close(self) -> None:
        """Stop a database read under way."""
        await self.gauges.close()


def unauthorized() -> Unauthorized:
    """The error a scrape without the right token gets."""
    return Unauthorized(
        "The metrics token is missing or wrong. Send Authorization: Bearer "
        "<SHIPTRACK_METRICS_TOKEN>.",
        headers={"WWW-Authenticate": 'Bearer realm="shiptrack metrics"'},
    )


def multiprocess_dir() -> str | None:
    """The directory the processes of this group keep their metrics in, if they share one."""
    return os.environ.get(MULTIPROCESS_ENV) or None


def share_between_processes() -> str:
    """Make a fresh metrics directory for the group of processes this one is about to start (they
    inherit the environment) and name it in ``PROMETHEUS_MULTIPROC_DIR``; it is removed with its
    files when this process exits. Call before the processes start; the directory."""
    directory = tempfile.mkdtemp(prefix="shiptrack-metrics-")
    os.environ[MULTIPROCESS_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
