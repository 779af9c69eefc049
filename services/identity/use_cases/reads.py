"""Reading people: resolve a profile id or an identifier, a profile's view, its timeline, a sender's contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from services.common import clock
from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.consent import granted
from services.identity.domain.profiles import normalise_email
from services.identity.domain.records import Profile
from services.identity.domain.timeline import decode_cursor, encode_cursor, interleave, timeline_row
from services.identity.domain.traits import trait_values
from services.identity.ports import Contacts, Directory, Graph, History, Profiles
from services.identity.use_cases.writes import ProfileNotFound

MAX_MERGE_HOPS = 20
# How the API names a person → the identifier kind in the graph (a profile id is no identifier).
IDENTIFIER_KINDS = {"profileId": "", "email": "email", "userId": "user", "anonymousId": "anon"}


class PersonNotFound(ProfileNotFound):
    """Nobody answers to the way a person was named (a profile id or an identifier)."""


class IdentifierNotFound(ProfileNotFound):
    """No profile holds this identifier (`kind` as in the identity graph: email, user, anon)."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind}={value}")
        self.kind = kind
        self.value = value


class InvalidCursor(ValueError):
    """A paging cursor this API did not hand out."""


def survivor_of(store: Profiles, profile_id: str) -> str | None:
    """Follow `mergedInto` links to the profile that absorbed this one (old ids resolve forever); None if gone."""
    seen_ids: set[str] = set()
    profile = store.profile(profile_id)
    while profile is not None and profile.merged_into and profile_id not in seen_ids and len(seen_ids) < MAX_MERGE_HOPS:
        seen_ids.add(profile_id)
        profile_id = profile.merged_into
        profile = store.profile(profile_id)
    return profile_id if profile is not None else None


def resolve_profile_id(profile_id: str, store: Profiles) -> str:
    found = survivor_of(store, profile_id)
    if found is None:
        raise ProfileNotFound(profile_id)
    return found


def find_profile_id(kind: str, value: str, store: Graph, follow: bool = True) -> str:
    """The profile an identifier points at. Pointers move to the survivor when profiles merge, so `follow=False`
    (one read, for content decisions) is wrong only for the moments a merge is in progress."""
    key = (kind, normalise_email(value) if kind == "email" else value)
    found = store.pointers([key]).get(key)
    if not found:
        raise IdentifierNotFound(kind, value)
    return resolve_profile_id(found, store) if follow else found


def find_person(store: Graph, kind: str, value: str) -> str:
    """The profile of a person named by one of `IDENTIFIER_KINDS` (a profile id, an email, a user or anonymous
    id), after any merges."""
    try:
        if not IDENTIFIER_KINDS[kind]:
            return resolve_profile_id(value, store)
        return find_profile_id(IDENTIFIER_KINDS[kind], value, store)
    except ProfileNotFound:
        raise PersonNotFound(f"{kind}={value}") from None


def lookup_profile(kind: str, value: str, store: Directory) -> dict[str, Any]:
    """The view of the profile an identifier (email, user, anon) points at."""
    try:
        return profile_view(find_profile_id(kind, value, store), store)
    except ProfileNotFound:
        raise IdentifierNotFound(kind, value) from None


def search_profiles(store: Profiles, trait: str, value: Any, limit: int, cursor: str | None) -> dict[str, Any]:
    """Profiles whose trait has a value (a paged scan)."""
    try:
        found, next_cursor = store.search(trait, value, limit, cursor)
    except ValueError as error:
        raise InvalidCursor(str(error)) from None
    return {
        "profiles": [{"profileId": p.profile_id, "traits": {k: s.value for k, s in p.traits.items()}} for p in found],
        "next": next_cursor,
    }


def identities_view(profile: Profile) -> dict[str, list[str]]:
    names = {"anon": "anonymousIds", "user": "userIds", "email": "emails", "device": "deviceIds"}
    out: dict[str, list[str]] = {name: [] for name in names.values()}
    for identity in profile.identities:
        kind, _, value = identity.partition(":")
        if kind in names:
            out[names[kind]].append(value)
    return out


def profile_view(profile_id: str, store: History, activity_limit: int = 20) -> dict[str, Any]:
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
    store: History,
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


def timeline_page(
    profile_id: str, store: History, *, limit: int, types: Collection[str], cursor: str | None
) -> dict[str, Any]:
    """One page of a profile's timeline, from a cursor a client sent back."""
    try:
        return timeline(profile_id, store, limit=limit, types=types, cursor=cursor)
    except ValueError as error:
        raise InvalidCursor(str(error)) from None


def merge_history(profile_id: str, store: History) -> dict[str, Any]:
    """The merges into a profile (its merge log), undone ones included."""
    survivor = resolve_profile_id(profile_id, store)
    return {
        "profileId": survivor,
        "merges": [
            {
                "mergeId": log.merge_id,
                "mergedProfileId": log.folded_id,
                "reason": log.reason,
                "at": log.at,
                "status": log.status,
                "undoneAt": log.undone_at,
                "changed": log.changed(),
            }
            for log in store.merge_logs(survivor)
        ],
    }


def contact_address(profile: Profile) -> str | None:
    """The address a sender mails (normalised): the `email` trait, else the first email identity."""
    email = trait_values(profile.traits).get("email")
    if isinstance(email, str) and email:
        return normalise_email(email)
    return profile.emails[0] if profile.emails else None


def contact(profile_id: str, store: Contacts) -> dict[str, Any]:
    """What a sender needs: the address as given, whether someone confirmed it (else the source that only claimed
    it), first name, traits, suppression and consent (a pending double opt-in is not consent: null)."""
    survivor = resolve_profile_id(profile_id, store)
    profile = store.profile(survivor)
    if profile is None:
        raise ProfileNotFound(profile_id)
    traits = trait_values(profile.traits)
    email = traits.get("email") if isinstance(traits.get("email"), str) else None
    addresses = [normalise_email(email)] if email else profile.emails
    suppressed = store.suppressions(addresses) if addresses else {}
    address = contact_address(profile)
    return {
        "profileId": survivor,
        "email": email,
        "emailConfirmed": address is None or profile.email_confirmed(address),
        "emailSource": profile.unconfirmed.get(address) if address else None,
        "firstName": traits.get("firstName"),
        "traits": traits,
        "suppressed": bool(suppressed),
        "consent": granted(profile.consent),
        "pendingConsent": sorted(profile.pending),
    }
