"""Encryption at rest for carrier credentials.

Credentials are sealed with AES-256-GCM under a key derived from ``SHIPTRACK_SECRET_KEY`` (or, when
that is unset, from a random key generated once into ``<data_dir>/secret.key``). The associated
data binds a sealed value to its owner, so a value copied into another account's row does not open.

The secret key is any non-empty text (its UTF-8 bytes go through HKDF-SHA256); a generated one is
32 random bytes in URL-safe base64, 43 characters. Two names of a key reveal nothing of it: its
*fingerprint* (recorded in the database on first use, see ``shiptrack.services.secret_key``) and
the *key id* every sealed value starts with (``v1.<key id>.…``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shiptrack.domain.tokens import random_token

SECRET_KEY_FILE = "secret.key"
_VERSION = "v1"
#: What a fingerprint is the HMAC of: fixed, so one key always has the same fingerprint.
_FINGERPRINT_CONTEXT = b"shiptrack secret key fingerprint v1"
#: Hex digits of a fingerprint kept: 64 bits, plenty to tell two keys apart.
FINGERPRINT_LENGTH = 16


class SealingError(Exception):
    """A sealed value cannot be opened with this secret key."""


class Sealer:
    """Seals and opens small JSON documents."""

    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"shiptrack credentials v1"
        ).derive(secret.encode("utf-8"))
        self._aead = AESGCM(key)
        # Names the sealing key, so a wrong SHIPTRACK_SECRET_KEY is reported as such.
        self.key_id = hashlib.sha256(key).hexdigest()[:8]

    def seal(self, document: dict[str, Any], *, owner: str) -> str:
        """The sealed text of ``document``, bound to ``owner``."""
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(document, separators=(",", ":")).encode("utf-8")
        sealed = self._aead.encrypt(nonce, plaintext, owner.encode("utf-8"))
        return f"{_VERSION}.{self.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, *, owner: str) -> dict[str, Any]:
        """The document sealed in ``token``; :class:`SealingError` if it cannot be opened."""
        try:
            version, key_id, body = token.split(".", 2)
        except ValueError:
            raise SealingError("not a sealed value") from None
        if version != _VERSION:
            raise SealingError(f"unknown sealing version {version!r}")
        if key_id != self.key_id:
            raise SealingError(
                f"sealed with key {key_id}, but SHIPTRACK_SECRET_KEY is key {self.key_id}"
            )
        raw = base64.urlsafe_b64decode(body)
        try:
            plaintext = self._aead.decrypt(raw[:12], raw[12:], owner.encode("utf-8"))
        except InvalidTag:
            raise SealingError("sealed value was tampered with or moved") from None
        document: dict[str, Any] = json.loads(plaintext)
        return document


def fingerprint(secret: str) -> str:
    """A name of the secret key that does not reveal it: HMAC-SHA256 of a fixed text under the
    key, its first :data:`FINGERPRINT_LENGTH` hex digits."""
    digest = hmac.new(secret.encode("utf-8"), _FINGERPRINT_CONTEXT, hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def sealed_key_id(token: str) -> str | None:
    """The key id a sealed value names (``None`` when it is not a sealed value)."""
    parts = token.split(".", 2)
    return parts[1] if len(parts) == 3 and parts[0] == _VERSION else None


def generate_secret_key() -> str:
    """A new secret key: 32 random bytes, URL-safe base64 (43 characters, never a leading ``-``)."""
    return random_token(32)


def read_secret(configured: str | None, data_dir: Path) -> str | None:
    """The configured secret, or the one in ``<data_dir>/secret.key``; ``None`` when there is
    neither (nothing is created)."""
    if configured:
        return configured
    try:
        return (data_dir / SECRET_KEY_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def load_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, or the one in ``<data_dir>/secret.key``, created on first use."""
    existing = read_secret(configured, data_dir)
    if existing:
        return existing
    path = data_dir / SECRET_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    candidate = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}"
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(generate_secret_key() + "\n")
    try:
        # link() never replaces: of two processes starting at once, both end up with one key.
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text(encoding="utf-8").strip()
