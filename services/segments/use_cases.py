"""Segments use cases: apply activity and time to rollups, publish transitions exactly once per transition."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.events import ActivityRecorded, SegmentEntered, SegmentExited
from services.common.ids import derived_id
from services.segments.adapters.dynamodb import DynamoSegments, StaleRollup
from services.segments.domain.rules import Segment, evaluate, next_review

MAX_ATTEMPTS = 5


def _events(
    profile_id: str, cause: str, transitions: list[dict[str, Any]], correlation_id: str | None
) -> list[Envelope[Any]]:
    out: list[Envelope[Any]] = []
    for t in transitions:
        kind = SegmentEntered if t["entered"] else SegmentExited
        data = kind(
            profileId=profile_id, segmentId=t["segmentId"], segmentVersion=t["version"], sequence=t.get("sequence", 0)
        )
        out.append(
            envelope(data, id=derived_id(cause, kind.DETAIL_TYPE, t["segmentId"]), correlation_id=correlation_id)
        )
    return out


def _apply(
    repo: DynamoSegments,
    segments: list[Segment],
    profile_id: str,
    activity: dict[str, Any] | None,
    cause: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Read–evaluate–write with optimistic locking; returns the transitions caused by `cause`."""
    for _ in range(MAX_ATTEMPTS):
        rollup, version, seen = repo.rollup(profile_id)
        if cause in seen:
            return seen[cause]  # a redelivery: same transitions, same derived ids, deduped downstream
        new_rollup, transitions = evaluate(segments, rollup, activity, now)
        if not transitions and new_rollup == rollup and activity is not None:
            return []
        recorded = [{**t.as_dict(), "sequence": version + 1} for t in transitions]
        try:
            repo.save_rollup(
                profile_id, new_rollup, version, {**seen, cause: recorded}, next_review(segments, new_rollup)
            )
        except StaleRollup:
            continue
        return recorded
    raise StaleRollup(f"{profile_id}: too many concurrent writers; the message will be retried")


def record_activity(incoming: Envelope[ActivityRecorded], repo: DynamoSegments, publisher: Publisher) -> None:
    activity = incoming.data.model_dump(by_alias=True, mode="json")
    segments = repo.active_segments()
    transitions = _apply(repo, segments, incoming.data.profile_id, activity, incoming.id, clock.now())
    if transitions:
        publisher.publish(_events(incoming.data.profile_id, incoming.id, transitions, incoming.correlation_id))


def sweep(repo: DynamoSegments, publisher: Publisher) -> int:
    """Re-evaluate profiles whose windowed membership is due to end; returns how many left a segment."""
    now = clock.now()
    segments = repo.active_segments()
    exits = 0
    for profile_id in repo.due_profiles(now):
        cause = f"sweep:{profile_id}:{clock.iso(now)}"
        transitions = _apply(repo, segments, profile_id, None, cause, now)
        exits += len(transitions)
        if transitions:
            publisher.publish(_events(profile_id, cause, transitions, None))
    return exits
