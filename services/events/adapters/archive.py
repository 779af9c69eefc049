"""The raw event archive's adapters: the key ring in DynamoDB, sealed batches in S3."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from services.common.dynamo import expires_at, is_condition_failure
from services.events.domain.archive import ArchiveKey, person_ref

# Key ring items (table `archive-keys`, partition key `pk`):
# - `P#<person ref>` → the profile's key id, or a tombstone (`erased`, expiring) once the profile is erased;
# - `K#<key id>` → the key itself. Erasure deletes it: that is the shredding.
# Neither names the profile in the clear (`person_ref` is a one-way digest).

TOMBSTONE_DAYS = 30  # longer than any message can wait in a queue or DLQ (4 + 14 days)
CACHE_SIZE = 20_000  # keys kept per container: one GetItem per person per container, not per event


class DynamoKeyRing:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._cache: OrderedDict[str, ArchiveKey] = OrderedDict()

    def key_for(self, profile_id: str, now: dt.datetime) -> ArchiveKey | None:
        ref = person_ref(profile_id)
        cached = self._cache.get(ref)
        if cached is not None:
            self._cache.move_to_end(ref)
            return cached
        for _ in range(3):
            pointer = self._get(f"P#{ref}")
            if pointer is not None:
                if pointer.get("erased", {}).get("BOOL"):
                    return None
                key = self.key(pointer["keyId"]["S"])
                if key is None:  # shredded between the two reads: the tombstone is on its way
                    return None
                return self._remember(ref, key)
            fresh = ArchiveKey.new()
            # The key first, then the pointer: a crash in between leaves an unused key naming nobody.
            self._client.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"K#{fresh.key_id}"}, "secret": {"B": fresh.secret}, "at": {"S": now.isoformat()}},
            )
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={"pk": {"S": f"P#{ref}"}, "keyId": {"S": fresh.key_id}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
                # Another writer made the profile's key first, or an erasure left its tombstone: use theirs.
                self._client.delete_item(TableName=self._table, Key={"pk": {"S": f"K#{fresh.key_id}"}})
                continue
            return self._remember(ref, fresh)
        raise RuntimeError("the archive key ring kept changing under us")

    def key(self, key_id: str) -> ArchiveKey | None:
        item = self._get(f"K#{key_id}")
        if item is None:
            return None
        return ArchiveKey(key_id=key_id, secret=bytes(item["secret"]["B"]))

    def shred(self, profile_id: str, now: dt.datetime) -> bool:
        ref = person_ref(profile_id)
        self._cache.pop(ref, None)
        # The tombstone replaces the pointer in one write (whatever pointer was there, even one a writer made a
        # moment ago, comes back to us); from now on no writer makes this profile a new key.
        replaced = self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"P#{ref}"},
                "erased": {"BOOL": True},
                "expiresAt": {"N": str(expires_at(now, TOMBSTONE_DAYS))},
            },
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
        if "keyId" not in replaced:
            return False
        self._client.delete_item(TableName=self._table, Key={"pk": {"S": f"K#{replaced['keyId']['S']}"}})
        return True

    def _get(self, pk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True
        ).get("Item")
        return item

    def _remember(self, ref: str, key: ArchiveKey) -> ArchiveKey:
        self._cache[ref] = key
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return key


class S3Archive:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, name: str, body: bytes) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=name, Body=body, ContentType="application/x-ndjson", ContentEncoding="gzip"
        )

    def names(self, prefix: str) -> Iterator[str]:
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def get(self, name: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=self._bucket, Key=name)["Body"].read()
        return body
