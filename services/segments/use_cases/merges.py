"""Merges: identity folded one profile into another (`ProfilesMerged`) or undid that (`ProfilesUnmerged`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.conditions.activities import to_ms
from services.common.contracts import Envelope
from services.common.contracts.registry import ProfilesMerged, ProfilesUnmerged
from services.segments.domain.catalog import Catalog
from services.segments.domain.merges import Share, fold, leave, restore, unfold
from services.segments.domain.profiles import ProfileState
from services.segments.domain.statistics import deltas, snapshot
from services.segments.domain.stored import Folded, RollupWrite, StoredRollup
from services.segments.ports import Profiles, Rollups, StaleRollup
from services.segments.use_cases.evaluation import (
    MAX_ATTEMPTS,
    MAX_HOPS,
    Result,
    confirm_published,
    is_abandoned,
    is_folded,
    messages,
    publish_messages,
    rollup_after,
)

# A fold writes both rollups in one transaction, each conditional on the version read (a concurrent activity on
# either profile makes it re-read both and fold again): the survivor's with the folded history added up and
# re-evaluated, the folded profile's replaced by a *folded* rollup — where it went, by which merge, and the share the
# survivor took (for an un-merge), kept for `UNMERGE_WINDOW`. Its announcements (the survivor's transitions, score
# changes, crossings, assignments and the folded profile's exits) go into the survivor's outbox in that write and
# are published, then confirmed, as `process` does: exactly once, with ids derived from each profile's sequence.
#
# A message still in flight for the folded id finds the folded rollup: an activity the share already holds is
# dropped, any other activity counts for the survivor (identity recorded it on the folded profile just before the
# merge); trait changes are dropped (identity announces the merged traits on the survivor). Merges are rare, so
# none of this costs steady-state traffic anything: the folded rollup is read by the same GetItem as any rollup.

UNMERGE_WINDOW = dt.timedelta(days=30)  # longer than a message can wait in a queue and its DLQ (decision 23)


def fold_profiles(incoming: Envelope[ProfilesMerged], repo: Profiles, publisher: Publisher, catalog: Catalog) -> Result:
    """Fold the merged profile's rollup into the survivor's. Idempotent: a redelivery announces again only what
    may not have been announced."""
    data = incoming.data
    folded_id = data.merged_profile_id
    merge_id = data.merge_id or incoming.id
    cause = f"merge:{merge_id}"
    moment = clock.now()
    for _ in range(MAX_ATTEMPTS):
        theirs = repo.rollup(folded_id)
        if cause in theirs.seen:  # folded already (or undone before this message came: nothing to do)
            if theirs.folded is not None and theirs.folded.merge_id == merge_id and is_folded(theirs, moment):
                return _announce_again(repo, publisher, theirs.folded.into, cause, moment)
            return Result()
        if is_folded(theirs, moment):
            return Result()  # folded into another profile by another merge: identity resolves it there
        survivor_id, mine = _survivor(repo, data.surviving_profile_id, moment)
        if survivor_id == folded_id:
            return Result()
        if not mine.version and repo.is_erased(survivor_id, moment):
            return Result()  # a late message about an erased person: bring nothing back
        if not theirs.version and repo.is_erased(folded_id, moment):
            return Result()
        survivor = ProfileState.from_json(mine.state)
        folded = ProfileState.from_json(theirs.state)
        stub = StoredRollup(
            version=theirs.version + 1,
            seen={**theirs.seen, cause: []},
            folded=Folded(
                into=survivor_id,
                merge_id=merge_id,
                at=clock.iso(moment),
                share=Share(folded).to_json(),
                expires_at=int((moment + UNMERGE_WINDOW).timestamp()),
            ),
        )
        if folded.is_blank() and not theirs.outbox:  # nothing to fold: only keep in-flight messages from it
            try:
                repo.save_rollups([RollupWrite(folded_id, stub, theirs.version, ("", {}, {}))])
            except StaleRollup:
                continue
            return Result(written=True)

        outcome, share = fold(catalog, survivor, folded, to_ms(moment))
        assert stub.folded is not None
        stub.folded.share = share.to_json()
        left = leave(catalog, folded)
        version = mine.version + 1
        once, replay = messages(survivor_id, outcome, version, moment, incoming.correlation_id, cause)
        exits, _ = messages(folded_id, left, stub.version, moment, incoming.correlation_id, cause)
        pending = theirs.outbox  # written by a writer of the folded profile, not yet confirmed: published now
        abandoned = [m for m in mine.outbox if is_abandoned(m, moment)]
        outbox = mine.outbox + pending + once + exits
        written = rollup_after(outcome.state, version, mine.seen, cause, replay, outbox)
        day = moment.date().isoformat()
        gained, current = deltas(snapshot(survivor), snapshot(outcome.state))
        lost, gone = deltas(snapshot(folded), snapshot(ProfileState()))
        try:
            repo.save_rollups(
                [
                    RollupWrite(survivor_id, written, mine.version, (day, _transitions(gained), current)),
                    RollupWrite(folded_id, stub, theirs.version, (day, _transitions(lost), gone)),
                ]
            )
        except StaleRollup:
            continue
        announced = once + exits + pending + abandoned
        publish_messages(publisher, replay + announced)
        confirm_published(repo, survivor_id, written, announced)
        return Result(
            written=True,
            published=len(replay) + len(announced),
            evaluated=outcome.evaluated,
            transitions=[m for m in once + exits if m["type"] in ("SegmentEntered", "SegmentExited")],
        )
    raise StaleRollup(f"{folded_id} → {data.surviving_profile_id}: too many concurrent writers; will be retried")


def unfold_profiles(
    incoming: Envelope[ProfilesUnmerged], repo: Profiles, publisher: Publisher, catalog: Catalog
) -> Result:
    """Undo a fold: the restored profile gets its rollup back as it was at the fold (time passing since applied)
    and re-enters its segments; the survivor gives back the share it took and keeps what it gained since. Within
    `UNMERGE_WINDOW` of the fold; later, or if the fold never reached this service, the restored profile starts
    afresh and the survivor keeps what it has."""
    data = incoming.data
    restored_id = data.restored_profile_id
    cause = f"unmerge:{data.merge_id}"
    moment = clock.now()
    for _ in range(MAX_ATTEMPTS):
        theirs = repo.rollup(restored_id)
        if cause in theirs.seen:
            return _announce_again(repo, publisher, restored_id, cause, moment)
        if not is_folded(theirs, moment) or theirs.folded is None or theirs.folded.merge_id != data.merge_id:
            if not theirs.version and repo.is_erased(restored_id, moment):
                return Result()
            # Nothing of this merge to give back. Remember it as undone, so that its ProfilesMerged, were it to
            # arrive now, folds nothing; the rollup (if any) stays as it is.
            kept = StoredRollup(
                state=theirs.state,
                version=theirs.version + 1,
                seen={**theirs.seen, f"merge:{data.merge_id}": [], cause: []},
                outbox=theirs.outbox,
                due_at=theirs.due_at,
                folded=theirs.folded if is_folded(theirs, moment) else None,
            )
            try:
                repo.save_rollups([RollupWrite(restored_id, kept, theirs.version, ("", {}, {}))])
            except StaleRollup:
                continue
            return Result(written=True)

        survivor_id = theirs.folded.into
        mine = repo.rollup(survivor_id)
        share = Share.from_json(theirs.folded.share)
        now = to_ms(moment)
        back_again = restore(catalog, share, now)
        version = theirs.version + 1
        once, replay = messages(restored_id, back_again, version, moment, incoming.correlation_id, cause)
        day = moment.date().isoformat()
        writes = []
        if mine.version and not is_folded(mine, moment):
            survivor = ProfileState.from_json(mine.state)
            given_back = unfold(catalog, survivor, share, now)
            s_once, s_replay = messages(
                survivor_id, given_back, mine.version + 1, moment, incoming.correlation_id, cause
            )
            once, replay = s_once + once, s_replay + replay
            changed, current = deltas(snapshot(survivor), snapshot(given_back.state))
            left = rollup_after(given_back.state, mine.version + 1, mine.seen, cause, [], mine.outbox)
            writes.append(RollupWrite(survivor_id, left, mine.version, (day, _transitions(changed), current)))
        outbox = theirs.outbox + once
        written = rollup_after(back_again.state, version, theirs.seen, cause, replay, outbox)
        entered, current = deltas(snapshot(ProfileState()), snapshot(back_again.state))
        writes.append(RollupWrite(restored_id, written, theirs.version, (day, _transitions(entered), current)))
        try:
            repo.save_rollups(writes)
        except StaleRollup:
            continue
        publish_messages(publisher, replay + once)
        confirm_published(repo, restored_id, written, once)
        return Result(
            written=True,
            published=len(replay) + len(once),
            evaluated=back_again.evaluated,
            transitions=[m for m in once if m["type"] in ("SegmentEntered", "SegmentExited")],
        )
    raise StaleRollup(f"{restored_id}: too many concurrent writers; the un-merge will be retried")


def _survivor(repo: Rollups, profile_id: str, moment: dt.datetime) -> tuple[str, StoredRollup]:
    """The survivor's rollup — or, when it was itself folded into another since, that one's."""
    stored = repo.rollup(profile_id)
    for _ in range(MAX_HOPS):
        if not is_folded(stored, moment) or stored.folded is None:
            break
        profile_id = stored.folded.into
        stored = repo.rollup(profile_id)
    return profile_id, stored


def _announce_again(repo: Rollups, publisher: Publisher, profile_id: str, cause: str, moment: dt.datetime) -> Result:
    """A redelivery: publish again what the cause announced and what of it may still wait in the outbox."""
    profile_id, stored = _survivor(repo, profile_id, moment)
    mine = [m for m in stored.outbox if m.get("cause") == cause or is_abandoned(m, moment)]
    again = stored.seen.get(cause, [])
    publish_messages(publisher, again + mine)
    confirm_published(repo, profile_id, stored, mine)
    return Result(published=len(again) + len(mine))


def _transitions(day: dict[str, Any]) -> dict[str, Any]:
    """The per-day counters a merge contributes: entries and exits (announced, so counted). Questionnaire
    movements are left out: two profiles becoming one (or two again) is not a person changing their answers."""
    return {k: v for k, v in day.items() if k.startswith(("in|", "out|"))}
