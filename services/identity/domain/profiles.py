"""Identity resolution and trait rules: which profile an event belongs to, and what it changes. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.contracts.events import EventCollected

Identifier = tuple[str, str]  # (kind, value): ("anon", "a-1"), ("user", "u-9"), ("email", "ana@x.com")


def identifiers(event: EventCollected) -> list[Identifier]:
    """The client-side ids an event carries; emails are compared lower-cased."""
    found: list[Identifier] = []
    if event.anonymous_id:
        found.append(("anon", event.anonymous_id))
    if event.type == "alias" and event.previous_id:
        found.append(("anon", event.previous_id))
    if event.user_id:
        found.append(("user", event.user_id))
    email = event.traits.get("email")
    if isinstance(email, str) and "@" in email:
        found.append(("email", email.strip().lower()))
    return found


def is_known(identifier: Identifier) -> bool:
    return identifier[0] in ("user", "email")


@dataclass(frozen=True)
class Resolution:
    """Where an event lands: the profile, identifiers to link to it, and profiles to fold into it."""

    profile_id: str | None  # None: a new profile is needed
    link: list[Identifier] = field(default_factory=list)
    merge: list[str] = field(default_factory=list)


def resolve(
    ids: list[Identifier], pointers: Mapping[Identifier, str], known_profiles: frozenset[str] = frozenset()
) -> Resolution:
    """Pick the surviving profile: the one a known identifier (user id, email) points at, else the first.

    An anonymous profile is folded into the known one when a visitor identifies (as Segment and Mautic do).
    Two known profiles are never merged here (that needs a verified identifier): the event goes to the first
    known owner, and a device id that pointed at another *known* profile (a shared browser) is moved to the
    survivor without folding that person's history into someone else's. `known_profiles` names the profiles
    that have a user id or email; the caller reads them only when there is a fold to decide.
    """
    owners = [pointers[i] for i in ids if i in pointers]
    if not owners:
        return Resolution(None, link=list(ids))
    known_owners = [pointers[i] for i in ids if i in pointers and is_known(i)]
    survivor = known_owners[0] if known_owners else owners[0]
    anonymous_only = {pointers[i] for i in ids if i in pointers and not is_known(i)} - set(known_owners)
    merge = sorted(p for p in anonymous_only if p != survivor and p not in known_profiles)
    link = [i for i in ids if pointers.get(i) != survivor and (i not in pointers or not is_known(i))]
    return Resolution(survivor, link=link, merge=merge)


def trait_changes(event: EventCollected) -> dict[str, Any]:
    """Traits an event sets on the profile: identify traits; an email seen in any event's traits."""
    if event.type == "identify":
        return {k: v for k, v in event.traits.items() if v not in (None, "")}
    email = event.traits.get("email")
    return {"email": email} if isinstance(email, str) and email else {}


def merged_traits(survivor: Mapping[str, Any], folded: Mapping[str, Any]) -> dict[str, Any]:
    """The survivor's non-empty values win; the folded profile fills the gaps."""
    out = {k: v for k, v in folded.items() if v not in (None, "")}
    out.update({k: v for k, v in survivor.items() if v not in (None, "")})
    return out
