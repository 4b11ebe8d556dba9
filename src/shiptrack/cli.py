"""shiptrack: self-hosted package tracking, wire-compatible with the ShipEngine tracking API."""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvloop

from shiptrack.app import Shiptrack, build, open_store, secret_key_source
from shiptrack.configuration import (
    configured_names,
    environment_problem,
    read_settings,
    unknown_variable_warnings,
)
from shiptrack.domain.errors import ConfigurationError, NotFound, ShiptrackError
from shiptrack.domain.ids import format_id, parse_id
from shiptrack.domain.timefmt import format_utc, utcnow
from shiptrack.logs import configure as configure_logging
from shiptrack.logs import logging_config
from shiptrack.sealing import Sealer, fingerprint, generate_secret_key
from shiptrack.services.secret_key import verified_sealer
from shiptrack.settings import Settings
from shiptrack.store import migrate
from shiptrack.store.database import Database, create_database
from shiptrack.webhooks.keyring import KeyRole, key_roles

T = TypeVar("T")
log = logging.getLogger("shiptrack")

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
account_app = typer.Typer(no_args_is_help=True, help="Accounts.")
key_app = typer.Typer(no_args_is_help=True, help="API keys.")
signing_app = typer.Typer(no_args_is_help=True, help="The keys that sign webhook deliveries.")
secret_app = typer.Typer(
    no_args_is_help=True, help="The secret key that seals carrier credentials and other secrets."
)
app.add_typer(db_app, name="db")
app.add_typer(account_app, name="account")
app.add_typer(key_app, name="key")
app.add_typer(signing_app, name="signing-key")
app.add_typer(secret_app, name="secret-key")

DEMO_ACCOUNT = "demo"
DEMO_KEY_FILE = "demo-api-key"


def main() -> None:
    """Entry point of the console script: whatever stops a command that is not a bug (a wrong
    setting, a database that cannot be used, the wrong secret key, an unknown account) ends it
    with one line on stderr and exit status 1, never a traceback."""
    try:
        app()
    except ShiptrackError as error:
        typer.echo(f"shiptrack: {error.message}", err=True)
        sys.exit(1)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"shiptrack: {message}", err=True)
    return typer.Exit(1)


@functools.cache
def _settings() -> Settings:
    """The settings (read once per process): a wrong value is a :class:`ConfigurationError`, an
    unknown ``SHIPTRACK_*`` variable a warning on stderr."""
    settings = read_settings()
    for warning in unknown_variable_warnings(configured_names(os.environ, Path(".env"))):
        typer.echo(f"shiptrack: {warning}", err=True)
    return settings


def _run(work: Callable[[Shiptrack], Awaitable[T]]) -> T:
    """Run one async piece of work with the parts of the configured database, once the database
    is known to be migrated and the secret key to be the database's (nothing is written before)."""
    settings = _settings()

    async def go() -> T:
        store = open_store(settings)
        try:
            problem = await store.schema_problem()
            if problem:
                raise ConfigurationError(problem)
            sealer = await verified_sealer(store, secret_key_source(settings))
        except BaseException:
            await store.close()
            raise
        parts = build(settings, store=store, sealer=sealer)
        try:
            return await work(parts)
        finally:
            await parts.close()

    return _run_async(settings, go())


def _on_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run one async piece of work on the configured SQL database itself (migrations)."""
    settings = _settings()

    async def go() -> T:
        database = create_database(settings.resolved_database_url, pool_size=1)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return _run_async(settings, go())


def _run_async(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work on uvloop, as ``serve`` does (the dispatcher spends most of
    its time in aiohttp, about a tenth less on uvloop: BENCHMARKS.md 0h); a database or a file
    that cannot be used becomes a :class:`ConfigurationError` saying which and why."""
    try:
        return uvloop.run(work)
    except Exception as error:
        problem = environment_problem(error, settings.resolved_database_url)
        if problem is None:
            raise
        raise ConfigurationError(problem) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    processes: Annotated[
        int,
        typer.Option(min=1, help="Server processes sharing the port (each runs the workers too)."),
    ] = 1,
) -> None:
    """Serve the API (and, in the same process, the workers unless SHIPTRACK_RUN_WORKERS=false)."""
    import uvicorn

    from shiptrack.api.protocol import ShiptrackHttpProtocol

    _run(_started)  # the settings, the database and the secret key are right
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    log.info(
        "serving http://%s:%d with %d process%s on %s; workers %s",
        host,
        port,
        processes,
        "" if processes == 1 else "es",
        settings.database_description,
        "on in every process" if settings.run_workers else "off (SHIPTRACK_RUN_WORKERS=false)",
    )
    if processes > 1 and settings.metrics:
        # One scrape of the shared port reaches one process: each keeps its counters in a
        # directory of the group's, and the one that answers adds them all up.
        from shiptrack.metrics.exposition import share_between_processes

        share_between_processes()
    uvicorn.run(
        "shiptrack.app:create_app",
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        # uvicorn's httptools protocol with request-line and header limits and ShipEngine-format
        # answers for requests that never reach the app (shiptrack.api.protocol).
        http=ShiptrackHttpProtocol,
        # Every process (uvicorn starts one per --processes) logs in the same format; the edge
        # writes the access lines, with the request's fields.
        log_config=logging_config(settings.log_format, settings.log_level),
        access_log=False,
        log_level=settings.log_level,
        server_header=False,
        # Behind a reverse proxy every client would share the proxy's address (and the bad-key
        # throttle would count them as one): trusted proxies name the client in X-Forwarded-For.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        workers=processes if processes > 1 else None,
    )
    log.info("stopped serving http://%s:%d", host, port)


async def _started(_parts: Shiptrack) -> None:
    """Nothing more to do than start: :func:`_run` checked everything."""


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve GET /metrics on this port (default: SHIPTRACK_METRICS_PORT; 0: none).",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(help="Interface of the metrics port (default: SHIPTRACK_METRICS_HOST)."),
    ] = None,
) -> None:
    """Run only the tracking workers (no API): add processes like this one to scale out on
    PostgreSQL. With a metrics port, it serves its own /metrics there."""
    from shiptrack.app import build_exposition, build_workers
    from shiptrack.runtime import settle_heap

    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    port = settings.metrics_port if metrics_port is None else metrics_port
    host = metrics_host or settings.metrics_host
    if port and not settings.metrics:
        raise _fail("a metrics port is set but SHIPTRACK_METRICS=false: there is nothing to serve")

    async def work(parts: Shiptrack) -> None:
        workers = build_workers(parts)
        exposition = build_exposition(parts) if port else None
        runner = None
        if exposition is not None:
            from shiptrack.metrics.server import start_metrics_server

            try:
                runner = await start_metrics_server(exposition, host=host, port=port)
            except OSError as error:
                raise _fail(f"cannot serve metrics on {host}:{port}: {error.strerror}") from None
            exposition.gauges.refresh_soon()
        settle_heap()
        log.info(
            "worker process %d started on %s (no HTTP)",
            os.getpid(),
            settings.database_description,
        )
        try:
            await workers.run_forever()
        finally:
            if runner is not None:
                await runner.cleanup()
            if exposition is not None:
                await exposition.close()
            log.info("worker process %d stopped", os.getpid())

    _run(work)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""

    async def work(database: Database) -> str | None:
        await migrate.upgrade(database)
        return await migrate.current_revision(database)

    revision = _on_database(work)
    typer.echo(f"database at migration {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the migration the database is at (exit 1 if it is not the newest)."""

    async def work(database: Database) -> tuple[str | None, str | None]:
        return await migrate.current_revision(database), await migrate.schema_problem(database)

    revision, problem = _on_database(work)
    typer.echo(f"database at migration {revision or 'none'}; newest is {migrate.head_revision()}")
    if problem:
        raise typer.Exit(1)


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Option(help="A name for the account.")],
    sandbox: Annotated[bool, typer.Option(help="Simulated carriers and a TEST_ key.")] = False,
) -> None:
    """Create an account; its API key is the last line printed (shown only this once)."""
    if not name.strip() or len(name) > 200:
        raise _fail("--name must be 1 to 200 characters")
    account, key = _run(lambda parts: parts.accounts.create(name=name, sandbox=sandbox))
    typer.echo(f"account_id: {format_id(account.id)}")
    typer.echo(f"sandbox: {str(account.sandbox).lower()}")
    typer.echo(f"api_key_id: {format_id(key.record.id)}")
    typer.echo(key.key)


@account_app.command("update")
def account_update(
    account: Annotated[str, typer.Argument(help="The account id (se-…).")],
    rate_limit: Annotated[
        int | None,
        # The column is a 32-bit integer; a larger value would fail in the database driver.
        typer.Option(min=1, max=2**31 - 1, help="Requests per minute (per API process)."),
    ] = None,
    exception_watch_days: Annotated[
        int | None,
        typer.Option(
            min=0,
            # The largest number of days a Python timedelta holds (the engine compares with one).
            max=999_999_999,
            help="Keep watching packages this many days after an exception (0: stop at once).",
        ),
    ] = None,
) -> None:
    """Change an account's rate limit or how long its exceptions are watched."""
    account_id = _account_id(account)
    if rate_limit is None and exception_watch_days is None:
        raise _fail("nothing to change: give --rate-limit and/or --exception-watch-days")

    async def work(parts: Shiptrack) -> None:
        async with parts.store.write() as tx:
            if await tx.accounts.get(account_id) is None:
                raise NotFound(f"account {account} does not exist", field_name="account")
            if rate_limit is not None:
                await tx.accounts.set_rate_limit(account_id, rate_limit)
            if exception_watch_days is not None:
                await tx.accounts.set_exception_watch(account_id, exception_watch_days or None)

    _run(work)
    typer.echo(f"updated {account}")


@account_app.command("list")
def account_list() -> None:
    """List every account."""

    async def work(parts: Shiptrack) -> list[str]:
        async with parts.store.read() as tx:
            found = await tx.accounts.all()
        return [
            f"{format_id(a.id)}\t{'sandbox' if a.sandbox else 'production'}\t{a.name}"
            for a in found
        ]

    for line in _run(work):
        typer.echo(line)


def _account_id(value: str) -> int:
    try:
        row_id = parse_id(value, field_name="--account")
    except ShiptrackError as error:
        raise _fail(error.message) from None
    if row_id is None:
        raise _fail(f"account {value} does not exist")
    return row_id


@key_app.command("create")
def key_create(
    account: Annotated[str, typer.Option(help="The account id (se-…).")],
) -> None:
    """Create another API key for an account; the key is the last line printed."""
    account_id = _account_id(account)
    key = _run(lambda parts: parts.accounts.create_key(account_id))
    typer.echo(f"api_key_id: {format_id(key.record.id)}")
    typer.echo(key.key)


@key_app.command("revoke")
def key_revoke(
    key: Annotated[str, typer.Argument(help="The key's id (se-…) or the key itself.")],
) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    key_id = _account_id(key) if re.fullmatch(r"se-[0-9]+", key) else None
    record = _run(
        lambda parts: parts.accounts.revoke_key(
            key_id=key_id, key=None if key_id is not None else key
        )
    )
    typer.echo(f"revoked {format_id(record.id)} ({record.prefix}…)")


@key_app.command("list")
def key_list(
    account: Annotated[str, typer.Option(help="The account id (se-…).")],
) -> None:
    """List an account's keys (their first characters only)."""
    account_id = _account_id(account)

    async def work(parts: Shiptrack) -> list[str]:
        async with parts.store.read() as tx:
            if await tx.accounts.get(account_id) is None:
                raise NotFound(f"account {account} does not exist", field_name="account")
            keys = await tx.accounts.keys(account_id)
        return [
            f"{format_id(k.id)}\t{k.prefix}…\t"
            f"{'revoked ' + k.revoked_at.isoformat() if k.revoked_at else 'live'}"
            for k in keys
        ]

    for line in _run(work):
        typer.echo(line)


@signing_app.command("rotate")
def signing_key_rotate(
    lead: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds the new key is published before it signs."),
    ] = None,
    grace: Annotated[
        float | None,
        typer.Option(min=0, help="Seconds the replaced key stays published after that."),
    ] = None,
) -> None:
    """Add a new signing key: published in /jwks at once, signing after --lead seconds, while the
    current key stays published for --grace seconds more. No delivery is ever unverifiable."""
    settings = _settings()
    kid = _run(
        lambda parts: parts.keyring.rotate(
            lead=settings.signing_key_lead if lead is None else lead,
            grace=settings.signing_key_grace if grace is None else grace,
        )
    )
    typer.echo(kid)


@signing_app.command("list")
def signing_key_list() -> None:
    """One line per published signing key, newest first: its kid, what it does now (signing now,
    signs from <time>, retired from signing, never signs) and until when /jwks publishes it."""

    async def work(parts: Shiptrack) -> tuple[datetime, list[KeyRole]]:
        now = utcnow()
        async with parts.store.read() as tx:
            return now, key_roles(await tx.signing_keys.published(now), now)

    now, roles = _run(work)
    if not roles:
        typer.echo(
            "no signing key yet: the first delivery or GET /jwks makes one, which signs at once",
            err=True,
        )
    for role in roles:
        typer.echo(f"{role.kid}\t{_what_it_does(role, now)}\t{_published(role)}")


def _what_it_does(role: KeyRole, now: datetime) -> str:
    at = format_utc
    if role.role == "signing":
        since = f"signing now (since {at(role.signs_from)}"
        if role.signs_until is None:
            return since + ")"
        return since + f"; a newer key signs from {at(role.signs_until)})"
    if role.role == "scheduled":
        return f"signs from {at(role.signs_from)} (in {_duration(role.signs_from - now)})"
    if role.role == "retired":
        return f"retired from signing (since {at(role.signs_until)})"
    return f"never signs (a newer key signs from {at(role.signs_until)}, before its start)"


def _published(role: KeyRole) -> str:
    if role.published_until is None:
        return "published in /jwks (until a rotation retires it)"
    return f"published in /jwks until {format_utc(role.published_until)}"


def _duration(span: timedelta) -> str:
    """``1h 00m``, ``5m 03s``: how far off a key's start is, to the second."""
    seconds = max(0, round(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


@app.command()
def demo() -> None:
    """Make sure the demo sandbox account exists and print its API key.

    The demo key is kept in ``<data_dir>/demo-api-key`` so `make run` can print it every time; no
    other key is ever written down.
    """
    settings = _settings()
    key_file = settings.data_dir / DEMO_KEY_FILE

    async def work(parts: Shiptrack) -> str:
        if key_file.exists():
            saved = key_file.read_text(encoding="utf-8").strip()
            if saved and await parts.accounts.authenticate(saved) is not None:
                return saved
        async with parts.store.read() as tx:
            existing = await tx.accounts.find_by_name(DEMO_ACCOUNT)
        sandboxes = [a for a in existing if a.sandbox]
        if sandboxes:
            key = (await parts.accounts.create_key(sandboxes[0].id)).key
        else:
            key = (await parts.accounts.create(name=DEMO_ACCOUNT, sandbox=True))[1].key
        _write_private(key_file, key)
        return key

    key = _run(work)
    typer.echo(f"demo sandbox account API key (also in {key_file}):", err=True)
    typer.echo(key)


@secret_app.command("generate")
def secret_key_generate() -> None:
    """Print a new random secret key for SHIPTRACK_SECRET_KEY (nothing is stored)."""
    typer.echo(generate_secret_key())


@secret_app.command("fingerprint")
def secret_key_fingerprint() -> None:
    """Print the fingerprint and key id of the secret key this process would use
    (SHIPTRACK_SECRET_KEY, else <data_dir>/secret.key), to compare with those a refused start
    names. The database is not opened and no key is generated."""
    source = secret_key_source(_settings())
    secret = source.existing()
    if secret is None:
        raise ConfigurationError(f"no secret key: {source.missing()}")
    typer.echo(f"fingerprint {fingerprint(secret)}, key id {Sealer(secret).key_id} ({source.name})")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


if __name__ == "__main__":  # pragma: no cover
    main()
