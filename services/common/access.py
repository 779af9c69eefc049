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

Role = Literal["write", "server", "admin"]
ROLES: tuple[Role, ...] = ("write", "server", "admin")
_PREFIXES = {"write": "wk_", "server": "sk_", "admin": "ak_"}
_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Principal:
    role: Role
    source_id: str
    key_id: str

    def may(self, auth: Auth) -> bool:
        """A write key (public, in every page) sends events; a server key (a site's back-end) also makes
        verified identity claims and calls the server routes (referral validation); an admin key does everything."""
        if auth == "public":
            return True
        if auth == "write_key":
            return True
        if auth == "server":
            return self.role in ("server", "admin")
        return self.role == "admin"

    @property
    def trusted(self) -> bool:
        """Whether what this caller says about a visitor's identity is verified (a back-end or an admin)."""
        return self.role in ("server", "admin")


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
        self._secrets: dict[str, tuple[float, bytes | None]] = {}

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
        key = key or _PREFIXES[role] + secrets.token_urlsafe(24 if role == "write" else 32)
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

    def identity_secret(self, source_id: str) -> bytes | None:
        """The source's identity secret (verifies `userHash`), cached like keys; None when it has none."""
        cache_key = f"identity#{source_id}"
        hit = self._secrets.get(cache_key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        item = self._table.get_item(Key={"pk": f"SOURCE#{source_id}", "sk": "IDENTITY"}).get("Item")
        secret = str(item["secret"]).encode() if item and item.get("secret") else None
        self._secrets[cache_key] = (time.monotonic() + _CACHE_SECONDS, secret)
        return secret

    def create_identity_secret(self, source_id: str) -> str:
        """A new identity secret for the source (replacing any earlier one); shown once, kept for verification."""
        secret = "is_" + secrets.token_urlsafe(32)
        self._table.put_item(
            Item={
                "pk": f"SOURCE#{source_id}",
                "sk": "IDENTITY",
                "secret": secret,
                "sourceId": source_id,
                "createdAt": clock.iso(clock.now()),
            }
        )
        self._secrets.pop(f"identity#{source_id}", None)
        return secret
