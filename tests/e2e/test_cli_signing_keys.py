"""``shiptrack signing-key list`` as an operator reads it around rotations: one line per published
key, newest first, saying which key signs now, which will sign from when, which signed before,
and until when ``/jwks`` publishes each (the rule itself: ``tests/unit/test_signing_key_roles.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import DatabaseServer, cli_env, run_cli

UTC_TIME = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"


def listed(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """kid → (what it does, how long it is published), in the order printed."""
    lines = run_cli(env, "signing-key", "list").stdout.strip().splitlines()
    rows = [line.split("\t") for line in lines]
    assert all(len(row) == 3 for row in rows), lines
    return {kid: (does, published) for kid, does, published in rows}


def moment(text: str, pattern: str) -> datetime:
    """The time in ``text`` where ``pattern`` (with one :data:`UTC_TIME` group) matches."""
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return datetime.fromisoformat(found.group(1))


def test_signing_key_list_says_which_key_signs_now_and_which_from_when(
    test_database: DatabaseServer, tmp_path: Path
) -> None:
    env = cli_env(test_database.fresh(tmp_path), tmp_path / "data")
    run_cli(env, "db", "upgrade")

    empty = run_cli(env, "signing-key", "list")
    assert empty.stdout == ""
    assert "no signing key yet" in empty.stderr

    first = run_cli(env, "signing-key", "rotate", "--lead", "0").stdout.strip()
    before = datetime.now(UTC)
    # A rotation with an hour's lead and two hours' grace: the first key still signs meanwhile.
    scheduled = run_cli(
        env, "signing-key", "rotate", "--lead", "3600", "--grace", "7200"
    ).stdout.strip()
    after = datetime.now(UTC)

    keys = listed(env)
    assert list(keys) == [scheduled, first]
    does, published = keys[scheduled]
    starts = moment(does, rf"^signs from {UTC_TIME} \(in (59m \d\ds|1h 00m)\)$")
    assert before + timedelta(hours=1) <= starts <= after + timedelta(hours=1)
    assert published == "published in /jwks (until a rotation retires it)"
    does, published = keys[first]
    assert does.startswith("signing now (since ")
    assert moment(does, rf"a newer key signs from {UTC_TIME}\)$") == starts
    assert moment(published, rf"^published in /jwks until {UTC_TIME}$") == starts + timedelta(
        hours=2
    )

    # Another rotation, signing at once, overtakes the scheduled key before it ever signs.
    latest = run_cli(env, "signing-key", "rotate", "--lead", "0", "--grace", "60").stdout.strip()

    keys = listed(env)
    assert list(keys) == [latest, scheduled, first]
    assert keys[latest][0].startswith("signing now (since ")
    assert keys[scheduled][0].startswith("never signs (a newer key signs from ")
    assert keys[first][0].startswith("retired from signing (since ")
    assert sum(does.startswith("signing now") for does, _ in keys.values()) == 1
