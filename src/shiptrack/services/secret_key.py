"""The secret key a process starts with must be the one its database was first used with.

Carrier credentials, webhook secrets and signing keys are sealed with the secret key
(``shiptrack.sealing``). A process with another key would run without a word and fail on every
sealed value, or seal new ones that its siblings cannot open. So the first process that opens a
database with its key records the key's fingerprint there (never the key), and every later
process compares before it does anything else: a different key is refused, and nothing is written.

A database that holds sealed values but no fingerprint (one made before fingerprints existed) was
first used with the key that sealed them: the key is recorded if it sealed at least one of them
(its key id is among theirs), and refused if it sealed none. Values sealed with another key were
unreadable before and stay so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from shiptrack.domain.errors import ConfigurationError
from shiptrack.domain.timefmt import utcnow
from shiptrack.sealing import SECRET_KEY_FILE, Sealer, fingerprint, load_secret, read_secret
from shiptrack.store.port import Store

#: Where an operator finds the right key, and how they tell it from others.
_WHERE = (
    "the database's other processes have it in SHIPTRACK_SECRET_KEY or <data dir>/secret.key; "
    "`shiptrack secret-key fingerprint` prints the fingerprint and key id of the key a process "
    "would use"
)


@dataclass(frozen=True)
class SecretKeySource:
    """Where a process's secret key comes from: ``SHIPTRACK_SECRET_KEY``, else the key file."""

    configured: str | None
    data_dir: Path

    @property
    def file(self) -> Path:
        """The generated key's file, ``<data_dir>/secret.key``."""
        return self.data_dir / SECRET_KEY_FILE

    @property
    def name(self) -> str:
        """How messages name the key this process has."""
        return "SHIPTRACK_SECRET_KEY" if self.configured else f"the key in {self.file}"

    def existing(self) -> str | None:
        """The key, ``None`` when it is not configured and its file does not exist."""
        return read_secret(self.configured, self.data_dir)

    def missing(self) -> str:
        """Why there is no key (when :meth:`existing` is ``None``)."""
        return f"SHIPTRACK_SECRET_KEY is unset and {self.file} does not exist"


def secret_key_problem(
    *,
    recorded: str | None,
    sealed_key_ids: Collection[str],
    secret: str | None,
    source: SecretKeySource,
) -> str | None:
    """Why the process may not use the database with ``secret`` (``None``: it may).

    ``recorded``: the fingerprint the database was first used with, if any; ``sealed_key_ids``:
    the key ids of the values it holds sealed (looked at only when no fingerprint is recorded);
    ``secret``: the process's key, ``None`` when it has none yet (one would be generated)."""
    if recorded is not None:
        if secret is None:
            return (
                f"no secret key: this database was first used with the key of fingerprint "
                f"{recorded}, but {source.missing()}; set SHIPTRACK_SECRET_KEY to that key "
                f"({_WHERE})"
            )
        if fingerprint(secret) != recorded:
            return (
                f"wrong secret key: this database was first used with the key of fingerprint "
                f"{recorded}, and {source.name} has fingerprint {fingerprint(secret)}; set "
                f"SHIPTRACK_SECRET_KEY to the key the database was first used with ({_WHERE})"
            )
        return None
    if not sealed_key_ids:
        return None
    sealed_with = ", ".join(sorted(sealed_key_ids))
    if secret is None:
        return (
            f"no secret key: the credentials stored in this database were sealed with key id "
            f"{sealed_with}, but {source.missing()}; set SHIPTRACK_SECRET_KEY to the key they were "
            f"sealed with ({_WHERE})"
        )
    key_id = Sealer(secret).key_id
    if key_id not in sealed_key_ids:
        return (
            f"wrong secret key: the credentials stored in this database were sealed with key id "
            f"{sealed_with}, and {source.name} is key id {key_id}; set SHIPTRACK_SECRET_KEY to "
            f"the key they were sealed with ({_WHERE})"
        )
    return None


async def verified_sealer(store: Store, source: SecretKeySource) -> Sealer:
    """The sealer of the process's secret key, once the key is known to be the database's.

    On first use the key (generated into its file now if there is none) is recorded; of two
    processes doing so at once, the first wins and the other compares with it. Raises
    :class:`ConfigurationError` when the key is not the database's; nothing is written then."""
    async with store.read() as tx:
        recorded = await tx.installation.secret_key_fingerprint()
        sealed_key_ids = set() if recorded else await tx.installation.sealed_key_ids()
    secret = source.existing()
    problem = secret_key_problem(
        recorded=recorded, sealed_key_ids=sealed_key_ids, secret=secret, source=source
    )
    if problem:
        raise ConfigurationError(problem)
    if secret is None:
        secret = load_secret(source.configured, source.data_dir)
    if recorded is None:
        async with store.write() as tx:
            recorded = await tx.installation.record_secret_key_fingerprint(
                fingerprint(secret), now=utcnow()
            )
        problem = secret_key_problem(
            recorded=recorded, sealed_key_ids=(), secret=secret, source=source
        )
        if problem:  # another process recorded its key first
            raise ConfigurationError(problem)
    return Sealer(secret)
