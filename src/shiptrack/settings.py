"""Configuration, read from ``SHIPTRACK_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shiptrack.domain.delivery import RetryPolicy
from shiptrack.domain.outbound import OutboundPolicy, parse_allow_list
from shiptrack.domain.schedule import SchedulePolicy

#: RSA signing processes of a dispatcher unless configured: one per core, at most four.
DEFAULT_SIGNING_PROCESSES = max(1, min(4, os.cpu_count() or 1))

DEFAULT_DATA_DIR = Path("var")
#: Every setting is read from the variable of its name in capitals after this prefix.
ENV_PREFIX = "SHIPTRACK_"
#: The database URLs shiptrack runs on, as given (the async driver is added to these).
SUPPORTED_DATABASE_URLS = "postgresql://user@host:5432/database or sqlite:///path/to/file.db"


class Settings(BaseSettings):
    """Every knob of shiptrack; the README's configuration table lists them."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Where the SQLite database and the generated secret key live.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means SQLite at <data_dir>/shiptrack.db. "
        "postgresql:// and sqlite:/// URLs get the async driver added.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts carrier credentials at rest; generated into "
        "<data_dir>/secret.key on first use when unset. Every process must share it.",
    )
    rate_limit_per_minute: int = Field(
        default=200, ge=1, description="Requests per minute per account and API process."
    )
    auth_failures_per_minute: int = Field(
        default=20,
        ge=1,
        description="Wrong API keys a client address may send per minute and API process before "
        "it gets 429 (keys that worked before still pass).",
    )
    public_page_per_minute: int = Field(
        default=120,
        ge=1,
        description="Public tracking pages (/t/{token}) a client address may open per minute and "
        "API process before it gets 429.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For names the client (empty: the connecting address is the client).",
    )
    max_body_bytes: int = Field(
        default=65536, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_url_bytes: int = Field(
        default=8192,
        ge=1024,
        description="Longest URL (path and query string) of a request line accepted (414 above).",
    )
    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        description="Largest header section accepted, each field counted as name, value and 4 "
        "bytes (431 above).",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per process (PostgreSQL).")
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite's synchronous setting: full (a 204 survives a power loss) or normal "
        "(fewer fsyncs; a power loss can undo the last commits, a killed process cannot).",
    )
    cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a process reuses what it read about API keys, carrier connections "
        "and webhooks, and its GET /v1/tracking answers; changes made through another process "
        "take effect within this time, changes made through the same process at once.",
    )
    access_log: bool = Field(
        default=True, description="Log every HTTP request (logger shiptrack.access, at info)."
    )
    run_workers: bool = Field(
        default=True, description="`shiptrack serve` also runs the tracking workers."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="How clients reach this server; webhook resource_url values start with it.",
    )
    console_session_hours: float = Field(
        default=8.0,
        gt=0,
        le=24 * 30,
        description="How long a console sign-in lasts before the key must be pasted again.",
    )
    sandbox_speed: float = Field(
        default=1.0,
        gt=0,
        description="How much faster than real time sandbox journeys (and their polling) run.",
    )
    poll_interval: float = Field(
        default=1.0, gt=0, description="Seconds a worker waits when no package is due."
    )
    poll_batch_size: int = Field(default=200, ge=1, description="Packages a worker claims at once.")
    poll_lease: float = Field(
        default=300, gt=0, description="Seconds a claimed package stays with its worker."
    )
    shutdown_grace: float = Field(
        default=10,
        ge=0,
        description="Seconds a stopping process lets the workers finish what they started before "
        "it gives the rest back.",
    )
    schedule_not_found_min: float = Field(default=300, gt=0)
    schedule_not_found_max: float = Field(default=6 * 3600, gt=0)
    schedule_expire_after: float = Field(default=30 * 86400, gt=0)
    schedule_in_transit: float = Field(default=3 * 3600, gt=0)
    schedule_near_delivery: float = Field(default=1800, gt=0)
    schedule_pickup_point: float = Field(default=6 * 3600, gt=0)
    schedule_exception: float = Field(default=3 * 3600, gt=0)
    schedule_jitter: float = Field(default=0.1, ge=0, lt=1)
    carrier_backoff_min: float = Field(default=60, gt=0)
    carrier_backoff_max: float = Field(default=3600, gt=0)
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs and carrier base URLs on loopback/private addresses "
        "(development, tests; never link-local or metadata addresses).",
    )
    outbound_allow: str = Field(
        default="",
        description="Comma-separated networks (CIDR) and host names that webhooks and carrier "
        "base URLs may reach although they are not public, e.g. 10.0.0.0/8,hooks.internal.",
    )
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(5, 300, 1800, 7200, 18000, 36000, 36000),
        description="Seconds before each retry of a failed delivery (comma-separated).",
    )
    webhook_retry_jitter: float = Field(default=0.2, ge=0, lt=1)
    webhook_retry_after_max: float = Field(
        default=86400, gt=0, description="Longest Retry-After a receiver can ask for."
    )
    webhook_connect_timeout: float = Field(default=5, gt=0)
    webhook_timeout: float = Field(default=15, gt=0)
    webhook_max_response_bytes: int = Field(default=65536, ge=0)
    webhook_concurrency: int = Field(
        default=256, ge=1, description="Deliveries in flight per dispatcher process."
    )
    webhook_endpoint_concurrency: int = Field(
        default=64,
        ge=1,
        description="Most deliveries in flight to one webhook per dispatcher process (each webhook "
        "starts with 8 and gains one per accepted delivery; a failure halves them).",
    )
    webhook_signing_processes: int = Field(
        default=DEFAULT_SIGNING_PROCESSES,
        ge=0,
        description="Processes that make the RSA signatures of a dispatcher (one per core, at most "
        "4, by default); 0 signs in threads of the dispatcher's own process.",
    )
    webhook_lease: float = Field(
        default=60, gt=0, description="Seconds a claimed delivery stays with its dispatcher."
    )
    webhook_disable_after: float = Field(
        default=5 * 86400, gt=0, description="Seconds of only failures before disabling a webhook"
    )
    webhook_secret_overlap: float = Field(
        default=86400, ge=0, description="Seconds the previous secret still signs after a rotation."
    )
    webhook_user_agent: str = Field(default="ShipEngine/v1")
    signing_key_lead: float = Field(
        default=3600, ge=0, description="Seconds a new signing key is published before it signs."
    )
    signing_key_grace: float = Field(
        default=86400, ge=0, description="Seconds a replaced signing key stays published."
    )

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError:
                raise ValueError(
                    f"SHIPTRACK_WEBHOOK_RETRY_SCHEDULE must be comma-separated numbers of seconds, "
                    f"not {value[:40]!r}"
                ) from None
        return value

    @field_validator("outbound_allow")
    @classmethod
    def _allow_list(cls, value: str) -> str:
        parse_allow_list(value)  # a bad entry stops the process, named
        return value

    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info",
        description="Lowest level logged: debug also shows carrier calls and claims.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: lines with a UTC timestamp, level and logger; json: one object a line "
        "(ts, level, logger, msg and the request's or delivery's fields).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    metrics: bool = Field(
        default=True,
        description="Count what the process does and serve it at GET /metrics (false: no "
        "/metrics and no counting at all).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set (not empty), /metrics answers only requests with "
        "Authorization: Bearer <this token>.",
    )
    metrics_refresh: float = Field(
        default=5,
        ge=1,
        description="Seconds a process reuses the gauges it reads from the database (tracked "
        "packages, outbox, disabled webhooks); they are read again, in the background, by the "
        "first scrape after that.",
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="`shiptrack worker` serves /metrics on this TCP port (0: it serves nothing).",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="The interface `shiptrack worker` serves /metrics on.",
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept the URLs people paste (``postgres://…``) and pick the async driver."""
        for plain, asynchronous in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if url.startswith(plain):
                url = asynchronous + url[len(plain) :]
                break
        if url:
            _check_database_url(url)
        return url

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'shiptrack.db'}"

    @property
    def database_description(self) -> str:
        """The database for log lines and messages: its kind and where it is, never a password
        (``postgresql://postgres@127.0.0.1:5432/test``, ``sqlite:var/shiptrack.db``)."""
        url = self.resolved_database_url
        try:
            parsed = make_url(url)
        except ArgumentError:
            return "an unreadable database URL"
        kind = parsed.get_backend_name()
        if kind == "sqlite":
            return f"sqlite:{parsed.database or ':memory:'}"
        user = f"{parsed.username}@" if parsed.username else ""
        port = f":{parsed.port}" if parsed.port else ""
        return f"{kind}://{user}{parsed.host or ''}{port}/{parsed.database or ''}"

    @property
    def metrics_bearer_token(self) -> str | None:
        """The token /metrics requires, or ``None`` (unset or empty: no token)."""
        token = self.metrics_token.get_secret_value() if self.metrics_token else ""
        return token or None

    @property
    def schedule(self) -> SchedulePolicy:
        """The polling schedule these settings describe."""
        return SchedulePolicy(
            not_found_min=self.schedule_not_found_min,
            not_found_max=self.schedule_not_found_max,
            expire_after=self.schedule_expire_after,
            in_transit=self.schedule_in_transit,
            near_delivery=self.schedule_near_delivery,
            pickup_point=self.schedule_pickup_point,
            exception=self.schedule_exception,
            jitter=self.schedule_jitter,
            backoff_min=self.carrier_backoff_min,
            backoff_max=self.carrier_backoff_max,
        )

    @property
    def outbound_policy(self) -> OutboundPolicy:
        """Which destinations webhooks and carrier calls may dial."""
        return OutboundPolicy.from_settings(
            allow_private=self.webhook_allow_private, allow_list=self.outbound_allow
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        """The webhook retry policy these settings describe."""
        return RetryPolicy(
            schedule=self.webhook_retry_schedule,
            jitter=self.webhook_retry_jitter,
            retry_after_max=self.webhook_retry_after_max,
            disable_after=self.webhook_disable_after,
        )


def _check_database_url(url: str) -> None:
    """Refuse a URL shiptrack cannot use, in words that never repeat it (it may hold a password)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(
            f"SHIPTRACK_DATABASE_URL is not a database URL; write it as {SUPPORTED_DATABASE_URLS}"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(
            "SHIPTRACK_DATABASE_URL names no SQLite file (an in-memory database would be empty "
            "for every process); write it as sqlite:///path/to/file.db"
        )
    if parsed.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError(
            f"SHIPTRACK_DATABASE_URL is a {parsed.drivername}:// URL, which shiptrack does not "
            f"support; write it as {SUPPORTED_DATABASE_URLS}"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"SHIPTRACK_DATABASE_URL has port {parsed.port}, not one of 1 to 65535")
