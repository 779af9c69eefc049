"""The identity service's DynamoDB tables."""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from services.common.dynamo import from_dynamo, iter_query, put_if_absent, query_all, succeeded, to_dynamo
from services.identity.domain.profiles import Identifier
from services.identity.domain.records import Entry, IdentitySettings, MergeLog, Profile
from services.identity.domain.stats import (
    PROFILE_CLASSES,
    STATS_SHARDS,
    ProfileClass,
    class_change,
    event_day,
    profile_class,
    stats_shard,
)
from services.identity.ports import ImportStore, ProfileStore

# - `profiles`: pointers `ID#<kind>#<value>`/`ID` → profileId; profiles `PROFILE#<id>`/`PROFILE`; the suppression list
#   `SUPPRESS#<email>`/`SUPPRESS`; settings `SETTINGS`/`IDENTITY`. Every access is by key (no query), so its cost does
#   not grow with the number of profiles.
# - `timeline`: a profile's chain `P#<id>`/`EV#<seq, 12 digits>` (activity + computed traits after it; TTL `expiresAt`),
#   and its merge logs `P#<survivor>`/`AUDIT#MERGE#<mergeId>` (no TTL).
# - `imports`: jobs `IMPORT#<id>`/`JOB`, their chunks `CHUNK#<key>` and rejected rows `REJECT#<row>` (30-day TTL).
#
# - the overview's counters: `STATS#PROFILES#<shard>`/`STATS` in `profiles` (`known`, `anonymous`: each stored profile
#   counted once in the class its `counted` attribute names, moved atomically with the profile's own write) and
#   `STATS#EVENTS#<shard>`/`<UTC day>` in `timeline` (`events`: added in the transaction that appends the event's
#   entry, so a redelivery, which appends nothing, counts nothing). Sharded by profile.
#
# Profiles, chain entries and merge logs keep their record as one JSON document (`doc`) next to the few attributes
# that conditions and filters use (`version`, `kind`, `type`, `expiresAt`).

BATCH_GET = 100
CONFLICT_RETRIES = 6
FENCES_PK = "ERASURE#FENCES"  # the register of erasure fences not yet lifted
SEQ_DIGITS = 12


def pointer_key(identifier: Identifier) -> dict[str, str]:
    return {"pk": f"ID#{identifier[0]}#{identifier[1]}", "sk": "ID"}


def profile_key(profile_id: str) -> dict[str, str]:
    return {"pk": f"PROFILE#{profile_id}", "sk": "PROFILE"}


def entry_key(profile_id: str, seq: int) -> dict[str, str]:
    return {"pk": f"P#{profile_id}", "sk": f"EV#{seq:0{SEQ_DIGITS}d}"}


def merge_key(survivor: str, merge_id: str) -> dict[str, str]:
    return {"pk": f"P#{survivor}", "sk": f"AUDIT#MERGE#{merge_id}"}


def suppression_key(email: str) -> dict[str, str]:
    return {"pk": f"SUPPRESS#{email}", "sk": "SUPPRESS"}


SUPPRESSION_LIST = "all"  # the `suppressed` index's one partition: suppressions are few and rarely written


def _listed(email: str, at: str) -> dict[str, str]:
    """The `suppressed` index's keys of a suppression entry: newest first, then by address."""
    return {"suppressedList": SUPPRESSION_LIST, "suppressedAt": f"{at}#{email}"}


SETTINGS_KEY = {"pk": "SETTINGS", "sk": "IDENTITY"}


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk", "expiresAt")}


def _document(value: dict[str, Any]) -> str:
    """Records are stored as one JSON document plus the few attributes conditions and filters need: the same
    bytes as nested maps, and cheaper to (de)serialise (moto spends ~5 ms per nested item otherwise)."""
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _profile_item(profile: Profile, counted: ProfileClass | None = None) -> dict[str, Any]:
    item = {**profile_key(profile.profile_id), "profileId": profile.profile_id, "version": profile.version}
    item["doc"] = _document(profile.to_json())
    if counted:
        item["counted"] = counted  # the class this profile is counted in (see the counters above)
    return item


def _profile_of(item: dict[str, Any]) -> Profile:
    return Profile.from_json(json.loads(item["doc"]))


def _entry_of(item: dict[str, Any]) -> Entry:
    return Entry.from_json(json.loads(item["doc"]))


class DynamoProfiles:
    """`ProfileStore` on the `profiles` and `timeline` tables."""

    def __init__(self, profiles: Any, timeline: Any | None) -> None:
        self._profiles = profiles
        self._timeline_table = timeline

    @property
    def _timeline(self) -> Any:
        if self._timeline_table is None:
            raise RuntimeError("this function was not granted the timeline table (see the identity manifest)")
        return self._timeline_table

    # ---- identity graph ----
    def pointers(self, ids: Sequence[Identifier]) -> dict[Identifier, str]:
        found: dict[Identifier, str] = {}
        for item in self._batch_get(self._profiles, [pointer_key(i) for i in dict.fromkeys(ids)]):
            kind, _, value = item["pk"].removeprefix("ID#").partition("#")
            found[(kind, value)] = item["profileId"]
        return found

    def claim(self, identifier: Identifier, profile_id: str, at: str) -> str | None:
        if put_if_absent(self._profiles, {**pointer_key(identifier), "profileId": profile_id, "at": at}):
            return None
        item = self._profiles.get_item(Key=pointer_key(identifier), ConsistentRead=True).get("Item")
        return str(item["profileId"]) if item else self.claim(identifier, profile_id, at)

    def point(self, ids: Sequence[Identifier], profile_id: str, at: str, *, if_owner: str | None = None) -> None:
        if if_owner is None:
            with self._profiles.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
                for identifier in ids:
                    batch.put_item(Item={**pointer_key(identifier), "profileId": profile_id, "at": at})
            return
        for identifier in ids:  # a pointer `if_owner` no longer holds is left as it is
            succeeded(
                partial(
                    self._profiles.put_item,
                    Item={**pointer_key(identifier), "profileId": profile_id, "at": at},
                    ConditionExpression="profileId = :owner",
                    ExpressionAttributeValues={":owner": if_owner},
                )
            )

    def unpoint(self, ids: Sequence[Identifier], owners: Collection[str]) -> None:
        names = {f":o{i}": owner for i, owner in enumerate(owners)}
        if not names:
            return
        for identifier in ids:  # a pointer another profile holds is left as it is
            succeeded(
                partial(
                    self._profiles.delete_item,
                    Key=pointer_key(identifier),
                    ConditionExpression=f"profileId IN ({', '.join(names)})",
                    ExpressionAttributeValues=names,
                )
            )

    # ---- durable profiles ----
    def profile(self, profile_id: str, consistent: bool = False) -> Profile | None:
        item = self._profiles.get_item(Key=profile_key(profile_id), ConsistentRead=consistent).get("Item")
        return _profile_of(item) if item else None

    def profiles(self, profile_ids: Sequence[str]) -> dict[str, Profile]:
        items = self._batch_get(self._profiles, [profile_key(p) for p in dict.fromkeys(profile_ids)])
        return {str(i["profileId"]): _profile_of(i) for i in items}

    def create_profile(self, profile: Profile) -> bool:
        """Store a new profile and count it in its class, in one transaction."""
        counted = profile_class(profile)
        put = {
            "Put": {
                "TableName": self._profiles.name,
                "Item": _profile_item(profile, counted),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        return self._transact([put, *self._profile_counts(profile.profile_id, class_change(None, counted))])

    def create_profiles(self, profiles: Sequence[Profile]) -> None:
        """In bulk and unconditional (an import's derived ids), so not counted here: `count_profile` counts each
        once its identifiers are claimed."""
        with self._profiles.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for profile in profiles:
                batch.put_item(Item=_profile_item(profile))

    def save_profile(self, profile: Profile) -> bool:
        """One conditional put while the profile stays in its class (almost always); when its class changes
        (identified, merged away, restored), the put and the counters move in one transaction."""
        counted = profile_class(profile)
        plain = succeeded(
            lambda: self._profiles.put_item(
                Item=_profile_item(profile, counted),
                ConditionExpression="#v = :expected AND "
                + ("#c = :counted" if counted else "attribute_not_exists(#c)"),
                ExpressionAttributeNames={"#v": "version", "#c": "counted"},
                ExpressionAttributeValues={
                    ":expected": profile.version - 1,
                    **({":counted": counted} if counted else {}),
                },
            )
        )
        if plain:
            return True
        stored = self._profiles.get_item(Key=profile_key(profile.profile_id), ConsistentRead=True).get("Item")
        if stored is None or int(stored.get("version", -1)) != profile.version - 1:
            return False  # someone else wrote first
        before = stored.get("counted")
        put = {
            "Put": {
                "TableName": self._profiles.name,
                "Item": _profile_item(profile, counted),
                "ConditionExpression": "#v = :expected AND "
                + ("#c = :before" if before else "attribute_not_exists(#c)"),
                "ExpressionAttributeNames": {"#v": "version", "#c": "counted"},
                "ExpressionAttributeValues": {
                    ":expected": profile.version - 1,
                    **({":before": before} if before else {}),
                },
            }
        }
        return self._transact([put, *self._profile_counts(profile.profile_id, class_change(before, counted))])

    def delete_profile(self, profile_id: str) -> None:
        """Delete the profile and take it out of its class's count, in one transaction."""
        stored = self._profiles.get_item(Key=profile_key(profile_id), ConsistentRead=True).get("Item")
        if stored is None:
            return
        before = stored.get("counted")
        if not before:
            self._profiles.delete_item(Key=profile_key(profile_id))
            return
        delete = {
            "Delete": {
                "TableName": self._profiles.name,
                "Key": profile_key(profile_id),
                "ConditionExpression": "#c = :before",
                "ExpressionAttributeNames": {"#c": "counted"},
                "ExpressionAttributeValues": {":before": before},
            }
        }
        if not self._transact([delete, *self._profile_counts(profile_id, class_change(before, None))]):
            self.delete_profile(profile_id)  # its class moved meanwhile: count what it is now

    def count_profile(self, profile_id: str) -> None:
        """Count a profile stored without being counted (an import's bulk write) in its class, once."""
        stored = self._profiles.get_item(Key=profile_key(profile_id), ConsistentRead=True).get("Item")
        if stored is None or stored.get("counted"):
            return
        counted = profile_class(_profile_of(stored))
        if counted is None:
            return
        mark = {
            "Update": {
                "TableName": self._profiles.name,
                "Key": profile_key(profile_id),
                "UpdateExpression": "SET #c = :counted",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#c) AND #v = :version",
                "ExpressionAttributeNames": {"#c": "counted", "#v": "version"},
                "ExpressionAttributeValues": {":counted": counted, ":version": stored["version"]},
            }
        }
        if not self._transact([mark, *self._profile_counts(profile_id, class_change(None, counted))]):
            self.count_profile(profile_id)  # it changed meanwhile: look again

    def profile_counts(self) -> dict[str, int]:
        """Stored profiles per class (`known`, `anonymous`), summed over the shards."""
        keys = [{"pk": f"STATS#PROFILES#{shard}", "sk": "STATS"} for shard in range(STATS_SHARDS)]
        totals: dict[str, int] = dict.fromkeys(PROFILE_CLASSES, 0)
        for item in self._batch_get(self._profiles, keys):
            for name in PROFILE_CLASSES:
                totals[name] += int(item.get(name, 0))
        return totals

    def events_per_day(self, first_day: str, last_day: str) -> dict[str, int]:
        """Recorded events per UTC day (`first_day`..`last_day`), summed over the shards."""
        totals: dict[str, int] = {}
        for shard in range(STATS_SHARDS):
            for item in iter_query(
                self._timeline,
                KeyConditionExpression=Key("pk").eq(f"STATS#EVENTS#{shard}") & Key("sk").between(first_day, last_day),
            ):
                totals[item["sk"]] = totals.get(item["sk"], 0) + int(item.get("events", 0))
        return totals

    def _profile_counts(self, profile_id: str, deltas: dict[str, int]) -> list[dict[str, Any]]:
        if not deltas:
            return []
        names = {f"#n{i}": name for i, name in enumerate(deltas)}
        values = {f":d{i}": delta for i, delta in enumerate(deltas.values())}
        return [
            {
                "Update": {
                    "TableName": self._profiles.name,
                    "Key": {"pk": f"STATS#PROFILES#{stats_shard(profile_id)}", "sk": "STATS"},
                    "UpdateExpression": "ADD " + ", ".join(f"#n{i} :d{i}" for i in range(len(deltas))),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """Write the items in one transaction (a lone put as a plain conditional put); False when a condition
        failed. Transactions that touch the same counter shard at the same moment conflict: those are retried."""
        return transact(self._profiles.meta.client, items)

    def search(self, trait: str, value: Any, limit: int, cursor: str | None) -> tuple[list[Profile], str | None]:
        """A filtered scan (admin tooling, paged): profiles whose trait equals the value (as text or number)."""
        candidates: list[Any] = [value]
        if isinstance(value, str):
            try:
                number = float(value)
                candidates.append(int(number) if number.is_integer() else number)
            except ValueError:
                pass
        needles = [_document({trait: {"v": v}})[1:-2] + "," for v in candidates]  # '"plan":{"v":"gold",'
        condition = Attr("sk").eq("PROFILE")
        matches = Attr("doc").contains(needles[0])
        for needle in needles[1:]:
            matches = matches | Attr("doc").contains(needle)
        condition = condition & matches
        found: list[Profile] = []
        start = _decode_key(cursor)
        while len(found) <= limit:
            kwargs: dict[str, Any] = {"FilterExpression": condition, "Limit": 1000}
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._profiles.scan(**kwargs)
            for item in response.get("Items", []):
                profile = _profile_of(item)
                stamped = profile.traits.get(trait)
                if stamped is not None and stamped.value in candidates:  # the needle may occur inside a value
                    found.append(profile)
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        if len(found) > limit:  # the rest of the last page is found again from the last one returned
            start = profile_key(found[limit - 1].profile_id)
            found = found[:limit]
        return found, _encode_key(start) if start else None

    # ---- timeline chains ----
    def head(self, profile_id: str, consistent: bool = False) -> Entry | None:
        response = self._timeline.query(
            KeyConditionExpression=Key("pk").eq(f"P#{profile_id}") & Key("sk").begins_with("EV#"),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=consistent,
        )
        items = response.get("Items", [])
        return _entry_of(items[0]) if items else None

    def append(self, profile_id: str, entry: Entry, expires_at: int | None) -> bool:
        item: dict[str, Any] = {
            **entry_key(profile_id, entry.seq),
            "kind": entry.kind,
            "doc": _document(entry.to_json()),
        }
        if entry.activity:
            item["type"] = entry.activity.get("type")
        if expires_at is not None:
            item["expiresAt"] = expires_at
        day = event_day(entry)
        if day is None:
            return put_if_absent(self._timeline, item)
        # the event is counted on its day in the same transaction: appended once, counted once
        return transact(
            self._timeline.meta.client,
            [
                {
                    "Put": {
                        "TableName": self._timeline.name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._timeline.name,
                        "Key": {"pk": f"STATS#EVENTS#{stats_shard(profile_id)}", "sk": day},
                        "UpdateExpression": "ADD events :one",
                        "ExpressionAttributeValues": {":one": 1},
                    }
                },
            ],
        )

    def entry(self, profile_id: str, seq: int) -> Entry | None:
        item = self._timeline.get_item(Key=entry_key(profile_id, seq), ConsistentRead=True).get("Item")
        return _entry_of(item) if item else None

    def entries(
        self, profile_id: str, *, before_seq: int | None, limit: int, types: Collection[str], now_epoch: int
    ) -> list[Entry]:
        upper = entry_key(profile_id, (before_seq if before_seq is not None else 10**SEQ_DIGITS) - 1)["sk"]
        condition = Attr("kind").eq("activity") & (Attr("expiresAt").not_exists() | Attr("expiresAt").gt(now_epoch))
        if types:
            condition = condition & Attr("type").is_in(list(types))
        found: list[Entry] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("pk").eq(f"P#{profile_id}") & Key("sk").between("EV#", upper),
                "FilterExpression": condition,
                "ScanIndexForward": False,
                "Limit": max(limit, 25),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._timeline.query(**kwargs)
            found.extend(_entry_of(i) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return found[:limit]

    def erase_chain(self, profile_id: str, keep_seq: int) -> int:
        keep = entry_key(profile_id, keep_seq)["sk"]
        deleted = 0
        with self._timeline.batch_writer() as batch:
            for item in self._partition(self._timeline, f"P#{profile_id}"):
                if item["sk"] != keep:
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                    deleted += 1
        return deleted

    # ---- erasure fences: one item per fence in a register partition, lifted by the sweep ----
    def hold_fences(self, profile_ids: Sequence[str], at: str) -> None:
        with self._timeline.batch_writer() as batch:
            for pid in profile_ids:
                batch.put_item(Item={"pk": FENCES_PK, "sk": f"{at}#{pid}", "profileId": pid})

    def lapsed_fences(self, before: str) -> list[tuple[str, str]]:
        out = []
        for item in self._partition(self._timeline, FENCES_PK):
            at, _, pid = str(item["sk"]).partition("#")
            if at < before:
                out.append((at, pid))
        return out

    def lift_fence(self, at: str, profile_id: str) -> None:
        self._timeline.delete_item(Key={"pk": FENCES_PK, "sk": f"{at}#{profile_id}"})

    # ---- merge logs ----
    def save_merge(self, log: MergeLog) -> None:
        self._timeline.put_item(Item={**merge_key(log.survivor, log.merge_id), "doc": _document(log.to_json())})

    def merge_log(self, survivor: str, merge_id: str) -> MergeLog | None:
        item = self._timeline.get_item(Key=merge_key(survivor, merge_id), ConsistentRead=True).get("Item")
        return MergeLog.from_json(json.loads(item["doc"])) if item else None

    def merge_logs(self, survivor: str) -> list[MergeLog]:
        response = self._timeline.query(
            KeyConditionExpression=Key("pk").eq(f"P#{survivor}") & Key("sk").begins_with("AUDIT#MERGE#")
        )
        logs = [MergeLog.from_json(json.loads(i["doc"])) for i in response.get("Items", [])]
        return sorted(logs, key=lambda log: log.at)

    # ---- suppression ----
    def suppress(self, email: str, reason: str, at: str, detail: dict[str, Any]) -> bool:
        return put_if_absent(
            self._profiles,
            {
                **suppression_key(email),
                "email": email,
                "reason": reason,
                "at": at,
                **to_dynamo(detail),
                **_listed(email, at),
            },
        )

    def suppressions(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
        items = self._batch_get(self._profiles, [suppression_key(e) for e in dict.fromkeys(emails)])
        return {str(i["email"]): _clean(i) for i in items}

    def unsuppress(self, emails: Sequence[str]) -> None:
        with self._profiles.batch_writer() as batch:
            for email in dict.fromkeys(emails):
                batch.delete_item(Key=suppression_key(email))

    def suppression_list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "IndexName": "suppressed",
            "KeyConditionExpression": Key("suppressedList").eq(SUPPRESSION_LIST),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            at, _, email = _decode_position(cursor).partition("#")
            kwargs["ExclusiveStartKey"] = {**suppression_key(email), **_listed(email, at)}
        response = self._profiles.query(**kwargs)
        entries = [{k: v for k, v in _clean(i).items() if not k.startswith("suppressed")} for i in response["Items"]]
        last = response.get("LastEvaluatedKey")
        return entries, (_encode_position(str(last["suppressedAt"])) if last else None)

    # ---- settings ----
    def settings(self) -> IdentitySettings:
        item = self._profiles.get_item(Key=SETTINGS_KEY).get("Item")
        return IdentitySettings.from_json(_clean(item) if item else None)

    def save_settings(self, settings: IdentitySettings) -> None:
        self._profiles.put_item(Item={**SETTINGS_KEY, **to_dynamo(settings.to_json())})

    # ---- helpers ----
    def _batch_get(self, table: Any, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        client = table.meta.client
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET):
            request: dict[str, Any] = {table.name: {"Keys": keys[start : start + BATCH_GET]}}
            while request:
                response = client.batch_get_item(RequestItems=request)
                items.extend(response.get("Responses", {}).get(table.name, []))
                request = response.get("UnprocessedKeys") or {}
        return items

    def _partition(self, table: Any, pk: str) -> Iterator[dict[str, Any]]:
        return iter_query(table, KeyConditionExpression=Key("pk").eq(pk))


def transact(client: Any, items: list[dict[str, Any]]) -> bool:
    """Write `items` atomically (a lone put as a plain conditional put); False when a condition failed. A
    transaction cancelled only by a conflict with another one on the same item (a counter shard) is tried again."""
    if len(items) == 1 and "Put" in items[0]:
        spec = items[0]["Put"]
        return succeeded(lambda: client.put_item(**spec))
    for attempt in range(CONFLICT_RETRIES):
        try:
            client.transact_write_items(TransactItems=items)
            return True
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            reasons = {r.get("Code") for r in error.response.get("CancellationReasons") or []}
            if code == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                return False
            conflict = code == "TransactionConflictException" or (
                code == "TransactionCanceledException" and "TransactionConflict" in reasons
            )
            if not conflict or attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    return False


def _encode_key(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _encode_position(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def _decode_position(cursor: str) -> str:
    try:
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error):
        raise ValueError("not a cursor this API returned") from None
    if "#" not in position:
        raise ValueError("not a cursor this API returned")
    return position


def _decode_key(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise ValueError("not a cursor this API returned") from None
    if not isinstance(key, dict) or set(key) != {"pk", "sk"}:
        raise ValueError("not a cursor this API returned")
    return key


class DynamoImports:
    """`ImportStore` on the `imports` table."""

    def __init__(self, table: Any, ttl_seconds: int = 30 * 86400) -> None:
        self._table = table
        self._ttl = ttl_seconds

    def _key(self, import_id: str, sk: str) -> dict[str, str]:
        return {"pk": f"IMPORT#{import_id}", "sk": sk}

    def create_job(self, job: dict[str, Any]) -> None:
        item = {**self._key(job["importId"], "JOB"), **to_dynamo(job), "expiresAt": job["expiresAt"]}
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def job(self, import_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key=self._key(import_id, "JOB"), ConsistentRead=True).get("Item")
        if not item:
            return None
        job = from_dynamo(item)
        job["chunksDone"] = len(item.get("chunksDone") or ())
        job["parts"] = len(item.get("parts") or ())
        return {k: v for k, v in job.items() if k not in ("pk", "sk")}

    def add_chunks(
        self, import_id: str, part: str, chunks: Sequence[tuple[str, list[dict[str, Any]]]], rows: int
    ) -> bool:
        job = self._table.get_item(Key=self._key(import_id, "JOB"), ConsistentRead=True).get("Item") or {}
        if part in (job.get("parts") or ()):
            return False
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for key, chunk_rows in chunks:
                batch.put_item(
                    Item={
                        **self._key(import_id, f"CHUNK#{key}"),
                        "rows": json.dumps(chunk_rows, separators=(",", ":"), default=str),
                        "count": len(chunk_rows),
                        "expiresAt": job.get("expiresAt"),
                    }
                )
        return succeeded(
            lambda: self._table.update_item(
                Key=self._key(import_id, "JOB"),
                UpdateExpression="ADD chunkCount :c, #rows :r, parts :p",
                ConditionExpression="attribute_exists(pk) AND NOT contains(parts, :part)",
                ExpressionAttributeNames={"#rows": "rows"},
                ExpressionAttributeValues={":c": len(chunks), ":r": rows, ":p": {part}, ":part": part},
            )
        )

    def chunk(self, import_id: str, key: str) -> list[dict[str, Any]] | None:
        item = self._table.get_item(Key=self._key(import_id, f"CHUNK#{key}")).get("Item")
        return json.loads(item["rows"]) if item else None

    def chunk_keys(self, import_id: str) -> list[str]:
        items = query_all(
            self._table,
            KeyConditionExpression=Key("pk").eq(f"IMPORT#{import_id}") & Key("sk").begins_with("CHUNK#"),
            ProjectionExpression="sk",
        )
        return [str(i["sk"]).removeprefix("CHUNK#") for i in items]

    def mark_started(self, import_id: str, at: str) -> bool:
        return succeeded(
            lambda: self._table.update_item(
                Key=self._key(import_id, "JOB"),
                UpdateExpression="SET #s = :running, startedAt = :at",
                ConditionExpression="#s = :uploading",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":running": "running", ":uploading": "uploading", ":at": at},
            )
        )

    def finish_chunk(self, import_id: str, key: str, counts: dict[str, int], rejected: list[dict[str, Any]]) -> bool:
        job = self._table.get_item(Key=self._key(import_id, "JOB")).get("Item") or {}
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for row in rejected:
                batch.put_item(
                    Item={
                        **self._key(import_id, f"REJECT#{int(row['row']):09d}"),
                        **to_dynamo(row),
                        "expiresAt": job.get("expiresAt"),
                    }
                )
        names = {"#done": "chunksDone"}
        values: dict[str, Any] = {":key": {key}, ":k": key}
        adds = ["#done :key"]
        for index, (name, count) in enumerate(counts.items()):
            names[f"#c{index}"] = name
            values[f":c{index}"] = count
            adds.append(f"#c{index} :c{index}")
        return succeeded(
            lambda: self._table.update_item(
                Key=self._key(import_id, "JOB"),
                UpdateExpression="ADD " + ", ".join(adds),
                ConditionExpression="attribute_exists(pk) AND NOT contains(#done, :k)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        )

    def rejected(self, import_id: str, after_row: int, limit: int) -> list[dict[str, Any]]:
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"IMPORT#{import_id}")
            & Key("sk").between(f"REJECT#{after_row + 1:09d}", "REJECT#999999999"),
            Limit=limit,
        )
        return [_clean(i) for i in response.get("Items", [])]


def _implements_the_ports(profiles: DynamoProfiles, imports: DynamoImports) -> tuple[ProfileStore, ImportStore]:
    """mypy checks here that these adapters implement the whole ports."""
    return profiles, imports
