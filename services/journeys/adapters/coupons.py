"""Coupon pools in the programmes table (DynamoDB), and their in-memory twin for tests.

Items, all under the pool's partition `POOL#<poolId>`:
- `POOL`: name, lowWatermark, `total` (codes stored), `next` (codes handed out, the atomic counter), `claimed`,
  and an import lease (`importLock`, `lockUntil`) while codes are being appended;
- `CODE#<index, 9 digits>`: the code, and once claimed `claimedBy`, `journeyId`, `claimedAt`;
- `VALUE#<code>`: the code's index, so a code is never stored twice in a pool;
- `CLAIM#<journeyId>#<profileId>`: the code a profile got in a journey (one per profile and journey).
`POOLS` / `<poolId>` lists the pools; `POOLCLAIMS#<profileId>` / `<poolId>#<journeyId>` a person's claims (erasure).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import from_dynamo, is_condition_failure, query_all, succeeded
from services.journeys.domain.coupons import PoolBusy, PoolNotFound
from services.journeys.ports import CouponPools

POOLS = "POOLS"
META = "POOL"
LEASE_SECONDS = 300  # an import that died holding the lease frees it after this
_NAMES = {"#n": "name", "#total": "total", "#next": "next"}


def _pk(pool_id: str) -> str:
    return f"POOL#{pool_id}"


def _code_sk(index: int) -> str:
    return f"CODE#{index:09d}"


def _profile_pk(profile_id: str) -> str:
    """A person's claims, listed for erasure."""
    return f"POOLCLAIMS#{profile_id}"


def _claim_sk(journey_id: str, profile_id: str) -> str:
    return f"CLAIM#{journey_id}#{profile_id}"


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DynamoCouponPools:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self.name = table.name

    # ---- pools ----
    def save_pool(self, pool_id: str, name: str, low_watermark: int, now: dt.datetime) -> dict[str, Any]:
        saved = self._table.update_item(
            Key={"pk": _pk(pool_id), "sk": META},
            UpdateExpression="SET poolId = :id, #n = :n, lowWatermark = :w, updatedAt = :t, "
            "createdAt = if_not_exists(createdAt, :t), #total = if_not_exists(#total, :z), "
            "#next = if_not_exists(#next, :z), claimed = if_not_exists(claimed, :z)",
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={":id": pool_id, ":n": name, ":w": low_watermark, ":t": iso(now), ":z": 0},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        self._table.put_item(Item={"pk": POOLS, "sk": pool_id, "poolId": pool_id})
        return _clean(saved)

    def pool(self, pool_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": _pk(pool_id), "sk": META}, ConsistentRead=True).get("Item")
        return _clean(item) if item else None

    def pools(self) -> list[dict[str, Any]]:
        ids = [i["poolId"] for i in query_all(self._table, KeyConditionExpression=Key("pk").eq(POOLS))]
        keys = [{"pk": _pk(pool_id), "sk": META} for pool_id in ids]
        found = {i["poolId"]: _clean(i) for i in self._batch_get(keys)}
        return [found[pool_id] for pool_id in ids if pool_id in found]

    # ---- codes ----
    def add_codes(self, pool_id: str, codes: list[str], now: dt.datetime) -> tuple[list[str], list[str]]:
        """Append codes not yet in the pool (returns added, already there). One import at a time per pool (a
        lease on the pool item), so indexes are contiguous and `total` only moves once every code is written."""
        token = uuid.uuid4().hex
        try:
            leased = self._table.update_item(
                Key={"pk": _pk(pool_id), "sk": META},
                UpdateExpression="SET importLock = :k, lockUntil = :until",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(importLock) OR lockUntil < :now)",
                ExpressionAttributeValues={
                    ":k": token,
                    ":until": iso(now + dt.timedelta(seconds=LEASE_SECONDS)),
                    ":now": iso(now),
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            if self.pool(pool_id) is None:
                raise PoolNotFound(pool_id) from None
            raise PoolBusy(pool_id) from None
        base = int(leased.get("total", 0))
        try:
            # a marker at an index ≥ total is left by an import that died before it counted its codes: not a code
            present = {
                i["code"]
                for i in self._batch_get([{"pk": _pk(pool_id), "sk": f"VALUE#{c}"} for c in codes])
                if int(i["index"]) < base
            }
            added = [c for c in codes if c not in present]
            with self._table.batch_writer() as batch:
                for offset, code in enumerate(added):
                    index = base + offset
                    batch.put_item(Item={"pk": _pk(pool_id), "sk": _code_sk(index), "code": code, "index": index})
                    batch.put_item(Item={"pk": _pk(pool_id), "sk": f"VALUE#{code}", "code": code, "index": index})
        except BaseException:
            self._release(pool_id, token, 0, now)  # what was written stays invisible, above `total`
            raise
        self._release(pool_id, token, len(added), now)
        return added, [c for c in codes if c in present]

    def _release(self, pool_id: str, token: str, added: int, now: dt.datetime) -> None:
        self._table.update_item(
            Key={"pk": _pk(pool_id), "sk": META},
            UpdateExpression="SET #total = #total + :n, updatedAt = :t REMOVE importLock, lockUntil",
            ConditionExpression="importLock = :k",
            ExpressionAttributeNames={"#total": "total"},
            ExpressionAttributeValues={":n": added, ":t": iso(now), ":k": token},
        )

    # ---- claims ----
    def claim_of(self, pool_id: str, journey_id: str, profile_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"pk": _pk(pool_id), "sk": _claim_sk(journey_id, profile_id)}, ConsistentRead=True
        ).get("Item")
        return _clean(item) if item else None

    def allocate(self, pool_id: str) -> dict[str, Any] | None:
        """Take the next code's index (ADD next 1 while next < total): the pool after it, with `index` and
        `code`; None when every code is handed out."""
        try:
            after = self._table.update_item(
                Key={"pk": _pk(pool_id), "sk": META},
                UpdateExpression="ADD #next :one",
                ConditionExpression="attribute_exists(pk) AND #next < #total",
                ExpressionAttributeNames={"#next": "next", "#total": "total"},
                ExpressionAttributeValues={":one": 1},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            if self.pool(pool_id) is None:
                raise PoolNotFound(pool_id) from None
            return None
        pool = _clean(after)
        index = int(pool["next"]) - 1
        code = self._table.get_item(Key={"pk": _pk(pool_id), "sk": _code_sk(index)}, ConsistentRead=True)["Item"]
        return {**pool, "index": index, "code": code["code"]}

    def record_claim(
        self, pool_id: str, journey_id: str, profile_id: str, index: int, code: str, now: dt.datetime
    ) -> bool:
        """The claim marker (if none yet) and the code marked claimed, in one transaction; False when another try
        of this claim got there first."""
        pk = _pk(pool_id)
        return succeeded(
            lambda: self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": {
                                "pk": pk,
                                "sk": _claim_sk(journey_id, profile_id),
                                "poolId": pool_id,
                                "journeyId": journey_id,
                                "profileId": profile_id,
                                "index": index,
                                "code": code,
                                "claimedAt": iso(now),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": {"pk": pk, "sk": _code_sk(index)},
                            "UpdateExpression": "SET claimedBy = :p, journeyId = :j, claimedAt = :t",
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(claimedBy)",
                            "ExpressionAttributeValues": {":p": profile_id, ":j": journey_id, ":t": iso(now)},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": {"pk": pk, "sk": META},
                            "UpdateExpression": "ADD claimed :one",
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": {
                                "pk": _profile_pk(profile_id),
                                "sk": f"{pool_id}#{journey_id}",
                                "poolId": pool_id,
                                "journeyId": journey_id,
                                "index": index,
                            },
                        }
                    },
                ]
            )
        )

    def claims(self, profile_id: str) -> list[dict[str, Any]]:
        out = []
        for marker in query_all(self._table, KeyConditionExpression=Key("pk").eq(_profile_pk(profile_id))):
            claim = self.claim_of(marker["poolId"], marker["journeyId"], profile_id) or {}
            out.append(
                {
                    "poolId": marker["poolId"],
                    "journeyId": marker["journeyId"],
                    "code": claim.get("code"),
                    "claimedAt": claim.get("claimedAt"),
                }
            )
        return out

    def erase_profile(self, profile_id: str) -> int:
        """Erasure: the person's claims go (the marker, the code's owner); each code stays handed out, never
        given again. Returns how many claims were erased."""
        claims = query_all(self._table, KeyConditionExpression=Key("pk").eq(_profile_pk(profile_id)))
        for claim in claims:
            pool_id, journey_id, index = claim["poolId"], claim["journeyId"], int(claim["index"])
            self._table.delete_item(Key={"pk": _pk(pool_id), "sk": _claim_sk(journey_id, profile_id)})
            self._table.update_item(
                Key={"pk": _pk(pool_id), "sk": _code_sk(index)},
                UpdateExpression="SET erased = :yes REMOVE claimedBy",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":yes": True},
            )
            self._table.delete_item(Key={"pk": claim["pk"], "sk": claim["sk"]})
        return len(claims)

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in _chunks(list({(k["pk"], k["sk"]): k for k in keys}.values()), 100):
            request: dict[str, Any] = {self.name: {"Keys": chunk, "ConsistentRead": True}}
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                out += answer.get("Responses", {}).get(self.name, [])
                request = answer.get("UnprocessedKeys") or {}
        return out


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(dict(item)).items() if k not in ("pk", "sk", "expiresAt")}


class MemoryCouponPools:
    """The same pools in memory, with the same steps (a lock stands for DynamoDB's conditions)."""

    def __init__(self) -> None:
        self.name = "memory"
        self._lock = threading.RLock()
        self._pools: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, list[dict[str, Any]]] = {}
        self._claims: dict[tuple[str, str, str], dict[str, Any]] = {}

    def save_pool(self, pool_id: str, name: str, low_watermark: int, now: dt.datetime) -> dict[str, Any]:
        with self._lock:
            pool = self._pools.setdefault(
                pool_id, {"poolId": pool_id, "total": 0, "next": 0, "claimed": 0, "createdAt": iso(now)}
            )
            pool.update({"name": name, "lowWatermark": low_watermark, "updatedAt": iso(now)})
            self._codes.setdefault(pool_id, [])
            return dict(pool)

    def pool(self, pool_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._pools.get(pool_id)
            return dict(found) if found else None

    def pools(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(self._pools[k]) for k in sorted(self._pools)]

    def add_codes(self, pool_id: str, codes: list[str], now: dt.datetime) -> tuple[list[str], list[str]]:
        with self._lock:
            if pool_id not in self._pools:
                raise PoolNotFound(pool_id)
            present = {c["code"] for c in self._codes[pool_id]}
            added = [c for c in codes if c not in present]
            base = len(self._codes[pool_id])
            self._codes[pool_id] += [{"code": c, "index": base + i} for i, c in enumerate(added)]
            self._pools[pool_id]["total"] = base + len(added)
            return added, [c for c in codes if c in present]

    def claim_of(self, pool_id: str, journey_id: str, profile_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._claims.get((pool_id, journey_id, profile_id))
            return dict(found) if found else None

    def allocate(self, pool_id: str) -> dict[str, Any] | None:
        with self._lock:
            pool = self._pools.get(pool_id)
            if pool is None:
                raise PoolNotFound(pool_id)
            if pool["next"] >= pool["total"]:
                return None
            pool["next"] += 1
            index = pool["next"] - 1
            return {**pool, "index": index, "code": self._codes[pool_id][index]["code"]}

    def record_claim(
        self, pool_id: str, journey_id: str, profile_id: str, index: int, code: str, now: dt.datetime
    ) -> bool:
        with self._lock:
            key = (pool_id, journey_id, profile_id)
            stored = self._codes[pool_id][index]
            if key in self._claims or "claimedBy" in stored or stored.get("erased"):
                return False
            self._claims[key] = {
                "poolId": pool_id,
                "journeyId": journey_id,
                "profileId": profile_id,
                "index": index,
                "code": code,
                "claimedAt": iso(now),
            }
            stored.update({"claimedBy": profile_id, "journeyId": journey_id, "claimedAt": iso(now)})
            self._pools[pool_id]["claimed"] += 1
            return True

    def claims(self, profile_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {k: c.get(k) for k in ("poolId", "journeyId", "code", "claimedAt")}
                for key, c in sorted(self._claims.items())
                if key[2] == profile_id
            ]

    def erase_profile(self, profile_id: str) -> int:
        with self._lock:
            mine = [key for key in self._claims if key[2] == profile_id]
            for key in mine:
                claim = self._claims.pop(key)
                stored = self._codes[key[0]][int(claim["index"])]
                stored.pop("claimedBy", None)
                stored["erased"] = True
            return len(mine)

    def claimed_codes(self, pool_id: str) -> list[str]:
        """Every code handed out (tests)."""
        with self._lock:
            return [c["code"] for c in self._codes[pool_id] if "claimedBy" in c]


def _implements_the_port(dynamo: DynamoCouponPools, memory: MemoryCouponPools) -> tuple[CouponPools, CouponPools]:
    """mypy checks here that both adapters implement the port."""
    return dynamo, memory
