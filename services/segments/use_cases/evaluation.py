"""Real-time evaluation: apply an activity, trait change or time to a profile's rollup, announce changes once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.conditions.activities import activity_view, to_ms
from services.common.contracts import Envelope, envelope
from services.common.contracts.registry import (
    BY_DETAIL_TYPE,
    ActivityRecorded,
    ProfileErased,
    ProfileUpdated,
    ScorePointsRequested,
)
from services.common.erasure import erased_profile_ids
from services.common.ids import derived_id
from services.segments.domain.catalog import Catalog
from services.segments.domain.profiles import (
    Activity,
    Outcome,
    PointsAwarded,
    ProfileState,
    Reevaluate,
    Stimulus,
    Tick,
    TraitsChanged,
    apply,
)
from services.segments.domain.statistics import deltas, snapshot
from services.segments.domain.stored import StoredRollup
from services.segments.ports import Profiles, Rollups, StaleRollup

# Real-time evaluation applies an activity, a trait change or the passage of time to one profile's rollup with one read
# and (when anything changed) one conditional write, and announces what changed exactly once.
#
# Exactly once, even when a message is redelivered, consumers race, or a writer dies half-way:
# - the cause (the bus event id, or the sweep's tick) is recorded in the rollup with the write, so a redelivery changes
#   nothing a second time;
# - membership transitions, tier crossings and questionnaire assignments go into the rollup's `outbox` in the same
#   write, tagged with their cause; the writer publishes its own messages, then drops them from the outbox (a
#   conditional update that retries until it has). Another writer carries foreign messages along untouched. Messages
#   left behind by a writer that died are published by the redelivery of their cause, or — a minute later — by whoever
#   touches the profile next, the sweep included (the item stays due until then). Every re-publish carries the same
#   derived event id;
# - score changes carry the absolute score, so a redelivery simply re-announces them (same id).
# Steady state (nothing announced) is one GetItem and at most one PutItem per activity.

MAX_ATTEMPTS = 8
MAX_HOPS = 5  # folded profiles followed to their survivor (A into B, then B into C)
UNCONFIRMED_RETRY = dt.timedelta(minutes=1)  # after this, an unconfirmed outbox message counts as abandoned


@dataclass
class Result:
    written: bool = False
    published: int = 0
    evaluated: int = 0
    transitions: list[dict[str, Any]] = field(default_factory=list)


def record_activity(
    incoming: Envelope[ActivityRecorded], repo: Profiles, publisher: Publisher, catalog: Catalog
) -> Result:
    activity = activity_view(incoming.data.model_dump(by_alias=True, mode="json"))
    return process(
        repo, publisher, catalog, incoming.data.profile_id, Activity(activity), incoming.id, incoming.correlation_id
    )


def record_profile_update(
    incoming: Envelope[ProfileUpdated], repo: Profiles, publisher: Publisher, catalog: Catalog
) -> Result:
    if not incoming.data.changed:
        return Result()
    return process(
        repo,
        publisher,
        catalog,
        incoming.data.profile_id,
        TraitsChanged(dict(incoming.data.changed)),
        incoming.id,
        incoming.correlation_id,
    )


def erase_profile(incoming: Envelope[ProfileErased], repo: Profiles) -> bool:
    """The person asked for erasure: drop the rollup (traits, behaviour, scores, answers) of their profile and of
    every profile merged into it, and take them out of the statistics. Returns whether there was anything to
    erase; a redelivery finds nothing."""
    erased = []
    for profile_id in erased_profile_ids(incoming.data):
        repo.mark_erased(profile_id, clock.now())  # first: an activity in flight must not start a new rollup
        erased.append(_erase_rollup(profile_id, repo))
    return any(erased)


def _erase_rollup(profile_id: str, repo: Rollups) -> bool:
    for _ in range(MAX_ATTEMPTS):
        stored = repo.rollup(profile_id)
        if not stored.version:
            return False
        day, current = deltas(snapshot(ProfileState.from_json(stored.state)), snapshot(ProfileState()))
        exits = {k: v for k, v in day.items() if k.startswith("out|")}
        try:
            repo.delete_rollup(profile_id, stored.version, (clock.now().date().isoformat(), exits, current))
        except StaleRollup:
            continue
        return True
    raise StaleRollup(f"{profile_id}: too many concurrent writers; the message will be retried")


def record_points(
    incoming: Envelope[ScorePointsRequested], repo: Profiles, publisher: Publisher, catalog: Catalog
) -> Result:
    """A journey's addScore step: exactly once per request (its id is the cause, like an activity's)."""
    data = incoming.data
    return process(
        repo,
        publisher,
        catalog,
        data.profile_id,
        PointsAwarded(data.plan_id, data.points),
        incoming.id,
        incoming.correlation_id,
    )


def process(
    repo: Profiles,
    publisher: Publisher,
    catalog: Catalog,
    profile_id: str,
    stimulus: Stimulus,
    cause: str,
    correlation_id: str | None = None,
    now: dt.datetime | None = None,
    first_read: StoredRollup | None = None,
    hops: int = 0,
) -> Result:
    """Read, apply, write conditionally (retrying on a concurrent write), publish, confirm. `first_read` saves
    the read when the caller has just read the rollup (a backfill scan)."""
    moment = now or clock.now()
    now_ms = to_ms(moment)
    for attempt in range(MAX_ATTEMPTS):
        stored = first_read if attempt == 0 and first_read is not None else repo.rollup(profile_id)
        if stored.folded is not None and is_folded(stored, moment):
            # The profile was folded into another (use_cases.merges). An activity recorded on it just before the
            # merge counts for the survivor, unless the fold brought it along already; nothing else applies.
            if cause in stored.seen or not isinstance(stimulus, Activity) or hops >= MAX_HOPS:
                return Result()
            return process(
                repo, publisher, catalog, stored.folded.into, stimulus, cause, correlation_id, now, hops=hops + 1
            )
        if cause in stored.seen:  # a redelivery: announce again what may not have been announced
            mine = [m for m in stored.outbox if m.get("cause") == cause or is_abandoned(m, moment)]
            publish_messages(publisher, stored.seen[cause] + mine)
            confirm_published(repo, profile_id, stored, mine)
            return Result(published=len(stored.seen[cause]) + len(mine))
        before = ProfileState.from_json(stored.state)
        outcome = apply(catalog, before, stimulus, now_ms)
        abandoned = [m for m in stored.outbox if is_abandoned(m, moment)]
        if not outcome.changed:
            if abandoned:
                publish_messages(publisher, abandoned)
                confirm_published(repo, profile_id, stored, abandoned)
            return Result(evaluated=outcome.evaluated, published=len(abandoned))
        if not stored.version and repo.is_erased(profile_id, moment):
            # About to write a profile's first rollup: unless it is a person erased meanwhile (a late message).
            return Result(evaluated=outcome.evaluated)
        version = stored.version + 1
        once, replay = messages(profile_id, outcome, version, moment, correlation_id, cause)
        outbox = stored.outbox + once
        written = rollup_after(outcome.state, version, stored.seen, cause, replay, outbox)
        day, current = deltas(snapshot(before), snapshot(outcome.state))
        try:
            repo.save_rollup(profile_id, written, stored.version, (moment.date().isoformat(), day, current))
        except StaleRollup:
            continue
        publish_messages(publisher, replay + once + abandoned)
        confirm_published(repo, profile_id, written, once + abandoned)
        return Result(
            written=True,
            published=len(replay) + len(once) + len(abandoned),
            evaluated=outcome.evaluated,
            transitions=[m for m in once if m["type"] in ("SegmentEntered", "SegmentExited")],
        )
    raise StaleRollup(f"{profile_id}: too many concurrent writers; the message will be retried")


def is_folded(stored: StoredRollup, moment: dt.datetime) -> bool:
    """The rollup of a profile folded into another, within the un-merge window (after it: a blank rollup)."""
    return stored.folded is not None and stored.folded.expires_at > moment.timestamp()


def is_abandoned(message: dict[str, Any], moment: dt.datetime) -> bool:
    """Written more than a minute ago and still unconfirmed: its writer died."""
    return clock.parse_iso(message["at"]) <= moment - UNCONFIRMED_RETRY


def _due_iso(due: int | None) -> str | None:
    return None if due is None else clock.iso(dt.datetime.fromtimestamp(due / 1000, dt.UTC))


def rollup_after(
    state: ProfileState,
    version: int,
    seen: dict[str, list[dict[str, Any]]],
    cause: str,
    replay: list[dict[str, Any]],
    outbox: list[dict[str, Any]],
) -> StoredRollup:
    """The rollup to write once `cause` is applied: its state, what to announce again if `cause` comes back, the
    messages not yet confirmed published, and when the profile is next due."""
    return StoredRollup(
        state=state.to_json(),
        version=version,
        seen={**seen, cause: replay},
        outbox=outbox,
        due_at=next_due(state.due, outbox),
    )


def next_due(due: int | None, outbox: list[dict[str, Any]]) -> str | None:
    """The next due time; while messages wait in the outbox, no later than when they count as abandoned."""
    found = _due_iso(due)
    if outbox:
        oldest = min(clock.parse_iso(m["at"]) for m in outbox)
        retry = clock.iso(oldest + UNCONFIRMED_RETRY)
        found = min(found, retry) if found else retry
    return found


def confirm_published(repo: Rollups, profile_id: str, stored: StoredRollup, published: list[dict[str, Any]]) -> None:
    """Drop the published messages from the outbox, whoever wrote since; the rest stays for its owner."""
    done = {m["id"] for m in published}
    while done:
        remaining = [m for m in stored.outbox if m["id"] not in done]
        if len(remaining) == len(stored.outbox):
            return  # nothing of ours is left: someone else confirmed it
        due = next_due(ProfileState.from_json(stored.state).due, remaining)
        if repo.set_outbox(profile_id, stored.version, remaining, due):
            return
        stored = repo.rollup(profile_id)


def messages(
    profile_id: str,
    outcome: Outcome,
    sequence: int,
    moment: dt.datetime,
    correlation_id: str | None,
    cause: str = "",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(exactly-once messages, replayable messages) for an outcome; ids derive from the profile, the subject
    and the per-profile sequence, so a re-publish carries the same id."""
    at = clock.iso(moment)
    once: list[dict[str, Any]] = []
    replay: list[dict[str, Any]] = []

    def add(target: list[dict[str, Any]], kind: str, subject: str, data: dict[str, Any]) -> None:
        target.append(
            {
                "type": kind,
                "id": derived_id(profile_id, kind, subject, str(sequence)),
                "at": at,
                "cause": cause,
                "correlationId": correlation_id,
                "data": {"profileId": profile_id, "sequence": sequence, **data},
            }
        )

    for t in outcome.transitions:
        kind = "SegmentEntered" if t.entered else "SegmentExited"
        add(once, kind, t.segment_id, {"segmentId": t.segment_id, "segmentVersion": t.version})
    for c in outcome.crossings:
        add(
            once,
            "ScoreThresholdCrossed",
            c.plan_id,
            {
                "planId": c.plan_id,
                "tier": c.tier,
                "direction": c.direction,
                "previousTier": c.previous,
                "score": c.score,
            },
        )
    for a in outcome.assignments:
        add(
            once,
            "QuestionnaireSegmentAssigned",
            a.questionnaire_id,
            {
                "questionnaireId": a.questionnaire_id,
                "segment": a.segment,
                "previous": a.previous,
                "confidence": a.confidence,
            },
        )
    for s in outcome.score_changes:
        add(
            replay,
            "ScoreChanged",
            s.plan_id,
            {"planId": s.plan_id, "score": s.score, "previous": s.previous, "tier": s.tier},
        )
    return once, replay


def publish_messages(publisher: Publisher, stored: list[dict[str, Any]]) -> None:
    if stored:
        publisher.publish([to_envelope(m) for m in stored])


def to_envelope(message: dict[str, Any]) -> Envelope[Any]:
    contract = BY_DETAIL_TYPE[message["type"]]
    return envelope(
        contract.model_validate(message["data"]),
        id=message["id"],
        correlation_id=message.get("correlationId"),
        occurred_at=clock.parse_iso(message["at"]),
    )


# ---- time and backfill ----------------------------------------------------------------------------------------


def sweep(
    repo: Profiles,
    publisher: Publisher,
    catalog: Catalog,
    budget: Callable[[], bool] = lambda: True,
    limit: int = 500,
) -> dict[str, int]:
    """Re-evaluate every profile whose next change by time is due (windows sliding past, decay crossing a tier,
    an unconfirmed outbox); `budget()` says whether there is time for another page."""
    now = clock.now()
    figures = {"profiles": 0, "transitions": 0, "failed": 0}
    cutoff = clock.iso(now)
    done: set[str] = set()
    while budget():
        due = [p for p in repo.due_profiles(cutoff, limit) if p not in done]
        for profile_id in due:
            done.add(profile_id)
            try:
                result = process(repo, publisher, catalog, profile_id, Tick(), f"tick:{profile_id}:{cutoff}", now=now)
            except StaleRollup:
                figures["failed"] += 1  # still due: the next run picks it up
                continue
            figures["profiles"] += 1
            figures["transitions"] += len(result.transitions)
        if not due:
            break
    return figures


def reevaluate(
    repo: Profiles,
    publisher: Publisher,
    catalog: Catalog,
    profile_id: str,
    segment_ids: frozenset[str],
    cause: str,
) -> Result:
    return process(repo, publisher, catalog, profile_id, Reevaluate(segment_ids), cause)
