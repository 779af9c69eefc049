"""The segments table in memory, with `DynamoSegments`' semantics, for unit tests of the segments use cases."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import zlib
from typing import Any

from botocore.exceptions import ClientError

from services.common.bus import RecordingPublisher
from services.common.dynamo import from_dynamo, to_dynamo
from services.common.erasure import tombstone_item, tombstone_key
from services.segments.adapters.dynamodb import (
    CATALOG,
    DEF,
    DUE_SHARD,
    KINDS,
    rollup_item,
    stats_shard,
    stored_rollup,
)
from services.segments.domain.stored import (
    CounterDeltas,
    RollupWrite,
    StoredDefinitions,
    StoredRollup,
    new_backfill,
)
from services.segments.ports import SegmentStore, StaleDefinition, StaleRollup

# The segments table in memory, with the public methods and conditional semantics of `DynamoSegments`, for unit tests of
# the segments use cases without moto (fakes beat mocks).
#
# `MemorySegments` keeps the table's items as `(pk, sk) → attributes`, in the DynamoDB adapter's layout and encoding
# (a rollup is written by `rollup_item` and read by `stored_rollup`, so it round-trips through JSON, keeps the last
# `SEEN_LIMIT` causes and is due while it has a `dueAt`), under one lock. Where a use case can tell, it behaves as
# DynamoDB does: a rollup is written only over the version it was read at (else `StaleRollup`) and a fold's two
# rollups all or nothing; statistics counters are added in the same write as the rollup change they count, sharded
# as in the table; a definition is saved only over the version read (else `StaleDefinition`), with its history
# entry and a generation bump; a backfill page is counted once per mark. A parallel scan's `limit` counts every item
# it evaluates (definitions and counters too) before the filter, as DynamoDB's `Limit` does; a page ends with a
# cursor only while the part has items left. As with DynamoDB's TTL, nothing expires by itself: a folded rollup and a
# tombstone stay; the use cases compare their expiry with the time.
#
# The bus publisher for tests is `services.common.bus.RecordingPublisher` (re-exported here).

__all__ = ["MemorySegments", "RecordingPublisher"]

ROLLUP = "ROLLUP"
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit

Item = dict[str, Any]
_Key = tuple[str, str]


def _plain(value: Any) -> Any:
    """A value as it would come back from DynamoDB (whole floats as ints, None in maps dropped), and a copy."""
    return copy.deepcopy(from_dynamo(to_dynamo(value)))


def _clean(item: Item) -> Item:
    """What the DynamoDB adapter returns: the item without its keys, a copy."""
    return {k: copy.deepcopy(from_dynamo(v)) for k, v in item.items() if k not in ("pk", "sk")}


def _rollup_key(profile_id: str) -> _Key:
    return (f"PROFILE#{profile_id}", ROLLUP)


def _invalid(message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "TransactWriteItems")


class MemorySegments:
    """The segments table in memory: the public methods of `DynamoSegments`, with its return shapes."""

    def __init__(self) -> None:
        self._items: dict[_Key, Item] = {}
        self._lock = threading.Lock()

    # ---- the table (call with the lock held) -----------------------------------------------------------------
    def _partition(self, pk: str) -> list[tuple[str, Item]]:
        """(sk, attributes) of one partition, in sort key order."""
        return sorted(((sk, item) for (p, sk), item in self._items.items() if p == pk), key=lambda pair: pair[0])

    def _unchanged(self, profile_id: str, read_version: int) -> bool:
        """The condition of every rollup write: still at the version read (0: no rollup yet)."""
        current = self._items.get(_rollup_key(profile_id))
        if not read_version:
            return current is None
        return current is not None and current.get("version") == read_version

    def _add_counters(self, counters: dict[str, CounterDeltas]) -> None:
        """ADD the profiles' deltas to their shards' counter items, summed per item first (profiles may share a
        shard) and only where the sum is not 0; a counter that comes back to 0 stays, at 0."""
        by_item: dict[_Key, dict[str, int]] = {}
        for profile_id, (day, per_day, current) in counters.items():
            shard = stats_shard(profile_id)
            for key, deltas in (((f"STATS#DAY#{shard}", day), per_day), ((f"STATS#NOW#{shard}", "NOW"), current)):
                target = by_item.setdefault(key, {})
                for name, amount in deltas.items():
                    target[name] = target.get(name, 0) + amount
        for key, deltas in by_item.items():
            for name, amount in deltas.items():
                if amount:
                    item = self._items.setdefault(key, {"pk": key[0], "sk": key[1]})
                    item[name] = item.get(name, 0) + amount

    def _counters(self, amounts: list[Item]) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in amounts:
            for name, value in item.items():
                if name not in ("pk", "sk"):
                    out[name] = out.get(name, 0) + int(value)
        return out

    # ---- definitions -----------------------------------------------------------------------------------------
    def definitions(self) -> StoredDefinitions:
        found = StoredDefinitions()
        with self._lock:
            for sk, item in self._partition(DEF):
                if sk == CATALOG:
                    found.generation = int(item.get("generation", 0))
                    continue
                kind = sk.partition("#")[0]
                listed = {"SEGMENT": found.segments, "PLAN": found.plans, "QUESTIONNAIRE": found.questionnaires}
                listed[kind].append(_clean(item))
        return found

    def definition(self, kind: str, definition_id: str) -> dict[str, Any] | None:
        prefix, _ = KINDS[kind]
        with self._lock:
            item = self._items.get((DEF, f"{prefix}#{definition_id}"))
            return _clean(item) if item else None

    def save_definition(
        self, kind: str, definition_id: str, body: dict[str, Any], now_iso: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A new definition (previous None) or its next version, with its history entry and the generation bump,
        all or nothing; StaleDefinition if someone saved in between."""
        prefix, id_field = KINDS[kind]
        version = int(previous["version"]) + 1 if previous else 1
        item = {
            **_plain(body),
            id_field: definition_id,
            "version": version,
            "createdAt": previous["createdAt"] if previous else now_iso,
            "updatedAt": now_iso,
        }
        key = (DEF, f"{prefix}#{definition_id}")
        with self._lock:
            current = self._items.get(key)
            fresh = (
                current is None if previous is None else current is not None and current.get("version") == version - 1
            )
            if not fresh:
                raise StaleDefinition(definition_id)
            self._items[key] = {"pk": key[0], "sk": key[1], **copy.deepcopy(item)}
            history = (f"HIST#{kind}#{definition_id}", f"v{version:06d}")
            self._items[history] = {"pk": history[0], "sk": history[1], **copy.deepcopy(item)}
            catalog = self._items.setdefault((DEF, CATALOG), {"pk": DEF, "sk": CATALOG})
            catalog["generation"] = catalog.get("generation", 0) + 1
            return {**item, "generation": catalog["generation"]}

    def generation(self) -> int:
        with self._lock:
            return int(self._items.get((DEF, CATALOG), {}).get("generation", 0))

    def history(self, kind: str, definition_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_clean(item) for _, item in self._partition(f"HIST#{kind}#{definition_id}")]

    # ---- backfill progress ------------------------------------------------------------------------------------
    def start_backfill(self, segment_id: str, backfill_id: str, version: int, parts: int, now_iso: str) -> None:
        key = (f"BACKFILL#{segment_id}", "CURRENT")
        with self._lock:
            self._items[key] = {"pk": key[0], "sk": key[1], **new_backfill(backfill_id, version, parts, now_iso)}

    def backfill(self, segment_id: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get((f"BACKFILL#{segment_id}", "CURRENT"))
            return {k: v for k, v in _clean(item).items() if k != "pageMarks"} if item else None

    def record_backfill_page(
        self, segment_id: str, backfill_id: str, mark: str, processed: int, changed: int, part_done: bool, now_iso: str
    ) -> None:
        """Add one page's figures once (a redelivered page is recognised by its mark); finish when all parts are.
        A page of a backfill that a newer one replaced counts for nothing."""
        with self._lock:
            item = self._items.get((f"BACKFILL#{segment_id}", "CURRENT"))
            if item is None or item.get("backfillId") != backfill_id or mark in item.get("pageMarks", set()):
                return
            item["processed"] += processed
            item["changed"] += changed
            item["pages"] += 1
            item["partsDone"] += 1 if part_done else 0
            item["updatedAt"] = now_iso
            item["pageMarks"] = {*item.get("pageMarks", set()), mark}
            if part_done and int(item["partsDone"]) >= int(item["parts"]):
                item.update(status="done", finishedAt=now_iso)

    # ---- erasure tombstones -----------------------------------------------------------------------------------
    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        tombstone = tombstone_item(profile_id, now)
        with self._lock:
            self._items[(tombstone["pk"], tombstone["sk"])] = tombstone

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        key = tombstone_key(profile_id)
        with self._lock:
            item = self._items.get((key["pk"], key["sk"]))
            return item is not None and int(item["expiresAt"]) > now.timestamp()

    # ---- rollups ----------------------------------------------------------------------------------------------
    def rollup(self, profile_id: str) -> StoredRollup:
        with self._lock:
            item = self._items.get(_rollup_key(profile_id))
            return stored_rollup(item) if item else StoredRollup()

    def save_rollup(
        self, profile_id: str, stored: StoredRollup, read_version: int, counters: CounterDeltas | None = None
    ) -> int:
        """Write the rollup only if nobody wrote since `read_version` (else StaleRollup), its counters with it.
        Returns the new version."""
        item = rollup_item(profile_id, stored, read_version)
        with self._lock:
            if not self._unchanged(profile_id, read_version):
                raise StaleRollup(profile_id)
            self._items[_rollup_key(profile_id)] = item
            if counters:
                self._add_counters({profile_id: counters})
        return read_version + 1

    def save_rollups(self, writes: list[RollupWrite]) -> None:
        """Several rollups, each only if unchanged since read, with their statistics: all or nothing."""
        if len({w.profile_id for w in writes}) != len(writes):
            raise _invalid("Transaction request cannot include multiple operations on one item")
        if len(writes) > MAX_TRANSACTION_ITEMS:
            raise _invalid(f"Member must have length less than or equal to {MAX_TRANSACTION_ITEMS}")
        items = [rollup_item(w.profile_id, w.stored, w.read_version) for w in writes]
        with self._lock:
            if not all(self._unchanged(w.profile_id, w.read_version) for w in writes):
                raise StaleRollup(", ".join(w.profile_id for w in writes))
            for write, item in zip(writes, items, strict=True):
                self._items[_rollup_key(write.profile_id)] = item
            self._add_counters({w.profile_id: w.counters for w in writes})

    def delete_rollup(self, profile_id: str, read_version: int, counters: CounterDeltas) -> None:
        """Erase a profile's rollup (if unchanged since read, else StaleRollup) and take it out of the statistics."""
        with self._lock:
            current = self._items.get(_rollup_key(profile_id))
            if current is None or current.get("version") != read_version:
                raise StaleRollup(profile_id)
            del self._items[_rollup_key(profile_id)]
            self._add_counters({profile_id: counters})

    def set_outbox(self, profile_id: str, version: int, outbox: list[dict[str, Any]], due_at: str | None) -> bool:
        """Replace the outbox and the due time if the rollup is still at `version`, bumping it; False otherwise."""
        with self._lock:
            item = self._items.get(_rollup_key(profile_id))
            if item is None or item.get("version") != version:
                return False
            item["version"] = version + 1
            if outbox:
                item["outbox"] = json.dumps(outbox, separators=(",", ":"))
            else:
                item.pop("outbox", None)
            if due_at is None:
                item.pop("dueShard", None)
                item.pop("dueAt", None)
            else:
                item.update(dueShard=DUE_SHARD, dueAt=due_at)
            return True

    def due_profiles(self, now_iso: str, limit: int = 500) -> list[str]:
        """The sparse `due` index: profiles due by `now_iso`, earliest first."""
        with self._lock:
            due = [
                (item["dueAt"], item["profileId"])
                for item in self._items.values()
                if item.get("dueShard") == DUE_SHARD and item["dueAt"] <= now_iso
            ]
        return [profile_id for _, profile_id in sorted(due)[:limit]]

    def scan_rollups(
        self, part: int, parts: int, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[tuple[str, StoredRollup]], dict[str, Any] | None]:
        """One page of one parallel-scan part: `limit` items evaluated, the rollups of profiles (not folded ones)
        among them returned, and where the next page starts."""
        with self._lock:
            keys = sorted(k for k in self._items if parts <= 1 or zlib.crc32(k[0].encode()) % parts == part)
            if cursor:
                keys = [k for k in keys if k > (cursor["pk"], cursor["sk"])]
            page = keys[:limit]
            found = [
                (self._items[k]["profileId"], stored_rollup(self._items[k]))
                for k in page
                if k[1] == ROLLUP and "foldedInto" not in self._items[k]
            ]
        after = {"pk": page[-1][0], "sk": page[-1][1]} if len(keys) > limit else None
        return found, after

    # ---- statistics -------------------------------------------------------------------------------------------
    def day_counters(self, first_day: str, last_day: str) -> dict[str, dict[str, int]]:
        """Per-day counters summed over shards: date → counter → value."""
        with self._lock:
            days: dict[str, list[Item]] = {}
            for (pk, sk), item in self._items.items():
                if pk.startswith("STATS#DAY#") and first_day <= sk <= last_day:
                    days.setdefault(sk, []).append(item)
            return {day: self._counters(items) for day, items in sorted(days.items())}

    def current_counters(self) -> dict[str, int]:
        with self._lock:
            return self._counters([item for (pk, _), item in self._items.items() if pk.startswith("STATS#NOW#")])


def _implements_the_port(store: MemorySegments) -> SegmentStore:
    """mypy checks here that this adapter implements the whole port."""
    return store
