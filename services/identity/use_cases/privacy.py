"""Privacy use cases: consent, one-click unsubscribe, the suppression list, export and erasure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts.identity import ConsentChanged, ProfileErased
from services.common.dynamo import expires_at
from services.common.ids import new_id
from services.identity.domain import computed as computed_traits
from services.identity.domain.computed import Computed
from services.identity.domain.consent import (
    DOUBLE_OPT_IN,
    as_purpose,
    confirmation_profile,
    confirmation_valid,
    verify_unsubscribe_token,
)
from services.identity.domain.records import Entry, identity_of
from services.identity.domain.suppression import feedback
from services.identity.ports import ExportPart, Profiles, ProfileStore, Suppressions, Timeline
from services.identity.use_cases.profiles import update_profile
from services.identity.use_cases.reads import (
    InvalidCursor,
    PersonNotFound,
    identities_view,
    resolve_profile_id,
    survivor_of,
    timeline,
)
from services.identity.use_cases.writes import Conflict, Outbox, ProfileNotFound, attempts


class InvalidToken(ValueError):
    pass


class ErasureConflict(Conflict):
    """A person's timeline kept receiving events while being erased; the erasure can be tried again."""


def set_consent(
    store: Profiles, publisher: Publisher, profile_id: str, decisions: Mapping[str, bool], source: str
) -> dict[str, Any]:
    """Record consent decisions (now, from `source`); publishes ConsentChanged for each purpose that flipped."""
    survivor = resolve_profile_id(profile_id, store)
    at = clock.iso(clock.now())
    _, changes = update_profile(store, survivor, consent=dict(decisions), consent_source=source, consent_at=at)
    out = Outbox(new_id())
    for purpose, decision in sorted(changes.items()):
        out.add(
            ConsentChanged(
                profileId=survivor, purpose=as_purpose(purpose), granted=decision.granted, source=decision.source
            ),
            purpose,
        )
    out.publish(publisher)
    profile = store.profile(survivor)
    return {
        "profileId": survivor,
        "consent": {p: d.to_json() for p, d in (profile.consent if profile else {}).items()},
        "changed": sorted(changes),
    }


def unsubscribe(store: Profiles, publisher: Publisher, token: str, key: bytes) -> None:
    """One-click unsubscribe (RFC 8058): a valid signed token turns email-marketing consent off. The answer is the
    same whether or not the profile still exists, so a token reveals nothing."""
    profile_id = verify_unsubscribe_token(token, key)
    if profile_id is None:
        raise InvalidToken("this unsubscribe link is not valid")
    try:
        set_consent(store, publisher, profile_id, {"email_marketing": False}, "unsubscribe")
    except ProfileNotFound:
        return


def confirm_email(store: Profiles, publisher: Publisher, token: str, key: bytes) -> bool:
    """Double opt-in: a valid confirmation link grants the pending email-marketing consent (source
    "double-opt-in") and confirms the address it was sent to. A forged, expired or used token, or one for an
    address the profile no longer waits on, changes nothing; callers answer the same either way."""
    named = confirmation_profile(token)
    if named is None:
        return False
    try:
        survivor = resolve_profile_id(named, store)
    except ProfileNotFound:
        return False
    profile = store.profile(survivor, consistent=True)
    request = profile.pending.get("email_marketing") if profile else None
    now = clock.now()
    if not request or not confirmation_valid(token, named, request.get("email", ""), key, int(now.timestamp())):
        return False
    _, changes = update_profile(
        store,
        survivor,
        consent={"email_marketing": True},
        consent_source=DOUBLE_OPT_IN,
        consent_at=clock.iso(now),
        confirm_emails=[request["email"]],
    )
    out = Outbox(new_id())
    for purpose, decision in sorted(changes.items()):
        out.add(
            ConsentChanged(
                profileId=survivor, purpose=as_purpose(purpose), granted=decision.granted, source=decision.source
            ),
            purpose,
        )
    out.publish(publisher)
    return True


def record_email_feedback(store: Suppressions, detail_type: str, detail: Mapping[str, Any]) -> list[str]:
    """Put the addresses an SES bounce or complaint names on the suppression list; returns the new ones."""
    found = feedback(detail_type, detail)
    if found is None:
        return []
    at = clock.iso(clock.now())
    return [email for email in found.addresses if store.suppress(email, found.reason, at, found.detail)]


def suppression(store: Suppressions, address: str) -> dict[str, Any]:
    """Whether an (already normalised) address is on the suppression list, with its entry."""
    found = store.suppressions([address]).get(address)
    return {"email": address, "suppressed": found is not None, **({"entry": found} if found else {})}


def suppression_list(store: Suppressions, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of the suppression list, newest first: each address with its reason (bounce, complaint) and time."""
    try:
        entries, next_cursor = store.suppression_list(limit, cursor)
    except ValueError as error:
        raise InvalidCursor(str(error)) from None
    return {"suppressions": entries, "next": next_cursor}


def unsuppress(store: Suppressions, address: str) -> dict[str, Any]:
    """Take an (already normalised) address off the suppression list."""
    store.unsuppress([address])
    return {"email": address, "suppressed": False}


def _family(store: Profiles, profile_id: str) -> tuple[str, list[str]]:
    survivor = survivor_of(store, profile_id)
    profile = store.profile(survivor) if survivor else None
    if survivor is None or profile is None:
        raise PersonNotFound(profile_id)
    return survivor, [survivor, *profile.merged_from]


def export(store: ProfileStore, profile_id: str, parts: Mapping[str, ExportPart]) -> dict[str, Any]:
    """Everything held about a person, from every service, as one JSON document: identity's own part and one
    section per service in `parts`, each asked for the person's profile ids (survivor and merged profiles).

    All or nothing: when a service cannot give its part, `ExportPartFailed` propagates and no document is made —
    a partial export must never pass for a complete one.
    """
    survivor, family = _family(store, profile_id)
    document: dict[str, Any] = {
        "exportedAt": clock.iso(clock.now()),
        "profileId": survivor,
        "profileIds": family,
        "identity": _identity_part(store, survivor, family),
    }
    for service, part in parts.items():
        document[service] = part(family)
    return document


def _identity_part(store: ProfileStore, survivor: str, family: list[str]) -> dict[str, Any]:
    """The profile and the profiles merged into it, traits with when each was set, computed traits, consent,
    suppression entries, merge log and the whole timeline."""
    profiles = store.profiles(family)
    profile = profiles[survivor]
    head = store.head(survivor)
    emails = sorted({e for p in profiles.values() for e in p.emails})
    activity: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = timeline(survivor, store, limit=500, cursor=cursor)
        activity.extend(page["items"])
        cursor = page["next"]
        if not cursor:
            break
    return {
        "profiles": [
            {
                "profileId": p.profile_id,
                "createdAt": p.created_at,
                "identities": identities_view(p),
                "mergedInto": p.merged_into,
            }
            for p in (profiles[i] for i in family if i in profiles)
        ],
        "traits": {name: {"value": s.value, "setAt": s.at} for name, s in profile.traits.items()},
        "computed": computed_traits.view(head.computed if head else Computed()),
        "consent": {p: d.to_json() for p, d in profile.consent.items()},
        "suppression": list(store.suppressions(emails).values()) if emails else [],
        "merges": [
            {
                "mergeId": log.merge_id,
                "survivingProfileId": log.survivor,
                "mergedProfileId": log.folded_id,
                "reason": log.reason,
                "at": log.at,
                "status": log.status,
            }
            for pid in family
            for log in store.merge_logs(pid)
        ],
        "activity": activity,
    }


def erase(store: ProfileStore, publisher: Publisher, profile_id: str) -> dict[str, Any]:
    """Delete everything identity holds about a person — the profile and every profile merged into it, their
    pointers (emails included), timelines, merge logs, consent and suppression entries — and publish
    ProfileErased with every identifier so other services erase their part.

    Each chain is first closed with an `erased` fence (no personal data), so an event that was about to land on
    the profile finds it and starts a new profile instead of leaving an orphan entry behind.
    """
    survivor, family = _family(store, profile_id)
    profiles = store.profiles(family)
    identities = sorted({i for p in profiles.values() for i in p.identities})
    emails = sorted({e for p in profiles.values() for e in p.emails})
    now = clock.now()
    at = clock.iso(now)
    settings = store.settings()
    fences = {pid: _fence(store, pid, at, expires_at(now, settings.retention_days)) for pid in family}
    store.hold_fences(family, at)
    store.unpoint([identity_of(i) for i in identities], family)
    deleted = sum(store.erase_chain(pid, fences[pid]) for pid in family)
    for pid in family:
        store.delete_profile(pid)
    if emails:
        store.unsuppress(emails)
    out = Outbox(new_id())
    out.add(
        ProfileErased(
            profileId=survivor,
            identifiers=[*identities, *(f"profile:{pid}" for pid in family)],
            profileIds=family,
        )
    )
    out.publish(publisher)
    return {
        "profileId": survivor,
        "profileIds": family,
        "identifiers": len(identities),
        "timelineEntries": deleted,
        "erasedAt": at,
    }


FENCE_GRACE = dt.timedelta(minutes=10)  # far longer than any identity function runs (timeouts ≤ 2 minutes)


def lift_fences(store: ProfileStore, now: dt.datetime, grace: dt.timedelta = FENCE_GRACE) -> int:
    """The last step of an erasure, run by a schedule: once no writer that resolved the profile before the erasure
    can still be running, the fence has done its work. Lift it, with anything such a writer appended after it,
    so nothing keyed by the erased profile's id is left. Later events resolve by identifiers, which are gone."""
    lifted = 0
    for at, profile_id in store.lapsed_fences(clock.iso(now - grace)):
        store.erase_chain(profile_id, keep_seq=-1)
        store.lift_fence(at, profile_id)
        lifted += 1
    return lifted


def _fence(store: Timeline, profile_id: str, at: str, expires: int) -> int:
    for attempt in attempts(
        lambda: ErasureConflict(f"profile {profile_id} kept receiving events during erasure; try again")
    ):
        head = store.head(profile_id, consistent=attempt > 0)
        if head is not None and head.kind == "erased":
            return head.seq
        fence = Entry(seq=(head.seq if head else 0) + 1, kind="erased", recorded_at=at)
        if store.append(profile_id, fence, expires):
            break
    return fence.seq
