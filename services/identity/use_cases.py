"""Identity use cases: attribute events to profiles, merge and un-merge, and read profiles and timelines.

They orchestrate the pure rules (`domain/`) over the store and publisher ports. Every write that can race is
conditional (pointer claims, profile versions, chain appends); on a lost race a use case reads again and decides
again. Events are re-published with ids derived from the input, so a retry publishes the same events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.collection import EventCollected
from services.common.contracts.envelope import Contract
from services.common.contracts.identity import (
    ActivityRecorded,
    ConsentChanged,
    ProfileCreated,
    ProfilesMerged,
    ProfilesUnmerged,
    ProfileUpdated,
)
from services.common.contracts.journeys import ProfileUpdateRequested
from services.common.dynamo import expires_at
from services.common.ids import derived_id, new_id
from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.consent import Decision, apply_consent, as_purpose, event_consent, granted
from services.identity.domain.profiles import (
    Identifier,
    alias_lookups,
    identifiers,
    normalise_email,
    resolve,
    settle_alias,
)
from services.identity.domain.records import (
    RECENT_IDS,
    Entry,
    IdentitySettings,
    MergeLog,
    Profile,
    fold_profile,
    identity_of,
    new_profile,
    remember,
    seen,
    unfold_profile,
)
from services.identity.domain.timeline import activity_of, decode_cursor, encode_cursor, interleave, timeline_row
from services.identity.domain.traits import apply_traits, event_traits, remove_traits, trait_diff, trait_values
from services.identity.ports import ProfileStore

MAX_ATTEMPTS = 10
MAX_MERGE_HOPS = 20


class ProfileNotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """Concurrent writers kept winning, or the state does not allow the operation; the caller retries or refuses."""


@dataclass
class Outbox:
    """Events to publish once the writes are done, with ids derived from the input (a retry publishes the same)."""

    origin: str
    correlation_id: str | None = None
    events: list[Envelope[Any]] = field(default_factory=list)

    def add(self, data: Contract, *parts: str) -> None:
        self.events.append(
            envelope(data, id=derived_id(self.origin, data.DETAIL_TYPE, *parts), correlation_id=self.correlation_id)
        )

    def publish(self, publisher: Publisher) -> None:
        if self.events:
            publisher.publish(self.events)


# ---- recording collected events ------------------------------------------------------------------------------


def record_event(
    incoming: Envelope[EventCollected],
    store: ProfileStore,
    publisher: Publisher,
    settings: IdentitySettings | None = None,
) -> str | None:
    """Attribute a collected event to its profile (creating, linking or folding profiles) and record it.

    A known returning visitor costs two reads (the pointer, the chain's head) and one write (the new chain entry,
    which carries the computed traits). Idempotent: a redelivered event is recognised among the profile's recent
    message ids and its events are re-published with the same ids. Returns None for an event that names nobody
    (only a reference to an erased profile).
    """
    event = incoming.data
    settings = settings or store.settings()
    now = clock.now()
    at = clock.iso(now)
    out = Outbox(incoming.id, incoming.correlation_id)
    profile_id = _attribute(event, incoming.id, store, settings, out, at)
    if profile_id is None:
        return None
    updates = event_traits(event)
    consent = event_consent(event)
    event_at = clock.iso(event.timestamp)
    facts = computed_traits.facts(event)
    source = f"event:{event.source_id}"
    changed: Mapping[str, Any] = {}
    consent_changes: dict[str, Decision] = {}
    for attempt in range(MAX_ATTEMPTS):
        head = store.head(profile_id, consistent=attempt > 0)
        if head is not None and not head.open:
            if head.kind == "merged" and head.merged_into:
                profile_id = head.merged_into  # merged while this event was on its way: it belongs to the survivor
                continue
            erased = _attribute(event, incoming.id, store, settings, out, at)  # erased meanwhile: start afresh
            if erased is None or erased == profile_id:
                return None
            profile_id = erased
            continue
        recorded = seen(head.recent, event.message_id) if head else None
        if recorded is not None:  # a redelivery: re-publish what the first delivery recorded
            chain, seq = recorded
            original = store.entry(chain or profile_id, seq)
            changed = original.changed if original else {}
            consent_changes = dict(original.consent) if original else {}
            break
        before = head.computed if head else Computed()
        after = computed_traits.apply(before, facts)
        trait_changes: dict[str, Any] = {}
        if updates or consent:  # changes are decided before the write, so a redelivery can announce them again
            profile = store.profile(profile_id)
            _, trait_changes = apply_traits(profile.traits if profile else {}, updates, event_at)
            _, consent_changes = apply_consent(profile.consent if profile else {}, consent, event_at, source)
        changed = {**computed_traits.announced(computed_traits.view_diff(before, after)), **trait_changes}
        seq = (head.seq if head else 0) + 1
        entry = Entry(
            seq=seq,
            kind="activity",
            recorded_at=at,
            computed=after,
            recent=remember(head.recent if head else (), event.message_id, seq),
            absorbed=head.absorbed if head else (),
            activity=activity_of(event),
            changed=changed,
            consent=consent_changes,
        )
        if store.append(profile_id, entry, expires_at(now, settings.retention_days)):
            break
    else:
        raise Conflict(f"profile {profile_id}: the timeline kept moving; the message will be retried")

    if updates or consent:  # the durable part; applying it again (a redelivery) changes nothing
        update_profile(store, profile_id, traits=updates, traits_at=event_at, consent=consent, consent_source=source)
    out.add(
        ActivityRecorded(
            profileId=profile_id,
            messageId=event.message_id,
            type=event.type,
            event=event.event,
            name=event.name,
            properties=event.properties,
            traits=event.traits,
            context=event.context,
            enrichment=event.enrichment,
            timestamp=event.timestamp,
            anonymousId=event.anonymous_id,
            userId=event.user_id,
        )
    )
    if changed:
        out.add(ProfileUpdated(profileId=profile_id, changed=dict(changed)))
    for purpose, decision in sorted(consent_changes.items()):
        out.add(
            ConsentChanged(
                profileId=profile_id, purpose=as_purpose(purpose), granted=decision.granted, source=decision.source
            ),
            purpose,
        )
    out.publish(publisher)
    return profile_id


def verified_profile(event: EventCollected) -> str | None:
    """A profile reference the events service verified (a signed email open/click link), when the contract has it."""
    value = getattr(event, "profile_id", None) or (event.model_extra or {}).get("profileId")
    return value if isinstance(value, str) and value else None


def _attribute(
    event: EventCollected, origin: str, store: ProfileStore, settings: IdentitySettings, out: Outbox, at: str
) -> str | None:
    """The profile an event belongs to, after creating, folding and linking what its identifiers call for."""
    ids = identifiers(event)
    for _ in range(MAX_ATTEMPTS):
        lookups = [*ids, *alias_lookups(event)]
        pointers = store.pointers(lookups) if lookups else {}
        ids = settle_alias(ids, event, pointers)
        verified = verified_profile(event)
        if verified:
            verified = _survivor(store, verified)
        if not ids and not verified:
            return None
        resolution = resolve(ids, pointers, verified=verified, policy=settings.policy)
        if resolution.merge and not (verified and settings.policy.merge_known_on_verified):
            known = frozenset(p for p, found in store.profiles(resolution.merge).items() if found.known)
            if known:
                resolution = resolve(ids, pointers, known, verified=verified, policy=settings.policy)
        if resolution.profile_id is None:
            created = _create(event, origin, ids, store, out, at)
            if created:
                return created
            continue  # another writer claimed one of the identifiers first: resolve against the winner
        survivor = resolution.profile_id
        if survivor == derived_id(origin, "profile"):  # this very event created it (a redelivery): announce again
            out.add(ProfileCreated(profileId=survivor, anonymousId=event.anonymous_id, userId=event.user_id))
        if resolution.merge or resolution.link:
            survivor = _survivor(store, survivor) or survivor
            for folded in resolution.merge:
                if folded != survivor:
                    merge_profiles(store, survivor, folded, "identified", derived_id(origin, "merge", folded), out, at)
            if resolution.link:
                _link(store, survivor, resolution.link, at)
        return survivor
    raise Conflict("identifiers kept being claimed concurrently; the message will be retried")


def _create(
    event: EventCollected, origin: str, ids: list[Identifier], store: ProfileStore, out: Outbox, at: str
) -> str | None:
    """A new profile claiming every identifier; None when someone else claimed one first (it is undone)."""
    profile_id = derived_id(origin, "profile")  # random (from the bus event id), and the same on a retry
    store.create_profile(new_profile(profile_id, ids, at))
    claimed: list[Identifier] = []
    for identifier in ids:
        owner = store.claim(identifier, profile_id, at)
        if owner is not None and owner != profile_id:
            store.unpoint(claimed, [profile_id])
            store.delete_profile(profile_id)
            return None
        claimed.append(identifier)
    out.add(ProfileCreated(profileId=profile_id, anonymousId=event.anonymous_id, userId=event.user_id))
    return profile_id


def _link(store: ProfileStore, profile_id: str, ids: list[Identifier], at: str) -> None:
    owners = store.pointers(ids)
    for identifier in ids:
        owner = owners.get(identifier)
        if owner is None:
            store.claim(identifier, profile_id, at)
        elif owner != profile_id:
            store.point([identifier], profile_id, at, if_owner=owner)  # a device moving to the person using it now
    for _ in range(MAX_ATTEMPTS):
        profile = store.profile(profile_id, consistent=True)
        if profile is None:
            return
        updated = profile.with_identities(ids)
        if updated is profile or store.save_profile(replace(updated, version=profile.version + 1)):
            return
    raise Conflict(f"profile {profile_id} kept changing while linking identifiers")


def _survivor(store: ProfileStore, profile_id: str) -> str | None:
    """Follow `mergedInto` links to the profile that absorbed this one (old ids resolve forever); None if gone."""
    seen_ids: set[str] = set()
    profile = store.profile(profile_id)
    while profile is not None and profile.merged_into and profile_id not in seen_ids and len(seen_ids) < MAX_MERGE_HOPS:
        seen_ids.add(profile_id)
        profile_id = profile.merged_into
        profile = store.profile(profile_id)
    return profile_id if profile is not None else None


def update_profile(
    store: ProfileStore,
    profile_id: str,
    *,
    traits: Mapping[str, Any] | None = None,
    traits_at: str = "",
    remove: Collection[str] = (),
    consent: Mapping[str, bool] | None = None,
    consent_source: str = "",
    consent_at: str | None = None,
) -> tuple[dict[str, Any], dict[str, Decision]]:
    """Apply trait and consent changes to the durable profile (optimistic, retried); returns what changed."""
    for _ in range(MAX_ATTEMPTS):
        profile = store.profile(profile_id, consistent=True)
        if profile is None:
            return {}, {}
        new_traits, changed = apply_traits(profile.traits, traits or {}, traits_at)
        if remove:
            new_traits, removed = remove_traits(new_traits, remove)
            changed.update(removed)
        new_consent, consent_changed = apply_consent(
            profile.consent, consent or {}, consent_at or traits_at, consent_source
        )
        if new_traits == dict(profile.traits) and new_consent == dict(profile.consent):
            return {}, {}
        updated = replace(profile, traits=new_traits, consent=new_consent, version=profile.version + 1)
        if store.save_profile(updated):
            return changed, consent_changed
    raise Conflict(f"profile {profile_id} kept changing")


def apply_requested_update(
    incoming: Envelope[ProfileUpdateRequested], store: ProfileStore, publisher: Publisher
) -> dict[str, Any]:
    """A journey step's trait and tag changes (identity owns traits). Setting what is already set changes nothing,
    so a redelivered request is harmless; an erased or unknown profile is left alone."""
    data = incoming.data
    try:
        survivor = resolve_profile_id(data.profile_id, store)
    except ProfileNotFound:
        return {}
    traits = dict(data.set)
    if data.add_tags or data.remove_tags:
        profile = store.profile(survivor, consistent=True)
        current = trait_values(profile.traits).get("tags") if profile else None
        tags = [t for t in current if isinstance(t, str)] if isinstance(current, list) else []
        tags = [t for t in tags if t not in data.remove_tags]
        tags += [t for t in dict.fromkeys(data.add_tags) if t not in tags]
        traits["tags"] = tags
    changed, _ = update_profile(store, survivor, traits=traits, traits_at=clock.iso(clock.now()), remove=data.remove)
    if changed:
        publisher.publish(
            [
                envelope(
                    ProfileUpdated(profileId=survivor, changed=changed),
                    id=derived_id(incoming.id, "ProfileUpdated"),
                    correlation_id=incoming.correlation_id,
                )
            ]
        )
    return changed


# ---- merges --------------------------------------------------------------------------------------------------


def merge_profiles(
    store: ProfileStore, survivor: str, folded: str, reason: str, merge_id: str, out: Outbox, at: str
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
    store: ProfileStore, folded: str, survivor: str, merge_id: str, at: str
) -> tuple[Computed, tuple[str, ...], bool]:
    for attempt in range(MAX_ATTEMPTS):
        head = store.head(folded, consistent=attempt > 0)
        if head is not None and head.kind == "merged":
            return head.computed, head.recent, head.merge_id == merge_id  # resumed, or merged elsewhere meanwhile
        if head is not None and head.kind == "erased":
            return Computed(), (), False
        fence = Entry(
            seq=(head.seq if head else 0) + 1,
            kind="merged",
            recorded_at=at,
            computed=head.computed if head else Computed(),
            recent=_foreign(head.recent, folded) if head else (),
            absorbed=head.absorbed if head else (),
            merged_into=survivor,
            merge_id=merge_id,
        )
        if store.append(folded, fence, None):  # fences never expire: the chain stays closed
            return fence.computed, fence.recent, True
    raise Conflict(f"profile {folded} kept receiving events while being merged; the merge will be retried")


def _foreign(recent: tuple[str, ...], chain: str) -> tuple[str, ...]:
    """Recent message ids as seen from another chain: each remembers which chain recorded it."""
    return tuple(item if "@" in item else f"{item}@{chain}" for item in recent)


def _absorb_profile(store: ProfileStore, survivor: str, folded: Profile, log: MergeLog) -> MergeLog:
    for _ in range(MAX_ATTEMPTS):
        current = store.profile(survivor, consistent=True)
        if current is None:
            raise ProfileNotFound(survivor)
        if folded.profile_id in current.merged_from:
            return log  # done before a crash; the log already holds its before/after
        updated = replace(fold_profile(current, folded), version=current.version + 1)
        log = replace(
            log,
            traits_before=current.traits,
            traits_after=updated.traits,
            consent_before=current.consent,
            consent_after=updated.consent,
        )
        store.save_merge(log)  # written before the profile, so a crash after it still leaves the undo data
        if store.save_profile(updated):
            return log
    raise Conflict(f"profile {survivor} kept changing during a merge")


def _absorb_chain(
    store: ProfileStore,
    survivor: str,
    folded: str,
    frozen: Computed,
    recent: tuple[str, ...],
    log: MergeLog,
    at: str,
) -> MergeLog:
    settings = store.settings()
    for attempt in range(MAX_ATTEMPTS):
        head = store.head(survivor, consistent=attempt > 0)
        if head is not None and not head.open:
            raise Conflict(f"profile {survivor} was merged or erased during a merge")
        if head is not None and folded in head.absorbed:
            return log
        before = head.computed if head else Computed()
        after = computed_traits.merge(before, frozen)
        log = replace(log, computed_before=before, computed_after=after)
        store.save_merge(log)
        entry = Entry(
            seq=(head.seq if head else 0) + 1,
            kind="merge",
            recorded_at=at,
            computed=after,
            recent=(*(head.recent if head else ()), *recent)[-RECENT_IDS:],
            absorbed=(*(head.absorbed if head else ()), folded),
            merge_id=log.merge_id,
            changed=log.changed(),
        )
        if store.append(survivor, entry, expires_at(clock.parse_iso(at), settings.retention_days)):
            return log
    raise Conflict(f"profile {survivor} kept receiving events during a merge; the merge will be retried")


def _finish_fold(store: ProfileStore, survivor: str, folded: Profile, merge_id: str, at: str) -> None:
    for _ in range(MAX_ATTEMPTS):
        current = store.profile(folded.profile_id, consistent=True)
        if current is None or current.merged_into == survivor:
            break
        marked = replace(current, merged_into=survivor, merge_id=merge_id, version=current.version + 1)
        if store.save_profile(marked):
            break
    # Every identifier of the folded profile (and of the profiles it had absorbed) now resolves to the survivor.
    store.point([identity_of(i) for i in folded.identities], survivor, at, if_owner=folded.profile_id)


def merge_by_admin(store: ProfileStore, publisher: Publisher, survivor: str, other: str) -> MergeLog:
    """An admin merge: a verified decision, so known profiles merge too."""
    at = clock.iso(clock.now())
    survivor_id, other_id = _survivor(store, survivor), _survivor(store, other)
    if survivor_id is None:
        raise ProfileNotFound(survivor)
    if other_id is None:
        raise ProfileNotFound(other)
    if survivor_id == other_id:
        raise Conflict(f"{survivor} and {other} are the same profile already")
    merge_id = new_id()
    out = Outbox(merge_id)
    log = merge_profiles(store, survivor_id, other_id, "admin", merge_id, out, at)
    if log is None:
        raise Conflict(f"profile {other_id} was merged or erased meanwhile")
    out.publish(publisher)
    return log


def unmerge(store: ProfileStore, publisher: Publisher, survivor: str, merge_id: str) -> MergeLog:
    """Undo a merge: the folded profile comes back with its identifiers, traits, consent and computed traits as
    they were; the survivor loses them (sums subtract the folded share; other values the merge set go back unless
    they changed since). Activity recorded on the survivor after the merge stays with the survivor."""
    at = clock.iso(clock.now())
    log = store.merge_log(survivor, merge_id)
    if log is None:
        raise ProfileNotFound(f"merge {merge_id} of {survivor}")
    if log.status == "undone":
        return log
    if log.status != "done":
        raise Conflict(f"merge {merge_id} is still in progress")
    current = store.profile(survivor, consistent=True)
    if current is None:
        raise ProfileNotFound(survivor)
    if current.merged_into:
        raise Conflict(f"{survivor} was merged into {current.merged_into} since; undo that merge first")
    folded = log.folded_id
    settings = store.settings()
    out = Outbox(merge_id)
    expires = expires_at(clock.parse_iso(at), settings.retention_days)

    for attempt in range(MAX_ATTEMPTS):  # reopen the folded chain with its state as it was
        head = store.head(folded, consistent=attempt > 0)
        if head is not None and head.kind == "restored" and head.merge_id == merge_id:
            break
        if head is None or head.kind != "merged" or head.merge_id != merge_id:
            raise Conflict(f"profile {folded} changed since the merge (erased?); it cannot be restored")
        restored = Entry(
            seq=head.seq + 1,
            kind="restored",
            recorded_at=at,
            computed=log.folded_computed,
            recent=tuple(r.partition("@")[0] for r in head.recent if r.endswith(f"@{folded}")),
            absorbed=head.absorbed,
            merge_id=merge_id,
        )
        if store.append(folded, restored, expires):
            break
    else:
        raise Conflict(f"profile {folded}: could not reopen its timeline")

    computed_changed: dict[str, Any] = {}
    for attempt in range(MAX_ATTEMPTS):  # take the folded share out of the survivor's computed traits
        head = store.head(survivor, consistent=attempt > 0)
        if head is None or folded not in head.absorbed:
            break
        after = computed_traits.unmerge(head.computed, log.computed_before, log.folded_computed, log.computed_after)
        computed_changed = computed_traits.view_diff(head.computed, after)
        entry = Entry(
            seq=head.seq + 1,
            kind="unmerge",
            recorded_at=at,
            computed=after,
            recent=tuple(r for r in head.recent if not r.endswith(f"@{folded}")),
            absorbed=tuple(p for p in head.absorbed if p != folded),
            merge_id=merge_id,
            changed=computed_changed,
        )
        if store.append(survivor, entry, expires):
            break
    else:
        raise Conflict(f"profile {survivor}: the timeline kept moving during the un-merge")

    trait_changed: dict[str, Any] = {}
    for _ in range(MAX_ATTEMPTS):  # the survivor's durable part
        current = store.profile(survivor, consistent=True)
        if current is None or folded not in current.merged_from:
            break
        updated = replace(unfold_profile(current, log), version=current.version + 1)
        if store.save_profile(updated):
            trait_changed = trait_diff(current.traits, updated.traits)
            break
    for _ in range(MAX_ATTEMPTS):  # the folded profile stands on its own again
        back = store.profile(folded, consistent=True)
        if back is None or back.merged_into is None:
            break
        if store.save_profile(replace(back, merged_into=None, merge_id=None, version=back.version + 1)):
            break
    store.point([identity_of(i) for i in log.folded.identities], folded, at, if_owner=survivor)
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


# ---- reading -------------------------------------------------------------------------------------------------


def resolve_profile_id(profile_id: str, store: ProfileStore) -> str:
    found = _survivor(store, profile_id)
    if found is None:
        raise ProfileNotFound(profile_id)
    return found


def find_profile_id(kind: str, value: str, store: ProfileStore, follow: bool = True) -> str:
    """The profile an identifier points at. Pointers move to the survivor when profiles merge, so `follow=False`
    (one read, for content decisions) is wrong only for the moments a merge is in progress."""
    key = (kind, normalise_email(value) if kind == "email" else value)
    found = store.pointers([key]).get(key)
    if not found:
        raise ProfileNotFound(f"{kind}={value}")
    return resolve_profile_id(found, store) if follow else found


def identities_view(profile: Profile) -> dict[str, list[str]]:
    names = {"anon": "anonymousIds", "user": "userIds", "email": "emails", "device": "deviceIds"}
    out: dict[str, list[str]] = {name: [] for name in names.values()}
    for identity in profile.identities:
        kind, _, value = identity.partition(":")
        if kind in names:
            out[names[kind]].append(value)
    return out


def profile_view(profile_id: str, store: ProfileStore, activity_limit: int = 20) -> dict[str, Any]:
    """A profile with its traits, computed traits, consent and recent activity; an old (merged) id resolves to
    the surviving profile."""
    survivor = resolve_profile_id(profile_id, store)
    profile = store.profile(survivor)
    if profile is None:
        raise ProfileNotFound(profile_id)
    head = store.head(survivor)
    view: dict[str, Any] = {
        "profileId": survivor,
        "createdAt": profile.created_at,
        "identities": identities_view(profile),
        "traits": trait_values(profile.traits),
        "computed": computed_traits.view(head.computed if head else Computed()),
        "consent": {p: d.to_json() for p, d in profile.consent.items()},
        "mergedFrom": list(profile.merged_from),
    }
    if survivor != profile_id:
        view["resolvedFrom"] = profile_id
    if activity_limit > 0:
        view["activity"] = timeline(survivor, store, limit=activity_limit)["items"]
    return view


def timeline(
    profile_id: str,
    store: ProfileStore,
    *,
    limit: int = 50,
    types: Collection[str] = (),
    cursor: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A profile's activity across its merge family, newest first, paged (`next` is the cursor for more)."""
    survivor = resolve_profile_id(profile_id, store)
    profile = store.profile(survivor)
    chains = [survivor, *(profile.merged_from if profile else ())]
    positions = decode_cursor(cursor) or {}
    now_epoch = int((now or clock.now()).timestamp())
    pages = {
        chain: store.entries(chain, before_seq=positions.get(chain), limit=limit, types=types, now_epoch=now_epoch)
        for chain in chains
        if positions.get(chain, 1) > 0
    }
    rows, more = interleave(pages, limit)
    moved = dict(positions)
    for chain, entry in rows:
        moved[chain] = min(moved.get(chain, entry.seq), entry.seq)
    for chain, entries in pages.items():
        taken = sum(1 for c, _ in rows if c == chain)
        if len(entries) < limit and taken == len(entries):
            moved[chain] = 0  # nothing older in this chain
    more = more or any(len(entries) == limit and moved.get(chain) != 0 for chain, entries in pages.items())
    return {
        "profileId": survivor,
        "items": [timeline_row(chain, entry) for chain, entry in rows],
        "next": encode_cursor(moved) if more else None,
    }


def contact(profile_id: str, store: ProfileStore) -> dict[str, Any]:
    """What a sender needs: the address as given, first name, traits, suppression and consent."""
    survivor = resolve_profile_id(profile_id, store)
    profile = store.profile(survivor)
    if profile is None:
        raise ProfileNotFound(profile_id)
    traits = trait_values(profile.traits)
    email = traits.get("email") if isinstance(traits.get("email"), str) else None
    addresses = [normalise_email(email)] if email else profile.emails
    suppressed = store.suppressions(addresses) if addresses else {}
    return {
        "profileId": survivor,
        "email": email,
        "firstName": traits.get("firstName"),
        "traits": traits,
        "suppressed": bool(suppressed),
        "consent": granted(profile.consent),
    }
