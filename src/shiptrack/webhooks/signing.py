"""Webhook signatures: ShipEngine's RSA scheme and Standard Webhooks' HMAC scheme.

ShipEngine
    ``x-shipengine-rsa-sha256-signature`` = base64 RSASSA-PKCS1-v1_5 / SHA-256 over
    ``"{x-shipengine-timestamp}.{raw body}"``; ``x-shipengine-rsa-sha256-key-id`` names the key in
    ``GET /jwks``; the timestamp is ISO-8601 UTC.
Standard Webhooks
    ``webhook-signature`` = ``v1,`` + base64 HMAC-SHA256 over
    ``"{webhook-id}.{webhook-timestamp}.{raw body}"`` keyed with the webhook's secret (``whsec_`` +
    base64 key), one entry per valid secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shiptrack.domain.timefmt import format_utc

SECRET_PREFIX = "whsec_"
RSA_KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    """An RSA key that signs deliveries (the private half never leaves the server)."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def sign(self, message: bytes) -> str:
        """Base64 RSASSA-PKCS1-v1_5 SHA-256 signature of ``message``."""
        signature = self.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")


def generate_signing_key() -> tuple[str, str, dict[str, Any]]:
    """A new key: its kid, its private PEM, and its public JWK."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    kid = "shiptrack-" + secrets.token_hex(8)
    return kid, pem, public_jwk(kid, private_key)


def load_signing_key(kid: str, pem: str) -> SigningKey:
    """A signing key from its stored PEM."""
    loaded = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"signing key {kid} is not an RSA key")
    return SigningKey(kid, loaded)


def public_jwk(kid: str, private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The JWK of the public half, as ``/jwks`` serves it."""
    numbers = private_key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
    }


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def shipengine_headers(key: SigningKey, body: bytes, now: datetime) -> dict[str, str]:
    """ShipEngine's three signature headers for ``body`` sent at ``now``."""
    timestamp = shipengine_timestamp(now)
    return signed_headers(key.kid, key.sign(shipengine_message(timestamp, body)), timestamp)


def shipengine_timestamp(now: datetime) -> str:
    """``x-shipengine-timestamp`` for a delivery signed at ``now``."""
    timestamp = format_utc(now.replace(microsecond=0))
    assert timestamp is not None
    return timestamp


def shipengine_message(timestamp: str, body: bytes) -> bytes:
    """What ShipEngine's RSA signature covers: ``"{timestamp}.{raw body}"``."""
    return timestamp.encode("ascii") + b"." + body


def signed_headers(kid: str, signature: str, timestamp: str) -> dict[str, str]:
    """ShipEngine's three signature headers, the signature made (here or in a signing process)."""
    return {
        "x-shipengine-rsa-sha256-key-id": kid,
        "x-shipengine-rsa-sha256-signature": signature,
        "x-shipengine-timestamp": timestamp,
    }


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def standard_headers(
    message_id: str, body: bytes, now: datetime, webhook_secrets: list[str]
) -> dict[str, str]:
    """Standard Webhooks' ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``."""
    timestamp = str(int(now.timestamp()))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in webhook_secrets:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
        # Not hmac.digest: for bodies over 2 KiB it lets go of the interpreter lock, and with
        # RSA signing threads running, taking it back costs the event loop more than the HMAC.
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode("ascii"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(signatures),
    }
