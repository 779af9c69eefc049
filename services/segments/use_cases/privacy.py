"""The segments part of a person's data export: everything the service keeps keyed by their profile ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.common import clock
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.domain.activities import to_ms
from services.segments.domain.catalog import Catalog
from services.segments.domain.privacy import profile_export
from services.segments.domain.profiles import ProfileState


def export(repo: DynamoSegments, catalog: Catalog, profile_ids: Sequence[str]) -> dict[str, Any]:
    """One entry per profile the service holds a rollup for (the only item it keys by profile: traits snapshot,
    environment, behaviour counters, scores, questionnaire answers, memberships, recent inputs and outbox).
    Statistics counters are aggregates over all profiles and hold nothing of one person."""
    now = to_ms(clock.now())
    profiles = []
    for profile_id in dict.fromkeys(profile_ids):
        stored = repo.rollup(profile_id)
        if not stored.version:
            continue  # the service never heard of this profile
        profiles.append(
            profile_export(
                profile_id,
                ProfileState.from_json(stored.state),
                catalog,
                now,
                inputs=stored.seen,
                pending=stored.outbox,
            )
        )
    return {"profiles": profiles}
