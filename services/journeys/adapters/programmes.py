"""The programmes' table on DynamoDB: product serials and owners, referral codes, redemptions, rate windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Key

from services.common.clock import iso
from services.common.dynamo import from_dynamo, put_if_absent, query_all, succeeded, to_dynamo

# Keys (pk / sk):
# - `SERIAL#<serial>` / `SERIAL`: model, category; once registered `ownerEmail` (a digest), `ownerDevices`
#   (digests), `registeredAt`, `referralCode`, later `ownerProfileId`; `registrations` counts claims (kept on erasure);
# - `OWNER#<email digest>` / `OWNER`: the owner's one referral `code`, their `serials`, `profiles`;
#   `PROFILE#<profileId>` / `OWNER`: which owner a profile is (erasure);
# - `CODES` / `<code>`: every referral code in one partition (the admin list is one Query): owner digests and
#   profiles, `issuedAt`, `expiresOn`, `cap`, `redeemed`, `refused`, `retired`;
# - `CODE#<code>` / `ORDER#<orderId>`: one record per order that carried the code, redeemed or refused (its reason);
# - `FRIEND#<identity digest>` / `DISCOUNT`: this friend had a referral discount (code, order);
# - `RATE#<key digest>` / `<window start>`: attempts in a fixed window (TTL `expiresAt`).

CODES = "CODES"
OWNER = "OWNER"
SERIAL = "SERIAL"
DISCOUNT = "DISCOUNT"


class DynamoProgrammes:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client

    # ---- rate windows ---------------------------------------------------------------------------------------------

    def take_rate_slot(self, key: str, window_start: int, limit: int, expires_at: int) -> bool:
        return succeeded(
            lambda: self._table.update_item(
                Key={"pk": f"RATE#{key}", "sk": str(window_start)},
                UpdateExpression="ADD n :one SET expiresAt = :ttl",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":ttl": expires_at},
            )
        )

    # ---- the registry ---------------------------------------------------------------------------------------------

    def save_product(self, serial: str, model: str, category: str, now: dt.datetime) -> None:
        # an update, not a put: re-importing a registered serial keeps its owner
        self._table.update_item(
            Key={"pk": f"SERIAL#{serial}", "sk": SERIAL},
            UpdateExpression="SET serial = :s, model = :m, category = :c, updatedAt = :at",
            ExpressionAttributeValues={":s": serial, ":m": model, ":c": category, ":at": iso(now)},
        )

    def serial(self, serial: str, consistent: bool = False) -> dict[str, Any] | None:
        return self._get(f"SERIAL#{serial}", SERIAL, consistent)

    def claim_serial(self, serial: str, owner: str, claim: Mapping[str, Any]) -> bool:
        """Own an unowned serial (or re-confirm one's own): exactly one owner under concurrent claims."""
        names = {f"#f{i}": name for i, name in enumerate(claim)}
        values = {f":f{i}": to_dynamo(value) for i, value in enumerate(claim.values())}
        sets = ", ".join(f"#f{i} = if_not_exists(#f{i}, :f{i})" for i in range(len(claim)))
        return succeeded(
            lambda: self._table.update_item(
                Key={"pk": f"SERIAL#{serial}", "sk": SERIAL},
                UpdateExpression=f"SET ownerEmail = :o, {sets} ADD registrations :one",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(ownerEmail) OR ownerEmail = :o)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":o": owner, ":one": 1, **values},
            )
        )

    def set_serial(self, serial: str, sets: Mapping[str, Any]) -> None:
        names = {f"#f{i}": name for i, name in enumerate(sets)}
        values = {f":f{i}": to_dynamo(value) for i, value in enumerate(sets.values())}
        self._table.update_item(
            Key={"pk": f"SERIAL#{serial}", "sk": SERIAL},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(sets))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def owner(self, owner: str) -> dict[str, Any] | None:
        return self._get(f"OWNER#{owner}", OWNER, True)

    def bind_owner_code(self, owner: str, code: str, serial: str, now: dt.datetime) -> bool:
        """Give the owner this code unless they have one (False); the serial is added to theirs either way."""
        key = {"pk": f"OWNER#{owner}", "sk": OWNER}
        bound = succeeded(
            lambda: self._table.update_item(
                Key=key,
                UpdateExpression="SET code = :c, issuedAt = :at",
                ConditionExpression="attribute_not_exists(code)",
                ExpressionAttributeValues={":c": code, ":at": iso(now)},
            )
        )
        self._table.update_item(Key=key, UpdateExpression="ADD serials :s", ExpressionAttributeValues={":s": {serial}})
        return bound

    def point_profile(self, profile_id: str, owner: str) -> None:
        self._table.put_item(Item={"pk": f"PROFILE#{profile_id}", "sk": OWNER, "owner": owner})
        succeeded(
            lambda: self._table.update_item(
                Key={"pk": f"OWNER#{owner}", "sk": OWNER},
                UpdateExpression="ADD profiles :p",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":p": {profile_id}},
            )
        )

    def owner_of_profile(self, profile_id: str) -> str | None:
        found = self._get(f"PROFILE#{profile_id}", OWNER, True)
        return str(found["owner"]) if found else None

    def erase_owner(self, owner: str, profile_ids: Iterable[str], now: dt.datetime) -> int:
        """Clear what names the owner: their serials become registrable again, their code is retired (counts
        kept), the owner record and profile pointers go. Returns how many items changed."""
        changed = 0
        found = self.owner(owner)
        for serial in sorted((found or {}).get("serials") or ()):
            changed += succeeded(
                lambda serial=serial: self._table.update_item(  # type: ignore[misc]
                    Key={"pk": f"SERIAL#{serial}", "sk": SERIAL},
                    UpdateExpression="REMOVE ownerEmail, ownerDevices, ownerProfileId, registeredAt, referralCode "
                    "SET erasedAt = :at",
                    ConditionExpression="ownerEmail = :o",
                    ExpressionAttributeValues={":o": owner, ":at": iso(now)},
                )
            )
        if found and found.get("code"):
            self._table.update_item(
                Key={"pk": CODES, "sk": found["code"]},
                UpdateExpression="REMOVE ownerEmail, ownerDevices, ownerProfiles SET retired = :t, erasedAt = :at",
                ExpressionAttributeValues={":t": True, ":at": iso(now)},
            )
            changed += 1
        for profile_id in {*profile_ids, *((found or {}).get("profiles") or ())}:
            self._table.delete_item(Key={"pk": f"PROFILE#{profile_id}", "sk": OWNER})
        if found:
            self._table.delete_item(Key={"pk": f"OWNER#{owner}", "sk": OWNER})
            changed += 1
        return changed

    # ---- referral codes -------------------------------------------------------------------------------------------

    def issue_code(self, record: Mapping[str, Any]) -> bool:
        return put_if_absent(self._table, to_dynamo({"pk": CODES, "sk": record["code"], **record}))

    def drop_code(self, code: str) -> None:
        self._table.delete_item(Key={"pk": CODES, "sk": code})

    def code(self, code: str, consistent: bool = False) -> dict[str, Any] | None:
        return self._get(CODES, code, consistent)

    def add_code_owner(self, code: str, devices: Iterable[str] = (), profile_id: str | None = None) -> None:
        adds, values = [], {}
        if devices := set(devices):
            adds.append("ownerDevices :d")
            values[":d"] = devices
        if profile_id:
            adds.append("ownerProfiles :p")
            values[":p"] = {profile_id}
        if adds:
            succeeded(
                lambda: self._table.update_item(
                    Key={"pk": CODES, "sk": code},
                    UpdateExpression="ADD " + ", ".join(adds),
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(retired)",
                    ExpressionAttributeValues=values,
                )
            )

    def change_code(self, code: str, sets: Mapping[str, Any]) -> bool:
        if not sets:
            return self.code(code) is not None
        names = {f"#f{i}": name for i, name in enumerate(sets)}
        values = {f":v{i}": value for i, value in enumerate(sets.values())}
        try:
            self._table.update_item(
                Key={"pk": CODES, "sk": code},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets))),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_dynamo(values),
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def codes(self, limit: int) -> list[dict[str, Any]]:
        page = self._table.query(KeyConditionExpression=Key("pk").eq(CODES), Limit=limit)
        return [_clean(item) for item in page.get("Items", [])]

    def friend_used(self, markers: Iterable[str]) -> bool:
        keys = [{"pk": f"FRIEND#{m}", "sk": DISCOUNT} for m in dict.fromkeys(markers)]
        if not keys:
            return False
        found = self._client.batch_get_item(
            RequestItems={self._table.name: {"Keys": keys, "ProjectionExpression": "pk", "ConsistentRead": True}}
        )
        return bool(found.get("Responses", {}).get(self._table.name))

    def order(self, code: str, order_key: str) -> dict[str, Any] | None:
        return self._get(f"CODE#{code}", f"ORDER#{order_key}", True)

    def orders(self, code: str) -> list[dict[str, Any]]:
        return [_clean(i) for i in query_all(self._table, KeyConditionExpression=Key("pk").eq(f"CODE#{code}"))]

    def redeem(self, code: str, order_key: str, record: Mapping[str, Any], markers: Iterable[str], cap: int) -> bool:
        """One transaction: the order's record, a marker per friend identity, the count under the cap."""
        item = to_dynamo({"pk": f"CODE#{code}", "sk": f"ORDER#{order_key}", **record})
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for marker in dict.fromkeys(markers):
            friend = {"pk": f"FRIEND#{marker}", "sk": DISCOUNT, "code": code, "order": order_key}
            writes.append(
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": friend,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        writes.append(
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": CODES, "sk": code},
                    "UpdateExpression": "ADD redeemed :one",
                    "ConditionExpression": "attribute_exists(pk) AND "
                    "(attribute_not_exists(redeemed) OR redeemed < :cap)",
                    "ExpressionAttributeValues": {":one": 1, ":cap": cap},
                }
            }
        )
        return succeeded(lambda: self._client.transact_write_items(TransactItems=writes))

    def refuse(self, code: str, order_key: str, record: Mapping[str, Any]) -> bool:
        if not put_if_absent(self._table, to_dynamo({"pk": f"CODE#{code}", "sk": f"ORDER#{order_key}", **record})):
            return False
        succeeded(
            lambda: self._table.update_item(
                Key={"pk": CODES, "sk": code},
                UpdateExpression="ADD refused :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": 1},
            )
        )
        return True

    def forget_friend(self, markers: Iterable[str]) -> int:
        """Erasure of a friend: their markers go, and the orders they name lose the friend's profile id."""
        forgotten = 0
        for marker in dict.fromkeys(markers):
            gone = self._table.delete_item(Key={"pk": f"FRIEND#{marker}", "sk": DISCOUNT}, ReturnValues="ALL_OLD")
            old = gone.get("Attributes")
            if not old:
                continue
            forgotten += 1
            succeeded(
                lambda old=old: self._table.update_item(  # type: ignore[misc]
                    Key={"pk": f"CODE#{old['code']}", "sk": f"ORDER#{old['order']}"},
                    UpdateExpression="REMOVE friendProfileId",
                    ConditionExpression="attribute_exists(pk)",
                )
            )
        return forgotten

    def _get(self, pk: str, sk: str, consistent: bool) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=consistent).get("Item")
        return _clean(item) if item else None


def _clean(item: Mapping[str, Any]) -> dict[str, Any]:
    out = from_dynamo({k: v for k, v in item.items() if k not in ("pk", "sk")})
    return dict(out)
