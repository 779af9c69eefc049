"""Slots and the segment-membership read model in the content service's table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import from_dynamo, is_condition_failure, to_dynamo


class DynamoContent:
    def __init__(self, table: Any) -> None:
        self._table = table

    def save_slot(self, slot_id: str, definition: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {
            "pk": f"SLOT#{slot_id}",
            "sk": "SLOT",
            "slotId": slot_id,
            "updatedAt": iso(now),
            **to_dynamo(definition),
        }
        self._table.put_item(Item=item)
        return _clean(item)

    def slot(self, slot_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": f"SLOT#{slot_id}", "sk": "SLOT"}).get("Item")
        return _clean(item) if item else None

    def memberships(self, profile_id: str) -> set[str]:
        item = self._table.get_item(Key={"pk": f"PROFILE#{profile_id}", "sk": "SEGMENTS"}).get("Item") or {}
        return {
            name.removeprefix("seg:") for name, value in item.items() if name.startswith("seg:") and value.get("in")
        }

    def membership_record(self, profile_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": f"PROFILE#{profile_id}", "sk": "SEGMENTS"}).get("Item") or {}
        return {k.removeprefix("seg:"): v for k, v in from_dynamo(item).items() if k.startswith("seg:")}

    def erase_profile(self, profile_id: str) -> None:
        self._table.delete_item(Key={"pk": f"PROFILE#{profile_id}", "sk": "SEGMENTS"})

    def set_membership(self, profile_id: str, segment_id: str, member: bool, sequence: int, at: dt.datetime) -> bool:
        """Apply a transition unless a later one (by the profile's sequence) was applied: events may arrive out of
        order, and an exit and a re-entry can share one timestamp."""
        try:
            self._table.update_item(
                Key={"pk": f"PROFILE#{profile_id}", "sk": "SEGMENTS"},
                UpdateExpression="SET #seg = :v",
                ConditionExpression="attribute_not_exists(#seg) OR #seg.#seq < :seq",
                ExpressionAttributeNames={"#seg": f"seg:{segment_id}", "#seq": "seq"},
                ExpressionAttributeValues={":v": {"in": member, "seq": sequence, "at": iso(at)}, ":seq": sequence},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}
