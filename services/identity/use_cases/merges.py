"""Merging profiles (on identify, by an admin) and undoing a merge: domain/merging.py decides, this writes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts.identity import ProfilesMerged, ProfilesUnmerged, ProfileUpdated
from services.common.dynamo import expires_at
from services.common.ids import new_id
from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.merging import (
    absorbed_profile,
    closed_already,
    marked_merged,
    merge_entry,
    merge_fence,
    moving_identifiers,
    restored_entry,
    unmerge_entry,
)
from services.identity.domain.records import MergeLog, Profile, unfold_profile
from services.identity.domain.traits import trait_diff, trait_values
from services.identity.ports import Attribution, Graph, History, Timeline
from services.identity.use_cases.reads import survivor_of
from services.identity.use_cases.writes import Conflict, Outbox, ProfileNotFound, attempts


class NoProfileToMerge(ProfileNotFound):
    """One of the two profiles of a merge does not exist (any more)."""


class MergeNotFound(ProfileNotFound):
    """No such merge into that profile (or no such profile)."""

    def __init__(self, message: str, survivor: str, merge_id: str) -> None:
        super().__init__(message)
        self.survivor = survivor
        self.merge_id = merge_id


class MergeConflict(Conflict):
    """A merge cannot be done now: the profiles are one already, or concurrent writers kept winning."""


class UnmergeConflict(Conflict):
    """A merge cannot be undone: still in progress, the survivor merged on since, or concurrent writers won."""


def merge_profiles(
    store: Attribution, survivor: str, folded: str, reason: str, merge_id: str, out: Outbox, at: str
) -> MergeLog | None:
    """Fold one profile into another; resumable (a retry after a crash completes it) and safe with concurrent
    events: the folded chain is closed first with a fence entry, so an event that was about to land on it finds
    the fence and goes to the survivor instead, and the folded state copied over is final."""
    frozen, recent, closed = _close_chain(store, folded, survivor, merge_id, at)
    if not closed:
        return None
    folded_profile = store.profile(folded, consistent=True) or Profile(folded, at)
    log = store.merge_log(survivor, merge_id) or MergeLog(
        merge_id, survivor, folded, reason, at, folded=folded_profile, folded_computed=frozen
    )
    if log.status == "pending":
        log = _absorb_profile(store, survivor, folded_profile, log)
        log = _absorb_chain(store, survivor, folded, frozen, recent, log, at)
        _finish_fold(store, survivor, folded_profile, merge_id, at)
        log = replace(log, status="done")
        store.save_merge(log)
    changed = log.changed()
    out.add(
        ProfilesMerged(
            survivingProfileId=survivor, mergedProfileId=folded, reason=reason, mergeId=merge_id, changed=changed
        ),
        merge_id,
    )
    if changed:
        out.add(ProfileUpdated(profileId=survivor, changed=changed), merge_id)
    return log


def _close_chain(
    store: Timeline, folded: str, survivor: str, merge_id: str, at: str
) -> tuple[Computed, tuple[str, ...], bool]:
    for attempt in attempts(
        lambda: MergeConflict(f"profile {folded} kept receiving events while being merged; the merge will be retried")
    ):
        head = store.head(folded, consistent=attempt > 0)
        closed = closed_already(head, merge_id)  # resumed, or merged elsewhere or erased meanwhile
        if closed is not None:
            return closed
        fence = merge_fence(head, folded, survivor, merge_id, at)
        if store.append(folded, fence, None):  # fences never expire: the chain stays closed
            break
    return fence.computed, fence.recent, True


def _absorb_profile(store: History, survivor: str, folded: Profile, log: MergeLog) -> MergeLog:
    for _ in attempts(lambda: MergeConflict(f"profile {survivor} kept changing during a merge")):
        current = store.profile(survivor, consistent=True)
        if current is None:
            raise NoProfileToMerge(survivor)
        if folded.profile_id in current.merged_from:
            return log  # done before a crash; the log already holds its before/after
        updated, log = absorbed_profile(current, folded, log)
        store.save_merge(log)  # written before the profile, so a crash after it still leaves the undo data
        if store.save_profile(updated):
            break
    return log


def _absorb_chain(
    store: Attribution,
    survivor: str,
    folded: str,
    frozen: Computed,
    recent: tuple[str, ...],
    log: MergeLog,
    at: str,
) -> MergeLog:
    settings = store.settings()
    for attempt in attempts(
        lambda: MergeConflict(f"profile {survivor} kept receiving events during a merge; the merge will be retried")
    ):
        head = store.head(survivor, consistent=attempt > 0)
        if head is not None and not head.open:
            raise MergeConflict(f"profile {survivor} was merged or erased during a merge")
        if head is not None and folded in head.absorbed:
            return log
        entry, log = merge_entry(head, folded, frozen, recent, log, at)
        store.save_merge(log)
        if store.append(survivor, entry, expires_at(clock.parse_iso(at), settings.retention_days)):
            break
    return log


def _finish_fold(store: Graph, survivor: str, folded: Profile, merge_id: str, at: str) -> None:
    for _ in attempts(None):  # best effort, as it always was: the pointers below move either way
        marked = marked_merged(store.profile(folded.profile_id, consistent=True), survivor, merge_id)
        if marked is None or store.save_profile(marked):
            break
    # Every identifier of the folded profile (and of the profiles it had absorbed) now resolves to the survivor.
    store.point(moving_identifiers(folded), survivor, at, if_owner=folded.profile_id)


def merge_by_admin(store: Attribution, publisher: Publisher, survivor: str, other: str) -> MergeLog:
    """An admin merge: a verified decision, so known profiles merge too."""
    at = clock.iso(clock.now())
    survivor_id, other_id = survivor_of(store, survivor), survivor_of(store, other)
    if survivor_id is None:
        raise NoProfileToMerge(survivor)
    if other_id is None:
        raise NoProfileToMerge(other)
    if survivor_id == other_id:
        raise MergeConflict(f"{survivor} and {other} are the same profile already")
    merge_id = new_id()
    out = Outbox(merge_id)
    log = merge_profiles(store, survivor_id, other_id, "admin", merge_id, out, at)
    if log is None:
        raise MergeConflict(f"profile {other_id} was merged or erased meanwhile")
    out.publish(publisher)
    return log


def unmerge(store: Attribution, publisher: Publisher, survivor: str, merge_id: str) -> MergeLog:
    """Undo a merge: the folded profile comes back with its identifiers, traits, consent and computed traits as
    they were; the survivor loses them (sums subtract the folded share; other values the merge set go back unless
    they changed since). Activity recorded on the survivor after the merge stays with the survivor."""
    at = clock.iso(clock.now())
    log = store.merge_log(survivor, merge_id)
    if log is None:
        raise MergeNotFound(f"merge {merge_id} of {survivor}", survivor, merge_id)
    if log.status == "undone":
        return log
    if log.status != "done":
        raise UnmergeConflict(f"merge {merge_id} is still in progress")
    current = store.profile(survivor, consistent=True)
    if current is None:
        raise MergeNotFound(survivor, survivor, merge_id)
    if current.merged_into:
        raise UnmergeConflict(f"{survivor} was merged into {current.merged_into} since; undo that merge first")
    folded = log.folded_id
    settings = store.settings()
    out = Outbox(merge_id)
    expires = expires_at(clock.parse_iso(at), settings.retention_days)

    # reopen the folded chain with its state as it was
    for attempt in attempts(lambda: UnmergeConflict(f"profile {folded}: could not reopen its timeline")):
        head = store.head(folded, consistent=attempt > 0)
        if head is not None and head.kind == "restored" and head.merge_id == merge_id:
            break
        if head is None or head.kind != "merged" or head.merge_id != merge_id:
            raise UnmergeConflict(f"profile {folded} changed since the merge (erased?); it cannot be restored")
        if store.append(folded, restored_entry(head, log, at), expires):
            break

    computed_changed: dict[str, Any] = {}
    # take the folded share out of the survivor's computed traits
    for attempt in attempts(
        lambda: UnmergeConflict(f"profile {survivor}: the timeline kept moving during the un-merge")
    ):
        head = store.head(survivor, consistent=attempt > 0)
        if head is None or folded not in head.absorbed:
            break
        entry, computed_changed = unmerge_entry(head, log, at)
        if store.append(survivor, entry, expires):
            break

    trait_changed: dict[str, Any] = {}
    for _ in attempts(None):  # the survivor's durable part
        current = store.profile(survivor, consistent=True)
        if current is None or folded not in current.merged_from:
            break
        updated = replace(unfold_profile(current, log), version=current.version + 1)
        if store.save_profile(updated):
            trait_changed = trait_diff(current.traits, updated.traits)
            break
    for _ in attempts(None):  # the folded profile stands on its own again
        back = store.profile(folded, consistent=True)
        if back is None or back.merged_into is None:
            break
        if store.save_profile(replace(back, merged_into=None, merge_id=None, version=back.version + 1)):
            break
    store.point(moving_identifiers(log.folded), folded, at, if_owner=survivor)
    log = replace(log, status="undone", undone_at=at)
    store.save_merge(log)

    out.add(ProfilesUnmerged(survivingProfileId=survivor, restoredProfileId=folded, mergeId=merge_id))
    changed = {**trait_changed, **computed_changed}
    if changed:
        out.add(ProfileUpdated(profileId=survivor, changed=changed), survivor)
    restored_profile = store.profile(folded)
    restored_view = {
        **(trait_values(restored_profile.traits) if restored_profile else {}),
        **computed_traits.view(log.folded_computed),
    }
    out.add(ProfileUpdated(profileId=folded, changed=restored_view), folded)
    out.publish(publisher)
    return log
