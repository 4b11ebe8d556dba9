"""Credentials sealed at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shiptrack.sealing import Sealer, SealingError, load_secret


def test_sealed_credentials_open_only_for_their_owner() -> None:
    sealer = Sealer("k1")
    token = sealer.seal({"client_secret": "hunter2"}, owner="account:1:carrier:ups")
    assert "hunter2" not in token
    assert sealer.open(token, owner="account:1:carrier:ups") == {"client_secret": "hunter2"}
    with pytest.raises(SealingError):
        sealer.open(token, owner="account:2:carrier:ups")


def test_a_different_secret_key_is_named_in_the_error() -> None:
    token = Sealer("k1").seal({"a": "b"}, owner="o")
    with pytest.raises(SealingError, match="SHIPTRACK_SECRET_KEY"):
        Sealer("k2").open(token, owner="o")


def test_a_tampered_value_does_not_open() -> None:
    sealer = Sealer("k1")
    token = sealer.seal({"a": "b"}, owner="o")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(SealingError):
        sealer.open(flipped, owner="o")


def test_the_generated_secret_is_private_and_stable(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path)
    assert load_secret(None, tmp_path) == first
    assert len(first) >= 40
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert load_secret("configured", tmp_path) == "configured"
