"""What a process counts, as the metric families dashboards rely on (README, "Metrics").

:class:`Metrics` is the interface the engine and the API call; it counts nothing, and is what a
process run with ``SHIPTRACK_METRICS=false`` gets. :class:`PrometheusMetrics` counts into a
``CollectorRegistry`` of its own (one per :func:`shiptrack.app.build`, so tests never share
counters). The label values are fixed here; a label child is looked up once per label set and
kept, so counting on a hot path costs a dictionary lookup and an increment.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from shiptrack.domain.carriers import CARRIERS
from shiptrack.domain.statuses import StatusCode

# --- label values -------------------------------------------------------------------------------

#: What came of one package a worker claimed (``shiptrack_checks_total{outcome}``): the carrier
#: answered about it, or said it does not know it (yet); the carrier call failed (an error, a
#: timeout, a 429 or 5xx: the connection backs off); or it was not asked, because its connection
#: was backing off already or its request budget was spent (rescheduled, asked later).
CHECK_FOUND, CHECK_NOT_FOUND, CHECK_ERROR = "found", "not_found", "error"
CHECK_BACKED_OFF, CHECK_DEFERRED = "backed_off", "deferred"
CHECK_OUTCOMES = (CHECK_FOUND, CHECK_NOT_FOUND, CHECK_ERROR, CHECK_BACKED_OFF, CHECK_DEFERRED)

#: What came of one delivery attempt (``shiptrack_webhook_deliveries_total{outcome}``): the
#: receiver answered 2xx; it did not (any other status, a timeout, no connection, refused by the
#: outbound policy) and a retry is scheduled; it did not and the retries are spent: the delivery
#: is given up on.
ATTEMPT_DELIVERED, ATTEMPT_RETRYING, ATTEMPT_FAILED = "delivered", "retrying", "failed"
DELIVERY_OUTCOMES = (ATTEMPT_DELIVERED, ATTEMPT_RETRYING, ATTEMPT_FAILED)

#: The ``route`` label of a request that matched no route (a 404): never the raw path.
UNMATCHED_ROUTE = "unmatched"
#: Methods counted under their own name; any other is counted as ``other``.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

# --- buckets ------------------------------------------------------------------------------------

#: Seconds: the API answers in milliseconds; the top buckets catch a database that is struggling.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Seconds: carrier APIs answer in tenths of a second; a timeout is tens of seconds.
CARRIER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Seconds a due package waited to be claimed: under the poll interval (1 s) when the workers
#: keep up; minutes or hours when they do not.
LAG_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 10800.0, 43200.0)


class Metrics:
    """What the engine and the API count. This base counts nothing (``SHIPTRACK_METRICS=false``);
    :class:`PrometheusMetrics` does."""

    #: Whether anything is counted (and ``/metrics`` served).
    enabled = False

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered: its method, route template, status and duration."""

    def claimed(self, lags: Iterable[float]) -> None:
        """Packages claimed by a worker, each so many seconds after it was due."""

    def checked(self, carrier_code: str, outcome: str, count: int = 1) -> None:
        """``count`` claimed packages of ``carrier_code`` came to ``outcome`` (``CHECK_*``)."""

    def carrier_request(self, carrier_code: str, seconds: float) -> None:
        """One call to a carrier's API took ``seconds`` (whatever came of it)."""

    def status_changed(self, status_codes: Iterable[str]) -> None:
        """Status changes were recorded (committed), to these status codes."""

    def delivery_attempted(self, outcome: str, count: int = 1) -> None:
        """``count`` delivery attempts were recorded with ``outcome`` (``ATTEMPT_*``)."""


class PrometheusMetrics(Metrics):
    """The families of the README's "Metrics" section, in a registry of their own."""

    enabled = True

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # No ``*_created`` series: in the text format each would be one more series per label
        # set, which Prometheus stores as a sample like any other.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client: untyped
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self._http_requests = Counter(
            "shiptrack_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=reg,
        )
        self._http_duration = Histogram(
            "shiptrack_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            buckets=HTTP_BUCKETS,
            registry=reg,
        )
        self._checks = Counter(
            "shiptrack_checks_total",
            "Packages claimed by the workers, by carrier and what came of each: found, "
            "not_found, error (the carrier call failed), backed_off, deferred (not asked yet).",
            ("carrier_code", "outcome"),
            registry=reg,
        )
        self._carrier_duration = Histogram(
            "shiptrack_carrier_request_duration_seconds",
            "Time of one call to a carrier's tracking API (simulated carriers make none).",
            ("carrier_code",),
            buckets=CARRIER_BUCKETS,
            registry=reg,
        )
        self._lag = Histogram(
            "shiptrack_check_lag_seconds",
            "How late due packages are claimed: claim time minus due time.",
            buckets=LAG_BUCKETS,
            registry=reg,
        )
        self._status_changes = Counter(
            "shiptrack_status_changes_total",
            "Status changes recorded, by the new status code.",
            ("status_code",),
            registry=reg,
        )
        self._deliveries = Counter(
            "shiptrack_webhook_deliveries_total",
            "Webhook delivery attempts recorded, by outcome: delivered, retrying, failed.",
            ("outcome",),
            registry=reg,
        )
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        # Every series that is known in advance exists from the start at 0, so that rate() and
        # increase() see the first event of each.
        self._check_children = {
            (carrier, outcome): self._checks.labels(carrier, outcome)
            for carrier in CARRIERS
            for outcome in CHECK_OUTCOMES
        }
        self._carrier_children = {
            carrier: self._carrier_duration.labels(carrier) for carrier in CARRIERS
        }
        self._status_children = {
            str(code): self._status_changes.labels(str(code)) for code in StatusCode
        }
        self._delivery_children = {
            outcome: self._deliveries.labels(outcome) for outcome in DELIVERY_OUTCOMES
        }

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered: its method, route template, status and duration."""
        key = (method, route, status)
        children = self._http.get(key)
        if children is None:
            label = method if method in HTTP_METHODS else OTHER_METHOD
            children = (
                self._http_requests.labels(label, route, str(status)),
                self._http_duration.labels(label, route),
            )
            self._http[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def claimed(self, lags: Iterable[float]) -> None:
        """Packages claimed by a worker, each so many seconds after it was due."""
        observe = self._lag.observe
        for lag in lags:
            observe(max(lag, 0.0))

    def checked(self, carrier_code: str, outcome: str, count: int = 1) -> None:
        """``count`` claimed packages of ``carrier_code`` came to ``outcome`` (``CHECK_*``)."""
        if count <= 0:
            return
        child = self._check_children.get((carrier_code, outcome))
        if child is None:
            child = self._check_children[(carrier_code, outcome)] = self._checks.labels(
                carrier_code, outcome
            )
        child.inc(count)

    def carrier_request(self, carrier_code: str, seconds: float) -> None:
        """One call to a carrier's API took ``seconds`` (whatever came of it)."""
        child = self._carrier_children.get(carrier_code)
        if child is None:
            child = self._carrier_children[carrier_code] = self._carrier_duration.labels(
                carrier_code
            )
        child.observe(seconds)

    def status_changed(self, status_codes: Iterable[str]) -> None:
        """Status changes were recorded (committed), to these status codes."""
        for code in status_codes:
            child = self._status_children.get(code)
            if child is None:
                child = self._status_children[code] = self._status_changes.labels(code)
            child.inc()

    def delivery_attempted(self, outcome: str, count: int = 1) -> None:
        """``count`` delivery attempts were recorded with ``outcome`` (``ATTEMPT_*``)."""
        if count > 0:
            self._delivery_children[outcome].inc(count)


def build_metrics(enabled: bool) -> Metrics:
    """A process's metrics: counting into a registry of its own, or counting nothing."""
    return PrometheusMetrics() if enabled else Metrics()
