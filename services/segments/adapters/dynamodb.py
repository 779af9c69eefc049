"""Segment definitions and per-profile rollups in the segments service's DynamoDB table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import from_dynamo, is_condition_failure, to_dynamo
from services.segments.domain.rules import BehaviourRule, Rollup, Segment

DUE_SHARD = "due"  # one partition of the sparse `due` index; shard by time bucket when it grows hot
SEEN_LIMIT = 50  # event ids remembered per profile for redelivery


class StaleRollup(RuntimeError):
    """Another writer updated the rollup first; the caller re-reads and re-applies."""


class DynamoSegments:
    def __init__(self, table: Any) -> None:
        self._table = table

    # ---- definitions ----
    def save_segment(self, segment_id: str, definition: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {
            "pk": "SEGMENT",
            "sk": segment_id,
            "segmentId": segment_id,
            "version": 1,
            "createdAt": iso(now),
            **to_dynamo(definition),
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        return _clean(item)

    def segment(self, segment_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": "SEGMENT", "sk": segment_id}).get("Item")
        return _clean(item) if item else None

    def segments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq("SEGMENT")}
        while True:
            page = self._table.query(**kwargs)
            items.extend(_clean(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def active_segments(self) -> list[Segment]:
        return [
            Segment(s["segmentId"], int(s["version"]), BehaviourRule.model_validate(s["rule"])) for s in self.segments()
        ]

    # ---- rollups ----
    def rollup(self, profile_id: str) -> tuple[Rollup, int, dict[str, list[dict[str, Any]]]]:
        item = self._table.get_item(Key={"pk": f"PROFILE#{profile_id}", "sk": "ROLLUP"}, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            return Rollup(), 0, {}
        item = from_dynamo(item)
        return Rollup.from_dict(item.get("state")), int(item["version"]), item.get("seen", {})

    def save_rollup(
        self,
        profile_id: str,
        rollup: Rollup,
        version: int,
        seen: dict[str, list[dict[str, Any]]],
        review_at: dt.datetime | None,
    ) -> None:
        """Write only if nobody else wrote since `version` was read (no lost updates)."""
        if len(seen) > SEEN_LIMIT:
            seen = dict(list(seen.items())[-SEEN_LIMIT:])
        item: dict[str, Any] = {
            "pk": f"PROFILE#{profile_id}",
            "sk": "ROLLUP",
            "profileId": profile_id,
            "state": to_dynamo(rollup.as_dict()),
            "version": version + 1,
            "seen": to_dynamo(seen),
        }
        if review_at is not None:
            item.update(dueShard=DUE_SHARD, dueAt=iso(review_at))
        condition = "attribute_not_exists(pk)" if version == 0 else "version = :v"
        kwargs: dict[str, Any] = {"Item": item, "ConditionExpression": condition}
        if version:
            kwargs["ExpressionAttributeValues"] = {":v": version}
        try:
            self._table.put_item(**kwargs)
        except ClientError as error:
            if is_condition_failure(error):
                raise StaleRollup(profile_id) from error
            raise

    def due_profiles(self, now: dt.datetime, limit: int = 500) -> list[str]:
        response = self._table.query(
            IndexName="due",
            Limit=limit,
            KeyConditionExpression=Key("dueShard").eq(DUE_SHARD) & Key("dueAt").lte(iso(now)),
        )
        return [item["profileId"] for item in response.get("Items", [])]


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}
