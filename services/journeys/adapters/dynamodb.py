"""The journeys service's table: definitions and versions, runs, counters, holds, sends and delivery records."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from services.common.clock import iso
from services.common.dynamo import expires_at, from_dynamo, is_condition_failure, query_all, succeeded, to_dynamo
from services.common.erasure import tombstone_item, tombstone_key
from services.journeys.domain.overview import SENDS_SHARDS
from services.journeys.ports import JourneyStore

SEND_RECORD_DAYS = 400
RUN_HISTORY_DAYS = 400
MARKER_DAYS = 400  # a run's count markers outlive the run (a year of waits at most)
HOLD_DAYS = 366
JOURNEY = "JOURNEY"


def _version_sk(version: int) -> str:
    return f"V#{version:06d}"


def _profile(profile_id: str) -> str:
    return f"PROFILE#{profile_id}"


class DynamoJourneys:
    def __init__(self, table: Any) -> None:
        self._table = table
        self._client = table.meta.client
        self.name = table.name

    # ---- definitions ----
    def create_journey(self, journey_id: str, name: str, draft: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {
            "pk": JOURNEY,
            "sk": journey_id,
            "journeyId": journey_id,
            "name": name,
            "status": "draft",
            "version": 0,
            "draft": to_dynamo(dict(draft)),
            "createdAt": iso(now),
            "updatedAt": iso(now),
        }
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        return _clean(item)

    def save_draft(self, journey_id: str, name: str, draft: Mapping[str, Any], now: dt.datetime) -> None:
        self._table.update_item(
            Key={"pk": JOURNEY, "sk": journey_id},
            UpdateExpression="SET draft = :d, #n = :n, updatedAt = :t",
            ConditionExpression="attribute_exists(pk) AND #s <> :archived",
            ExpressionAttributeNames={"#n": "name", "#s": "status"},
            ExpressionAttributeValues={
                ":d": to_dynamo(dict(draft)),
                ":n": name,
                ":t": iso(now),
                ":archived": "archived",
            },
        )

    def publish(self, journey_id: str, version: int, record: Mapping[str, Any], now: dt.datetime) -> bool:
        """Version `version` becomes current, only if the current one is `version - 1` and the journey is not
        archived (no lost publish); False otherwise."""
        item = {
            "pk": f"JOURNEY#{journey_id}",
            "sk": _version_sk(version),
            "version": version,
            "publishedAt": iso(now),
            **to_dynamo(dict(record)),
        }
        transaction = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": _typed(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.name,
                    "Key": _typed({"pk": JOURNEY, "sk": journey_id}),
                    "UpdateExpression": "SET #v = :v, #s = if_not_exists(paused, :active), #c = :c, "
                    "updatedAt = :t, #n = :n",
                    "ConditionExpression": "#v = :prev AND #s <> :archived",
                    "ExpressionAttributeNames": {"#s": "status", "#n": "name", "#v": "version", "#c": "current"},
                    "ExpressionAttributeValues": _typed_values(
                        {
                            ":v": version,
                            ":prev": version - 1,
                            ":active": "active",
                            ":archived": "archived",
                            ":t": iso(now),
                            ":c": to_dynamo(dict(record)),
                            ":n": record["definition"]["name"],
                        }
                    ),
                }
            },
        ]
        return succeeded(lambda: self._client.transact_write_items(TransactItems=transaction))

    def set_status(self, journey_id: str, status: str, now: dt.datetime, expect: Iterable[str]) -> bool:
        """Move the lifecycle; False when the journey is not in one of the `expect`ed states."""
        allowed = list(expect)
        values: dict[str, Any] = {":s": status, ":t": iso(now)}
        names = {"#s": "status"}
        clauses = []
        for i, state in enumerate(allowed):
            values[f":e{i}"] = state
            clauses.append(f"#s = :e{i}")
        # `paused` remembers a pause across a publish (which would otherwise make the journey active again)
        update = (
            "SET #s = :s, updatedAt = :t, paused = :s"
            if status == "paused"
            else "SET #s = :s, updatedAt = :t REMOVE paused"
        )
        return succeeded(
            lambda: self._table.update_item(
                Key={"pk": JOURNEY, "sk": journey_id},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND (" + " OR ".join(clauses) + ")",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def journey(self, journey_id: str, consistent: bool = False) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": JOURNEY, "sk": journey_id}, ConsistentRead=consistent).get("Item")
        return _clean(item) if item else None

    def journeys(self) -> list[dict[str, Any]]:
        return [_clean(i) for i in self._query(KeyConditionExpression=Key("pk").eq(JOURNEY))]

    def versions(self, journey_id: str) -> list[dict[str, Any]]:
        return [
            _clean(i)
            for i in self._query(
                KeyConditionExpression=Key("pk").eq(f"JOURNEY#{journey_id}") & Key("sk").begins_with("V#")
            )
        ]

    def version(self, journey_id: str, version: int) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": f"JOURNEY#{journey_id}", "sk": _version_sk(version)}).get("Item")
        return _clean(item) if item else None

    # ---- runs: a live item per journey a profile is in, and a history item per run ----
    def enter(self, profile_id: str, journey_id: str, run: Mapping[str, Any], now: dt.datetime) -> bool:
        """Claim the profile's place in the journey; False when a run is already inside (another or this one) or
        this entry (run id) was made before."""
        live = {
            "pk": _profile(profile_id),
            "sk": f"LIVE#{journey_id}",
            **to_dynamo(dict(run)),
            "at": "entry",
            "facts": {},
            "messages": {},
            "path": {},
        }
        history = {
            "pk": _profile(profile_id),
            "sk": f"RUN#{journey_id}#{iso(now)}#{run['runId']}",
            **to_dynamo(dict(run)),
            "state": "running",
            "runJourney": journey_id,
            "runState": f"running#{iso(now)}",
            "expiresAt": expires_at(now, RUN_HISTORY_DAYS),
        }
        return succeeded(
            lambda: self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": _typed(live),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.name, "Item": _typed(history)}},
                    # one run per entry key, even long after that run ended (a redelivered trigger event)
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": _typed(
                                {
                                    "pk": _profile(profile_id),
                                    "sk": f"ENTRY#{run['runId']}",
                                    "expiresAt": expires_at(now, RUN_HISTORY_DAYS),
                                }
                            ),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        )

    def last_run(self, profile_id: str, journey_id: str) -> dict[str, Any] | None:
        items = self._table.query(
            KeyConditionExpression=Key("pk").eq(_profile(profile_id)) & Key("sk").begins_with(f"RUN#{journey_id}#"),
            ScanIndexForward=False,
            Limit=1,
        ).get("Items", [])
        return _clean(items[0]) if items else None

    def live_runs(self, profile_id: str) -> list[dict[str, Any]]:
        """Every run the profile is inside now: one query, whatever the number of journeys."""
        return [
            _clean(i)
            for i in self._query(
                KeyConditionExpression=Key("pk").eq(_profile(profile_id)) & Key("sk").begins_with("LIVE#")
            )
        ]

    def live_run(self, profile_id: str, journey_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"pk": _profile(profile_id), "sk": f"LIVE#{journey_id}"}, ConsistentRead=True
        ).get("Item")
        return _clean(item) if item else None

    def update_live(
        self, profile_id: str, journey_id: str, run_id: str, sets: Mapping[str, Any], removes: Iterable[str] = ()
    ) -> bool:
        """SET nested paths (e.g. `facts.returned`) on the run's live item; False when that run is not inside."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":run": run_id}
        parts = []
        for i, (path, value) in enumerate(sets.items()):
            segments = []
            for j, segment in enumerate(path.split(".")):
                names[f"#p{i}_{j}"] = segment
                segments.append(f"#p{i}_{j}")
            values[f":v{i}"] = to_dynamo(value)
            parts.append(f"{'.'.join(segments)} = :v{i}")
        expression = "SET " + ", ".join(parts) if parts else ""
        removed = []
        for k, path in enumerate(removes):
            names[f"#r{k}"] = path
            removed.append(f"#r{k}")
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        names["#run"] = "runId"
        return succeeded(
            lambda: self._table.update_item(
                Key={"pk": _profile(profile_id), "sk": f"LIVE#{journey_id}"},
                UpdateExpression=expression.strip(),
                ConditionExpression="#run = :run",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def finish_run(self, profile_id: str, live: Mapping[str, Any], state: str, reason: str, now: dt.datetime) -> bool:
        """End the run: its live item goes, its history item records how it ended. False if it had ended."""
        history_sk = f"RUN#{live['journeyId']}#{live['enteredAt']}#{live['runId']}"
        return succeeded(
            lambda: self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.name,
                            "Key": _typed({"pk": _profile(profile_id), "sk": f"LIVE#{live['journeyId']}"}),
                            "ConditionExpression": "runId = :run",
                            "ExpressionAttributeValues": _typed_values({":run": live["runId"]}),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": _typed({"pk": _profile(profile_id), "sk": history_sk}),
                            "UpdateExpression": "SET #s = :s, runState = :rs, #r = :r, endedAt = :t, "
                            "endedAtNode = :n, facts = :f, #p = :p",
                            "ExpressionAttributeNames": {"#s": "state", "#p": "path", "#r": "reason"},
                            "ExpressionAttributeValues": _typed_values(
                                {
                                    ":s": state,
                                    ":rs": f"{state}#{live['enteredAt']}",
                                    ":r": reason,
                                    ":t": iso(now),
                                    ":n": live.get("at", ""),
                                    ":f": to_dynamo(live.get("facts") or {}),
                                    ":p": to_dynamo(live.get("path") or {}),
                                }
                            ),
                        }
                    },
                ]
            )
        )

    def runs_of_journey(self, journey_id: str, state: str | None, limit: int = 100) -> list[dict[str, Any]]:
        condition = Key("runJourney").eq(journey_id)
        if state:
            condition = condition & Key("runState").begins_with(f"{state}#")
        items = self._table.query(
            IndexName="runs", KeyConditionExpression=condition, Limit=limit, ScanIndexForward=False
        ).get("Items", [])
        return [{**_clean(i), "profileId": i["pk"].removeprefix("PROFILE#")} for i in items]

    def runs_of_profile(self, profile_id: str) -> list[dict[str, Any]]:
        return [
            _clean(i)
            for i in self._query(
                KeyConditionExpression=Key("pk").eq(_profile(profile_id)) & Key("sk").begins_with("RUN#")
            )
        ]

    # ---- counters, exactly once per transition ----
    def count(
        self,
        journey_id: str,
        marker: str | None,
        increments: Mapping[str, Mapping[str, int]],
        now: dt.datetime,
        sends: Mapping[tuple[str, str], Mapping[str, int]] | None = None,
    ) -> bool:
        """ADD each `{sk: {attribute: n}}` under the journey's counters, once: a `marker` already written means
        this transition was counted (a retried task). False when it had been counted."""
        items: list[dict[str, Any]] = []
        if marker:
            items.append(
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": _typed(
                            {"pk": f"COUNTED#{marker}", "sk": "-", "expiresAt": expires_at(now, MARKER_DAYS)}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        keyed = [((f"STATS#{journey_id}", sk), a) for sk, a in increments.items()] + list((sends or {}).items())
        for (pk, sk), attributes in keyed:
            if not attributes:
                continue
            names = {f"#a{i}": a for i, a in enumerate(attributes)}
            values = {f":n{i}": n for i, n in enumerate(attributes.values())}
            items.append(
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": _typed({"pk": pk, "sk": sk}),
                        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :n{i}" for i in range(len(attributes))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": _typed_values(values),
                    }
                }
            )
        if len(items) <= (1 if marker else 0):
            return False
        return succeeded(lambda: self._client.transact_write_items(TransactItems=items))

    def stats(self, journey_id: str) -> dict[str, dict[str, int]]:
        return {
            i["sk"]: {k: v for k, v in _clean(i).items()}
            for i in self._query(KeyConditionExpression=Key("pk").eq(f"STATS#{journey_id}"))
        }

    def sends_per_day(self, first_day: str, last_day: str) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for shard in range(SENDS_SHARDS):
            for item in self._query(
                KeyConditionExpression=Key("pk").eq(f"SENDS#{shard}") & Key("sk").between(first_day, last_day)
            ):
                day = totals.setdefault(item["sk"], {})
                for channel, n in _clean(item).items():
                    day[channel] = day.get(channel, 0) + int(n)
        return totals

    # ---- runs held while a journey is paused ----
    def hold(self, journey_id: str, run_id: str, node_id: str, token: str, now: dt.datetime) -> None:
        self._table.put_item(
            Item={
                "pk": f"HOLD#{journey_id}",
                "sk": f"{run_id}#{node_id}",
                "token": token,
                "heldAt": iso(now),
                "expiresAt": expires_at(now, HOLD_DAYS),
            }
        )

    def holds(self, journey_id: str) -> list[dict[str, Any]]:
        return [
            {**_clean(i), "key": i["sk"]}
            for i in self._query(KeyConditionExpression=Key("pk").eq(f"HOLD#{journey_id}"))
        ]

    def release(self, journey_id: str, key: str) -> None:
        self._table.delete_item(Key={"pk": f"HOLD#{journey_id}", "sk": key})

    # ---- sends: one record per dedupe key; marketing sends per channel for frequency caps ----
    def claim_send(
        self, profile_id: str, dedupe_key: str, now: dt.datetime, about: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Reserve a send; returns the earlier record when this send was already made (a retry). `about` (run,
        journey, node, channel) is kept with it, so a run shows what it sent and why."""
        key = {"pk": _profile(profile_id), "sk": f"SEND#{dedupe_key}"}
        # This claim's own mark: when the put is applied but its answer is lost, botocore's retry finds the record
        # and fails the condition; the record then carries our mark, and it is ours, not an earlier send's.
        claim = uuid.uuid4().hex
        try:
            self._table.put_item(
                Item={
                    **to_dynamo(dict(about or {})),
                    **key,
                    "status": "sending",
                    "claimedAt": iso(now),
                    "claim": claim,
                    "expiresAt": expires_at(now, SEND_RECORD_DAYS),
                },
                ConditionExpression="attribute_not_exists(pk) OR #s IN (:failed, :retry, :deferred)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":failed": "failed", ":retry": "retry", ":deferred": "deferred"},
            )
        except ClientError as error:
            if is_condition_failure(error):
                item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
                if item and item.get("claim") == claim:
                    return None
                return _clean(item) if item else {"status": "sending"}
            raise
        return None

    def finish_send(self, profile_id: str, dedupe_key: str, status: str, detail: Mapping[str, Any]) -> None:
        self._table.update_item(
            Key={"pk": _profile(profile_id), "sk": f"SEND#{dedupe_key}"},
            UpdateExpression="SET #s = :s, detail = :d",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": status, ":d": to_dynamo(dict(detail))},
        )

    def recent_sends(self, profile_id: str, channel: str, since: dt.datetime) -> list[dt.datetime]:
        items = self._query(
            KeyConditionExpression=Key("pk").eq(_profile(profile_id))
            & Key("sk").between(f"SENT#{channel}#{iso(since)}", f"SENT#{channel}#~")
        )
        return [dt.datetime.fromisoformat(i["sk"].split("#")[2].replace("Z", "+00:00")) for i in items]

    def record_sent(self, profile_id: str, channel: str, dedupe_key: str, now: dt.datetime, keep_days: int) -> None:
        self._table.put_item(
            Item={
                "pk": _profile(profile_id),
                "sk": f"SENT#{channel}#{iso(now)}#{dedupe_key}",
                "expiresAt": expires_at(now, keep_days),
            }
        )

    def take_rate_slot(self, channel: str, window: str, limit: int, now: dt.datetime) -> bool:
        """One send in this second of the channel's global rate; False when the second is full."""
        return succeeded(
            lambda: self._table.update_item(
                Key={"pk": f"RATE#{channel}", "sk": window},
                UpdateExpression="ADD sent :one SET expiresAt = :e",
                ConditionExpression="attribute_not_exists(sent) OR sent < :limit",
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":e": expires_at(now, 1)},
            )
        )

    # ---- privacy ----
    def profile_records(self, profile_id: str) -> list[dict[str, Any]]:
        items = self._query(KeyConditionExpression=Key("pk").eq(_profile(profile_id)))
        return [{"kind": i["sk"].partition("#")[0].lower(), **_clean(i)} for i in items]

    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        self._table.put_item(Item=tombstone_item(profile_id, now))

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        item = self._table.get_item(Key=tombstone_key(profile_id), ConsistentRead=True).get("Item")
        return bool(item) and int(item["expiresAt"]) > now.timestamp()

    def erase_profile(self, profile_id: str) -> int:
        records = self._query(KeyConditionExpression=Key("pk").eq(_profile(profile_id)), ProjectionExpression="pk, sk")
        with self._table.batch_writer() as batch:
            for record in records:
                batch.delete_item(Key={"pk": record["pk"], "sk": record["sk"]})
        return len(records)

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        return query_all(self._table, **kwargs)


def _typed(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item for a transaction: the resource's client serialises plain values itself (boto3's transformer)."""
    return {k: to_dynamo(v) for k, v in item.items() if v is not None}


def _typed_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return _typed(values)


def _clean(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(dict(item)).items() if k not in ("pk", "sk", "expiresAt", "claim")}


def _implements_the_port(store: DynamoJourneys) -> JourneyStore:
    """mypy checks here that this adapter implements the whole port."""
    return store
