"""The ``shiptrack`` command as an operator runs it.

Covers creating accounts and keys (the key is the last line printed, random enough, and works
against the server), revoking keys by their text or id, listing keys without revealing them,
error messages (one line on stderr, no traceback, non-zero exit), ``db upgrade``/``db current``,
``demo``, ``serve`` on an unmigrated database, and that API keys are stored only as hashes.
"""

from __future__ import annotations

import asyncio
import re
import stat
import subprocess
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from shiptrack.store.database import create_database
from shiptrack.store.migrate import head_revision
from shiptrack.store.tables import metadata
from tests.conftest import DatabaseServer, Server, assert_error, cli_env, free_port, run_cli

SUPPORTED_CARRIERS = {
    "ups",
    "fedex",
    "usps",
    "stamps_com",
    "dhl_express",
    "canada_post",
    "royal_mail",
    "australia_post",
    "gls",
    "postnl",
    "la_poste",
    "dhl_parcel",
    "dhl_ecommerce",
}
KEY_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    assert lines, result
    return lines[-1]


def _field(result: subprocess.CompletedProcess[str], name: str) -> str:
    """The value of a ``name: value`` line of the output."""
    for line in result.stdout.splitlines():
        if line.startswith(f"{name}: "):
            return line.removeprefix(f"{name}: ")
    raise AssertionError(f"no {name!r} line in:\n{result.stdout}")


def _get(server: Server, key: str, path: str = "/v1/carriers") -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers={"API-Key": key}, timeout=30)


def _create_account(server: Server, *args: str) -> tuple[str, str]:
    """``shiptrack account create``: the account id and the key."""
    result = server.cli("account", "create", *args)
    return _field(result, "account_id"), _last_line(result)


def _assert_random_enough(secret: str) -> None:
    """At least 128 bits: URL-safe base64 carries 6 bits per character."""
    assert KEY_ALPHABET.fullmatch(secret), secret
    assert len(secret) * 6 >= 128, secret


def _assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# Accounts and keys


def test_sandbox_account_key_is_the_last_line_and_works(server: Server) -> None:
    result = server.cli("account", "create", "--name", "cli sandbox", "--sandbox")
    key = _last_line(result)

    assert key.startswith("TEST_")
    _assert_random_enough(key.removeprefix("TEST_"))
    assert re.fullmatch(r"se-[0-9]+", _field(result, "account_id"))
    response = _get(server, key)
    assert response.status_code == 200, response.text
    assert {c["carrier_code"] for c in response.json()["carriers"]} == SUPPORTED_CARRIERS


def test_every_new_key_is_different(server: Server) -> None:
    keys = {_create_account(server, "--name", "twin", "--sandbox")[1] for _ in range(2)}

    assert len(keys) == 2


def test_production_account_key_has_no_test_prefix_and_no_carriers(server: Server) -> None:
    _, key = _create_account(server, "--name", "cli production")

    assert not key.startswith("TEST_")
    _assert_random_enough(key)
    response = _get(server, key)
    assert response.status_code == 200, response.text
    assert response.json()["carriers"] == []


def test_key_create_prints_another_working_key_for_the_same_account(server: Server) -> None:
    account_id, first = _create_account(server, "--name", "two keys", "--sandbox")

    second = _last_line(server.cli("key", "create", "--account", account_id))

    assert second != first
    assert second.startswith("TEST_")
    webhook = httpx.post(
        f"{server.url}/v1/environment/webhooks",
        headers={"API-Key": first},
        json={"event": "track", "url": "https://example.invalid/hooks/two-keys"},
    ).json()
    listed = _get(server, second, "/v1/environment/webhooks")
    assert listed.status_code == 200, listed.text
    # The same webhook, less the signing secret that only the creation answer shows.
    assert webhook.pop("secret")
    assert listed.json() == [webhook]


def test_key_create_for_a_production_account_has_no_test_prefix(server: Server) -> None:
    account_id, _ = _create_account(server, "--name", "production keys")

    key = _last_line(server.cli("key", "create", "--account", account_id))

    assert not key.startswith("TEST_")
    assert _get(server, key).status_code == 200


def test_key_revoke_by_key_text_makes_it_401(server: Server) -> None:
    account_id, kept = _create_account(server, "--name", "revoke by text", "--sandbox")
    revoked = _last_line(server.cli("key", "create", "--account", account_id))
    assert _get(server, revoked).status_code == 200

    server.cli("key", "revoke", revoked)

    assert_error(_get(server, revoked), 401, "unauthorized", error_type="security")
    assert _get(server, kept).status_code == 200


def test_key_revoke_by_id_makes_it_401(server: Server) -> None:
    account_id, kept = _create_account(server, "--name", "revoke by id", "--sandbox")
    created = server.cli("key", "create", "--account", account_id)
    key_id, revoked = _field(created, "api_key_id"), _last_line(created)

    server.cli("key", "revoke", key_id)

    assert_error(_get(server, revoked), 401, "unauthorized", error_type="security")
    assert _get(server, kept).status_code == 200
    # Revoking again is harmless.
    assert server.cli("key", "revoke", key_id).returncode == 0
    assert_error(_get(server, revoked), 401, "unauthorized")


def test_key_list_never_prints_a_full_key(server: Server) -> None:
    created = server.cli("account", "create", "--name", "listing", "--sandbox")
    account_id = _field(created, "account_id")
    first_id, first = _field(created, "api_key_id"), _last_line(created)
    second_created = server.cli("key", "create", "--account", account_id)
    second_id, second = _field(second_created, "api_key_id"), _last_line(second_created)
    server.cli("key", "revoke", first_id)

    listing = server.cli("key", "list", "--account", account_id)

    lines = listing.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [first_id, second_id]
    assert "revoked" in lines[0]
    assert "live" in lines[1]
    printed = listing.stdout + listing.stderr
    for key in (first, second):
        assert not any(key[i : i + 16] in printed for i in range(len(key) - 15)), printed


# Errors


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["key", "create", "--account", "se-999999"], "se-999999"),
        (["key", "create", "--account", "abc"], "--account"),
        (["key", "list", "--account", "abc"], "--account"),
        (["key", "list", "--account", "se-999999"], "se-999999"),
        (["key", "revoke", "se-999999"], "key"),
        (["key", "revoke", "TEST_not-a-key-anybody-has"], "key"),
        (["account", "create", "--name", ""], "--name"),
        (["account", "create", "--name", "   "], "--name"),
        (["account", "create", "--name", "x" * 201], "--name"),
    ],
)
def test_errors_are_one_line_on_stderr_without_traceback(
    server: Server, args: list[str], mentions: str
) -> None:
    result = server.cli(*args, check=False)

    line = _assert_one_line_error(result)
    assert mentions in line, line


def test_account_create_with_an_empty_name_creates_nothing(server: Server) -> None:
    before = server.cli("account", "list").stdout

    server.cli("account", "create", "--name", "", "--sandbox", check=False)

    assert server.cli("account", "list").stdout == before


# Database


def test_db_upgrade_twice_is_fine_and_db_current_reports_it(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")
    head = head_revision()

    before = run_cli(env, "db", "current", check=False)
    first = run_cli(env, "db", "upgrade")
    second = run_cli(env, "db", "upgrade")
    after = run_cli(env, "db", "current")

    assert before.returncode == 1
    assert "none" in before.stdout
    assert head in first.stdout
    assert second.stdout == first.stdout
    assert after.stdout.strip() == f"database at migration {head}; newest is {head}"


def test_serve_refuses_an_unmigrated_database(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")

    result = run_cli(env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), check=False)

    assert result.returncode == 1
    assert "shiptrack db upgrade" in _assert_one_line_error(result)


def test_account_create_on_an_unmigrated_database_says_to_upgrade(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")

    result = run_cli(env, "account", "create", "--name", "early", "--sandbox", check=False)

    assert "shiptrack db upgrade" in _assert_one_line_error(result)


def test_api_key_is_stored_only_as_a_hash(server: Server) -> None:
    account_id, key = _create_account(server, "--name", "hashed", "--sandbox")
    row_id = int(account_id.removeprefix("se-"))
    # A listing may show the first characters of a key; nothing after them may be stored.
    hidden_part = key[10:]

    async def read() -> tuple[list[list[str]], dict[str, list[str]]]:
        database = create_database(server.settings().resolved_database_url)
        try:
            async with database.read() as conn:
                api_keys = metadata.tables["api_keys"]
                own = await conn.execute(sa.select(api_keys).where(api_keys.c.account_id == row_id))
                own_rows = [[str(value) for value in row] for row in own]
                everything = {
                    table.name: [
                        str(value)
                        for row in await conn.execute(table.select())
                        for value in row
                        if value is not None
                    ]
                    for table in metadata.sorted_tables
                }
                return own_rows, everything
        finally:
            await database.dispose()

    own_rows, everything = asyncio.run(read())

    assert len(own_rows) == 1, own_rows
    assert not any(hidden_part in value for value in own_rows[0]), own_rows
    for table, values in everything.items():
        assert not any(hidden_part in value for value in values), f"{table} holds the key"


# Demo


def _demo_key_file(server: Server) -> Path:
    return Path(server.env["SHIPTRACK_DATA_DIR"]) / "demo-api-key"


def test_demo_prints_the_same_working_key_on_every_run(server: Server) -> None:
    first = _last_line(server.cli("demo"))
    second = _last_line(server.cli("demo"))

    assert first == second
    assert first.startswith("TEST_")
    response = _get(server, first)
    assert response.status_code == 200, response.text
    assert {c["carrier_code"] for c in response.json()["carriers"]} == SUPPORTED_CARRIERS
    key_file = _demo_key_file(server)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text(encoding="utf-8").strip() == first


def test_demo_makes_a_new_key_for_the_same_account_when_the_saved_one_is_revoked(
    server: Server,
) -> None:
    old = _last_line(server.cli("demo"))
    server.cli("key", "revoke", old)

    new = _last_line(server.cli("demo"))

    assert new != old
    assert _get(server, new).status_code == 200
    assert_error(_get(server, old), 401, "unauthorized")
    assert stat.S_IMODE(_demo_key_file(server).stat().st_mode) == 0o600
    demo_accounts = [
        line
        for line in server.cli("account", "list").stdout.splitlines()
        if line.endswith("\tdemo")
    ]
    assert len(demo_accounts) == 1, demo_accounts
