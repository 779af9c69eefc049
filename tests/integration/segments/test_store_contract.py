"""The segments table's contract, held by both adapters: the DynamoDB one on the local cloud and the in-memory one
the unit tests use — conditional rollup writes, the outbox and the due index, statistics counted with the write,
folded rollups left out of scans, tombstones, definitions saved over the version read, backfill pages counted once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.adapters.memory import MemorySegments
from services.segments.domain.stored import Folded, RollupWrite, StoredRollup
from services.segments.ports import SegmentStore, StaleDefinition, StaleRollup

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
LONG_AGO = "2001-01-01T00:00:00.000Z"  # due times no other test writes


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> SegmentStore:
    if request.param == "memory":
        return MemorySegments()
    repo: DynamoSegments = request.getfixturevalue("repo")
    return repo


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def rollup(state: dict[str, Any], **fields: Any) -> StoredRollup:
    return StoredRollup(state=state, **fields)


def test_a_rollup_is_written_only_over_the_version_read(store: SegmentStore) -> None:
    profile_id = unique("p")
    message = {"id": "m1", "type": "SegmentEntered", "at": LONG_AGO, "cause": "c1", "data": {}}
    assert store.save_rollup(profile_id, rollup({"t": {"a": 1}}, seen={"c1": []}, outbox=[message]), 0) == 1

    read = store.rollup(profile_id)
    assert (read.version, read.state, read.seen, read.outbox, read.folded) == (
        1,
        {"t": {"a": 1}},
        {"c1": []},
        [message],
        None,
    )
    with pytest.raises(StaleRollup):
        store.save_rollup(profile_id, rollup({"t": {"a": 2}}), 0)  # a second first write
    assert store.save_rollup(profile_id, rollup({"t": {"a": 2}}), 1) == 2
    with pytest.raises(StaleRollup):
        store.save_rollup(profile_id, rollup({"t": {"a": 3}}), 1)  # a writer that read before
    assert store.rollup(profile_id).state == {"t": {"a": 2}}
    assert store.rollup(unique("nobody")) == StoredRollup()


def test_the_outbox_is_replaced_only_at_its_version_and_the_due_index_follows(store: SegmentStore) -> None:
    profile_id = unique("p")
    store.save_rollup(profile_id, rollup({}, outbox=[{"id": "m1"}], due_at=LONG_AGO), 0)
    assert profile_id in store.due_profiles("2001-01-01T00:00:00.001Z")
    assert profile_id not in store.due_profiles("2000-12-31T23:59:59.999Z")

    assert store.set_outbox(profile_id, 7, [], None) is False
    assert store.set_outbox(profile_id, 1, [], None) is True
    assert store.set_outbox(unique("nobody"), 1, [], None) is False

    after = store.rollup(profile_id)
    assert (after.version, after.outbox, after.due_at) == (2, [], None)
    assert profile_id not in store.due_profiles("2001-01-01T00:00:00.001Z")


def test_two_rollups_are_written_together_or_not_at_all_with_their_counters(store: SegmentStore) -> None:
    first, second, name = unique("p"), unique("p"), unique("size|s")
    store.save_rollup(second, rollup({"v": 1}), 0)
    before = store.current_counters().get(name, 0)

    with pytest.raises(StaleRollup):
        store.save_rollups(
            [
                RollupWrite(first, rollup({"v": 1}), 0, ("2001-01-01", {}, {name: 1})),
                RollupWrite(second, rollup({"v": 2}), 0, ("2001-01-01", {}, {name: 1})),  # read at 0: stale
            ]
        )
    assert store.rollup(first).version == 0
    assert store.current_counters().get(name, 0) == before

    store.save_rollups(
        [
            RollupWrite(first, rollup({"v": 1}), 0, ("2001-01-01", {}, {name: 1})),
            RollupWrite(second, rollup({"v": 2}), 1, ("2001-01-01", {}, {name: 1})),
        ]
    )
    assert (store.rollup(first).version, store.rollup(second).state) == (1, {"v": 2})
    assert store.current_counters()[name] == before + 2


def test_counters_move_with_the_rollup_and_its_deletion(store: SegmentStore) -> None:
    profile_id, entered, size = unique("p"), unique("in|s"), unique("size|s")
    store.save_rollup(profile_id, rollup({}), 0, ("2001-01-02", {entered: 1}, {size: 1}))
    assert store.day_counters("2001-01-01", "2001-01-03")["2001-01-02"][entered] == 1
    assert store.current_counters()[size] == 1

    with pytest.raises(StaleRollup):
        store.delete_rollup(profile_id, 5, ("2001-01-02", {}, {size: -1}))
    store.delete_rollup(profile_id, 1, ("2001-01-02", {}, {size: -1}))

    assert store.rollup(profile_id).version == 0
    assert store.current_counters().get(size, 0) == 0
    with pytest.raises(StaleRollup):
        store.delete_rollup(profile_id, 1, ("2001-01-02", {}, {size: -1}))  # nothing left to delete
    assert store.current_counters().get(size, 0) == 0


def test_a_scan_covers_every_profile_once_and_leaves_folded_ones_out(store: SegmentStore) -> None:
    mine = {unique("p") for _ in range(7)}
    folded = unique("p")
    for profile_id in mine:
        store.save_rollup(profile_id, rollup({"mine": True}), 0)
    stub = Folded(into=min(mine), merge_id="m", at=LONG_AGO, share={"s": 1}, expires_at=4_000_000_000)
    store.save_rollup(folded, StoredRollup(folded=stub), 0)
    assert store.rollup(folded).folded == stub

    seen: list[str] = []
    for part in range(3):
        cursor: dict[str, Any] | None = None
        while True:
            rows, cursor = store.scan_rollups(part, 3, cursor, 2)
            seen += [profile_id for profile_id, _ in rows]
            if not cursor:
                break
    assert sorted(p for p in seen if p in mine | {folded}) == sorted(mine)


def test_a_tombstone_says_who_was_erased_until_it_expires(store: SegmentStore) -> None:
    profile_id = unique("p")
    assert store.is_erased(profile_id, NOW) is False
    store.mark_erased(profile_id, NOW)
    assert store.is_erased(profile_id, NOW) is True
    assert store.is_erased(profile_id, NOW + dt.timedelta(days=31)) is False


def test_a_definition_is_saved_over_the_version_read_with_its_history(store: SegmentStore) -> None:
    plan_id = unique("plan")
    generation = store.generation()
    body = {"name": "Engagement", "rules": [{"name": "buy", "activity": {"event": "X"}, "points": 1.0}]}

    first = store.save_definition("plan", plan_id, body, LONG_AGO, None)
    assert (first["planId"], first["version"], first["generation"]) == (plan_id, 1, generation + 1)
    assert first["rules"][0]["points"] == 1
    with pytest.raises(StaleDefinition):
        store.save_definition("plan", plan_id, body, LONG_AGO, None)

    second = store.save_definition("plan", plan_id, {**body, "name": "Engagement v2"}, NOW.isoformat(), first)
    assert (second["version"], second["createdAt"], second["generation"]) == (2, LONG_AGO, generation + 2)
    with pytest.raises(StaleDefinition):
        store.save_definition("plan", plan_id, body, NOW.isoformat(), first)

    assert store.definition("plan", plan_id) == {k: v for k, v in second.items() if k != "generation"}
    assert [v["name"] for v in store.history("plan", plan_id)] == ["Engagement", "Engagement v2"]
    assert plan_id in [p["planId"] for p in store.definitions().plans]
    assert store.definitions().generation == generation + 2


def test_a_backfill_page_is_counted_once_and_the_backfill_finishes_with_its_parts(store: SegmentStore) -> None:
    segment_id = unique("s")
    store.start_backfill(segment_id, "b1", 1, 2, LONG_AGO)
    store.record_backfill_page(segment_id, "b1", "0:0", 5, 2, False, LONG_AGO)
    store.record_backfill_page(segment_id, "b1", "0:0", 5, 2, False, LONG_AGO)  # redelivered
    store.record_backfill_page(segment_id, "b0", "0:1", 9, 9, True, LONG_AGO)  # an older backfill's page
    store.record_backfill_page(segment_id, "b1", "0:1", 1, 0, True, LONG_AGO)
    progress = store.backfill(segment_id)
    assert progress is not None
    assert (progress["status"], progress["pages"], progress["processed"], progress["changed"]) == ("running", 2, 6, 2)

    store.record_backfill_page(segment_id, "b1", "1:0", 3, 1, True, NOW.isoformat())
    progress = store.backfill(segment_id)
    assert progress is not None
    assert (progress["status"], progress["partsDone"], progress["finishedAt"]) == ("done", 2, NOW.isoformat())
    assert "pageMarks" not in progress
    assert store.backfill(unique("s")) is None
