"""API credentials: write keys (send events for one source) and admin keys (everything), stored hashed; each
source's identity secret and settings."""

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


@dataclass(frozen=True)
class SourceSettings:
    """What a source (a website, an app) lets the platform do with what its public pages only claim.

    - `mail_claimed_addresses`: journeys may email an address this source supplied on a claim alone (a form the
      site trusts, e.g. behind its own confirmation); default no: only confirmed addresses are mailed.
    - `double_opt_in`: email-marketing consent this source grants on a claim is pending until the person follows
      the confirmation link (default yes)."""

    mail_claimed_addresses: bool = False
    double_opt_in: bool = True

    def to_json(self) -> dict[str, bool]:
        return {"mailClaimedAddresses": self.mail_claimed_addresses, "doubleOptIn": self.double_opt_in}

    @classmethod
    def from_json(cls, raw: Any) -> SourceSettings:
        raw = raw if isinstance(raw, dict) else {}
        return cls(
            mail_claimed_addresses=bool(raw.get("mailClaimedAddresses", False)),
            double_opt_in=bool(raw.get("doubleOptIn", True)),
        )


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


class KeeperRevoked(RuntimeError):
    """A revocation required another key to stay active, and it no longer is (or was being revoked at once)."""


class AccessKeys:
    """Key store over the platform `access` table; lookups are cached per container for a minute."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._secrets: dict[str, tuple[float, bytes | None]] = {}
        self._sources: dict[str, tuple[float, SourceSettings]] = {}

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

    def source_settings(self, source_id: str) -> SourceSettings:
        """The source's settings (defaults when it has none), cached like keys."""
        hit = self._sources.get(source_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        item = self._table.get_item(Key={"pk": f"SOURCE#{source_id}", "sk": "SETTINGS"}).get("Item")
        found = SourceSettings.from_json(item)
        self._sources[source_id] = (time.monotonic() + _CACHE_SECONDS, found)
        return found

    def change_source_settings(
        self, source_id: str, *, mail_claimed_addresses: bool | None = None, double_opt_in: bool | None = None
    ) -> SourceSettings:
        """Set some of a source's settings (None keeps the current value); functions see it within a minute."""
        current = self._read_source_settings(source_id)
        chosen = SourceSettings(
            mail_claimed_addresses=current.mail_claimed_addresses
            if mail_claimed_addresses is None
            else mail_claimed_addresses,
            double_opt_in=current.double_opt_in if double_opt_in is None else double_opt_in,
        )
        self._table.put_item(
            Item={
                "pk": f"SOURCE#{source_id}",
                "sk": "SETTINGS",
                "sourceId": source_id,
                **chosen.to_json(),
                "changedAt": clock.iso(clock.now()),
            }
        )
        self._sources.pop(source_id, None)
        return chosen

    def _read_source_settings(self, source_id: str) -> SourceSettings:
        item = self._table.get_item(Key={"pk": f"SOURCE#{source_id}", "sk": "SETTINGS"}, ConsistentRead=True).get(
            "Item"
        )
        return SourceSettings.from_json(item)

    # ---- the keys admin API (GET/POST /v1/keys, DELETE /v1/keys/{keyId}) ----
    def key_descriptions(self) -> list[dict[str, Any]]:
        """Every key's description (`keyId`, `role`, `sourceId`, `name`, `createdAt`, `revokedAt`), never the key or
        its hash beyond the `keyId`: a scan of this small table, keys only."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :key",
            "ExpressionAttributeValues": {":key": "KEY"},
            "ConsistentRead": True,
        }
        while True:
            page = self._table.scan(**kwargs)
            found += [_described(item) for item in page.get("Items", [])]
            if not page.get("LastEvaluatedKey"):
                return sorted(found, key=lambda k: (k["createdAt"], k["keyId"]))
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def revoke(self, key_id: str, keeping: str | None = None) -> dict[str, Any] | None:
        """Mark the key revoked (once: its first `revokedAt` stays); None when no key has this id. This container
        refuses it at once; others within their cache minute (`_CACHE_SECONDS`). With `keeping`, only while that
        other key is still active, checked in the same transaction (KeeperRevoked when it is not)."""
        item = self._find_key(key_id)
        if item is None:
            return None
        if not item.get("revokedAt") and keeping is not None:
            item = self._revoke_keeping(item, keeping)
        elif not item.get("revokedAt"):
            try:
                item = self._table.update_item(
                    Key={"pk": item["pk"], "sk": "KEY"},
                    UpdateExpression="SET revokedAt = :at",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(revokedAt)",
                    ExpressionAttributeValues={":at": clock.iso(clock.now())},
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            except self._table.meta.client.exceptions.ConditionalCheckFailedException:
                item = self._table.get_item(Key={"pk": item["pk"], "sk": "KEY"}, ConsistentRead=True)["Item"]
        self._cache.pop(str(item["pk"]).removeprefix("KEY#"), None)
        return _described(item)

    def _revoke_keeping(self, item: dict[str, Any], keeping: str) -> dict[str, Any]:
        kept = self._find_key(keeping)
        if kept is None:
            raise KeeperRevoked(keeping)
        client = self._table.meta.client  # the resource's client: plain values, serialised for us
        table = self._table.name
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": item["pk"], "sk": "KEY"},
                            "UpdateExpression": "SET revokedAt = :at",
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revokedAt)",
                            "ExpressionAttributeValues": {":at": clock.iso(clock.now())},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"pk": kept["pk"], "sk": "KEY"},
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revokedAt)",
                        }
                    },
                ]
            )
        except client.exceptions.TransactionCanceledException as cancelled:
            reasons = [r.get("Code") for r in cancelled.response.get("CancellationReasons", [])]
            if reasons[:1] != ["ConditionalCheckFailed"] or reasons[1:2] == ["ConditionalCheckFailed"]:
                raise KeeperRevoked(keeping) from None  # the kept key went, or a revocation ran at the same time
        return dict(self._table.get_item(Key={"pk": item["pk"], "sk": "KEY"}, ConsistentRead=True)["Item"])

    def _find_key(self, key_id: str) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :key AND keyId = :id",
            "ExpressionAttributeValues": {":key": "KEY", ":id": key_id},
            "ConsistentRead": True,
        }
        while True:
            page = self._table.scan(**kwargs)
            if page.get("Items"):
                return dict(page["Items"][0])
            if not page.get("LastEvaluatedKey"):
                return None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def sources(self) -> dict[str, dict[str, Any]]:
        """Each source named by a key or holding settings or an identity secret: its settings and whether it has
        an identity secret (never the secret)."""
        found: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                source = found.setdefault(
                    str(item.get("sourceId", "")), {"settings": SourceSettings(), "identitySecret": False, "keys": 0}
                )
                if item["sk"] == "KEY" and not item.get("revokedAt"):
                    source["keys"] += 1
                elif item["sk"] == "SETTINGS":
                    source["settings"] = SourceSettings.from_json(item)
                elif item["sk"] == "IDENTITY":
                    source["identitySecret"] = bool(item.get("secret"))
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {
            source_id: {
                "sourceId": source_id,
                **found[source_id]["settings"].to_json(),
                "identitySecret": found[source_id]["identitySecret"],
                "activeKeys": found[source_id]["keys"],
            }
            for source_id in sorted(found)
            if source_id
        }


def _described(item: dict[str, Any]) -> dict[str, Any]:
    """What the keys API shows of a key: never the key, nor its hash beyond the 12-character `keyId`."""
    return {
        "keyId": str(item["keyId"]),
        "role": str(item["role"]),
        "sourceId": str(item["sourceId"]),
        "name": str(item.get("name", "")),
        "createdAt": str(item.get("createdAt", "")),
        "revokedAt": str(item["revokedAt"]) if item.get("revokedAt") else None,
    }


_SOURCE_STORES: dict[str, AccessKeys] = {}


def source_settings(source_id: str) -> SourceSettings:
    """A source's settings, for a function declared `reads_sources` (its ACCESS_TABLE), cached per container."""
    from services.common import settings
    from services.common.manifest import ACCESS_TABLE_ENV

    name = settings.setting(ACCESS_TABLE_ENV)
    store = _SOURCE_STORES.get(name)
    if store is None:
        store = _SOURCE_STORES[name] = AccessKeys(settings.table(ACCESS_TABLE_ENV))
    return store.source_settings(source_id)
