"""Changing a profile's durable traits and consent: from events, an admin's patch, a journey step's request."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any, Literal

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.identity import ConsentChanged, ProfileUpdated
from services.common.contracts.journeys import ProfileUpdateRequested
from services.identity.domain.consent import Decision, apply_consent, as_purpose
from services.identity.domain.profiles import normalise_email
from services.identity.domain.traits import apply_traits, remove_traits, trait_values
from services.identity.ports import History, Profiles
from services.identity.use_cases.reads import profile_view, resolve_profile_id
from services.identity.use_cases.writes import Conflict, Outbox, ProfileNotFound, attempts


def update_profile(
    store: Profiles,
    profile_id: str,
    *,
    traits: Mapping[str, Any] | None = None,
    traits_at: str = "",
    remove: Collection[str] = (),
    consent: Mapping[str, bool] | None = None,
    consent_source: str = "",
    consent_at: str | None = None,
    claimed_emails: Mapping[str, str] | None = None,
    confirm_emails: Collection[str] | Literal["all"] = (),
    pending: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[dict[str, Any], dict[str, Decision]]:
    """Apply trait and consent changes to the durable profile (optimistic, retried); returns what changed.

    `claimed_emails` (address → source) are addresses a public source only claimed; `confirm_emails` addresses
    someone confirmed ("all": every address of the profile, a link in our email was followed); `pending` consent
    waits for a confirmation (double opt-in). A decision on a purpose ends its pending request."""
    for _ in attempts(lambda: Conflict(f"profile {profile_id} kept changing")):
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
        unconfirmed = email_status(profile.unconfirmed, claimed_emails or {}, confirm_emails)
        new_pending = {p: r for p, r in profile.pending.items() if p not in (consent or {})}
        new_pending.update(pending or {})
        if (
            new_traits == dict(profile.traits)
            and new_consent == dict(profile.consent)
            and unconfirmed == dict(profile.unconfirmed)
            and new_pending == dict(profile.pending)
        ):
            return {}, {}
        updated = replace(
            profile,
            traits=new_traits,
            consent=new_consent,
            unconfirmed=unconfirmed,
            pending=new_pending,
            version=profile.version + 1,
        )
        if store.save_profile(updated):
            break
    return changed, consent_changed


def email_status(
    unconfirmed: Mapping[str, str], claimed: Mapping[str, str], confirmed: Collection[str] | Literal["all"]
) -> dict[str, str]:
    """The addresses still only claimed: newly claimed ones join (a confirmed address stays confirmed: callers
    claim only addresses new to the profile), confirmed ones leave."""
    if confirmed == "all":
        return {}
    out = {**claimed, **unconfirmed}
    return {e: s for e, s in out.items() if e not in confirmed}


def patch_traits(store: History, publisher: Publisher, profile_id: str, traits: Mapping[str, Any]) -> dict[str, Any]:
    """An admin's trait changes (a `None` value removes the trait), set now: the profile after, and what changed."""
    survivor = resolve_profile_id(profile_id, store)
    email = traits.get("email")
    changed, _ = update_profile(
        store,
        survivor,
        traits={k: v for k, v in traits.items() if v is not None},
        traits_at=clock.iso(clock.now()),
        remove=[k for k, v in traits.items() if v is None],
        confirm_emails=[normalise_email(email)] if isinstance(email, str) else (),  # an admin's word is verified
    )
    if changed:
        publisher.publish([envelope(ProfileUpdated(profileId=survivor, changed=changed))])
    return {**profile_view(survivor, store, activity_limit=0), "changed": changed}


def apply_requested_update(
    incoming: Envelope[ProfileUpdateRequested], store: Profiles, publisher: Publisher
) -> dict[str, Any]:
    """A journey step's trait, tag and consent changes (identity owns traits and consent). Setting what is already
    set changes nothing, so a redelivered request is harmless; an erased or unknown profile is left alone."""
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
    at = clock.iso(clock.now())
    changed, consent = update_profile(
        store,
        survivor,
        traits=traits,
        traits_at=at,
        remove=data.remove,
        consent={as_purpose(p): granted for p, granted in data.consent.items()} or None,
        consent_source=f"journey:{data.journey_id}",
        consent_at=at,
    )
    out = Outbox(incoming.id, incoming.correlation_id)
    if changed:
        out.add(ProfileUpdated(profileId=survivor, changed=changed))
    for purpose, decision in sorted(consent.items()):
        out.add(
            ConsentChanged(
                profileId=survivor, purpose=as_purpose(purpose), granted=decision.granted, source=decision.source
            ),
            purpose,
        )
    out.publish(publisher)
    return changed
