"""The identity graph: which client ids an event carries, and which profile it belongs to. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.common.contracts.registry import EventCollected

# Identifiers are `(kind, value)`: `anon` (anonymousId, alias previousId), `device` (context.device.id), `user`
# (userId) and `email` (lower-cased). `user` and `email` are *known* identifiers: a profile holding one is a known
# person. Profile ids themselves are random (UUIDv7) and never come from a client.

Identifier = tuple[str, str]  # (kind, value): ("anon", "a-1"), ("user", "u-9"), ("email", "ana@x.com")
KNOWN_KINDS = ("user", "email")


@dataclass(frozen=True)
class MergePolicy:
    """How far an identifier is trusted (configurable per installation, `PUT /v1/identity/settings`).

    `link_anonymous_on_email`: an email from a public client (unverified) links the visitor's anonymous activity to
    the profile that owns the email, as Segment and Mautic do. Off: an email only ever attaches to the profile the
    event already belongs to, and only when no one else owns it.
    `merge_known_on_verified`: two *known* profiles merge when an event carries a verified identifier (a signed
    email-click profile reference); admin merges (`POST /v1/profiles/merge`) are always allowed.
    """

    link_anonymous_on_email: bool = True
    merge_known_on_verified: bool = True


def normalise_email(value: str) -> str:
    return value.strip().lower()


def looks_like_email(value: object) -> bool:
    if not isinstance(value, str):
        return False
    local, at, domain = value.strip().rpartition("@")
    return bool(at and local and "." in domain and " " not in value.strip() and len(value) <= 254)


def identifiers(event: EventCollected) -> list[Identifier]:
    """The client-side ids an event carries; emails are compared lower-cased."""
    found: list[Identifier] = []
    if event.anonymous_id:
        found.append(("anon", event.anonymous_id))
    if event.type == "alias" and event.previous_id:
        found.append(("anon", event.previous_id))
    device = event.context.get("device")
    if isinstance(device, dict) and isinstance(device.get("id"), str) and device["id"]:
        found.append(("device", device["id"][:200]))
    if event.user_id:
        found.append(("user", event.user_id))
    email = event.traits.get("email")
    if isinstance(email, str) and "@" in email:
        found.append(("email", normalise_email(email)))
    return found


def alias_lookups(event: EventCollected) -> list[Identifier]:
    """An alias's previousId may be an earlier *user* id (Segment: "rename a user"); look that up too."""
    return [("user", event.previous_id)] if event.type == "alias" and event.previous_id else []


def settle_alias(ids: list[Identifier], event: EventCollected, pointers: Mapping[Identifier, str]) -> list[Identifier]:
    """When an alias's previousId is a known user id, it stands for that user id rather than an anonymous id."""
    if event.type != "alias" or not event.previous_id:
        return ids
    as_user: Identifier = ("user", event.previous_id)
    as_anon: Identifier = ("anon", event.previous_id)
    if as_user in pointers and as_anon not in pointers:
        return [as_user if i == as_anon else i for i in ids]
    return ids


def is_known(identifier: Identifier) -> bool:
    return identifier[0] in KNOWN_KINDS


def unverified_claims(ids: Sequence[Identifier], pointers: Mapping[Identifier, str]) -> list[Identifier]:
    """The known identifiers (user id, email) an unverified message claims that already belong to another profile
    than the device's own: a public write key proves nothing, so such a claim never joins this device to that
    person (docs/identity.md, "Trust"). A known identifier the device's profile already holds is no claim."""
    device_owners = {pointers[i] for i in ids if not is_known(i) and i in pointers}
    return [i for i in ids if is_known(i) and i in pointers and pointers[i] not in device_owners]


@dataclass(frozen=True)
class Resolution:
    """Where an event lands: the profile, identifiers to link to it, and profiles to fold into it."""

    profile_id: str | None  # None: a new profile is needed
    link: list[Identifier] = field(default_factory=list)
    merge: list[str] = field(default_factory=list)


def resolve(
    ids: Sequence[Identifier],
    pointers: Mapping[Identifier, str],
    known_profiles: frozenset[str] = frozenset(),
    verified: str | None = None,
    policy: MergePolicy = MergePolicy(),
) -> Resolution:
    """Pick the surviving profile: a verified profile reference, else the one a known identifier points at, else
    the first anonymous owner.

    An anonymous profile is folded into the survivor (a visitor identifying links their anonymous history). A
    *known* profile (`known_profiles`: it has a user id or email) is folded only on a verified identifier and when
    the policy allows it; otherwise a device that pointed at it (a shared browser) just moves to the survivor.
    Known identifiers owned by another known profile stay where they are.
    """

    def decisive(i: Identifier) -> bool:
        return i[0] == "user" or (i[0] == "email" and policy.link_anonymous_on_email)

    def counts(i: Identifier) -> bool:  # may choose (or pull in) a profile
        return i in pointers and (decisive(i) or not is_known(i))

    if verified is None and not any(counts(i) for i in ids):
        return Resolution(None, link=[i for i in ids if i not in pointers])
    known_owners = [pointers[i] for i in ids if counts(i) and is_known(i)]
    anonymous_owners = [pointers[i] for i in ids if counts(i) and not is_known(i)]
    survivor = verified or (known_owners[0] if known_owners else anonymous_owners[0])
    verified_merge = verified is not None and policy.merge_known_on_verified
    candidates = set(anonymous_owners) | (set(known_owners) if verified_merge else set())
    merge = sorted(p for p in candidates if p != survivor and (verified_merge or p not in known_profiles))
    link = [i for i in ids if pointers.get(i) != survivor and (i not in pointers or not is_known(i))]
    return Resolution(survivor, link=link, merge=merge)
