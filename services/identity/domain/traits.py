"""Profile traits (identify traits, CRM fields): what an event sets, and the conflict rule. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.common.contracts.registry import EventCollected
from services.identity.domain.stamps import Stamped, canonical, is_empty, later, merge_stamped, same, unmerge_stamped

# Every trait carries the time it was set; the most recent non-empty value wins, ties broken by value, so applying
# updates or merging profiles gives the same result in any order.

Traits = Mapping[str, Stamped]

MAX_TRAITS = 200  # per profile: a CRM sync gone wrong must not grow an item towards DynamoDB's 400 KB


def event_traits(event: EventCollected) -> dict[str, Any]:
    """Traits an event sets: an identify's non-empty traits; from any other event only an email it carries."""
    if event.type == "identify":
        return {k: v for k, v in event.traits.items() if not is_empty(v)}
    email = event.traits.get("email")
    return {"email": email} if isinstance(email, str) and email else {}


def apply_traits(current: Traits, updates: Mapping[str, Any], at: str) -> tuple[dict[str, Stamped], dict[str, Any]]:
    """Set non-empty `updates` as of `at`; an older update never overwrites a newer value. Returns the new traits
    and what changed (name → new value)."""
    out = dict(current)
    changed: dict[str, Any] = {}
    for name, value in updates.items():
        if is_empty(value):
            continue
        if name not in out and len(out) >= MAX_TRAITS:
            continue
        old = out.get(name)
        winner = later(old, Stamped(value, at))
        if winner is not None and not same(winner, old):
            out[name] = winner
            if old is None or canonical(old.value) != canonical(winner.value):
                changed[name] = winner.value
    return out, changed


def remove_traits(current: Traits, names: Iterable[str]) -> tuple[dict[str, Stamped], dict[str, Any]]:
    """Remove traits (an admin clearing a CRM field); `changed` maps each removed name to None."""
    out = dict(current)
    changed = {name: None for name in names if out.pop(name, None) is not None}
    return out, changed


def merge_traits(survivor: Traits, folded: Traits) -> dict[str, Stamped]:
    return merge_stamped(survivor, folded)


def unmerge_traits(now: Traits, before: Traits, after: Traits) -> dict[str, Stamped]:
    return unmerge_stamped(now, before, after)


def trait_values(traits: Traits) -> dict[str, Any]:
    return {name: stamped.value for name, stamped in traits.items()}


def trait_diff(before: Traits, after: Traits) -> dict[str, Any]:
    """name → new value for every trait whose value changed; None for a removed one."""
    changed: dict[str, Any] = {}
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if (old.value if old else None) != (new.value if new else None):
            changed[name] = new.value if new else None
    return changed
