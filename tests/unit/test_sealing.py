"""Credentials sealed at rest."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest

from shiptrack.sealing import (
    Sealer,
    SealingError,
    fingerprint,
    generate_secret_key,
    load_secret,
    read_secret,
    sealed_key_id,
)


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


def test_the_fingerprint_is_an_hmac_of_a_fixed_text_under_the_key() -> None:
    # Pinned: every database records it, so a change would lock every installation out.
    assert fingerprint("k1") == "5ab376673c35d1ad"
    expected = hmac.new(b"k1", b"shiptrack secret key fingerprint v1", hashlib.sha256)
    assert fingerprint("k1") == expected.hexdigest()[:16]
    assert fingerprint("k2") != fingerprint("k1")
    # Nothing of the key, nor its sealing key id, can be read from it.
    assert "k1" not in fingerprint("k1")
    assert Sealer("k1").key_id not in fingerprint("k1")


def test_a_sealed_value_names_the_key_id_of_its_sealer() -> None:
    token = Sealer("k1").seal({"a": "b"}, owner="o")

    assert sealed_key_id(token) == Sealer("k1").key_id == "011494fe"
    assert sealed_key_id("whsec_not-sealed") is None
    assert sealed_key_id("v2.abc.def") is None


def test_a_generated_secret_key_seals_and_opens() -> None:
    key = generate_secret_key()
    sealer = Sealer(key)

    assert len(key) == 43
    assert sealer.open(sealer.seal({"a": "b"}, owner="o"), owner="o") == {"a": "b"}
    assert generate_secret_key() != key


def test_reading_the_secret_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    assert read_secret(None, data_dir) is None
    assert not data_dir.exists()
    assert read_secret("configured", data_dir) == "configured"
    generated = load_secret(None, data_dir)
    assert read_secret(None, data_dir) == generated
