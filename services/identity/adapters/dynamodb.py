"""Profiles, identity pointers and activity in the identity service's single DynamoDB table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import expires_at, from_dynamo, is_condition_failure, to_dynamo
from services.identity.domain.profiles import Identifier, merged_traits

ACTIVITY_RETENTION_DAYS = 395  # 13 months


def _pointer_key(identifier: Identifier) -> dict[str, str]:
    return {"pk": f"ID#{identifier[0]}#{identifier[1]}", "sk": "ID"}


def _profile_key(profile_id: str) -> dict[str, str]:
    return {"pk": f"PROFILE#{profile_id}", "sk": "PROFILE"}


class DynamoProfiles:
    def __init__(self, table: Any) -> None:
        self._table = table

    def pointers(self, ids: list[Identifier]) -> dict[Identifier, str]:
        if not ids:
            return {}
        keys = [_pointer_key(i) for i in dict.fromkeys(ids)]
        # the resource's client serialises Python values itself (boto3's high-level DynamoDB interface)
        response = _client(self._table).batch_get_item(RequestItems={self._table.name: {"Keys": keys}})
        found: dict[Identifier, str] = {}
        for item in response.get("Responses", {}).get(self._table.name, []):
            kind, _, value = item["pk"].removeprefix("ID#").partition("#")
            found[(kind, value)] = item["profileId"]
        return found

    def create_profile(self, profile_id: str, ids: list[Identifier], now: dt.datetime) -> dict[Identifier, str]:
        stamp = iso(now)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        **_profile_key(profile_id),
                        "profileId": profile_id,
                        "traits": {},
                        "createdAt": stamp,
                        "firstSeenAt": stamp,
                        "lastSeenAt": stamp,
                        "identities": [f"{k}:{v}" for k, v in ids],
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for identifier in ids:
            items.append(
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": {**_pointer_key(identifier), "profileId": profile_id, "createdAt": stamp},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        client = _client(self._table)
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return self.pointers(ids)  # another writer claimed some id first: the caller resolves again
        return {}

    def link(self, profile_id: str, ids: list[Identifier], now: dt.datetime) -> None:
        with self._table.batch_writer() as batch:
            for identifier in ids:
                batch.put_item(Item={**_pointer_key(identifier), "profileId": profile_id, "createdAt": iso(now)})
        self._table.update_item(
            Key=_profile_key(profile_id),
            UpdateExpression="SET identities = list_append(if_not_exists(identities, :empty), :ids)",
            ExpressionAttributeValues={":ids": [f"{k}:{v}" for k, v in ids], ":empty": []},
        )

    def fold(self, survivor: str, folded: str, now: dt.datetime) -> None:
        """Fold an anonymous profile into the survivor: traits fill gaps, its id redirects forever."""
        loser = self.profile(folded) or {}
        winner = self.profile(survivor) or {}
        traits = merged_traits(winner.get("traits", {}), loser.get("traits", {}))
        self._table.update_item(
            Key=_profile_key(survivor),
            UpdateExpression="SET traits = :t, mergedFrom = list_append(if_not_exists(mergedFrom, :empty), :f)",
            ExpressionAttributeValues={":t": to_dynamo(traits), ":f": [folded], ":empty": []},
        )
        self._table.update_item(
            Key=_profile_key(folded),
            UpdateExpression="SET mergedInto = :s, mergedAt = :n",
            ExpressionAttributeValues={":s": survivor, ":n": iso(now)},
        )

    def record_activity(self, profile_id: str, activity: dict[str, Any], now: dt.datetime) -> bool:
        item = {
            "pk": f"PROFILE#{profile_id}",
            "sk": f"ACT#{activity['timestamp']}#{activity['messageId']}",
            **to_dynamo(activity),
            "expiresAt": expires_at(now, ACTIVITY_RETENTION_DAYS),
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def touch(self, profile_id: str, traits: dict[str, Any], activity_type: str, now: dt.datetime) -> None:
        names: dict[str, str] = {"#count": f"{activity_type}Count"}
        values: dict[str, Any] = {":now": iso(now), ":one": 1}
        sets = ["lastSeenAt = :now"]
        for index, (name, value) in enumerate(traits.items()):
            names[f"#t{index}"] = name
            values[f":t{index}"] = to_dynamo(value)
            sets.append(f"traits.#t{index} = :t{index}")
        self._table.update_item(
            Key=_profile_key(profile_id),
            UpdateExpression=f"SET {', '.join(sets)} ADD activityCount :one, #count :one",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def profile(self, profile_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=_profile_key(profile_id)).get("Item")
        if not item:
            return None
        return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}

    def timeline(self, profile_ids: list[str], limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if limit <= 0:
            return rows
        for profile_id in profile_ids:
            response = self._table.query(
                KeyConditionExpression=Key("pk").eq(f"PROFILE#{profile_id}") & Key("sk").begins_with("ACT#"),
                ScanIndexForward=False,
                Limit=limit,
            )
            rows.extend(response.get("Items", []))
        rows.sort(key=lambda r: r["sk"], reverse=True)
        return [{k: v for k, v in from_dynamo(r).items() if k not in ("pk", "sk", "expiresAt")} for r in rows[:limit]]


def _client(table: Any) -> Any:
    return table.meta.client
