"""Recording collected events: attribute each to its profile (creating, linking or folding profiles), append it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal

from services.common import clock
from services.common.access import SourceSettings
from services.common.bus import Publisher
from services.common.contracts import Envelope
from services.common.contracts.collection import EventCollected
from services.common.contracts.identity import (
    ActivityRecorded,
    ConsentChanged,
    EmailConfirmationRequested,
    ProfileCreated,
    ProfileUpdated,
)
from services.common.dynamo import expires_at
from services.common.ids import derived_id
from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.consent import (
    Decision,
    apply_consent,
    as_purpose,
    confirmation_token,
    event_consent,
)
from services.identity.domain.profiles import (
    Identifier,
    alias_lookups,
    identifiers,
    normalise_email,
    resolve,
    settle_alias,
    unverified_claims,
)
from services.identity.domain.records import Entry, IdentitySettings, new_profile, remember, seen
from services.identity.domain.timeline import activity_of
from services.identity.domain.traits import apply_traits, event_traits
from services.identity.ports import Attribution, Graph
from services.identity.use_cases.merges import merge_profiles
from services.identity.use_cases.profiles import update_profile
from services.identity.use_cases.reads import contact_address, survivor_of
from services.identity.use_cases.writes import Conflict, Outbox, attempts


def record_event(
    incoming: Envelope[EventCollected],
    store: Attribution,
    publisher: Publisher,
    settings: IdentitySettings | None = None,
    sources: Callable[[str], SourceSettings] | None = None,
    signing_key: Callable[[], bytes] | None = None,
) -> str | None:
    """Attribute a collected event to its profile (creating, linking or folding profiles) and record it.

    A known returning visitor costs two reads (the pointer, the chain's head) and one write (the new chain entry,
    which carries the computed traits). Idempotent: a redelivered event is recognised among the profile's recent
    message ids and its events are re-published with the same ids. Returns None for an event that names nobody
    (only a reference to an erased profile).

    What a public source only claims stays a claim: an address it brings is recorded as unconfirmed, and the
    email-marketing consent it grants is pending (double opt-in, unless the source turned it off) until the person
    follows the link of the `EmailConfirmationRequested` this publishes (`signing_key` signs it). A verified event
    confirms its address; an open or click of our own email's signed link confirms the profile's addresses.
    """
    event = incoming.data
    settings = settings or store.settings()
    now = clock.now()
    at = clock.iso(now)
    out = Outbox(incoming.id, incoming.correlation_id)
    profile_id, claims, fresh = _attribute(event, incoming.id, store, settings, out, at)
    if profile_id is None:
        return None
    if claims:  # recorded on the device's own profile, without the identity it claimed
        event = without_claims(event, claims)
    updates = event_traits(event)
    consent = event_consent(event)
    event_at = clock.iso(event.timestamp)
    facts = computed_traits.facts(event)
    source = f"event:{event.source_id}"
    claimed, confirmed = _email_trust(event, fresh)
    confirm_consent = bool(
        confirmed != "all"
        and event.trust != "verified"
        and consent.get("email_marketing")
        and (sources or _default_sources)(event.source_id).double_opt_in  # read only when it matters
    )
    if confirm_consent:  # a public page's "yes" waits for the person's confirmation
        consent = {p: g for p, g in consent.items() if p != "email_marketing"}
    changed: Mapping[str, Any] = {}
    consent_changes: dict[str, Decision] = {}
    # The message names the profile the loop ended on (a merge moves the event to the survivor): late binding.
    for attempt in attempts(
        lambda: Conflict(f"profile {profile_id}: the timeline kept moving; the message will be retried")  # noqa: B023
    ):
        head = store.head(profile_id, consistent=attempt > 0)
        if head is not None and not head.open:
            if head.kind == "merged" and head.merged_into:
                profile_id = head.merged_into  # merged while this event was on its way: it belongs to the survivor
                continue
            erased, _, _ = _attribute(event, incoming.id, store, settings, out, at)  # erased meanwhile: start afresh
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

    request = _confirmation(store, profile_id, event, event_at, source, now) if confirm_consent else None
    if updates or consent or claimed or confirmed or request:  # the durable part; applying it again changes nothing
        update_profile(
            store,
            profile_id,
            traits=updates,
            traits_at=event_at,
            consent=consent,
            consent_source=source,
            claimed_emails=claimed,
            confirm_emails=confirmed,
            pending={"email_marketing": request} if request else None,
        )
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
    if request:
        if signing_key is None:
            raise ValueError("double opt-in needs the link-signing key")
        token = confirmation_token(profile_id, request["email"], int(now.timestamp()), signing_key())
        out.add(EmailConfirmationRequested(profileId=profile_id, token=token, source=event.source_id))
    out.publish(publisher)
    return profile_id


def _default_sources(source_id: str) -> SourceSettings:
    return SourceSettings()


def _email_trust(event: EventCollected, fresh: list[str]) -> tuple[dict[str, str], list[str] | Literal["all"]]:
    """Addresses this event only claims for the first time (address → source), and what it confirms: a verified
    event its own address; an open or click of our email's signed link every address of the profile."""
    if verified_profile(event):
        return {}, "all"
    email = event.traits.get("email")
    own = [normalise_email(email)] if isinstance(email, str) and "@" in email else []
    if event.trust == "verified":
        return {}, own
    return {address: event.source_id for address in fresh}, []


def _confirmation(
    store: Attribution, profile_id: str, event: EventCollected, event_at: str, source: str, now: dt.datetime
) -> dict[str, str] | None:
    """The pending request for a public page's email-marketing "yes": the address to confirm (the event's, else
    the profile's), unless consent is already granted or there is no address to ask."""
    profile = store.profile(profile_id)
    if profile is None or (profile.consent.get("email_marketing") and profile.consent["email_marketing"].granted):
        return None
    email = event.traits.get("email")
    address = normalise_email(email) if isinstance(email, str) and "@" in email else None
    address = address or contact_address(profile)
    if not address:
        return None
    earlier = profile.pending.get("email_marketing")
    if earlier and earlier.get("email") == address:
        return dict(earlier)  # asked already (or this is a redelivery): the same request
    return {"at": event_at, "source": source, "email": address}


def verified_profile(event: EventCollected) -> str | None:
    """A profile reference the events service verified (a signed email open/click link), when the contract has it."""
    value = getattr(event, "profile_id", None) or (event.model_extra or {}).get("profileId")
    return value if isinstance(value, str) and value else None


def without_claims(event: EventCollected, claims: list[Identifier]) -> EventCollected:
    """The event as the device's own profile keeps it: the claimed user id and email left out (in `claims`)."""
    kinds = {kind for kind, _ in claims}
    traits = {k: v for k, v in event.traits.items() if not (k == "email" and "email" in kinds)}
    context = {**event.context, "unverifiedClaims": sorted(kinds)}
    changes: dict[str, Any] = {"traits": traits, "context": context}
    if "user" in kinds:
        changes["user_id"] = None
    return event.model_copy(update=changes)


def _attribute(
    event: EventCollected, origin: str, store: Attribution, settings: IdentitySettings, out: Outbox, at: str
) -> tuple[str | None, list[Identifier], list[str]]:
    """The profile an event belongs to, after creating, folding and linking what its identifiers call for; the
    known identifiers it only claimed (an unverified message naming someone else's user id or email); and the
    addresses it brings that nobody held before."""
    ids = identifiers(event)
    claims: list[Identifier] = []
    fresh: list[str] = []
    for _ in attempts(lambda: Conflict("identifiers kept being claimed concurrently; the message will be retried")):
        lookups = [*ids, *alias_lookups(event)]
        pointers = store.pointers(lookups) if lookups else {}
        ids = settle_alias(ids, event, pointers)
        verified = verified_profile(event)
        if verified:
            verified = survivor_of(store, verified)
        if event.trust != "verified" and not verified:
            claimed = unverified_claims(ids, pointers)
            claims += [c for c in claimed if c not in claims]
            ids = [i for i in ids if i not in claimed]
        if not ids and not verified:
            return None, claims, []
        fresh = [value for kind, value in ids if kind == "email" and (kind, value) not in pointers]
        resolution = resolve(ids, pointers, verified=verified, policy=settings.policy)
        if resolution.merge and not (verified and settings.policy.merge_known_on_verified):
            known = frozenset(p for p, found in store.profiles(resolution.merge).items() if found.known)
            if known:
                resolution = resolve(ids, pointers, known, verified=verified, policy=settings.policy)
        if resolution.profile_id is None:
            created = _create(event, origin, ids, store, out, at)
            if created:
                return created, claims, fresh
            continue  # another writer claimed one of the identifiers first: resolve against the winner
        survivor = resolution.profile_id
        if survivor == derived_id(origin, "profile"):  # this very event created it (a redelivery): announce again
            out.add(ProfileCreated(profileId=survivor, anonymousId=event.anonymous_id, userId=_own_user_id(event, ids)))
        if resolution.merge or resolution.link:
            survivor = survivor_of(store, survivor) or survivor
            for folded in resolution.merge:
                if folded != survivor:
                    merge_profiles(store, survivor, folded, "identified", derived_id(origin, "merge", folded), out, at)
            if resolution.link:
                _link(store, survivor, resolution.link, at)
        break
    return survivor, claims, fresh


def _create(
    event: EventCollected, origin: str, ids: list[Identifier], store: Graph, out: Outbox, at: str
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
    out.add(ProfileCreated(profileId=profile_id, anonymousId=event.anonymous_id, userId=_own_user_id(event, ids)))
    return profile_id


def _own_user_id(event: EventCollected, ids: list[Identifier]) -> str | None:
    """The event's user id unless it was only claimed (someone else's)."""
    return event.user_id if event.user_id and ("user", event.user_id) in ids else None


def _link(store: Graph, profile_id: str, ids: list[Identifier], at: str) -> None:
    owners = store.pointers(ids)
    for identifier in ids:
        owner = owners.get(identifier)
        if owner is None:
            store.claim(identifier, profile_id, at)
        elif owner != profile_id:
            store.point([identifier], profile_id, at, if_owner=owner)  # a device moving to the person using it now
    for _ in attempts(lambda: Conflict(f"profile {profile_id} kept changing while linking identifiers")):
        profile = store.profile(profile_id, consistent=True)
        if profile is None:
            return
        updated = profile.with_identities(ids)
        if updated is profile or store.save_profile(replace(updated, version=profile.version + 1)):
            return
