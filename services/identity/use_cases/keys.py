"""API keys: list them (never the key), create one (shown once), revoke one (not the last admin key)."""

from __future__ import annotations

from typing import Any, Protocol

from services.common.access import KeeperRevoked, Role, key_hash
from services.identity.domain.keys import keeper, last_admin_key


class KeyStore(Protocol):
    """The platform's key store (`services.common.access.AccessKeys`)."""

    def key_descriptions(self) -> list[dict[str, Any]]: ...
    def create(self, role: Role, source_id: str, name: str, key: str | None = None) -> str: ...
    def revoke(self, key_id: str, keeping: str | None = None) -> dict[str, Any] | None: ...
    def sources(self) -> dict[str, dict[str, Any]]: ...


class KeyNotFound(LookupError):
    """No key has this id."""


class LastAdminKey(RuntimeError):
    """Revoking this key would leave no active admin key."""


def list_keys(store: KeyStore) -> list[dict[str, Any]]:
    return store.key_descriptions()


def create_key(store: KeyStore, role: Role, source_id: str, name: str) -> dict[str, Any]:
    """A new key, described, with the key itself: the only time it is shown (only its SHA-256 is kept)."""
    key = store.create(role, source_id, name)
    key_id = key_hash(key)[:12]
    described = next((k for k in store.key_descriptions() if k["keyId"] == key_id), None)
    if described is None:  # the scan is consistent: the key just written is there
        raise KeyNotFound(key_id)
    return {**described, "key": key}


def revoke_key(store: KeyStore, key_id: str) -> dict[str, Any]:
    """Revoke a key: lookups refuse it at once in this function, and in every other within its cache minute.
    The last active admin key is refused (nobody could administer the platform, nor make a new admin key, any
    more), also when two admins revoke the last two at the same moment: an admin key's revocation requires
    another admin key (`keeper`) to be active in the same transaction."""
    keys = store.key_descriptions()
    if not any(k["keyId"] == key_id for k in keys):
        raise KeyNotFound(key_id)
    if last_admin_key(keys, key_id):
        raise LastAdminKey(f"{key_id} is the last active admin key: make another admin key before revoking it")
    try:
        revoked = store.revoke(key_id, keeping=keeper(keys, key_id))
    except KeeperRevoked:
        raise LastAdminKey(
            f"another admin key was revoked at the same moment: {key_id} may be the last active one; read the keys"
            " and try again"
        ) from None
    if revoked is None:
        raise KeyNotFound(key_id)
    return revoked


def sources(store: KeyStore) -> list[dict[str, Any]]:
    return list(store.sources().values())
