"""Identity use cases: orchestrate the pure rules over the repository and publisher ports."""

from __future__ import annotations

from typing import Any

from services.common import clock
from services.common.bus import Publisher
from services.common.contracts import Envelope, envelope
from services.common.contracts.events import ActivityRecorded, EventCollected, ProfileCreated, ProfilesMerged
from services.common.ids import derived_id, new_id
from services.identity.domain.profiles import identifiers, resolve, trait_changes
from services.identity.ports import ProfileRepository

MAX_RESOLVE_ATTEMPTS = 3


class ProfileNotFound(LookupError):
    pass


def record_event(incoming: Envelope[EventCollected], repo: ProfileRepository, publisher: Publisher) -> str:
    """Attribute a collected event to its profile (creating, linking or folding profiles) and record it.

    Idempotent on the bus event id: a redelivery stores nothing new and re-publishes the same ActivityRecorded
    (same derived id), which consumers dedupe.
    """
    event = incoming.data
    now = clock.now()
    ids = identifiers(event)
    out: list[Envelope[Any]] = []
    profile_id: str | None = None
    for _ in range(MAX_RESOLVE_ATTEMPTS):
        pointers = repo.pointers(ids)
        resolution = resolve(ids, pointers)
        if resolution.merge:  # rare: read the candidates, never fold a profile that belongs to a known person
            resolution = resolve(ids, pointers, frozenset(p for p in resolution.merge if _is_known(repo, p)))
        if resolution.profile_id is None:
            candidate = new_id()
            if repo.create_profile(candidate, ids, now):
                continue  # lost a race for an identifier: resolve again against the winner
            profile_id = candidate
            out.append(
                envelope(
                    ProfileCreated(profileId=candidate, anonymousId=event.anonymous_id, userId=event.user_id),
                    id=derived_id(incoming.id, "ProfileCreated"),
                    correlation_id=incoming.correlation_id,
                )
            )
            break
        profile_id = resolution.profile_id
        for folded in resolution.merge:
            repo.fold(profile_id, folded, now)
            out.append(
                envelope(
                    ProfilesMerged(survivingProfileId=profile_id, mergedProfileId=folded, reason="identified"),
                    id=derived_id(incoming.id, "ProfilesMerged", folded),
                    correlation_id=incoming.correlation_id,
                )
            )
        if resolution.link:
            repo.link(profile_id, resolution.link, now)
        break
    if profile_id is None:
        raise RuntimeError("could not resolve a profile after concurrent claims; the message will be retried")

    activity = {
        "messageId": event.message_id,
        "type": event.type,
        "event": event.event,
        "name": event.name,
        "properties": event.properties,
        "timestamp": clock.iso(event.timestamp),
        "context": {k: v for k, v in event.context.items() if k in ("page", "campaign", "referrer")},
    }
    if repo.record_activity(profile_id, activity, now):
        repo.touch(profile_id, trait_changes(event), event.type, now)
    out.append(
        envelope(
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
            ),
            id=derived_id(incoming.id, "ActivityRecorded"),
            correlation_id=incoming.correlation_id,
        )
    )
    publisher.publish(out)
    return profile_id


def _is_known(repo: ProfileRepository, profile_id: str) -> bool:
    profile = repo.profile(profile_id) or {}
    return any(i.startswith(("user:", "email:")) for i in profile.get("identities", []))


def profile_view(profile_id: str, repo: ProfileRepository, activity_limit: int = 20) -> dict[str, Any]:
    """A profile with its traits and recent activity; a folded profile's id redirects to its survivor."""
    seen: set[str] = set()
    profile = repo.profile(profile_id)
    while profile and profile.get("mergedInto") and profile_id not in seen:
        seen.add(profile_id)
        profile_id = profile["mergedInto"]
        profile = repo.profile(profile_id)
    if not profile:
        raise ProfileNotFound(profile_id)
    history_ids = [profile_id, *profile.get("mergedFrom", [])]
    return {**profile, "activity": repo.timeline(history_ids, activity_limit)}


def find_profile_id(kind: str, value: str, repo: ProfileRepository) -> str:
    key = (kind, value.strip().lower() if kind == "email" else value)
    found = repo.pointers([key]).get(key)
    if not found:
        raise ProfileNotFound(f"{kind}={value}")
    return found
