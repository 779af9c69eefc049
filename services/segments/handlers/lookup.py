"""Internal API of segments (invoked with IAM by journeys): one profile's memberships and scores, or which segments
and scoring plans exist."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from services.segments import app
from services.segments.use_cases import analytics


class LookupRequest(BaseModel):
    op: Literal["profile", "definitions"]
    profile_id: str | None = Field(default=None, alias="profileId")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`profile` → {segments: [id], scores: {plan: {score, tier}}}; `definitions` → {segments: [id], plans: [id],
    tiers: {plan: [tier names, lowest first]}, questionnaires: {id: [segment keys]}} (what a condition may name)."""
    request = LookupRequest.model_validate(event)
    repo = app.segments()
    if request.op == "definitions":
        catalog = app.catalog(repo, min_generation=repo.generation())
        return {
            "segments": sorted(s.segment_id for s in catalog.segments),
            "plans": sorted(catalog.plans),
            "tiers": {plan_id: list(plan.tier_names) for plan_id, plan in sorted(catalog.plans.items())},
            "questionnaires": {qid: list(q.keys) for qid, q in sorted(catalog.questionnaires.items())},
        }
    found = analytics.memberships(repo, app.catalog(repo), request.profile_id or "")
    return {"segments": [s["segmentId"] for s in found["segments"]], "scores": found["scores"]}
