"""Journey definitions, trigger index, entries and send records in the journeys service's table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import expires_at, from_dynamo, is_condition_failure, to_dynamo
from services.common.erasure import tombstone_item, tombstone_key

SEND_RECORD_DAYS = 400


class DynamoJourneys:
    def __init__(self, table: Any) -> None:
        self._table = table

    def save_journey(self, journey_id: str, definition: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {
            "pk": "JOURNEY",
            "sk": journey_id,
            "journeyId": journey_id,
            "version": 1,
            "status": "active",
            "createdAt": iso(now),
            **to_dynamo(definition),
        }
        trigger = {
            "pk": f"TRIGGER#segment#{definition['trigger']['segmentEntered']}",
            "sk": journey_id,
            "journeyId": journey_id,
        }
        with self._table.batch_writer() as batch:
            batch.put_item(Item=item)
            batch.put_item(Item=trigger)
        return _clean(item)

    def journey(self, journey_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": "JOURNEY", "sk": journey_id}).get("Item")
        return _clean(item) if item else None

    def journeys(self) -> list[dict[str, Any]]:
        return [_clean(i) for i in self._table.query(KeyConditionExpression=Key("pk").eq("JOURNEY")).get("Items", [])]

    def triggered_by_segment(self, segment_id: str) -> list[dict[str, Any]]:
        refs = self._table.query(KeyConditionExpression=Key("pk").eq(f"TRIGGER#segment#{segment_id}")).get("Items", [])
        found = [self.journey(r["journeyId"]) for r in refs]
        return [j for j in found if j and j.get("status") == "active"]

    # ---- per-profile records: entries and sends live under PROFILE#<id>, so export and erasure are one query ----
    def record_entry(self, profile_id: str, journey_id: str, execution_arn: str, now: dt.datetime) -> None:
        self._table.put_item(
            Item={
                "pk": f"PROFILE#{profile_id}",
                "sk": f"ENTRY#{journey_id}",
                "journeyId": journey_id,
                "execution": execution_arn,
                "enteredAt": iso(now),
            }
        )

    def claim_send(self, profile_id: str, dedupe_key: str, now: dt.datetime) -> dict[str, Any] | None:
        """Reserve a send; returns the earlier record when this send was already made (a retry)."""
        key = {"pk": f"PROFILE#{profile_id}", "sk": f"SEND#{dedupe_key}"}
        try:
            self._table.put_item(
                Item={
                    **key,
                    "status": "sending",
                    "claimedAt": iso(now),
                    "expiresAt": expires_at(now, SEND_RECORD_DAYS),
                },
                ConditionExpression="attribute_not_exists(pk) OR #s = :failed",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":failed": "failed"},
            )
        except ClientError as error:
            if is_condition_failure(error):
                item = self._table.get_item(Key=key).get("Item")
                return _clean(item) if item else {"status": "sending"}
            raise
        return None

    def finish_send(self, profile_id: str, dedupe_key: str, status: str, detail: dict[str, Any]) -> None:
        self._table.update_item(
            Key={"pk": f"PROFILE#{profile_id}", "sk": f"SEND#{dedupe_key}"},
            UpdateExpression="SET #s = :s, detail = :d",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status, ":d": to_dynamo(detail)},
        )

    def profile_records(self, profile_id: str) -> list[dict[str, Any]]:
        """Every entry and send of one profile (for export and erasure)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"PROFILE#{profile_id}")}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [{"kind": i["sk"].partition("#")[0].lower(), **_clean(i)} for i in items]

    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        self._table.put_item(Item=tombstone_item(profile_id, now))

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        item = self._table.get_item(Key=tombstone_key(profile_id), ConsistentRead=True).get("Item")
        return bool(item) and int(item["expiresAt"]) > now.timestamp()

    def erase_profile(self, profile_id: str) -> int:
        records = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"PROFILE#{profile_id}"), ProjectionExpression="pk, sk"
        ).get("Items", [])
        with self._table.batch_writer() as batch:
            for record in records:
                batch.delete_item(Key={"pk": record["pk"], "sk": record["sk"]})
        return len(records)


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}
