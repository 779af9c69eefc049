"""The segments part of a person's data export: everything the service keeps keyed by their profile ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.common import clock
from services.common.conditions.activities import to_ms
from services.segments.domain.catalog import Catalog
from services.segments.domain.merges import Share
from services.segments.domain.privacy import folded_export, profile_export
from services.segments.domain.profiles import ProfileState
from services.segments.ports import Rollups


def export(repo: Rollups, catalog: Catalog, profile_ids: Sequence[str]) -> dict[str, Any]:
    """One entry per profile the service holds a rollup for (the only item it keys by profile: traits snapshot,
    environment, behaviour counters, scores, questionnaire answers, memberships, recent inputs and outbox — or, for a
    profile folded into another, the share kept for an un-merge).
    Statistics counters are aggregates over all profiles and hold nothing of one person."""
    now = to_ms(clock.now())
    profiles = []
    for profile_id in dict.fromkeys(profile_ids):
        stored = repo.rollup(profile_id)
        if not stored.version:
            continue  # the service never heard of this profile
        if stored.folded is not None:  # folded into another profile, kept for an un-merge
            profiles.append(
                folded_export(
                    profile_id,
                    into=stored.folded.into,
                    merge_id=stored.folded.merge_id,
                    at=stored.folded.at,
                    kept_until=stored.folded.expires_at,
                    share=Share.from_json(stored.folded.share),
                    catalog=catalog,
                    now=now,
                    inputs=stored.seen,
                )
            )
            continue
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
