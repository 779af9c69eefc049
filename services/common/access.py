"""API credentials: write keys (send events for one source) and admin keys (everything), stored hashed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from services.common import clock
from services.common.manifest import Auth

Role = Literal["write", "admin"]
_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Principal:
    role: Role
    source_id: str
    key_id: str

    def may(self, auth: Auth) -> bool:
        if auth == "public":
            return True
        if auth == "write_key":
            return self.role in ("write", "admin")
        return self.role == "admin"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(headers: dict[str, str], body_write_key: str | None = None) -> str | None:
    """The key a caller presented: HTTP Basic user (Segment's convention), a Bearer token, or `writeKey`."""
    auth = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            user, _, _ = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return body_write_key or None


class AccessKeys:
    """Key store over the platform `access` table; lookups are cached per container for a minute."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def lookup(self, key: str) -> Principal | None:
        digest = key_hash(key)
        hit = self._cache.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        item = self._table.get_item(Key={"pk": f"KEY#{digest}", "sk": "KEY"}).get("Item")
        principal = None
        if item and not item.get("revokedAt"):
            principal = Principal(role=item["role"], source_id=item["sourceId"], key_id=item["keyId"])
        self._cache[digest] = (time.monotonic() + _CACHE_SECONDS, principal)
        return principal

    def create(self, role: Role, source_id: str, name: str, key: str | None = None) -> str:
        """Store a new key and return it; only its hash is kept, so it is shown once."""
        prefix = "wk_" if role == "write" else "ak_"
        key = key or prefix + secrets.token_urlsafe(24 if role == "write" else 32)
        digest = key_hash(key)
        self._table.put_item(
            Item={
                "pk": f"KEY#{digest}",
                "sk": "KEY",
                "role": role,
                "sourceId": source_id,
                "name": name,
                "keyId": digest[:12],
                "createdAt": clock.iso(clock.now()),
            }
        )
        return key
