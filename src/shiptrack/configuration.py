"""Configuration mistakes, each told in one line an operator can act on.

A process reads its settings from ``SHIPTRACK_*`` variables (``shiptrack.settings``) and then opens
its database. Whatever goes wrong there is a mistake in the configuration, not a bug, so it ends
the process with one line naming what to fix, never a traceback: a value of the wrong type names
the variable and the type expected; a database that cannot be used names its host, port and
database (never the password) and why. A ``SHIPTRACK_*`` variable that no setting reads (a typo,
most likely) is warned about with the nearest known name. The CLI turns these into its output
(``shiptrack.cli``); the rules live here so they are tested in milliseconds.
"""

from __future__ import annotations

import difflib
import socket
import sqlite3
import types
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url

from shiptrack.domain.errors import ConfigurationError
from shiptrack.settings import ENV_PREFIX, Settings

#: Variables with the prefix that shiptrack's own tooling reads, not a process's settings.
NOT_SETTINGS = frozenset({"SHIPTRACK_TEST_DATABASE_URL"})
#: The longest part of a wrong value repeated in a message.
_SHOWN_VALUE = 40
#: Pydantic's error types for a value of the right type outside the range allowed.
_BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def variable(field_name: str) -> str:
    """The environment variable of a setting."""
    return ENV_PREFIX + field_name.upper()


def known_variables() -> frozenset[str]:
    """Every variable a setting reads."""
    return frozenset(variable(name) for name in Settings.model_fields)


# --- unknown variables ----------------------------------------------------------------------------


def nearest_name(name: str, known: Collection[str]) -> str | None:
    """The known variable ``name`` was most likely meant to be, if one is close enough.

    The names are compared without their common ``SHIPTRACK_`` prefix, which would make every
    pair look alike."""
    suffixes = {known_name.removeprefix(ENV_PREFIX): known_name for known_name in known}
    matches = difflib.get_close_matches(
        name.upper().removeprefix(ENV_PREFIX), list(suffixes), n=1, cutoff=0.6
    )
    return suffixes[matches[0]] if matches else None


def unknown_variable_warnings(names: Iterable[str]) -> list[str]:
    """One warning per ``SHIPTRACK_*`` name that no setting reads, with the nearest known name."""
    known = known_variables()
    warnings = []
    for name in sorted(set(names)):
        upper = name.upper()  # settings are read whatever the case of the name
        if not upper.startswith(ENV_PREFIX) or upper in known or upper in NOT_SETTINGS:
            continue
        nearest = nearest_name(upper, known)
        hint = f" (did you mean {nearest}?)" if nearest else ""
        warnings.append(f"warning: {name} is not a shiptrack setting{hint}; it is ignored")
    return warnings


def configured_names(environ: Mapping[str, str], env_file: Path) -> list[str]:
    """The variable names a process is given: its environment's, and its ``.env`` file's."""
    names = list(environ)
    if env_file.is_file():
        from dotenv import dotenv_values

        names.extend(dotenv_values(env_file))
    return names


# --- values of the wrong type ---------------------------------------------------------------------


def read_settings() -> Settings:
    """The settings, or :class:`ConfigurationError` naming each wrong variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(validation_message(error)) from None


def validation_message(error: ValidationError) -> str:
    """One line for every wrong value pydantic found in the settings."""
    return "; ".join(_wrong_value(entry) for entry in error.errors())


def _wrong_value(entry: Any) -> str:
    field_name = str(entry["loc"][0]) if entry["loc"] else ""
    field = Settings.model_fields.get(field_name)
    name = variable(field_name) if field_name else "a SHIPTRACK_ setting"
    message: str = entry["msg"]
    kind: str = entry["type"]
    if kind == "value_error":  # a validator's own words, which may name the variable already
        reason = message.removeprefix("Value error, ")
        return reason if name in reason else f"{name}: {reason}"
    expected = _expected(field) if field is not None else "a valid value"
    if kind in _BOUND_ERRORS:
        expected += " " + message.removeprefix("Input should be ")
    shown = _shown(entry.get("input"), field)
    return f"{name} must be {expected}" + (f", not {shown}" if shown else "")


def _expected(field: FieldInfo) -> str:
    """What a setting takes, in words."""
    annotation = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(arg) for arg in get_args(annotation))
    if get_origin(annotation) is tuple:
        return "comma-separated numbers"
    words: dict[object, str] = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        Path: "a path",
        str: "text",
        SecretStr: "text",
    }
    return words.get(annotation, "a valid value")


def _shown(value: object, field: FieldInfo | None) -> str | None:
    """The wrong value, quoted and cut short; never a secret's."""
    if not isinstance(value, str) or field is None or _is_secret(field):
        return None
    if len(value) > _SHOWN_VALUE:
        value = value[: _SHOWN_VALUE - 1] + "…"
    return repr(value)


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in (field.annotation, *get_args(field.annotation))


# --- a database or a file that cannot be used ----------------------------------------------------


def environment_problem(error: BaseException, database_url: str) -> str | None:
    """What is wrong with the process's surroundings, if ``error`` says so: a database server not
    reachable, a database that does not exist, a role that cannot log in, a file that is no SQLite
    database, a file or directory that cannot be made or read. ``None`` for any other error (a
    bug: its traceback is worth seeing). Never includes the database password."""
    parsed = make_url(database_url)
    sqlite = parsed.get_backend_name() == "sqlite"
    host = parsed.host or parsed.query.get("host") or "localhost"
    server = f"PostgreSQL at {host}:{parsed.port or 5432}"
    database = parsed.database or parsed.username or "postgres"
    for cause in _causes(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == "3D000":
            return (
                f"database {database} does not exist on {server}; create it (createdb) or correct "
                "SHIPTRACK_DATABASE_URL"
            )
        if sqlstate in ("28000", "28P01"):
            return (
                f"{server} refused to let role {parsed.username or '(none)'} log in to database "
                f"{database}: {cause}; correct the user or password in SHIPTRACK_DATABASE_URL"
            )
        if isinstance(sqlstate, str) and sqlstate.startswith(("08", "53300", "57P0")):
            return f"cannot use {server}, database {database}: {cause}"
        if type(cause) is sqlite3.DatabaseError or isinstance(cause, sqlite3.OperationalError):
            return f"cannot use the SQLite database {parsed.database}: {cause}"
        if isinstance(cause, OSError) and cause.filename is not None:
            problem = f"{cause.filename}: {cause.strerror or cause}"
            if sqlite and _on_the_way_to(str(cause.filename), parsed.database or ""):
                return f"cannot use the SQLite database {parsed.database}: {problem}"
            return problem
        if isinstance(cause, OSError) and not sqlite:
            return (
                f"cannot reach {server} (database {database}): {_network_reason(cause)}; is "
                "PostgreSQL running there, and does SHIPTRACK_DATABASE_URL name it?"
            )
    return None


def _on_the_way_to(path: str, database: str) -> bool:
    """Whether ``path`` is the SQLite file or one of the directories it is in."""
    target = Path(database)
    return Path(path) in (target, *target.parents)


def _network_reason(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "host name not found"
    if isinstance(error, TimeoutError):
        return "timed out"
    return error.strerror or str(error)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it was raised from or during, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
