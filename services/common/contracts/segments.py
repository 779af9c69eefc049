"""Bus events published by the segments service (source cxm.segments)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.common.contracts.envelope import Contract

SEGMENTS = "cxm.segments"


class SegmentEntered(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "SegmentEntered"
    profile_id: str = Field(alias="profileId")
    segment_id: str = Field(alias="segmentId")
    segment_version: int = Field(default=1, alias="segmentVersion")
    sequence: int = Field(default=0, description="Per-profile order of membership changes: the later one wins.")


class SegmentExited(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "SegmentExited"
    profile_id: str = Field(alias="profileId")
    segment_id: str = Field(alias="segmentId")
    segment_version: int = Field(default=1, alias="segmentVersion")
    sequence: int = Field(default=0, description="Per-profile order of membership changes: the later one wins.")


class ScoreChanged(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "ScoreChanged"
    profile_id: str = Field(alias="profileId")
    plan_id: str = Field(alias="planId")
    score: float
    previous: float


class ScoreThresholdCrossed(Contract):
    SOURCE = SEGMENTS
    DETAIL_TYPE = "ScoreThresholdCrossed"
    profile_id: str = Field(alias="profileId")
    plan_id: str = Field(alias="planId")
    tier: str
    direction: Literal["up", "down"]
