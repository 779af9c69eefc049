"""The steps of folding one profile into another and of undoing it, decided from what was read. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.profiles import Identifier
from services.identity.domain.records import RECENT_IDS, Entry, MergeLog, Profile, fold_profile, identity_of


def foreign(recent: tuple[str, ...], chain: str) -> tuple[str, ...]:
    """Recent message ids as seen from another chain: each remembers which chain recorded it."""
    return tuple(item if "@" in item else f"{item}@{chain}" for item in recent)


# ---- folding ---------------------------------------------------------------------------------------------------


def closed_already(head: Entry | None, merge_id: str) -> tuple[Computed, tuple[str, ...], bool] | None:
    """What a merge takes from a chain that is closed already — its final computed traits, its recent ids, and
    whether this merge closed it (a resumed merge) rather than another merge or an erasure; None while it is open."""
    if head is not None and head.kind == "merged":
        return head.computed, head.recent, head.merge_id == merge_id
    if head is not None and head.kind == "erased":
        return Computed(), (), False
    return None


def merge_fence(head: Entry | None, folded: str, survivor: str, merge_id: str, at: str) -> Entry:
    """The entry that closes the folded chain: an event about to land on it finds the fence and goes to the
    survivor, so the state copied over is final."""
    return Entry(
        seq=(head.seq if head else 0) + 1,
        kind="merged",
        recorded_at=at,
        computed=head.computed if head else Computed(),
        recent=foreign(head.recent, folded) if head else (),
        absorbed=head.absorbed if head else (),
        merged_into=survivor,
        merge_id=merge_id,
    )


def absorbed_profile(current: Profile, folded: Profile, log: MergeLog) -> tuple[Profile, MergeLog]:
    """The survivor's durable profile after the fold (its next version), and the log holding its before/after."""
    updated = replace(fold_profile(current, folded), version=current.version + 1)
    logged = replace(
        log,
        traits_before=current.traits,
        traits_after=updated.traits,
        consent_before=current.consent,
        consent_after=updated.consent,
    )
    return updated, logged


def merge_entry(
    head: Entry | None, folded: str, frozen: Computed, recent: tuple[str, ...], log: MergeLog, at: str
) -> tuple[Entry, MergeLog]:
    """The survivor's chain entry absorbing the folded chain's final state, and the log with the computed traits
    before and after."""
    before = head.computed if head else Computed()
    after = computed_traits.merge(before, frozen)
    logged = replace(log, computed_before=before, computed_after=after)
    entry = Entry(
        seq=(head.seq if head else 0) + 1,
        kind="merge",
        recorded_at=at,
        computed=after,
        recent=(*(head.recent if head else ()), *recent)[-RECENT_IDS:],
        absorbed=(*(head.absorbed if head else ()), folded),
        merge_id=log.merge_id,
        changed=logged.changed(),
    )
    return entry, logged


def marked_merged(current: Profile | None, survivor: str, merge_id: str) -> Profile | None:
    """The folded profile marked as merged into the survivor (its next version); None when there is nothing to
    mark (gone, or marked already)."""
    if current is None or current.merged_into == survivor:
        return None
    return replace(current, merged_into=survivor, merge_id=merge_id, version=current.version + 1)


def moving_identifiers(profile: Profile) -> list[Identifier]:
    """Every identifier of a profile (and of the profiles it had absorbed): what moves to the other side."""
    return [identity_of(i) for i in profile.identities]


# ---- undoing ---------------------------------------------------------------------------------------------------


def restored_entry(head: Entry, log: MergeLog, at: str) -> Entry:
    """The entry reopening the folded chain with its state as it was, and its own recent message ids."""
    folded = log.folded_id
    return Entry(
        seq=head.seq + 1,
        kind="restored",
        recorded_at=at,
        computed=log.folded_computed,
        recent=tuple(r.partition("@")[0] for r in head.recent if r.endswith(f"@{folded}")),
        absorbed=head.absorbed,
        merge_id=log.merge_id,
    )


def unmerge_entry(head: Entry, log: MergeLog, at: str) -> tuple[Entry, dict[str, Any]]:
    """The survivor's entry taking the folded share out of its computed traits, and what that changed."""
    folded = log.folded_id
    after = computed_traits.unmerge(head.computed, log.computed_before, log.folded_computed, log.computed_after)
    changed = computed_traits.view_diff(head.computed, after)
    entry = Entry(
        seq=head.seq + 1,
        kind="unmerge",
        recorded_at=at,
        computed=after,
        recent=tuple(r for r in head.recent if not r.endswith(f"@{folded}")),
        absorbed=tuple(p for p in head.absorbed if p != folded),
        merge_id=log.merge_id,
        changed=changed,
    )
    return entry, changed
