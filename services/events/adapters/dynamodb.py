"""The events service's DynamoDB table: messageIds seen per source (dedupe) and recent clicks per sent email."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from services.common.dynamo import is_condition_failure
from services.events.ports import LedgerUnavailable

PARALLEL_WRITES = 8  # conditional puts in flight at once for a batch (each is its own request: no batch form)
T = TypeVar("T")


def claim_key(source_id: str, message_id: str) -> str:
    """Hashed: dedupe needs equality only, and a claim then holds nothing that points at a person or their events
    (erasure has nothing to find here)."""
    return "MSG#" + hashlib.sha256(f"{source_id}\x1f{message_id}".encode()).hexdigest()


def _message_key(source_id: str, message_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": claim_key(source_id, message_id)}, "sk": {"S": "MSG"}}


class DynamoLedger:
    """One conditional PutItem per message (1 write unit): DynamoDB has no conditional batch write, and a
    transaction would cost 2 units per item. The condition treats an item past its `expiresAt` as absent, because
    TTL deletion lags by up to days."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._pool: ThreadPoolExecutor | None = None

    def claim(self, source_id: str, message_ids: Sequence[str], now: dt.datetime, until: dt.datetime) -> set[str]:
        expires = str(int(until.timestamp()))
        current = str(int(now.timestamp()))

        def put(message_id: str) -> bool | Exception:
            """True: claimed now; False: claimed before (a duplicate); an exception: unknown."""
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={**_message_key(source_id, message_id), "expiresAt": {"N": expires}},
                    ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                    ExpressionAttributeValues={":now": {"N": current}},
                )
            except ClientError as error:
                return False if is_condition_failure(error) else error
            return True

        outcomes = self._each(put, message_ids)
        failures = [o for o in outcomes if isinstance(o, Exception)]
        if failures:  # give back what this call claimed, so the client's retry is not taken for duplicates
            self.release(source_id, [m for m, o in zip(message_ids, outcomes, strict=True) if o is True])
            raise LedgerUnavailable(f"{len(failures)} claim(s) failed: {failures[0]}") from failures[0]
        return {m for m, claimed in zip(message_ids, outcomes, strict=True) if claimed is False}

    def release(self, source_id: str, message_ids: Sequence[str]) -> None:
        def delete(message_id: str) -> None:
            self._client.delete_item(TableName=self._table, Key=_message_key(source_id, message_id))

        list(self._each(delete, message_ids))

    def _each(self, call: Callable[[str], T], items: Sequence[str]) -> list[T]:
        if len(items) <= 1:
            return [call(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=PARALLEL_WRITES, thread_name_prefix="ledger")
        return list(self._pool.map(call, items))


class DynamoClickLog:
    """One item per sent email, one attribute per link (its last click, epoch ms): one UpdateItem per click,
    returning what was there before."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record(self, message_id: str, link: str, at: dt.datetime, until: dt.datetime) -> dict[str, dt.datetime]:
        response = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"CLICKS#{message_id}"}, "sk": {"S": "CLICKS"}},
            UpdateExpression="SET #link = :at, expiresAt = :until",
            ExpressionAttributeNames={"#link": f"link_{link}"},
            ExpressionAttributeValues={
                ":at": {"N": str(int(at.timestamp() * 1000))},
                ":until": {"N": str(int(until.timestamp()))},
            },
            ReturnValues="ALL_OLD",
        )
        return {
            name.removeprefix("link_"): dt.datetime.fromtimestamp(int(value["N"]) / 1000, dt.UTC)
            for name, value in response.get("Attributes", {}).items()
            if name.startswith("link_")
        }
