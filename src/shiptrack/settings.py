"""Configuration, read from ``SHIPTRACK_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Every knob of shiptrack; the README's configuration table lists them."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPTRACK_", env_file=".env", extra="ignore", frozen=True
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
    max_body_bytes: int = Field(
        default=65536, ge=1024, description="Largest request body accepted (413 above)."
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections per process (PostgreSQL).")
    access_log: bool = Field(default=True, description="Log every HTTP request.")
    log_level: str = Field(default="info", description="Log level of the server.")

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
                return asynchronous + url[len(plain) :]
        return url

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'shiptrack.db'}"
