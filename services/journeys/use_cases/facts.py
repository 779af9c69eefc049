"""What a condition looks at, gathered only as far as the condition needs it."""

from __future__ import annotations

from typing import Any

from services.journeys.domain.definition import InSegment, ScoreIs, walk_conditions
from services.journeys.domain.runs import ProfileFacts
from services.journeys.ports import Directory


def needs_segments(condition: Any) -> bool:
    return any(isinstance(c, InSegment | ScoreIs) for _, c in walk_conditions(condition, ""))


def gather(
    condition: Any,
    profile_id: str,
    directory: Directory,
    live: dict[str, Any] | None,
    contact: dict[str, Any] | None = None,
) -> ProfileFacts:
    contact = contact if contact is not None else directory.contact(profile_id)
    memberships: dict[str, Any] = directory.memberships(profile_id) if needs_segments(condition) else {}
    run_facts = (live or {}).get("facts") or {}
    consent = contact.get("consent") or {}
    return ProfileFacts(
        traits=contact.get("traits") or {},
        segments=frozenset(memberships.get("segments") or []),
        scores=memberships.get("scores") or {},
        consent={k: (v.get("granted") if isinstance(v, dict) else v) for k, v in consent.items()},
        opened=frozenset(run_facts.get("opened") or []),
        clicked=frozenset(run_facts.get("clicked") or []),
        returned=bool(run_facts.get("returned")),
        purchased=bool(run_facts.get("purchased")),
    )
