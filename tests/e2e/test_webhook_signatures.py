"""Webhook signatures, checked by code that shares nothing with shiptrack.

A real ``shiptrack serve`` process delivers to real receivers on 127.0.0.1. Each delivery carries
ShipEngine's RSA signature (checked with ``cryptography`` against the key ``GET /jwks`` publishes
under the ``x-shipengine-rsa-sha256-key-id`` header) and a Standard Webhooks signature (checked with
the PyPI ``standardwebhooks`` package and the ``secret`` returned when the webhook was created).
Covers: both signatures verify and any tampering breaks both; the timestamps are the moment of
sending; the request headers (``Content-Type``, ``User-Agent``, the webhook's own headers);
``/jwks`` itself; rotating a webhook's secret (two signatures during the overlap); rotating the
signing key from the CLI (in ``/jwks`` and ``signing-key list`` at once, not signing before its
activation); a webhook that asks for one signature only (``signatures``, an extension) gets that
one, changes apply from the next delivery, and a list that would leave a delivery unsigned or is
unclear is refused. The ``webhook-id`` on retries, the end of a secret's overlap and a key's
activation are tested in-process (``tests/engine/test_delivery_notifications.py``,
``test_delivery_signing.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from standardwebhooks import WebhookVerificationError

from shiptrack.carriers.scenarios import SCENARIOS, sandbox_number
from tests.conftest import DatabaseServer, Server, Tenant, assert_error, make_tenant
from tests.e2e.webhook_support import (
    WEBHOOKS,
    Received,
    Receiver,
    create_webhook,
    jwks,
    module_server,
    public_key,
    receiving,
    send_test_event,
    verify_shipengine,
    verify_standard,
)
from tests.support import get_tracking, start_tracking

DELIVERED = sandbox_number("ups", SCENARIOS[0])
#: ISO-8601 in UTC, as ShipEngine sends ``x-shipengine-timestamp``.
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
#: Another valid Standard Webhooks secret, which signed nothing.
STRANGER = "whsec_" + "A" * 43 + "="


@pytest.fixture(scope="module")
def hub(
    test_database: DatabaseServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One delivering server for every test here (the signing key rotated by one of them signs
    only an hour later, so the others' deliveries are signed as before)."""
    yield from module_server(test_database, tmp_path_factory)


@pytest.fixture
def account(hub: Server) -> Iterator[Tenant]:
    made = make_tenant(hub)
    yield made
    made.client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as made:
        yield made


def one_test_event(tenant: Tenant, webhook_id: str, receiver: Receiver) -> Received:
    """Send a test event and wait for it; the request the receiver got."""
    before = len(receiver.requests)
    send_test_event(tenant, webhook_id)
    return receiver.wait_for_requests(before + 1, "the test event")[before]


def signatures(request: Received) -> list[str]:
    """The entries of ``webhook-signature``."""
    return request.headers["webhook-signature"].split(" ")


# --- both schemes ---------------------------------------------------------------------------------


def test_a_status_change_arrives_signed_both_ways(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url)
    start_tracking(account, "ups", DELIVERED)

    first = receiver.wait_for_requests(1, "the first notification")[0]

    assert first.method == "POST"
    assert first.path == "/hooks/track"
    keys = jwks(hub)
    kid = verify_shipengine(keys, first.headers, first.body)
    assert keys[kid]["kty"] == "RSA"
    verify_standard(created["secret"], first.headers, first.body)
    [signature] = signatures(first)
    assert signature.startswith("v1,")
    assert first.json["data"]["tracking_number"] == DELIVERED
    # The package's public page comes along (an extension ShipEngine clients ignore), the same
    # link GET /v1/tracking gives, and it opens without a key.
    public_url = first.json["data"]["public_url"]
    assert public_url == get_tracking(account, "ups", DELIVERED)["public_url"]
    assert public_url.startswith(hub.env["SHIPTRACK_PUBLIC_BASE_URL"] + "/t/")
    page = httpx.get(hub.url + urlsplit(public_url).path, headers={"Accept": "application/json"})
    assert (page.status_code, page.json()["tracking_number"]) == (200, DELIVERED)


def test_tampering_with_the_body_or_a_signed_header_fails_both_checks(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url)
    request = one_test_event(account, created["webhook_id"], receiver)
    keys = jwks(hub)
    secret = created["secret"]
    verify_shipengine(keys, request.headers, request.body)
    verify_standard(secret, request.headers, request.body)

    for body in (
        request.body.replace(b'"DE"', b'"IT"', 1),
        request.body + b" ",
        request.body.replace(b'"test_event":true', b'"test_event":false'),
    ):
        assert body != request.body
        with pytest.raises(InvalidSignature):
            verify_shipengine(keys, request.headers, body)
        with pytest.raises(WebhookVerificationError):
            verify_standard(secret, request.headers, body)

    # The ShipEngine signature covers its timestamp; the Standard one its id and timestamp.
    moved = {**request.headers, "x-shipengine-timestamp": "2020-01-01T00:00:00Z"}
    with pytest.raises(InvalidSignature):
        verify_shipengine(keys, moved, request.body)
    for name, value in (
        ("webhook-id", request.headers["webhook-id"] + "x"),
        ("webhook-timestamp", str(int(request.headers["webhook-timestamp"]) - 1)),
    ):
        with pytest.raises(WebhookVerificationError):
            verify_standard(secret, {**request.headers, name: value}, request.body)
    # Another secret does not verify it.
    with pytest.raises(WebhookVerificationError):
        verify_standard(STRANGER, request.headers, request.body)


def test_each_webhook_has_its_own_secret(account: Tenant, receiver: Receiver) -> None:
    first = create_webhook(account, receiver.url)
    second = create_webhook(account, receiver.url + "/second")
    assert first["secret"] != second["secret"]

    request = one_test_event(account, second["webhook_id"], receiver)

    assert request.path == "/hooks/track/second"
    verify_standard(second["secret"], request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify_standard(first["secret"], request.headers, request.body)


def test_the_signature_timestamps_are_the_moment_of_sending(
    account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url)
    request = one_test_event(account, created["webhook_id"], receiver)

    stamp = request.headers["x-shipengine-timestamp"]
    assert ISO_UTC.fullmatch(stamp), stamp
    sent = datetime.fromisoformat(stamp)
    assert sent.utcoffset() == timedelta(0)
    # Signed just before it was sent (whole seconds: up to one second earlier).
    assert request.at - timedelta(seconds=10) <= sent <= request.at + timedelta(seconds=1)
    unix = int(request.headers["webhook-timestamp"])
    assert abs(unix - request.at.timestamp()) < 10
    assert abs(unix - sent.timestamp()) <= 1


def test_the_request_has_shipengines_headers_and_the_webhooks_own(
    account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(
        account,
        receiver.url,
        headers=[
            {"key": "Authorization", "value": "Bearer abc.def"},
            {"key": "X-Shop-Token", "value": "north 42"},
        ],
    )
    request = one_test_event(account, created["webhook_id"], receiver)

    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "ShipEngine/v1"
    assert request.headers["authorization"] == "Bearer abc.def"
    assert request.headers["x-shop-token"] == "north 42"
    for name in (
        "x-shipengine-rsa-sha256-key-id",
        "x-shipengine-rsa-sha256-signature",
        "x-shipengine-timestamp",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ):
        assert request.headers[name], name


def test_changed_custom_headers_are_sent_from_then_on(account: Tenant, receiver: Receiver) -> None:
    created = create_webhook(account, receiver.url, headers=[{"key": "X-Version", "value": "1"}])
    assert one_test_event(account, created["webhook_id"], receiver).headers["x-version"] == "1"

    response = account.client.put(
        f"{WEBHOOKS}/{created['webhook_id']}", json={"headers": [{"key": "X-Other", "value": "2"}]}
    )
    assert response.status_code == 204, response.text

    request = one_test_event(account, created["webhook_id"], receiver)
    assert request.headers["x-other"] == "2"
    assert "x-version" not in request.headers


# --- choosing the signatures (extension) ---------------------------------------------------------

SHIPENGINE_HEADERS = (
    "x-shipengine-rsa-sha256-key-id",
    "x-shipengine-rsa-sha256-signature",
    "x-shipengine-timestamp",
)
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def test_a_webhook_that_asks_for_the_standard_signature_only_gets_no_rsa_one(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url, signatures=["standard"])
    assert created["signatures"] == ["standard"]
    assert account.client.get(f"{WEBHOOKS}/{created['webhook_id']}").json()["signatures"] == [
        "standard"
    ]

    request = one_test_event(account, created["webhook_id"], receiver)

    verify_standard(created["secret"], request.headers, request.body)
    assert not [name for name in SHIPENGINE_HEADERS if name in request.headers]


def test_a_webhook_that_asks_for_the_shipengine_signature_only_gets_no_hmac_one(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url, signatures=["shipengine"])

    request = one_test_event(account, created["webhook_id"], receiver)

    verify_shipengine(jwks(hub), request.headers, request.body)
    assert not [name for name in STANDARD_HEADERS if name in request.headers]


def test_changed_signatures_apply_from_the_next_delivery(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url, signatures=["standard"])
    path = f"{WEBHOOKS}/{created['webhook_id']}"

    response = account.client.put(path, json={"signatures": ["standard", "shipengine"]})
    assert response.status_code == 204, response.text

    # Both, the default: the webhook object is ShipEngine's again, without the extension field.
    assert "signatures" not in account.client.get(path).json()
    request = one_test_event(account, created["webhook_id"], receiver)
    verify_shipengine(jwks(hub), request.headers, request.body)
    verify_standard(created["secret"], request.headers, request.body)


@pytest.mark.parametrize(
    ("signatures", "field_name"),
    [
        ([], "signatures"),
        (["rsa"], "signatures[0]"),
        (["standard", "standard"], "signatures[1]"),
        (None, "signatures"),
    ],
    ids=["none", "unknown", "twice", "null"],
)
def test_signatures_that_would_leave_a_delivery_unsigned_or_unclear_are_refused(
    account: Tenant, receiver: Receiver, signatures: list[str] | None, field_name: str
) -> None:
    created = create_webhook(account, receiver.url)
    path = f"{WEBHOOKS}/{created['webhook_id']}"

    updated = account.client.put(path, json={"signatures": signatures})
    made = account.client.post(
        WEBHOOKS, json={"event": "track", "url": receiver.url + "/x", "signatures": signatures}
    )

    assert_error(updated, 400, "invalid_field_value", field_name=field_name)
    if signatures is not None:
        assert_error(made, 400, "invalid_field_value", field_name=field_name)
    else:  # null on create is "left out": both signatures
        assert made.status_code == 200, made.text
    # Nothing stored changed: the webhook still signs both ways.
    request = one_test_event(account, created["webhook_id"], receiver)
    for name in (*SHIPENGINE_HEADERS, *STANDARD_HEADERS):
        assert request.headers[name], name


# --- /jwks ----------------------------------------------------------------------------------------


def test_jwks_publishes_rsa_keys_without_an_api_key(hub: Server) -> None:
    response = httpx.get(f"{hub.url}/jwks", timeout=30)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert {"kty", "kid", "use", "alg", "n", "e"} <= set(key), key
        assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
        assert public_key(key).key_size >= 2048
        # Public halves only.
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), key


# --- webhook secret rotation ----------------------------------------------------------------------


def rotate_secret(tenant: Tenant, webhook_id: str) -> str:
    response = tenant.client.post(f"{WEBHOOKS}/{webhook_id}/secret/rotate")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"secret", "previous_secret_valid_for"}, body
    secret: str = body["secret"]
    assert secret.startswith("whsec_")
    assert tenant.client.get(f"{WEBHOOKS}/{webhook_id}/secret").json() == {"secret": secret}
    return secret


def test_after_a_secret_rotation_both_secrets_verify(account: Tenant, receiver: Receiver) -> None:
    created = create_webhook(account, receiver.url)
    webhook_id, old = created["webhook_id"], created["secret"]

    new = rotate_secret(account, webhook_id)
    assert new != old
    request = one_test_event(account, webhook_id, receiver)

    assert len(signatures(request)) == 2
    assert all(entry.startswith("v1,") for entry in signatures(request))
    verify_standard(old, request.headers, request.body)
    verify_standard(new, request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify_standard(STRANGER, request.headers, request.body)

    # A second rotation keeps only the secret it replaces beside the new one.
    newest = rotate_secret(account, webhook_id)
    request = one_test_event(account, webhook_id, receiver)
    assert len(signatures(request)) == 2
    verify_standard(newest, request.headers, request.body)
    verify_standard(new, request.headers, request.body)
    with pytest.raises(WebhookVerificationError):
        verify_standard(old, request.headers, request.body)


# --- rotating the signing key ---------------------------------------------------------------------


def kids_listed(server: Server) -> dict[str, str]:
    """``shiptrack signing-key list``: kid → what it does (``signs from <time> (in …)``, …)."""
    found = {}
    for line in server.cli("signing-key", "list").stdout.strip().splitlines():
        kid, does, _ = line.split("\t")
        found[kid] = does
    return found


def signs_from(does: str) -> datetime:
    """The time of a scheduled key's ``signs from <time> (in …)``."""
    assert does.startswith("signs from "), does
    return datetime.fromisoformat(does.removeprefix("signs from ").split(" ")[0])


def test_a_signing_key_rotated_from_the_cli_is_published_at_once_and_signs_later(
    hub: Server, account: Tenant, receiver: Receiver
) -> None:
    created = create_webhook(account, receiver.url)
    old_kids = set(jwks(hub))
    before = datetime.now(UTC)

    # An hour's lead: published now, signing in an hour (so the other tests here are unaffected).
    new_kid = hub.cli("signing-key", "rotate", "--lead", "3600", "--grace", "3600").stdout.strip()

    assert new_kid and new_kid not in old_kids
    keys = jwks(hub)
    assert set(keys) == old_kids | {new_kid}
    assert signs_from(kids_listed(hub)[new_kid]) >= before + timedelta(seconds=3600)
    request = one_test_event(account, created["webhook_id"], receiver)
    assert verify_shipengine(keys, request.headers, request.body) in old_kids
