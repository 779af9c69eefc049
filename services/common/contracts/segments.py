"""Bus events published by the segments service (source cxm.segments)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.common.contracts.envelope import Contract

SEGMENTS = "cxm.segments"

SEQUENCE = "Per-profile order of membership and score changes: the later one wins."


class SegmentEntered(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "SegmentEntered"
    DESCRIPTION = "A profile became a member of a segment (published once per transition)."
    profile_id: str = Field(alias="profileId")
    segment_id: str = Field(alias="segmentId")
    segment_version: int = Field(default=1, alias="segmentVersion")
    sequence: int = Field(default=0, description=SEQUENCE)


class SegmentExited(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "SegmentExited"
    DESCRIPTION = "A profile stopped being a member of a segment (an event, or its window passed)."
    profile_id: str = Field(alias="profileId")
    segment_id: str = Field(alias="segmentId")
    segment_version: int = Field(default=1, alias="segmentVersion")
    sequence: int = Field(default=0, description=SEQUENCE)


class ScoreChanged(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "ScoreChanged"
    DESCRIPTION = "A profile's score in a scoring plan changed (points paid, or decay moved it across a tier)."
    profile_id: str = Field(alias="profileId")
    plan_id: str = Field(alias="planId")
    score: float
    previous: float
    tier: str | None = Field(default=None, description="The plan's tier at this score, when the plan has tiers.")
    sequence: int = Field(default=0, description=SEQUENCE)


class ScoreThresholdCrossed(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "ScoreThresholdCrossed"
    DESCRIPTION = "A profile moved to another tier of a scoring plan (e.g. warm → hot)."
    profile_id: str = Field(alias="profileId")
    plan_id: str = Field(alias="planId")
    tier: str
    direction: Literal["up", "down"]
    previous_tier: str | None = Field(default=None, alias="previousTier")
    score: float | None = None
    sequence: int = Field(default=0, description=SEQUENCE)


class QuestionnaireSegmentAssigned(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "QuestionnaireSegmentAssigned"
    DESCRIPTION = (
        "A profile's answers to a questionnaire put it in one of its segments, or in the neutral pool (segment "
        "null) when the best match is below the questionnaire's confidence threshold."
    )
    profile_id: str = Field(alias="profileId")
    questionnaire_id: str = Field(alias="questionnaireId")
    segment: str | None = Field(default=None, description="The segment key; null: the neutral pool.")
    previous: str | None = Field(default=None, description="The segment before, if any.")
    confidence: float = Field(ge=0, le=1)
    sequence: int = Field(default=0, description=SEQUENCE)


class SegmentBackfillRequested(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "SegmentBackfillRequested"
    DESCRIPTION = (
        "Internal to the segments service: evaluate one page of existing profiles for a new or changed segment, "
        "then request the next page (a batched fan-out over parallel scan parts)."
    )
    segment_id: str = Field(alias="segmentId")
    segment_version: int = Field(alias="segmentVersion")
    backfill_id: str = Field(alias="backfillId")
    generation: int = Field(default=0, description="The definitions generation the page must be evaluated with.")
    part: int = Field(ge=0)
    parts: int = Field(ge=1)
    page: int = Field(default=0, ge=0)
    cursor: dict[str, Any] | None = Field(default=None, description="Where the previous page of this part ended.")
