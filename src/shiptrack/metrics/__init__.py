"""Prometheus metrics: what a process counts (``metrics.families``), the gauges it reads from the
store (``metrics.store_gauges``), how ``GET /metrics`` renders them (``metrics.exposition``) and
the small HTTP server of ``shiptrack worker`` (``metrics.server``).

The composition root (``shiptrack.app``) builds one :class:`~shiptrack.metrics.families.Metrics`
per process, with a registry of its own, and hands it to the engine's parts and the API; nothing
here is a module-level global. The domain knows nothing of metrics.
"""
