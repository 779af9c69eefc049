"""In-memory journeys adapters with the real ones' semantics, for unit tests of the journeys use cases."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from services.common.bus import RecordingPublisher
from services.common.clock import iso
from services.common.dynamo import expires_at, from_dynamo, to_dynamo
from services.common.erasure import tombstone_item, tombstone_key
from services.journeys.adapters.dynamodb import (
    HOLD_DAYS,
    JOURNEY,
    MARKER_DAYS,
    RUN_HISTORY_DAYS,
    SEND_RECORD_DAYS,
)
from services.journeys.adapters.webhook_http import Response
from services.journeys.domain.overview import SENDS_SHARDS
from services.journeys.ports import JourneyStore, Renderer

# In-memory adapters with the same public methods and conditional semantics as the real ones (adapters/dynamodb.py,
# adapters/aws.py), for unit tests of the journeys use cases without moto (fakes beat mocks).
#
# `MemoryJourneys` keeps the journeys table as `pk → sk → attributes`, under one lock, with DynamoDB's behaviour where a
# use case can tell: conditional writes and transactions apply whole or not at all, and fail with the `ClientError`s
# DynamoDB answers (so `is_condition_failure` and the use cases' string checks see the same thing); values round-trip
# as through DynamoDB (floats that are whole come back as ints, `None` inside maps is dropped, tuples become lists);
# what goes in and what comes out is copied, so a caller never holds stored state. As with DynamoDB's TTL, an item
# past its `expiresAt` is not deleted; only the tombstone check looks at it.
#
# The bus publisher for tests is `services.common.bus.RecordingPublisher` (re-exported here).

__all__ = [
    "MemoryDirectory",
    "MemoryJourneys",
    "MemoryMailer",
    "MemoryRenderer",
    "MemoryRunner",
    "MemoryTexter",
    "MemoryWebhooks",
    "RecordingPublisher",
]

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit

Item = dict[str, Any]
_Key = tuple[str, str]


def _version_sk(version: int) -> str:
    return f"V#{version:06d}"


def _profile(profile_id: str) -> str:
    return f"PROFILE#{profile_id}"


def _plain(value: Any) -> Any:
    """A value as it would come back from DynamoDB, and a copy of it."""
    return copy.deepcopy(from_dynamo(to_dynamo(value)))


def _clean(attributes: Mapping[str, Any]) -> Item:
    """What the DynamoDB adapter returns: the item without its keys and TTL, a copy."""
    return {k: copy.deepcopy(v) for k, v in attributes.items() if k not in ("pk", "sk", "expiresAt")}


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _condition_failed(operation: str) -> ClientError:
    return _error("ConditionalCheckFailedException", "The conditional request failed", operation)


def _cancelled(reasons: list[str]) -> ClientError:
    listed = ", ".join(reasons)
    return _error(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{listed}]",
        "TransactWriteItems",
    )


def _invalid(message: str, operation: str) -> ClientError:
    return _error("ValidationException", message, operation)


class _Write:
    """One write of a transaction: its item, a condition on the item as it is, and what it does to it."""

    def __init__(
        self,
        key: _Key,
        apply: Callable[[Item | None], Item | None],
        condition: Callable[[Item | None], bool] | None = None,
    ) -> None:
        self.key = key
        self.apply = apply  # the new attributes, or None to delete the item
        self.condition = condition


class MemoryJourneys:
    """The journeys table in memory: the public methods of `DynamoJourneys`, with its return shapes."""

    def __init__(self, name: str = "journeys-memory") -> None:
        self.name = name
        self._items: dict[str, dict[str, Item]] = {}
        self._lock = threading.Lock()

    # ---- the table (call with the lock held) ----
    def _get(self, pk: str, sk: str) -> Item | None:
        return self._items.get(pk, {}).get(sk)

    def _put(self, pk: str, sk: str, attributes: Item) -> None:
        self._items.setdefault(pk, {})[sk] = attributes

    def _delete(self, pk: str, sk: str) -> None:
        items = self._items.get(pk)
        if items is not None:
            items.pop(sk, None)
            if not items:
                del self._items[pk]

    def _query(self, pk: str, prefix: str = "", descending: bool = False) -> list[tuple[str, Item]]:
        """(sk, attributes) of one partition whose sort key begins with `prefix`, in sort key order."""
        found = [(sk, a) for sk, a in self._items.get(pk, {}).items() if sk.startswith(prefix)]
        return sorted(found, key=lambda pair: pair[0], reverse=descending)

    def _transact(self, writes: list[_Write]) -> None:
        """All the writes or none: every condition is checked against the items before any write."""
        if len(writes) > MAX_TRANSACTION_ITEMS:
            raise _invalid(f"Member must have length less than or equal to {MAX_TRANSACTION_ITEMS}", "TransactWrite")
        if len({w.key for w in writes}) != len(writes):
            raise _invalid("Transaction request cannot include multiple operations on one item", "TransactWrite")
        reasons = []
        for write in writes:
            ok = write.condition is None or write.condition(self._get(*write.key))
            reasons.append("None" if ok else "ConditionalCheckFailed")
        if "ConditionalCheckFailed" in reasons:
            raise _cancelled(reasons)
        for write in writes:
            result = write.apply(self._get(*write.key))
            if result is None:
                self._delete(*write.key)
            else:
                self._put(*write.key, result)

    def _attempt(self, writes: list[_Write]) -> bool:
        """A transaction whose cancellation (a condition failed) is an answer, as the DynamoDB adapter treats it."""
        try:
            self._transact(writes)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    # ---- definitions ----
    def create_journey(self, journey_id: str, name: str, draft: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
        item = {
            "journeyId": journey_id,
            "name": name,
            "status": "draft",
            "version": 0,
            "draft": _plain(dict(draft)),
            "createdAt": iso(now),
            "updatedAt": iso(now),
        }
        with self._lock:
            if self._get(JOURNEY, journey_id) is not None:
                raise _condition_failed("PutItem")
            self._put(JOURNEY, journey_id, item)
            return _clean(item)

    def save_draft(self, journey_id: str, name: str, draft: Mapping[str, Any], now: dt.datetime) -> None:
        with self._lock:
            item = self._get(JOURNEY, journey_id)
            if item is None or item.get("status") == "archived":
                raise _condition_failed("UpdateItem")
            item.update({"draft": _plain(dict(draft)), "name": name, "updatedAt": iso(now)})

    def publish(self, journey_id: str, version: int, record: Mapping[str, Any], now: dt.datetime) -> bool:
        """Version `version` becomes current, only if the current one is `version - 1` and the journey is not
        archived (no lost publish); False otherwise."""
        stored = _plain(dict(record))
        version_item = {"version": version, "publishedAt": iso(now), **stored}

        def current(item: Item | None) -> Item | None:
            assert item is not None
            status = item.get("paused", "active")
            return {
                **item,
                "version": version,
                "status": status,
                "current": copy.deepcopy(stored),
                "updatedAt": iso(now),
                "name": record["definition"]["name"],
            }

        with self._lock:
            return self._attempt(
                [
                    _Write(
                        (f"JOURNEY#{journey_id}", _version_sk(version)),
                        lambda _: version_item,
                        condition=lambda item: item is None,
                    ),
                    _Write(
                        (JOURNEY, journey_id),
                        current,
                        condition=lambda item: (
                            item is not None and item.get("version") == version - 1 and item.get("status") != "archived"
                        ),
                    ),
                ]
            )

    def set_status(self, journey_id: str, status: str, now: dt.datetime, expect: Iterable[str]) -> bool:
        """Move the lifecycle; False when the journey is not in one of the `expect`ed states."""
        allowed = list(expect)
        if not allowed:
            raise _invalid("Invalid ConditionExpression: Syntax error", "UpdateItem")
        with self._lock:
            item = self._get(JOURNEY, journey_id)
            if item is None or item.get("status") not in allowed:
                return False
            item.update({"status": status, "updatedAt": iso(now)})
            if status == "paused":
                item["paused"] = status
            else:
                item.pop("paused", None)
            return True

    def journey(self, journey_id: str, consistent: bool = False) -> dict[str, Any] | None:
        with self._lock:
            item = self._get(JOURNEY, journey_id)
            return _clean(item) if item is not None else None

    def journeys(self) -> list[dict[str, Any]]:
        with self._lock:
            return [_clean(item) for _, item in self._query(JOURNEY)]

    def versions(self, journey_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_clean(item) for _, item in self._query(f"JOURNEY#{journey_id}", "V#")]

    def version(self, journey_id: str, version: int) -> dict[str, Any] | None:
        with self._lock:
            item = self._get(f"JOURNEY#{journey_id}", _version_sk(version))
            return _clean(item) if item is not None else None

    # ---- runs: a live item per journey a profile is in, and a history item per run ----
    def enter(self, profile_id: str, journey_id: str, run: Mapping[str, Any], now: dt.datetime) -> bool:
        """Claim the profile's place in the journey; False when a run is already inside (another or this one) or
        this entry (run id) was made before."""
        stored = _plain(dict(run))
        live = {**stored, "at": "entry", "facts": {}, "messages": {}, "path": {}}
        history = {
            **copy.deepcopy(stored),
            "state": "running",
            "runJourney": journey_id,
            "runState": f"running#{iso(now)}",
            "expiresAt": expires_at(now, RUN_HISTORY_DAYS),
        }
        pk = _profile(profile_id)
        with self._lock:
            return self._attempt(
                [
                    _Write((pk, f"LIVE#{journey_id}"), lambda _: live, condition=lambda item: item is None),
                    _Write((pk, f"RUN#{journey_id}#{iso(now)}#{run['runId']}"), lambda _: history),
                    _Write(
                        (pk, f"ENTRY#{run['runId']}"),
                        lambda _: {"expiresAt": expires_at(now, RUN_HISTORY_DAYS)},
                        condition=lambda item: item is None,
                    ),
                ]
            )

    def last_run(self, profile_id: str, journey_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._query(_profile(profile_id), f"RUN#{journey_id}#", descending=True)
            return _clean(found[0][1]) if found else None

    def live_runs(self, profile_id: str) -> list[dict[str, Any]]:
        """Every run the profile is inside now: one query, whatever the number of journeys."""
        with self._lock:
            return [_clean(item) for _, item in self._query(_profile(profile_id), "LIVE#")]

    def live_run(self, profile_id: str, journey_id: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._get(_profile(profile_id), f"LIVE#{journey_id}")
            return _clean(item) if item is not None else None

    def update_live(
        self, profile_id: str, journey_id: str, run_id: str, sets: Mapping[str, Any], removes: Iterable[str] = ()
    ) -> bool:
        """SET nested paths (e.g. `facts.returned`) on the run's live item; False when that run is not inside.
        Removes name top-level attributes (as the DynamoDB adapter's placeholders do)."""
        paths = [(tuple(path.split(".")), _plain(value)) for path, value in sets.items()]
        removed = list(removes)
        if not paths and not removed:
            raise _invalid("Invalid UpdateExpression: The expression can not be empty;", "UpdateItem")
        every = [p for p, _ in paths] + [(r,) for r in removed]
        for i, first in enumerate(every):
            for second in every[i + 1 :]:
                shorter = min(len(first), len(second))
                if first[:shorter] == second[:shorter]:
                    raise _invalid(
                        "Invalid UpdateExpression: Two document paths overlap with each other; "
                        "must remove or rewrite one of these paths",
                        "UpdateItem",
                    )
        with self._lock:
            item = self._get(_profile(profile_id), f"LIVE#{journey_id}")
            if item is None or item.get("runId") != run_id:
                return False
            for path, _ in paths:
                parent: Any = item
                for segment in path[:-1]:
                    parent = parent.get(segment) if isinstance(parent, dict) else None
                if not isinstance(parent, dict):
                    raise _invalid(
                        "The document path provided in the update expression is invalid for update", "UpdateItem"
                    )
            for path, value in paths:
                parent = item
                for segment in path[:-1]:
                    parent = parent[segment]
                parent[path[-1]] = value
            for name in removed:
                item.pop(name, None)
            return True

    def finish_run(self, profile_id: str, live: Mapping[str, Any], state: str, reason: str, now: dt.datetime) -> bool:
        """End the run: its live item goes, its history item records how it ended. False if it had ended."""
        pk = _profile(profile_id)
        history_sk = f"RUN#{live['journeyId']}#{live['enteredAt']}#{live['runId']}"
        ended = {
            "state": state,
            "runState": f"{state}#{live['enteredAt']}",
            "reason": reason,
            "endedAt": iso(now),
            "endedAtNode": _plain(live.get("at", "")),
            "facts": _plain(live.get("facts") or {}),
            "path": _plain(live.get("path") or {}),
        }
        with self._lock:
            return self._attempt(
                [
                    _Write(
                        (pk, f"LIVE#{live['journeyId']}"),
                        lambda _: None,
                        condition=lambda item: item is not None and item.get("runId") == live["runId"],
                    ),
                    _Write((pk, history_sk), lambda item: {**(item or {}), **copy.deepcopy(ended)}),  # an upsert
                ]
            )

    def runs_of_journey(self, journey_id: str, state: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """The `runs` index: history items by journey, newest state first."""
        with self._lock:
            found = [
                (item["runState"], pk, sk, item)
                for pk, items in self._items.items()
                for sk, item in items.items()
                if item.get("runJourney") == journey_id
                and isinstance(item.get("runState"), str)
                and (not state or item["runState"].startswith(f"{state}#"))
            ]
            found.sort(key=lambda row: row[:3], reverse=True)
            return [{**_clean(item), "profileId": pk.removeprefix("PROFILE#")} for _, pk, _, item in found[:limit]]

    def runs_of_profile(self, profile_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_clean(item) for _, item in self._query(_profile(profile_id), "RUN#")]

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
        writes: list[_Write] = []
        if marker:
            marker_item = {"expiresAt": expires_at(now, MARKER_DAYS)}
            writes.append(_Write((f"COUNTED#{marker}", "-"), lambda _: dict(marker_item), lambda i: i is None))
        keyed = [((f"STATS#{journey_id}", sk), a) for sk, a in increments.items()] + list((sends or {}).items())
        for key, attributes in keyed:
            if not attributes:
                continue
            added = dict(attributes)

            def add(item: Item | None, added: dict[str, int] = added) -> Item:
                out = dict(item or {})
                for name, n in added.items():
                    out[name] = out.get(name, 0) + n
                return out

            writes.append(_Write(key, add))
        if len(writes) <= (1 if marker else 0):
            return False
        with self._lock:
            return self._attempt(writes)

    def stats(self, journey_id: str) -> dict[str, dict[str, int]]:
        with self._lock:
            return {sk: _clean(item) for sk, item in self._query(f"STATS#{journey_id}")}

    def sends_per_day(self, first_day: str, last_day: str) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        with self._lock:
            for shard in range(SENDS_SHARDS):
                for day, item in self._query(f"SENDS#{shard}"):
                    if first_day <= day <= last_day:
                        for channel, n in _clean(item).items():
                            totals.setdefault(day, {})[channel] = totals.get(day, {}).get(channel, 0) + int(n)
        return totals

    # ---- runs held while a journey is paused ----
    def hold(self, journey_id: str, run_id: str, node_id: str, token: str, now: dt.datetime) -> None:
        with self._lock:
            self._put(
                f"HOLD#{journey_id}",
                f"{run_id}#{node_id}",
                {"token": token, "heldAt": iso(now), "expiresAt": expires_at(now, HOLD_DAYS)},
            )

    def holds(self, journey_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [{**_clean(item), "key": sk} for sk, item in self._query(f"HOLD#{journey_id}")]

    def release(self, journey_id: str, key: str) -> None:
        with self._lock:
            self._delete(f"HOLD#{journey_id}", key)

    # ---- sends: one record per dedupe key; marketing sends per channel for frequency caps ----
    def claim_send(
        self, profile_id: str, dedupe_key: str, now: dt.datetime, about: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Reserve a send; returns the earlier record when this send was already made (a retry). `about` (run,
        journey, node, channel) is kept with it, so a run shows what it sent and why."""
        key = (_profile(profile_id), f"SEND#{dedupe_key}")
        with self._lock:
            earlier = self._get(*key)
            if earlier is not None and earlier.get("status") not in ("failed", "retry", "deferred"):
                return _clean(earlier)
            self._put(
                *key,
                {
                    **_plain(dict(about or {})),
                    "status": "sending",
                    "claimedAt": iso(now),
                    "expiresAt": expires_at(now, SEND_RECORD_DAYS),
                },
            )
            return None

    def finish_send(self, profile_id: str, dedupe_key: str, status: str, detail: Mapping[str, Any]) -> None:
        key = (_profile(profile_id), f"SEND#{dedupe_key}")
        with self._lock:
            item = self._get(*key)
            self._put(*key, {**(item or {}), "status": status, "detail": _plain(dict(detail))})

    def recent_sends(self, profile_id: str, channel: str, since: dt.datetime) -> list[dt.datetime]:
        low, high = f"SENT#{channel}#{iso(since)}", f"SENT#{channel}#~"
        with self._lock:
            found = [sk for sk, _ in self._query(_profile(profile_id)) if low <= sk <= high]
        return [dt.datetime.fromisoformat(sk.split("#")[2].replace("Z", "+00:00")) for sk in found]

    def record_sent(self, profile_id: str, channel: str, dedupe_key: str, now: dt.datetime, keep_days: int) -> None:
        with self._lock:
            self._put(
                _profile(profile_id),
                f"SENT#{channel}#{iso(now)}#{dedupe_key}",
                {"expiresAt": expires_at(now, keep_days)},
            )

    def take_rate_slot(self, channel: str, window: str, limit: int, now: dt.datetime) -> bool:
        """One send in this second of the channel's global rate; False when the second is full."""
        with self._lock:
            item = self._get(f"RATE#{channel}", window)
            if item is not None and "sent" in item and not item["sent"] < limit:
                return False
            sent = (item or {}).get("sent", 0) + 1
            self._put(f"RATE#{channel}", window, {**(item or {}), "sent": sent, "expiresAt": expires_at(now, 1)})
            return True

    # ---- privacy ----
    def profile_records(self, profile_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"kind": sk.partition("#")[0].lower(), **_clean(item)} for sk, item in self._query(_profile(profile_id))
            ]

    def mark_erased(self, profile_id: str, now: dt.datetime) -> None:
        tombstone = tombstone_item(profile_id, now)
        with self._lock:
            self._put(tombstone["pk"], tombstone["sk"], {"expiresAt": tombstone["expiresAt"]})

    def is_erased(self, profile_id: str, now: dt.datetime) -> bool:
        key = tombstone_key(profile_id)
        with self._lock:
            item = self._get(key["pk"], key["sk"])
            return item is not None and int(item["expiresAt"]) > now.timestamp()

    def erase_profile(self, profile_id: str) -> int:
        with self._lock:
            return len(self._items.pop(_profile(profile_id), {}))


class MemoryRunner:
    """Step Functions in memory: machines by ARN, executions by ARN (one per name), task tokens to resume.

    `task_token(execution_arn)` hands out the token a `waitForTaskToken` task would get; a token resumes once, and
    not after its execution stopped (Step Functions answers TaskTimedOut/InvalidToken then)."""

    def __init__(self, account: str = "000000000000", region: str = "eu-west-1", prefix: str = "cxm-journey-") -> None:
        self.machines: dict[str, str] = {}  # machine ARN → its ASL
        self.executions: dict[str, dict[str, Any]] = {}  # execution ARN → name, machine, input, status, stop reason
        self.resumed: list[tuple[str, dict[str, Any]]] = []  # (token, output), in order
        self._tokens: dict[str, str] = {}  # pending token → execution ARN
        self._counter = itertools.count(1)
        self._account, self._region, self._prefix = account, region, prefix
        self._lock = threading.Lock()

    def deploy(self, journey_id: str, version: int, definition: str) -> str:
        arn = f"arn:aws:states:{self._region}:{self._account}:stateMachine:{self._prefix}{journey_id}-v{version}"
        with self._lock:
            self.machines[arn] = definition  # a retried publish updates the version's machine
        return arn

    def start(self, machine_arn: str, name: str, run_input: dict[str, Any]) -> str:
        """Idempotent by name: an execution of that name already started is answered with its ARN."""
        arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        with self._lock:
            if machine_arn not in self.machines:
                raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{machine_arn}'", "Start")
            if arn not in self.executions:
                self.executions[arn] = {
                    "executionArn": arn,
                    "machineArn": machine_arn,
                    "name": name,
                    "input": copy.deepcopy(run_input),
                    "status": "RUNNING",
                }
        return arn

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        with self._lock:
            execution = self.executions.get(execution_arn)
            if execution is None or execution["status"] != "RUNNING":
                return False
            execution.update({"status": "ABORTED", "error": error, "cause": cause})
            return True

    def resume(self, token: str, output: dict[str, Any]) -> bool:
        with self._lock:
            execution_arn = self._tokens.pop(token, None)
            if execution_arn is None or self.executions[execution_arn]["status"] != "RUNNING":
                return False
            self.resumed.append((token, copy.deepcopy(output)))
            return True

    def task_token(self, execution_arn: str) -> str:
        """A task token of this running execution (what `$$.Task.Token` gives a waiting task)."""
        with self._lock:
            if self.executions.get(execution_arn, {}).get("status") != "RUNNING":
                raise LookupError(f"no running execution {execution_arn}")
            token = f"token-{next(self._counter)}"
            self._tokens[token] = execution_arn
            return token

    def running(self) -> list[str]:
        with self._lock:
            return [arn for arn, e in self.executions.items() if e["status"] == "RUNNING"]


class MemoryDirectory:
    """Identity's contacts and segments' memberships and definitions, from dicts, answered as the lookups do:
    an unknown profile is `{"profileId": None}` and has no memberships."""

    def __init__(
        self,
        contacts: Mapping[str, Mapping[str, Any]] | None = None,
        memberships: Mapping[str, Mapping[str, Any]] | None = None,
        definitions: Mapping[str, Any] | None = None,
    ) -> None:
        self.contacts: dict[str, dict[str, Any]] = {k: copy.deepcopy(dict(v)) for k, v in (contacts or {}).items()}
        self.segment_memberships: dict[str, dict[str, Any]] = {
            k: copy.deepcopy(dict(v)) for k, v in (memberships or {}).items()
        }
        self.known_definitions = copy.deepcopy(dict(definitions or {"segments": [], "plans": []}))
        self.calls: list[tuple[str, str]] = []  # (op, profile id): what the use case asked

    def contact(self, profile_id: str) -> dict[str, Any]:
        self.calls.append(("contact", profile_id))
        found = self.contacts.get(profile_id)
        return {"profileId": profile_id, **copy.deepcopy(found)} if found is not None else {"profileId": None}

    def memberships(self, profile_id: str) -> dict[str, Any]:
        self.calls.append(("memberships", profile_id))
        found = self.segment_memberships.get(profile_id) or {}
        return {"segments": list(found.get("segments") or []), "scores": copy.deepcopy(found.get("scores") or {})}

    def definitions(self) -> dict[str, Any]:
        self.calls.append(("definitions", ""))
        return copy.deepcopy(self.known_definitions)


class MemoryMailer:
    """SES in memory: templates by name and every send request; `fail` makes the next send raise it."""

    def __init__(self) -> None:
        self.templates: dict[str, dict[str, str]] = {}
        self.sent: list[dict[str, Any]] = []
        self.fail: Exception | None = None
        self._counter = itertools.count(1)

    def save_template(self, name: str, subject: str, html: str, text: str) -> None:
        self.templates[name] = {"subject": subject, "html": html, "text": text}

    def send(self, request: dict[str, Any]) -> str:
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        self.sent.append(copy.deepcopy(request))
        return f"ses-{next(self._counter):06d}"


class MemoryRenderer:
    """Content's `render` in memory. Templates by id (`subject`, `html`, `text`, `version`, `experiment`, or `error`:
    a template that does not render); `{{ name }}` is filled from the request's variables over the profile's
    `traits` (a stand-in for Liquid). Answers as content does: an unknown template or a render error is
    `{"error": {"reason"}}`. Every request is recorded; `fail` makes the next one raise it (content unreachable)."""

    _PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")

    def __init__(
        self,
        templates: Mapping[str, Mapping[str, Any]] | None = None,
        traits: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.templates: dict[str, dict[str, Any]] = {k: copy.deepcopy(dict(v)) for k, v in (templates or {}).items()}
        self.traits: dict[str, dict[str, Any]] = {k: copy.deepcopy(dict(v)) for k, v in (traits or {}).items()}
        self.requests: list[dict[str, Any]] = []
        self.fail: Exception | None = None

    def render(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(copy.deepcopy(request))
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        template = self.templates.get(request["templateId"])
        if template is None:
            return {"error": {"reason": f"unknown template {request['templateId']!r}"}}
        if "error" in template:
            return {"error": {"reason": str(template["error"])}}
        values = {**self.traits.get(request["profileId"], {}), **(request.get("variables") or {})}

        def fill(text: str) -> str:
            return self._PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), text)

        return {
            "subject": fill(template["subject"]),
            "html": fill(template["html"]),
            "text": fill(template.get("text", "")),
            "templateVersion": int(template.get("version", 1)),
            "experiment": copy.deepcopy(template.get("experiment")),
        }


class MemoryTexter:
    """SNS SMS in memory; `fail` makes the next send raise it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail: Exception | None = None
        self._counter = itertools.count(1)

    def send(self, phone: str, text: str) -> str:
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        self.sent.append((phone, text))
        return f"sns-{next(self._counter):06d}"


class MemoryWebhooks:
    """Webhook receivers in memory: each post is recorded and answered with `answer` (a 200 by default); the
    answer has the `status` and `error` of `webhook_http.Response`."""

    def __init__(self, status: int | None = 200, error: str | None = None) -> None:
        self.answer: Any = Response(status, error)
        self.posted: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: Any) -> Any:
        self.posted.append((url, body, dict(headers)))
        return self.answer


def _implements_the_port(store: MemoryJourneys) -> JourneyStore:
    """mypy checks here that this adapter implements the whole port."""
    return store


def _implements_the_renderer(renderer: MemoryRenderer) -> Renderer:
    """mypy checks here that the fake renderer implements the port."""
    return renderer
