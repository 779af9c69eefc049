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
