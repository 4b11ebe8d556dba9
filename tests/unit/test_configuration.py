"""Configuration mistakes in one line each: the nearest name of an unknown variable, the wrong
value of a setting named with the type expected, and a database or file that cannot be used named
without its password."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from pydantic import ValidationError

from shiptrack.configuration import (
    configured_names,
    environment_problem,
    known_variables,
    nearest_name,
    read_settings,
    unknown_variable_warnings,
    validation_message,
)
from shiptrack.domain.errors import ConfigurationError, ServiceUnavailable
from shiptrack.settings import Settings

PG_URL = "postgresql+asyncpg://tracker:hunter2@db.internal:6432/tracking"
SQLITE_URL = "sqlite+aiosqlite:////srv/shiptrack/shiptrack.db"

# --- unknown variables ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("SHIPTRACK_DB_POOLSIZE", "SHIPTRACK_DB_POOL_SIZE"),
        ("SHIPTRACK_SECRTE_KEY", "SHIPTRACK_SECRET_KEY"),
        ("SHIPTRACK_SECRET", "SHIPTRACK_SECRET_KEY"),
        ("SHIPTRACK_DATABASE_URI", "SHIPTRACK_DATABASE_URL"),
        ("shiptrack_log_levle", "SHIPTRACK_LOG_LEVEL"),
        ("SHIPTRACK_WEBHOOK_RETRY_SCHEDUEL", "SHIPTRACK_WEBHOOK_RETRY_SCHEDULE"),
    ],
)
def test_a_misspelt_variable_gets_the_name_it_was_meant_to_be(typed: str, meant: str) -> None:
    assert nearest_name(typed, known_variables()) == meant


@pytest.mark.parametrize("typed", ["SHIPTRACK_FOO", "SHIPTRACK_X", "SHIPTRACK_KUBERNETES_PORT"])
def test_a_name_like_no_setting_gets_no_suggestion(typed: str) -> None:
    # The shared prefix alone does not make two names alike.
    assert nearest_name(typed, known_variables()) is None


def test_only_unknown_shiptrack_variables_are_warned_about() -> None:
    names = [
        "PATH",
        "SHIPTRACK_DATABASE_URL",
        "shiptrack_data_dir",  # settings are read whatever the case
        "SHIPTRACK_TEST_DATABASE_URL",  # the test suite's, not a setting
        "SHIPTRACK_DB_POOLSIZE",
        "SHIPTRACK_FOO",
        "SHIPTRACK_FOO",
    ]

    assert unknown_variable_warnings(names) == [
        "warning: SHIPTRACK_DB_POOLSIZE is not a shiptrack setting "
        "(did you mean SHIPTRACK_DB_POOL_SIZE?); it is ignored",
        "warning: SHIPTRACK_FOO is not a shiptrack setting; it is ignored",
    ]


def test_every_setting_is_a_known_variable() -> None:
    assert {"SHIPTRACK_DATABASE_URL", "SHIPTRACK_SECRET_KEY"} <= known_variables()
    assert len(known_variables()) == len(Settings.model_fields)


def test_the_names_of_the_env_file_count_too(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SHIPTRACK_DATA_DIR=/srv\nSHIPTRACK_POLL_INTERVALL=2\n", encoding="utf-8")

    names = configured_names({"HOME": "/root"}, env_file)

    assert names == ["HOME", "SHIPTRACK_DATA_DIR", "SHIPTRACK_POLL_INTERVALL"]
    assert configured_names({"HOME": "/root"}, tmp_path / "missing.env") == ["HOME"]


# --- values of the wrong type ---------------------------------------------------------------------


def _message(monkeypatch: pytest.MonkeyPatch, **environ: str) -> str:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    return validation_message(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("SHIPTRACK_DB_POOL_SIZE", "many", "SHIPTRACK_DB_POOL_SIZE must be an integer, not 'many'"),
        (
            "SHIPTRACK_DB_POOL_SIZE",
            "0",
            "SHIPTRACK_DB_POOL_SIZE must be an integer greater than or equal to 1, not '0'",
        ),
        ("SHIPTRACK_POLL_INTERVAL", "1s", "SHIPTRACK_POLL_INTERVAL must be a number, not '1s'"),
        (
            "SHIPTRACK_SCHEDULE_JITTER",
            "2",
            "SHIPTRACK_SCHEDULE_JITTER must be a number less than 1, not '2'",
        ),
        (
            "SHIPTRACK_ACCESS_LOG",
            "maybe",
            "SHIPTRACK_ACCESS_LOG must be true or false, not 'maybe'",
        ),
        (
            "SHIPTRACK_SQLITE_SYNCHRONOUS",
            "fast",
            "SHIPTRACK_SQLITE_SYNCHRONOUS must be one of full, normal, not 'fast'",
        ),
        (
            "SHIPTRACK_WEBHOOK_RETRY_SCHEDULE",
            "5,later",
            "SHIPTRACK_WEBHOOK_RETRY_SCHEDULE must be comma-separated numbers of seconds, "
            "not '5,later'",
        ),
        (
            "SHIPTRACK_DATABASE_URL",
            "mysql://root:hunter2@127.0.0.1/shiptrack",
            "SHIPTRACK_DATABASE_URL is a mysql:// URL, which shiptrack does not support; write it "
            "as postgresql://user@host:5432/database or sqlite:///path/to/file.db",
        ),
        (
            "SHIPTRACK_DATABASE_URL",
            "postgresql://root:hunter2@127.0.0.1:port/shiptrack",
            "SHIPTRACK_DATABASE_URL is not a database URL; write it as "
            "postgresql://user@host:5432/database or sqlite:///path/to/file.db",
        ),
        (
            "SHIPTRACK_DATABASE_URL",
            "hunter2",
            "SHIPTRACK_DATABASE_URL is not a database URL; write it as "
            "postgresql://user@host:5432/database or sqlite:///path/to/file.db",
        ),
        (
            "SHIPTRACK_DATABASE_URL",
            "postgresql://root:hunter2@127.0.0.1:70000/shiptrack",
            "SHIPTRACK_DATABASE_URL has port 70000, not one of 1 to 65535",
        ),
        (
            "SHIPTRACK_DATABASE_URL",
            "sqlite://",
            "SHIPTRACK_DATABASE_URL names no SQLite file (an in-memory database would be empty for "
            "every process); write it as sqlite:///path/to/file.db",
        ),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable_and_what_it_takes(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    message = _message(monkeypatch, **{variable: value})

    assert message == line
    assert "hunter2" not in message


def test_every_wrong_value_is_in_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _message(monkeypatch, SHIPTRACK_DB_POOL_SIZE="x", SHIPTRACK_POLL_LEASE="-1")

    assert message == (
        "SHIPTRACK_DB_POOL_SIZE must be an integer, not 'x'; "
        "SHIPTRACK_POLL_LEASE must be a number greater than 0, not '-1'"
    )


def test_a_validator_that_names_its_variable_is_not_named_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _message(monkeypatch, SHIPTRACK_OUTBOUND_ALLOW="10.0.0.0/99")

    assert message.startswith("SHIPTRACK_OUTBOUND_ALLOW entry '10.0.0.0/99' is not a network")


def test_a_long_wrong_value_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _message(monkeypatch, SHIPTRACK_POLL_BATCH_SIZE="9" * 30 + "x" * 100)

    assert message == f"SHIPTRACK_POLL_BATCH_SIZE must be an integer, not '{'9' * 30 + 'x' * 9}…'"


def test_reading_wrong_settings_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    monkeypatch.setenv("SHIPTRACK_MAX_BODY_BYTES", "64k")

    with pytest.raises(ConfigurationError) as caught:
        read_settings()

    assert caught.value.message == "SHIPTRACK_MAX_BODY_BYTES must be an integer, not '64k'"


# --- a database or a file that cannot be used -----------------------------------------------------


class _ServerError(Exception):
    """What asyncpg raises for an error the server answers with."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _raised(error: BaseException, *, wrapped_in: BaseException | None = None) -> BaseException:
    """``error`` as the store raises it: wrapped (``raise … from``) in ``wrapped_in``."""
    if wrapped_in is None:
        return error
    wrapped_in.__cause__ = error
    return wrapped_in


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            _raised(
                ConnectionRefusedError(111, "Connect call failed"),
                wrapped_in=ServiceUnavailable("The database is unavailable right now"),
            ),
            "cannot reach PostgreSQL at db.internal:6432 (database tracking): connection refused; "
            "is PostgreSQL running there, and does SHIPTRACK_DATABASE_URL name it?",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            "cannot reach PostgreSQL at db.internal:6432 (database tracking): host name not "
            "found; is PostgreSQL running there, and does SHIPTRACK_DATABASE_URL name it?",
        ),
        (
            TimeoutError(),
            "cannot reach PostgreSQL at db.internal:6432 (database tracking): timed out; is "
            "PostgreSQL running there, and does SHIPTRACK_DATABASE_URL name it?",
        ),
        (
            _raised(
                _ServerError('database "tracking" does not exist', "3D000"),
                wrapped_in=ServiceUnavailable("The database is unavailable right now"),
            ),
            "database tracking does not exist on PostgreSQL at db.internal:6432; create it "
            "(createdb) or correct SHIPTRACK_DATABASE_URL",
        ),
        (
            _ServerError('role "tracker" does not exist', "28000"),
            "PostgreSQL at db.internal:6432 refused to let role tracker log in to database "
            'tracking: role "tracker" does not exist; correct the user or password in '
            "SHIPTRACK_DATABASE_URL",
        ),
        (
            _ServerError('password authentication failed for user "tracker"', "28P01"),
            "PostgreSQL at db.internal:6432 refused to let role tracker log in to database "
            'tracking: password authentication failed for user "tracker"; correct the user or '
            "password in SHIPTRACK_DATABASE_URL",
        ),
        (
            _ServerError("the database system is starting up", "57P03"),
            "cannot use PostgreSQL at db.internal:6432, database tracking: the database system "
            "is starting up",
        ),
        (
            PermissionError(13, "Permission denied", "/srv/shiptrack/secret.key"),
            "/srv/shiptrack/secret.key: Permission denied",
        ),
    ],
)
def test_a_postgresql_database_that_cannot_be_used_is_named_without_its_password(
    error: BaseException, line: str
) -> None:
    assert environment_problem(error, PG_URL) == line


def test_postgresql_defaults_are_named_when_the_url_leaves_them_out() -> None:
    line = environment_problem(ConnectionRefusedError(), "postgresql+asyncpg://tracker@/")

    assert line is not None
    assert line.startswith("cannot reach PostgreSQL at localhost:5432 (database tracker)")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            sqlite3.DatabaseError("file is not a database"),
            "cannot use the SQLite database /srv/shiptrack/shiptrack.db: file is not a database",
        ),
        (
            sqlite3.OperationalError("unable to open database file"),
            "cannot use the SQLite database /srv/shiptrack/shiptrack.db: unable to open "
            "database file",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "/srv/shiptrack"),
            "cannot use the SQLite database /srv/shiptrack/shiptrack.db: /srv/shiptrack: No such "
            "file or directory",
        ),
        (
            PermissionError(13, "Permission denied", "/srv/demo-api-key"),
            "/srv/demo-api-key: Permission denied",
        ),
    ],
)
def test_a_sqlite_database_that_cannot_be_used_is_named(error: BaseException, line: str) -> None:
    assert environment_problem(error, SQLITE_URL) == line


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        _ServerError("duplicate key value violates unique constraint", "23505"),
        ServiceUnavailable("The database is unavailable right now"),
    ],
)
def test_other_errors_are_not_taken_for_configuration(error: BaseException) -> None:
    assert environment_problem(error, PG_URL) is None
    assert environment_problem(error, SQLITE_URL) is None
