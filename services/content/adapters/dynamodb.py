"""The content service's table: definitions, visitor read model, decisions, analytics counters, experiment counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import (
    expires_at,
    from_dynamo,
    is_condition_failure,
    put_if_absent,
    query_all,
    succeeded,
    to_dynamo,
)
from services.common.erasure import tombstone_item, tombstone_key
from services.content.domain.exposures import RETENTION_DAYS
from services.content.domain.visitors import VisitorState, from_item
from services.content.ports import DecisionWrite, StaleState, ViewCount

# Keys (pk / sk):
# - `DEFS#<kind>` / `<id>`: slots, catalogue items, email templates, experiments — one partition per kind, so a
#   container loads all slots (or items) in one Query and caches them;
# - `PROFILE#<id>` / `STATE`: a profile's visitor state (versioned); `MSG#<messageId>` and `READ#<day>#<what>`:
#   markers that count an activity once and a reader once a day (TTL); `XP#<experiment>`: the profile's
#   experiment exposure (unit = profile), `XPC#<experiment>`: its conversion;
# - `VISITOR#<a:anonymousId | u:userId>` / `VISITOR`: the projection a decision reads (`p`, version `pv`), the
#   exposures it recorded (`e:<slot>`, `f:<slot>`, `h:<slot>`) and experiments it was counted in (`x:<id>`);
#   `XP#<experiment>` / `XPC#<experiment>`: an anonymous unit's exposure and conversion;
# - `STATS#<day>` / `<audience>|topic|<topic>` (and `|item|`, `|link|`): views, readers and clicks per audience;
#   `POPULAR#<audience>` / `POPULAR`: all-time views per item (`i:<itemId>`), for list slots' fallbacks;
# - `EXPERIMENT#<id>` / `COUNT#<variant>`: exposed units and converted units.

STATE = "STATE"
VISITOR = "VISITOR"
MARKER_DAYS = 7
READER_DAYS = 3


class DynamoContent:
    def __init__(self, table: Any) -> None:
        self._table = table

    # ---- definitions ----------------------------------------------------------------------------------------

    def save_definition(self, kind: str, definition_id: str, body: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {"pk": f"DEFS#{kind}", "sk": definition_id, "id": definition_id, "updatedAt": iso(now), **body}
        self._table.put_item(Item=to_dynamo(item))
        return _clean(item)

    def save_items(self, items: Sequence[dict[str, Any]], now: dt.datetime) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for body in items:
                batch.put_item(Item=to_dynamo({"pk": "DEFS#item", "sk": body["id"], "updatedAt": iso(now), **body}))

    def definition(self, kind: str, definition_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": f"DEFS#{kind}", "sk": definition_id}).get("Item")
        return _clean(item) if item else None

    def definitions(self, kind: str) -> list[dict[str, Any]]:
        return [_clean(i) for i in query_all(self._table, KeyConditionExpression=Key("pk").eq(f"DEFS#{kind}"))]

    def delete_definition(self, kind: str, definition_id: str) -> bool:
        old = self._table.delete_item(Key={"pk": f"DEFS#{kind}", "sk": definition_id}, ReturnValues="ALL_OLD").get(
            "Attributes"
        )
        return bool(old)

    # ---- visitors -------------------------------------------------------------------------------------------

    def state(self, profile_id: str) -> VisitorState | None:
        item = self._table.get_item(Key={"pk": f"PROFILE#{profile_id}", "sk": STATE}, ConsistentRead=True).get("Item")
        return from_item(from_dynamo(item)) if item else None

    def save_state(self, state: VisitorState, read_version: int, now: dt.datetime) -> None:
        state.version = read_version + 1
        item = {
            "pk": f"PROFILE#{state.profile_id}",
            "sk": STATE,
            **state.as_item(),
            "expiresAt": expires_at(now, RETENTION_DAYS),
        }
        condition = "attribute_not_exists(pk)" if read_version == 0 else "version = :v"
        values = {} if read_version == 0 else {":v": read_version}
        try:
            self._table.put_item(
                Item=to_dynamo(item),
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                state.version = read_version
                raise StaleState(state.profile_id) from error
            raise

    def project(self, key: str, state: VisitorState, now: dt.datetime) -> None:
        """The visitor item's projection, unless a newer one of the same profile is there already."""
        succeeded(
            lambda: self._table.update_item(
                Key={"pk": f"VISITOR#{key}", "sk": VISITOR},
                UpdateExpression="SET p = :p, pv = :v, profileId = :pid, expiresAt = :exp",
                ConditionExpression="attribute_not_exists(pv) OR pv < :v OR profileId <> :pid",
                ExpressionAttributeValues={
                    ":p": to_dynamo(state.projection()),
                    ":v": state.version,
                    ":pid": state.profile_id,
                    ":exp": expires_at(now, RETENTION_DAYS),
                },
            )
        )

    def visitor(self, key: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": f"VISITOR#{key}", "sk": VISITOR}).get("Item")
        return from_dynamo(item) if item else None

    def visitors(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {k: v for k in dict.fromkeys(keys) if (v := self.visitor(k)) is not None}

    # ---- decisions ------------------------------------------------------------------------------------------

    def record_decision(self, write: DecisionWrite) -> None:
        """One UpdateItem of the visitor's item; a first experiment exposure makes it a transaction that also
        marks the unit and counts it, so each unit is counted once however many devices or retries."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        adds: list[str] = []
        removes: list[str] = []
        expiry = None
        for i, serve in enumerate(write.serves):
            names[f"#e{i}"], names[f"#f{i}"], names[f"#h{i}"] = (
                f"e:{serve.slot_id}",
                f"f:{serve.slot_id}",
                f"h:{serve.slot_id}",
            )
            exposure = {"v": serve.variant_id, "at": iso(serve.at)}
            if serve.segment_id:
                exposure["s"] = serve.segment_id
            values[f":e{i}"], values[f":at{i}"], values[f":h{i}"] = exposure, iso(serve.at), 1 if serve.new_hour else 0
            sets += [f"#e{i} = :e{i}", f"#f{i} = if_not_exists(#f{i}, :at{i})"]
            adds.append(f"#h{i} :h{i}")
            expiry = serve.at
        for i, (experiment_id, variant_id, unit) in enumerate(write.experiments):
            names[f"#x{i}"] = f"x:{experiment_id}"
            values[f":x{i}"] = {"v": variant_id, "unit": unit}
            sets.append(f"#x{i} = :x{i}")
        if write.profile_id:
            values[":pid"] = write.profile_id
            sets.append("profileId = if_not_exists(profileId, :pid)")
        if expiry is not None:
            values[":exp"] = expires_at(expiry, RETENTION_DAYS)
            sets.append("expiresAt = :exp")
        if not sets and not adds:
            return
        expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
        expression += " REMOVE " + ", ".join(removes) if removes else ""
        update = {
            "Key": {"pk": f"VISITOR#{write.key}", "sk": VISITOR},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if not write.experiments:
            self._table.update_item(**update)
            return
        client = self._table.meta.client
        table = self._table.name
        items: list[dict[str, Any]] = [{"Update": {"TableName": table, **_low(update)}}]
        now = expiry or dt.datetime.now(dt.UTC)
        for experiment_id, variant_id, unit in write.experiments:
            items.append(
                {
                    "Put": {
                        "TableName": table,
                        "Item": _low_item(
                            {
                                "pk": unit,
                                "sk": f"XP#{experiment_id}",
                                "v": variant_id,
                                "at": iso(now),
                                "expiresAt": expires_at(now, RETENTION_DAYS),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            items.append(_add(table, f"EXPERIMENT#{experiment_id}", f"COUNT#{variant_id}", "users"))
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # the unit was counted already (another device of the profile, or a retry): record the rest only
            self._table.update_item(**update)

    # ---- analytics ------------------------------------------------------------------------------------------

    def count_activity(self, count: ViewCount, now: dt.datetime) -> bool:
        """Views (or clicks) once per message id, readers once per profile, day and topic or item. Each step is
        a transaction guarded by its own marker, so a redelivery after a partial failure completes the rest."""
        client, table = self._table.meta.client, self._table.name
        profile = f"PROFILE#{count.profile_id}"
        field = "clicks" if count.kind == "click" else "views"
        rows = _rows(count)
        updates = [_add(table, f"STATS#{count.day}", row, field) for row in rows]
        if count.kind == "view" and count.item_id:
            for audience in (*count.audiences, "all"):
                updates.append(
                    {
                        "Update": {
                            "TableName": table,
                            "Key": _low_item({"pk": f"POPULAR#{audience}", "sk": "POPULAR"}),
                            "UpdateExpression": "ADD #i :one",
                            "ExpressionAttributeNames": {"#i": f"i:{count.item_id}"},
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    }
                )
        marker = _marker(table, profile, f"MSG#{count.message_id}", now, MARKER_DAYS)
        counted = _transact(client, [marker, *updates])
        if count.kind != "view":
            return counted
        for what in count.reader_keys:  # "topic|recipes", "item|<id>"
            reader = _marker(table, profile, f"READ#{count.day}#{what}", now, READER_DAYS)
            readers = [
                _add(table, f"STATS#{count.day}", f"{audience}|{what}", "readers")
                for audience in (*count.audiences, "all")
            ]
            _transact(client, [reader, *readers])
        return counted

    def stats(self, days: Sequence[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for day in days:
            for item in query_all(self._table, KeyConditionExpression=Key("pk").eq(f"STATS#{day}")):
                audience, kind, what = item["sk"].split("|", 2)
                rows.append(
                    {
                        "day": day,
                        "audience": audience,
                        "kind": kind,
                        "key": what,
                        **{k: int(item.get(k, 0)) for k in ("views", "readers", "clicks")},
                    }
                )
        return rows

    def popular(self, audience: str) -> dict[str, int]:
        item = self._table.get_item(Key={"pk": f"POPULAR#{audience}", "sk": "POPULAR"}).get("Item") or {}
        return {k[2:]: int(v) for k, v in item.items() if k.startswith("i:")}

    # ---- experiments ----------------------------------------------------------------------------------------

    def exposure_marks(self, experiment_id: str, units: Sequence[str]) -> dict[str, str]:
        """unit → the variant it was exposed to, for the units that were."""
        found: dict[str, str] = {}
        for unit in dict.fromkeys(units):
            item = self._table.get_item(Key={"pk": unit, "sk": f"XP#{experiment_id}"}, ConsistentRead=True).get("Item")
            if item:
                found[unit] = item["v"]
        return found

    def record_exposure(self, experiment_id: str, variant_id: str, unit: str, now: dt.datetime) -> bool:
        """A unit's first exposure (an email rendered for sending): marked and counted together, once."""
        client, table = self._table.meta.client, self._table.name
        marker = _marker(table, unit, f"XP#{experiment_id}", now, RETENTION_DAYS)
        marker["Put"]["Item"]["v"] = variant_id
        return _transact(client, [marker, _add(table, f"EXPERIMENT#{experiment_id}", f"COUNT#{variant_id}", "users")])

    def record_conversion(self, experiment_id: str, unit: str, variant_id: str, now: dt.datetime) -> bool:
        client, table = self._table.meta.client, self._table.name
        return _transact(
            client,
            [
                _marker(table, unit, f"XPC#{experiment_id}", now, RETENTION_DAYS),
                _add(table, f"EXPERIMENT#{experiment_id}", f"COUNT#{variant_id}", "conversions"),
            ],
        )

    def experiment_counts(self, experiment_id: str) -> dict[str, dict[str, int]]:
        items = query_all(self._table, KeyConditionExpression=Key("pk").eq(f"EXPERIMENT#{experiment_id}"))
        return {
            i["sk"].removeprefix("COUNT#"): {
                "users": int(i.get("users", 0)),
                "conversions": int(i.get("conversions", 0)),
            }
            for i in items
        }

    # ---- privacy --------------------------------------------------------------------------------------------

    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        self._table.put_item(Item=tombstone_item(profile_id, now))

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        item = self._table.get_item(Key=tombstone_key(profile_id), ConsistentRead=True).get("Item")
        return bool(item) and int(item["expiresAt"]) > now.timestamp()

    def erase(self, profile_id: str, keys: Iterable[str]) -> None:
        """The profile's partition and each of its visitors' partitions. A redelivery finds nothing left."""
        partitions = [f"PROFILE#{profile_id}", *(f"VISITOR#{k}" for k in keys)]
        found = [
            {"pk": i["pk"], "sk": i["sk"]}
            for pk in partitions
            for i in query_all(self._table, KeyConditionExpression=Key("pk").eq(pk), ProjectionExpression="pk, sk")
        ]
        with self._table.batch_writer() as batch:
            for key in found:
                batch.delete_item(Key=key)

    def put_marker(self, pk: str, sk: str, now: dt.datetime, days: int) -> bool:
        return put_if_absent(self._table, {"pk": pk, "sk": sk, "expiresAt": expires_at(now, days)})


def _rows(count: ViewCount) -> list[str]:
    rows: list[str] = []
    for audience in (*count.audiences, "all"):
        for topic in count.topics:
            rows.append(f"{audience}|topic|{topic}")
        if count.item_id:
            rows.append(f"{audience}|item|{count.item_id}")
        if count.link:
            rows.append(f"{audience}|link|{count.link}")
    return rows


def _add(table: str, pk: str, sk: str, field: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": _low_item({"pk": pk, "sk": sk}),
            "UpdateExpression": "ADD #n :one",
            "ExpressionAttributeNames": {"#n": field},
            "ExpressionAttributeValues": {":one": 1},
        }
    }


def _marker(table: str, pk: str, sk: str, now: dt.datetime, days: int) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": _low_item({"pk": pk, "sk": sk, "expiresAt": expires_at(now, days)}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _transact(client: Any, items: list[dict[str, Any]]) -> bool:
    """False when the first item's marker was there already (counted before)."""
    if len(items) > 100:
        raise ValueError(f"a transaction holds at most 100 writes, not {len(items)}")
    return succeeded(lambda: client.transact_write_items(TransactItems=items))


def _low_item(item: dict[str, Any]) -> dict[str, Any]:
    """The resource's client takes plain Python values (it serialises them itself)."""
    return {k: to_dynamo(v) for k, v in item.items()}


def _low(update: dict[str, Any]) -> dict[str, Any]:
    return {
        "Key": update["Key"],
        "UpdateExpression": update["UpdateExpression"],
        "ExpressionAttributeNames": update["ExpressionAttributeNames"],
        "ExpressionAttributeValues": _low_item(update["ExpressionAttributeValues"]),
    }


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk")}
