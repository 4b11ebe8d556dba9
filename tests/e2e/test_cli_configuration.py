"""Configuration mistakes as an operator meets them: the real ``shiptrack`` console script, started
with a wrong environment, ends with one line on stderr and exit status 1, never a traceback, and
writes nothing. Covers every command that opens the database, the database's own mistakes (not
reachable, not created, a role that cannot log in), URLs shiptrack cannot use, settings of the
wrong type, unknown variables (a warning, the command still runs), and the secret key: recorded
on first use, a different one refused, two first starts at once agreeing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from shiptrack.sealing import Sealer, fingerprint
from shiptrack.store import migrate
from shiptrack.store.database import create_database
from shiptrack.store.migrate import head_revision
from shiptrack.store.tables import secret_key
from tests.conftest import PG_ENV, DatabaseServer, cli_env, free_port

#: The console script that `pip install` makes, next to this interpreter.
SHIPTRACK = Path(sys.executable).with_name("shiptrack")

#: Every command that opens the database (the ones that use the secret key, and `db`).
DATABASE_COMMANDS = [
    ("serve", "--host", "127.0.0.1", "--port", "{port}"),
    ("worker",),
    ("db", "upgrade"),
    ("db", "current"),
    ("demo",),
    ("account", "create", "--name", "acme"),
    ("account", "list"),
    ("key", "list", "--account", "se-1"),
    ("signing-key", "rotate"),
]
#: Commands that use the secret key, as a process with the wrong one would start them.
KEYED_COMMANDS = [
    ("serve", "--host", "127.0.0.1", "--port", "{port}"),
    ("worker",),
    ("demo",),
    ("account", "create", "--name", "intruder"),
    ("signing-key", "rotate"),
]
WHERE_THE_KEY_IS = (
    "the database's other processes have it in SHIPTRACK_SECRET_KEY or <data dir>/secret.key; "
    "`shiptrack secret-key fingerprint` prints the fingerprint and key id of the key a process "
    "would use"
)


def _args(command: Sequence[str]) -> list[str]:
    return [part.replace("{port}", str(free_port())) for part in command]


def _shiptrack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert SHIPTRACK.exists(), f"{SHIPTRACK} is missing: install shiptrack (make install-dev)"
    return subprocess.run(
        [str(SHIPTRACK), *args], env=env, capture_output=True, text=True, timeout=60
    )


def _all_at_once(
    runs: Sequence[tuple[dict[str, str], Sequence[str]]],
) -> list[subprocess.CompletedProcess[str]]:
    """Start every ``(environment, command)`` at once; their results, in order."""
    assert SHIPTRACK.exists(), f"{SHIPTRACK} is missing: install shiptrack (make install-dev)"
    processes = [
        (
            args := _args(command),
            subprocess.Popen(
                [str(SHIPTRACK), *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for env, command in runs
    ]
    results = []
    for args, process in processes:
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return results


def _refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command printed (exit 1, nothing on stdout, no traceback)."""
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _postgresql_only(test_database: DatabaseServer) -> None:
    if test_database.dialect != "postgresql":
        pytest.skip(f"a PostgreSQL server's answer: runs when {PG_ENV} is set")


def _once(test_database: DatabaseServer) -> None:
    """Skip on the PostgreSQL run of the suite what needs no database server at all (the same
    process behaviour either way): CI runs the suite once per database, and time counts."""
    if test_database.dialect != "sqlite":
        pytest.skip("needs no database server: runs on the SQLite suite")


def _upgraded(test_database: DatabaseServer, tmp_path: Path) -> str:
    url = test_database.fresh(tmp_path)
    result = _shiptrack(cli_env(url, tmp_path / "upgrade"), "db", "upgrade")
    assert result.returncode == 0, result
    return url


# --- the database -----------------------------------------------------------------------------


def test_an_unreachable_database_is_named_by_every_command_without_its_password(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    _once(test_database)
    port = free_port()  # nobody listens there
    env = cli_env(f"postgresql://tracker:hunter2@127.0.0.1:{port}/tracking", tmp_path / "data")

    results = _all_at_once([(env, command) for command in DATABASE_COMMANDS])

    for result in results:
        assert _refusal(result) == (
            f"shiptrack: cannot reach PostgreSQL at 127.0.0.1:{port} (database tracking): "
            "connection refused; is PostgreSQL running there, and does SHIPTRACK_DATABASE_URL "
            "name it?"
        ), result.args
        assert "hunter2" not in result.stderr
    assert not (tmp_path / "data").exists()  # not even a secret key was generated


def test_a_database_that_does_not_exist_is_named(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    _postgresql_only(test_database)
    server = make_url(test_database.url)
    url = server.set(database="shiptrack_never_created").render_as_string(hide_password=False)
    env = cli_env(url, tmp_path / "data")

    results = _all_at_once([(env, ("db", "upgrade")), (env, ("account", "list"))])

    for result in results:
        assert _refusal(result) == (
            f"shiptrack: database shiptrack_never_created does not exist on PostgreSQL at "
            f"{server.host}:{server.port or 5432}; create it (createdb) or correct "
            "SHIPTRACK_DATABASE_URL"
        )


def test_a_role_that_cannot_log_in_is_named(test_database: DatabaseServer, tmp_path: Path) -> None:
    _postgresql_only(test_database)
    server = make_url(test_database.url)
    url = server.set(username="shiptrack_no_such_role", password="hunter2")
    env = cli_env(url.render_as_string(hide_password=False), tmp_path / "data")

    results = _all_at_once([(env, ("db", "current")), (env, ("worker",))])

    for result in results:
        line = _refusal(result)
        assert line == (
            f"shiptrack: PostgreSQL at {server.host}:{server.port or 5432} refused to let role "
            f"shiptrack_no_such_role log in to database {server.database}: "
            f'role "shiptrack_no_such_role" does not exist; correct the user or password in '
            "SHIPTRACK_DATABASE_URL"
        )
        assert "hunter2" not in line


def test_a_sqlite_file_that_is_no_database_is_named(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    if test_database.dialect != "sqlite":
        pytest.skip("a SQLite file's trouble: runs on the SQLite suite")
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("not a database, but long enough to look at " * 100)
    env = cli_env(f"sqlite:///{not_a_database}", tmp_path / "data")

    result = _shiptrack(env, "account", "list")

    assert _refusal(result) == (
        f"shiptrack: cannot use the SQLite database {not_a_database}: file is not a database"
    )


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "mysql://root:hunter2@127.0.0.1/shiptrack",
            "shiptrack: SHIPTRACK_DATABASE_URL is a mysql:// URL, which shiptrack does not "
            "support; write it as postgresql://user@host:5432/database or "
            "sqlite:///path/to/file.db",
        ),
        (
            "postgresql://root:hunter2@127.0.0.1:port/shiptrack",
            "shiptrack: SHIPTRACK_DATABASE_URL is not a database URL; write it as "
            "postgresql://user@host:5432/database or sqlite:///path/to/file.db",
        ),
    ],
)
def test_a_database_url_shiptrack_cannot_use_is_refused_without_repeating_it(
    test_database: DatabaseServer, tmp_path: Path, url: str, line: str
) -> None:
    _once(test_database)
    result = _shiptrack(cli_env(url, tmp_path / "data"), "db", "upgrade")

    assert _refusal(result) == line


# --- settings ---------------------------------------------------------------------------------


def test_a_setting_of_the_wrong_type_is_named_with_the_type_it_takes(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    _once(test_database)
    env = cli_env(
        f"sqlite:///{tmp_path / 'st.db'}", tmp_path / "data", SHIPTRACK_DB_POOL_SIZE="ten"
    )
    commands = [
        ("serve", "--host", "127.0.0.1", "--port", "{port}"),
        ("db", "upgrade"),
        ("account", "list"),
        ("secret-key", "fingerprint"),
    ]

    results = _all_at_once([(env, command) for command in commands])

    for result in results:
        assert _refusal(result) == "shiptrack: SHIPTRACK_DB_POOL_SIZE must be an integer, not 'ten'"
    assert not (tmp_path / "st.db").exists()


def test_an_unknown_variable_is_warned_about_and_the_command_still_runs(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data", SHIPTRACK_DB_POOLSIZE="3")

    result = _shiptrack(env, "db", "upgrade")

    assert result.returncode == 0, result
    assert result.stdout == f"database at migration {head_revision()}\n"
    assert result.stderr == (
        "shiptrack: warning: SHIPTRACK_DB_POOLSIZE is not a shiptrack setting "
        "(did you mean SHIPTRACK_DB_POOL_SIZE?); it is ignored\n"
    )


# --- the secret key ---------------------------------------------------------------------------


def _mismatch(first: str, other: str, name: str = "SHIPTRACK_SECRET_KEY") -> str:
    return (
        f"shiptrack: wrong secret key: this database was first used with the key of fingerprint "
        f"{first}, and {name} has fingerprint {other}; set SHIPTRACK_SECRET_KEY to the key the "
        f"database was first used with ({WHERE_THE_KEY_IS})"
    )


def test_another_secret_key_is_refused_by_every_command_and_nothing_is_written(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = _upgraded(test_database, tmp_path)
    first = cli_env(url, tmp_path / "first", SHIPTRACK_SECRET_KEY="the-first-key")
    assert _shiptrack(first, "account", "create", "--name", "first").returncode == 0
    other = cli_env(url, tmp_path / "other", SHIPTRACK_SECRET_KEY="another-key")

    results = _all_at_once([(other, command) for command in KEYED_COMMANDS])

    for result in results:
        assert _refusal(result) == _mismatch(
            fingerprint("the-first-key"), fingerprint("another-key")
        ), result.args
    listed = _shiptrack(first, "account", "list")
    assert [line.split("\t")[2] for line in listed.stdout.splitlines()] == ["first"]
    assert not (tmp_path / "other").exists()  # no demo key written, no secret key generated


def test_a_generated_key_is_recorded_and_a_process_without_it_is_told_where_to_look(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = _upgraded(test_database, tmp_path)
    first = cli_env(url, tmp_path / "first")
    del first["SHIPTRACK_SECRET_KEY"]
    elsewhere = {**first, "SHIPTRACK_DATA_DIR": str(tmp_path / "elsewhere")}

    created = _shiptrack(first, "account", "create", "--name", "first")
    refused = _shiptrack(elsewhere, "worker")
    printed = _shiptrack(first, "secret-key", "fingerprint")

    assert created.returncode == 0, created
    key = (tmp_path / "first" / "secret.key").read_text(encoding="utf-8").strip()
    assert _refusal(refused) == (
        f"shiptrack: no secret key: this database was first used with the key of fingerprint "
        f"{fingerprint(key)}, but SHIPTRACK_SECRET_KEY is unset and "
        f"{tmp_path / 'elsewhere' / 'secret.key'} does not exist; set SHIPTRACK_SECRET_KEY to "
        f"that key ({WHERE_THE_KEY_IS})"
    )
    assert not (tmp_path / "elsewhere").exists()
    assert printed.stdout == (
        f"fingerprint {fingerprint(key)}, key id {Sealer(key).key_id} "
        f"(the key in {tmp_path / 'first' / 'secret.key'})\n"
    )
    # Given the key, the other process starts.
    listed = _shiptrack({**elsewhere, "SHIPTRACK_SECRET_KEY": key}, "account", "list")
    assert listed.returncode == 0, listed


def test_two_first_starts_at_once_agree_on_the_first_key(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = _upgraded(test_database, tmp_path)
    keys = ["key-a", "key-a", "key-b", "key-b"]
    runs = [
        (cli_env(url, tmp_path / f"p{i}", SHIPTRACK_SECRET_KEY=key), ("account", "list"))
        for i, key in enumerate(keys)
    ]

    results = _all_at_once(runs)

    started = {key for key, result in zip(keys, results, strict=True) if result.returncode == 0}
    assert len(started) == 1, results
    [winner] = started
    for key, result in zip(keys, results, strict=True):
        if key != winner:
            assert _refusal(result) == _mismatch(fingerprint(winner), fingerprint(key))


def test_generate_prints_a_new_key_that_fingerprint_names(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    _once(test_database)
    env = cli_env(f"sqlite:///{tmp_path / 'st.db'}", tmp_path / "data")

    first, second = (
        _shiptrack(env, "secret-key", "generate"),
        _shiptrack(env, "secret-key", "generate"),
    )
    key = first.stdout.strip()
    named = _shiptrack({**env, "SHIPTRACK_SECRET_KEY": key}, "secret-key", "fingerprint")

    assert first.returncode == 0, first
    assert len(key) == 43 and not key.startswith("-"), key
    assert first.stdout == key + "\n"
    assert second.stdout.strip() != key
    assert named.stdout == (
        f"fingerprint {fingerprint(key)}, key id {Sealer(key).key_id} (SHIPTRACK_SECRET_KEY)\n"
    )
    assert not (tmp_path / "st.db").exists()  # neither opens the database


def _back_to_before_fingerprints(url: str) -> None:
    """The database as migration 0006 left it: sealed values, no fingerprint recorded."""

    async def go() -> None:
        database = create_database(url)
        try:
            await migrate.downgrade(database, "0006")
            await migrate.upgrade(database)
            async with database.read() as conn:
                assert (await conn.execute(sa.select(secret_key))).all() == []
        finally:
            await database.dispose()

    asyncio.run(go())


def test_a_database_from_before_fingerprints_takes_the_key_that_sealed_its_values(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    url = _upgraded(test_database, tmp_path)
    sealing = cli_env(url, tmp_path / "data", SHIPTRACK_SECRET_KEY="the-sealing-key")
    assert _shiptrack(sealing, "signing-key", "rotate").returncode == 0  # seals a private key
    _back_to_before_fingerprints(url)
    other = {**sealing, "SHIPTRACK_SECRET_KEY": "another-key"}

    refused = _shiptrack(other, "account", "list")
    started = _shiptrack(sealing, "account", "list")
    refused_now = _shiptrack(other, "account", "list")

    assert _refusal(refused) == (
        f"shiptrack: wrong secret key: the credentials stored in this database were sealed with "
        f"key id {Sealer('the-sealing-key').key_id}, and SHIPTRACK_SECRET_KEY is key id "
        f"{Sealer('another-key').key_id}; set SHIPTRACK_SECRET_KEY to the key they were sealed "
        f"with ({WHERE_THE_KEY_IS})"
    )
    assert started.returncode == 0, started
    assert _refusal(refused_now) == _mismatch(
        fingerprint("the-sealing-key"), fingerprint("another-key")
    )
