"""Which published signing key signs when (``shiptrack.webhooks.keyring.key_roles``, shown by
``shiptrack signing-key list``): the key that signs now, a key scheduled by a rotation, a key a
rotation retired, and a scheduled key that a later rotation overtook; and that the listing names
the same key :func:`signer` signs with at every moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiptrack.store.port import StoredKey
from shiptrack.webhooks.keyring import KeyRole, key_roles, signer

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def key(kid: str, activates_at: datetime, retires_at: datetime | None = None) -> StoredKey:
    return StoredKey(
        kid=kid,
        sealed_private_key="sealed",
        public_jwk={"kid": kid},
        activates_at=activates_at,
        retires_at=retires_at,
    )


def test_the_only_key_signs_with_no_end() -> None:
    assert key_roles([key("a", NOW - HOUR)], NOW) == [
        KeyRole("a", "signing", NOW - HOUR, None, None)
    ]


def test_a_rotation_with_a_lead_schedules_the_new_key_and_ends_the_old_ones_signing() -> None:
    # Newest first, as the store lists them: rotated with an hour's lead and a day's grace.
    keys = [key("new", NOW + HOUR), key("old", NOW - HOUR, retires_at=NOW + 25 * HOUR)]

    assert key_roles(keys, NOW) == [
        KeyRole("new", "scheduled", NOW + HOUR, None, None),
        KeyRole("old", "signing", NOW - HOUR, NOW + HOUR, NOW + 25 * HOUR),
    ]
    # Once the lead has passed, the roles swap.
    assert [role.role for role in key_roles(keys, NOW + HOUR)] == ["signing", "retired"]


def test_a_key_overtaken_by_a_later_rotation_never_signs() -> None:
    keys = [
        key("latest", NOW - timedelta(minutes=1)),
        key("scheduled", NOW + HOUR, retires_at=NOW + 2 * HOUR),
        key("first", NOW - 2 * HOUR, retires_at=NOW + 3 * HOUR),
    ]

    roles = {role.kid: role for role in key_roles(keys, NOW)}

    assert roles["latest"].role == "signing"
    assert roles["scheduled"].role == "superseded"
    assert roles["scheduled"].signs_until == NOW - timedelta(minutes=1)
    assert roles["first"].role == "retired"
    assert roles["first"].signs_until == NOW - timedelta(minutes=1)
    assert roles["first"].published_until == NOW + 3 * HOUR


def test_the_listed_signing_key_is_the_one_that_signs_at_every_moment() -> None:
    keys = [
        key("c", NOW + 30 * timedelta(minutes=1)),
        key("b", NOW + HOUR),
        key("a", NOW - HOUR),
    ]

    for minutes in range(-90, 120, 5):
        moment = NOW + timedelta(minutes=minutes)
        signing = [role.kid for role in key_roles(keys, moment) if role.role == "signing"]
        chosen = signer(keys, moment)
        assert signing == ([chosen.kid] if chosen else []), moment
