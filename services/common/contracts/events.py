"""Every bus event of the platform, one typed model each, with its source, detail-type and version declared."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from services.common.contracts.envelope import Contract

EVENTS = "cxm.events"
IDENTITY = "cxm.identity"
SEGMENTS = "cxm.segments"
JOURNEYS = "cxm.journeys"
CONTENT = "cxm.content"

MessageType = Literal["track", "identify", "page", "screen", "group", "alias"]


# ---- events ---------------------------------------------------------------------------------------------
class EventCollected(Contract):
    SOURCE = EVENTS
    DETAIL_TYPE = "EventCollected"
    DESCRIPTION = "A validated, enriched message from a collection endpoint (Segment spec fields, camelCase)."

    message_id: str = Field(alias="messageId")
    type: MessageType
    event: str | None = None
    name: str | None = None
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")
    previous_id: str | None = Field(default=None, alias="previousId")
    group_id: str | None = Field(default=None, alias="groupId")
    traits: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: AwareDatetime
    received_at: AwareDatetime = Field(alias="receivedAt")
    source_id: str = Field(alias="sourceId", description="The write key's source (a website, an app).")


# ---- identity -------------------------------------------------------------------------------------------
class ActivityRecorded(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ActivityRecorded"
    DESCRIPTION = "A collected event attributed to the profile it was resolved to."

    profile_id: str = Field(alias="profileId")
    message_id: str = Field(alias="messageId")
    type: MessageType
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: AwareDatetime
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")


class ProfileCreated(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfileCreated"
    profile_id: str = Field(alias="profileId")
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")


class ProfileUpdated(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfileUpdated"
    profile_id: str = Field(alias="profileId")
    changed: dict[str, Any] = Field(default_factory=dict, description="Trait name → new value.")


class ProfilesMerged(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfilesMerged"
    surviving_profile_id: str = Field(alias="survivingProfileId")
    merged_profile_id: str = Field(alias="mergedProfileId")
    reason: str


class ConsentChanged(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ConsentChanged"
    profile_id: str = Field(alias="profileId")
    purpose: Literal["tracking", "email_marketing", "personalisation"]
    granted: bool
    source: str


class ProfileErased(Contract):
    SOURCE = IDENTITY
    DETAIL_TYPE = "ProfileErased"
    profile_id: str = Field(alias="profileId")
    identifiers: list[str] = Field(default_factory=list, description="Every id and email the profile had.")


# ---- segments -------------------------------------------------------------------------------------------
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


# ---- journeys -------------------------------------------------------------------------------------------
class JourneyEntered(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "JourneyEntered"
    profile_id: str = Field(alias="profileId")
    journey_id: str = Field(alias="journeyId")
    execution: str


class JourneyStepCompleted(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "JourneyStepCompleted"
    profile_id: str = Field(alias="profileId")
    journey_id: str = Field(alias="journeyId")
    step: str


class JourneyExited(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "JourneyExited"
    profile_id: str = Field(alias="profileId")
    journey_id: str = Field(alias="journeyId")
    reason: str


class MessageSent(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "MessageSent"
    profile_id: str = Field(alias="profileId")
    journey_id: str | None = Field(default=None, alias="journeyId")
    channel: Literal["email", "sms", "webhook"]
    template: str | None = None
    provider_message_id: str | None = Field(default=None, alias="providerMessageId")
    dedupe_key: str = Field(alias="dedupeKey")


class MessageFailed(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "MessageFailed"
    profile_id: str = Field(alias="profileId")
    journey_id: str | None = Field(default=None, alias="journeyId")
    channel: Literal["email", "sms", "webhook"]
    reason: str
    dedupe_key: str = Field(alias="dedupeKey")


# ---- content --------------------------------------------------------------------------------------------
class VariantServed(Contract):
    SOURCE = CONTENT
    DETAIL_TYPE = "VariantServed"
    profile_id: str | None = Field(default=None, alias="profileId")
    slot_id: str = Field(alias="slotId")
    variant_id: str = Field(alias="variantId")


class ExperimentConcluded(Contract):
    SOURCE = CONTENT
    DETAIL_TYPE = "ExperimentConcluded"
    experiment_id: str = Field(alias="experimentId")
    winner_variant_id: str | None = Field(default=None, alias="winnerVariantId")


ALL: tuple[type[Contract], ...] = (
    EventCollected,
    ActivityRecorded,
    ProfileCreated,
    ProfileUpdated,
    ProfilesMerged,
    ConsentChanged,
    ProfileErased,
    SegmentEntered,
    SegmentExited,
    ScoreChanged,
    ScoreThresholdCrossed,
    JourneyEntered,
    JourneyStepCompleted,
    JourneyExited,
    MessageSent,
    MessageFailed,
    VariantServed,
    ExperimentConcluded,
)
BY_DETAIL_TYPE: dict[str, type[Contract]] = {c.DETAIL_TYPE: c for c in ALL}
