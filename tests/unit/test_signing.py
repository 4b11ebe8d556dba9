"""Webhook signatures (``shiptrack.webhooks.signing``), checked the way a receiver checks them.

ShipEngine's scheme: the three ``x-shipengine-*`` headers verify with the RSA public key rebuilt
from the JWK that ``/jwks`` publishes (only ``n`` and ``e``, as the README's receiver does), the
signature covers exactly ``"{timestamp}.{raw body}"``, and the timestamp is ISO-8601 UTC in whole
seconds. Standard Webhooks' scheme: the headers verify with the reference ``standardwebhooks``
package, for one secret and for the two secrets of a rotation. Also the ``whsec_`` secrets, the
JWK's shape, and a key surviving its round-trip through PEM.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from standardwebhooks import Webhook, WebhookVerificationError

from shiptrack.domain.timefmt import utcnow
from shiptrack.webhooks.signing import (
    SigningKey,
    generate_signing_key,
    load_signing_key,
    new_webhook_secret,
    public_jwk,
    shipengine_headers,
    standard_headers,
)

BODY = json.dumps(
    {"resource_type": "API_TRACK", "data": {"status_code": "IT"}, "sequence": 3},
    separators=(",", ":"),
).encode()
SENT_AT = datetime(2026, 3, 2, 12, 0, 5, 987654, tzinfo=UTC)

KID_HEADER = "x-shipengine-rsa-sha256-key-id"
SIGNATURE_HEADER = "x-shipengine-rsa-sha256-signature"
TIMESTAMP_HEADER = "x-shipengine-timestamp"


@pytest.fixture(scope="module")
def generated() -> tuple[str, str, dict[str, Any]]:
    """One freshly generated key (kid, private PEM, public JWK) for the module."""
    return generate_signing_key()


@pytest.fixture(scope="module")
def key(generated: tuple[str, str, dict[str, Any]]) -> SigningKey:
    kid, pem, _jwk = generated
    return load_signing_key(kid, pem)


def _uint(b64url: str) -> int:
    """A JWK integer member, decoded as RFC 7518 says (base64url, padding restored)."""
    return int.from_bytes(base64.urlsafe_b64decode(b64url + "=" * (-len(b64url) % 4)), "big")


def _receiver_check(jwk: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
    """What a ShipEngine receiver does: rebuild the key from the JWK, verify; raises if forged."""
    assert headers[KID_HEADER] == jwk["kid"]
    public_key = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
    signed = headers[TIMESTAMP_HEADER].encode() + b"." + body
    public_key.verify(
        base64.b64decode(headers[SIGNATURE_HEADER], validate=True),
        signed,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


# ShipEngine's RSA signature


def test_shipengine_headers_verify_with_the_public_jwk(
    generated: tuple[str, str, dict[str, Any]], key: SigningKey
) -> None:
    _kid, _pem, jwk = generated
    headers = shipengine_headers(key, BODY, SENT_AT)

    assert set(headers) == {KID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER}
    assert headers[KID_HEADER] == key.kid
    _receiver_check(jwk, headers, BODY)


def test_the_signature_covers_the_body(
    generated: tuple[str, str, dict[str, Any]], key: SigningKey
) -> None:
    _kid, _pem, jwk = generated
    headers = shipengine_headers(key, BODY, SENT_AT)

    tampered = BODY.replace(b'"IT"', b'"DE"')
    assert tampered != BODY
    with pytest.raises(InvalidSignature):
        _receiver_check(jwk, headers, tampered)
    with pytest.raises(InvalidSignature):
        _receiver_check(jwk, headers, BODY + b" ")


def test_the_signature_covers_the_timestamp(
    generated: tuple[str, str, dict[str, Any]], key: SigningKey
) -> None:
    _kid, _pem, jwk = generated
    headers = shipengine_headers(key, BODY, SENT_AT)

    # A replayed body under a fresher timestamp does not verify.
    later = shipengine_headers(key, BODY, SENT_AT + timedelta(minutes=10))[TIMESTAMP_HEADER]
    with pytest.raises(InvalidSignature):
        _receiver_check(jwk, {**headers, TIMESTAMP_HEADER: later}, BODY)


def test_the_signed_message_is_timestamp_dot_body_and_nothing_else(
    generated: tuple[str, str, dict[str, Any]], key: SigningKey
) -> None:
    _kid, _pem, jwk = generated
    headers = shipengine_headers(key, BODY, SENT_AT)
    public_key = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
    signature = base64.b64decode(headers[SIGNATURE_HEADER])
    timestamp = headers[TIMESTAMP_HEADER].encode()

    public_key.verify(signature, timestamp + b"." + BODY, padding.PKCS1v15(), hashes.SHA256())
    for other in (BODY, timestamp + BODY, timestamp + b"." + BODY + b"\n"):
        with pytest.raises(InvalidSignature):
            public_key.verify(signature, other, padding.PKCS1v15(), hashes.SHA256())


def test_a_signature_does_not_verify_with_another_keys_jwk(key: SigningKey) -> None:
    other_kid, _pem, other_jwk = generate_signing_key()
    assert other_kid != key.kid
    headers = shipengine_headers(key, BODY, SENT_AT)

    with pytest.raises(InvalidSignature):
        _receiver_check({**other_jwk, "kid": key.kid}, headers, BODY)


def test_the_timestamp_is_iso_8601_utc_in_whole_seconds(key: SigningKey) -> None:
    new_york = timezone(timedelta(hours=-5))
    sent_at = datetime(2026, 3, 2, 7, 0, 5, 987654, tzinfo=new_york)

    timestamp = shipengine_headers(key, BODY, sent_at)[TIMESTAMP_HEADER]

    assert timestamp == "2026-03-02T12:00:05Z"
    assert datetime.fromisoformat(timestamp) == datetime(2026, 3, 2, 12, 0, 5, tzinfo=UTC)


def test_the_timestamp_of_a_whole_second_is_unchanged(key: SigningKey) -> None:
    timestamp = shipengine_headers(key, BODY, SENT_AT.replace(microsecond=0))[TIMESTAMP_HEADER]
    assert timestamp == "2026-03-02T12:00:05Z"


# The JWK and the key's round-trip


def test_a_jwk_is_an_rsa_signing_key_with_unpadded_base64url_members(
    generated: tuple[str, str, dict[str, Any]],
) -> None:
    kid, _pem, jwk = generated

    assert jwk["kty"] == "RSA"
    assert jwk["kid"] == kid
    assert jwk["use"] == "sig"
    assert jwk["alg"] == "RS256"
    for member in ("n", "e"):
        assert re.fullmatch(r"[A-Za-z0-9_-]+", jwk[member]), jwk[member]
    assert jwk["e"] == "AQAB"  # 65537, in the minimal number of octets
    modulus = base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4))
    assert len(modulus) == 256 and modulus[0] != 0  # 2048 bits, no leading zero octet
    assert "d" not in jwk and "p" not in jwk and "q" not in jwk  # no private member


def test_every_generated_key_has_its_own_kid() -> None:
    kids = {generate_signing_key()[0] for _ in range(3)}
    assert len(kids) == 3


def test_a_key_loaded_from_its_pem_signs_for_its_jwk(
    generated: tuple[str, str, dict[str, Any]],
) -> None:
    kid, pem, jwk = generated
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")

    loaded = load_signing_key(kid, pem)

    assert loaded.kid == kid
    assert public_jwk(kid, loaded.private_key) == jwk
    _receiver_check(jwk, shipengine_headers(loaded, BODY, SENT_AT), BODY)


def test_a_pem_that_is_not_an_rsa_key_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="not an RSA key"):
        load_signing_key("ec-key", pem)


# Standard Webhooks


def test_standard_headers_verify_with_the_standardwebhooks_package() -> None:
    secret = new_webhook_secret()
    now = utcnow()

    headers = standard_headers("msg_12_3", BODY, now, [secret])

    assert headers["webhook-id"] == "msg_12_3"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_standard_headers_do_not_verify_with_another_secret() -> None:
    headers = standard_headers("msg_12_3", BODY, utcnow(), [new_webhook_secret()])
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(BODY, headers)


def test_the_standard_signature_covers_the_id_and_the_body() -> None:
    secret = new_webhook_secret()
    headers = standard_headers("msg_12_3", BODY, utcnow(), [secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b'"IT"', b'"DE"'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_12_4"})


def test_the_standard_timestamp_is_the_send_time_so_old_messages_are_refused() -> None:
    secret = new_webhook_secret()
    headers = standard_headers("msg_12_3", BODY, utcnow() - timedelta(minutes=10), [secret])
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_two_secrets_give_two_signatures_and_either_secret_verifies() -> None:
    current, previous = new_webhook_secret(), new_webhook_secret()

    headers = standard_headers("msg_7_1", BODY, utcnow(), [current, previous])

    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    assert Webhook(current).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(previous).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(BODY, headers)


# Secrets


def test_a_webhook_secret_is_whsec_and_32_bytes_in_base64() -> None:
    secret = new_webhook_secret()

    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(key) == 32


def test_webhook_secrets_are_random() -> None:
    secrets = [new_webhook_secret() for _ in range(200)]
    assert len(set(secrets)) == len(secrets)
    keys = [base64.b64decode(secret.removeprefix("whsec_")) for secret in secrets]
    # Every byte value shows up in 6400 random bytes; a constant or counter-like secret does not.
    assert len({byte for key in keys for byte in key}) == 256
