"""Slots, the segment-membership read model and the exposures in the content service's table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common import clock
from services.common.clock import iso, parse_iso
from services.common.dynamo import expires_at, from_dynamo, is_condition_failure, query_all, to_dynamo
from services.common.erasure import tombstone_item, tombstone_key
from services.content.domain.exposures import RETENTION_DAYS, Audience, Exposure, Serve

# Per profile, one partition `PROFILE#<profileId>`: its memberships (`SEGMENTS`) and one exposure per slot it was
# served (`EXPOSURE#<slotId>`). A decision reads the whole partition in one Query (the size of a GetItem while it
# stays under 4 KB) and erasure deletes it.

SEGMENTS = "SEGMENTS"
EXPOSURE = "EXPOSURE#"


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

    def audience(self, profile_id: str, slot_id: str) -> Audience:
        """One read: the profile's memberships and its exposure to this slot."""
        segments: set[str] = set()
        exposure = None
        for item in self._profile_items(profile_id):
            if item["sk"] == SEGMENTS:
                segments = {
                    name.removeprefix("seg:")
                    for name, value in item.items()
                    if name.startswith("seg:") and value.get("in")
                }
            elif item["sk"] == f"{EXPOSURE}{slot_id}":
                exposure = _exposure(item)
        return Audience(segments, exposure)

    def record_exposure(self, profile_id: str, serve: Serve) -> None:
        """The count is added, never overwritten: decisions racing on one profile lose no hour."""
        values: dict[str, Any] = {
            ":profile": profile_id,
            ":slot": serve.slot_id,
            ":variant": serve.variant_id,
            ":at": iso(serve.at),
            ":expires": expires_at(serve.at, RETENTION_DAYS),
            ":hours": 1 if serve.new_hour else 0,
        }
        update = (
            "SET profileId = :profile, slotId = :slot, variantId = :variant, lastServedAt = :at, "
            "firstServedAt = if_not_exists(firstServedAt, :at), expiresAt = :expires"
        )
        if serve.segment_id is None:
            update += " REMOVE segmentId"
        else:
            update += ", segmentId = :segment"
            values[":segment"] = serve.segment_id
        self._table.update_item(
            Key={"pk": f"PROFILE#{profile_id}", "sk": f"{EXPOSURE}{serve.slot_id}"},
            UpdateExpression=f"{update} ADD servedHours :hours",
            ExpressionAttributeValues=values,
        )

    def exposures(self, profile_id: str) -> list[Exposure]:
        return [_exposure(item) for item in self._profile_items(profile_id) if item["sk"].startswith(EXPOSURE)]

    def membership_record(self, profile_id: str) -> dict[str, Any]:
        item = self._table.get_item(Key={"pk": f"PROFILE#{profile_id}", "sk": SEGMENTS}).get("Item") or {}
        return {k.removeprefix("seg:"): v for k, v in from_dynamo(item).items() if k.startswith("seg:")}

    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        self._table.put_item(Item=tombstone_item(profile_id, now))

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        item = self._table.get_item(Key=tombstone_key(profile_id), ConsistentRead=True).get("Item")
        return bool(item) and int(item["expiresAt"]) > now.timestamp()

    def erase_profile(self, profile_id: str) -> None:
        """Every item of the person's partition: memberships and exposures. A redelivery finds nothing left."""
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in self._profile_items(profile_id, keys_only=True)]
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)

    def _profile_items(self, profile_id: str, keys_only: bool = False) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"PROFILE#{profile_id}")}
        if keys_only:
            request["ProjectionExpression"] = "pk, sk"
        return query_all(self._table, **request)

    def set_membership(self, profile_id: str, segment_id: str, member: bool, sequence: int, at: dt.datetime) -> bool:
        """Apply a transition unless a later one (by the profile's sequence) was applied: events may arrive out of
        order, and an exit and a re-entry can share one timestamp."""
        key = {"pk": f"PROFILE#{profile_id}", "sk": SEGMENTS}
        try:
            before = self._table.update_item(
                Key=key,
                UpdateExpression="SET #seg = :v",
                ConditionExpression="attribute_not_exists(#seg) OR #seg.#seq < :seq",
                ExpressionAttributeNames={"#seg": f"seg:{segment_id}", "#seq": "seq"},
                ExpressionAttributeValues={":v": {"in": member, "seq": sequence, "at": iso(at)}, ":seq": sequence},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        if not before and self.is_erased(profile_id, clock.now()):
            # The first record of this profile, for a person erased meanwhile (a late transition): undo it.
            self._table.delete_item(Key=key)
            return False
        return True


def _exposure(item: dict[str, Any]) -> Exposure:
    return Exposure(
        slot_id=item["slotId"],
        variant_id=item["variantId"],
        segment_id=item.get("segmentId"),
        first_served_at=parse_iso(item["firstServedAt"]),
        last_served_at=parse_iso(item["lastServedAt"]),
        served_hours=int(item["servedHours"]),
    )


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}
