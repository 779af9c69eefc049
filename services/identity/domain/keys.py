"""Rules of the keys admin API: which revocation would lock every administrator out. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def active(key: Mapping[str, Any]) -> bool:
    return not key.get("revokedAt")


def last_admin_key(keys: Iterable[Mapping[str, Any]], key_id: str) -> bool:
    """Whether `key_id` is the only active admin key: revoking it would leave no one able to call the admin API
    (nor to make a new admin key through it)."""
    admins = [k["keyId"] for k in keys if k.get("role") == "admin" and active(k)]
    return admins == [key_id]


def keeper(keys: Iterable[Mapping[str, Any]], key_id: str) -> str | None:
    """The admin key that must still be active when `key_id` is revoked (checked in the same transaction): the
    newest other active admin key. None when `key_id` is not an active admin key (revoking it locks no one out).

    Two admins revoking the last two admin keys at once each require the other's key, so only one revocation
    succeeds; revocations of keys among three or more each require the newest other key, so some admin key always
    stays: whichever revocation commits last requires a key that is still active."""
    listed = list(keys)
    target = next((k for k in listed if k["keyId"] == key_id), None)
    if target is None or target.get("role") != "admin" or not active(target):
        return None
    others = [k for k in listed if k.get("role") == "admin" and active(k) and k["keyId"] != key_id]
    return max(others, key=lambda k: (str(k.get("createdAt", "")), k["keyId"]))["keyId"] if others else None
