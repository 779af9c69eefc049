"""Bus events published by the journeys service (source cxm.journeys)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.common.contracts.collection import EventCollected
from services.common.contracts.envelope import Contract

JOURNEYS = "cxm.journeys"


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


class ProfileUpdateRequested(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "ProfileUpdateRequested"
    DESCRIPTION = (
        "A journey step asks identity (the owner of traits and consent) to set or clear traits and tags of a profile, "
        "or to record consent decisions."
    )
    profile_id: str = Field(alias="profileId")
    journey_id: str = Field(alias="journeyId")
    set: dict[str, Any] = Field(default_factory=dict, description="Trait name → value to set.")
    remove: list[str] = Field(default_factory=list, description="Traits to clear.")
    add_tags: list[str] = Field(default_factory=list, alias="addTags", description="Added to the `tags` trait.")
    remove_tags: list[str] = Field(default_factory=list, alias="removeTags", description="Taken off the `tags` trait.")
    consent: dict[str, bool] = Field(
        default_factory=dict,
        description="Purpose (tracking, email_marketing, personalisation) → decision, recorded as `journey:<id>`.",
    )


class JourneyEventPublished(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "JourneyEventPublished"
    DESCRIPTION = "A journey's custom event, for any consumer of the bus (a CRM, a data warehouse, another journey)."
    profile_id: str = Field(alias="profileId")
    journey_id: str = Field(alias="journeyId")
    event: str
    properties: dict[str, Any] = Field(default_factory=dict)


class ScorePointsRequested(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "ScorePointsRequested"
    DESCRIPTION = (
        "A journey step gives (or takes) points in a scoring plan; segments (the owner of scores) applies them."
    )
    profile_id: str = Field(alias="profileId")
    journey_id: str = Field(alias="journeyId")
    plan_id: str = Field(alias="planId")
    points: float = Field(description="Points to add; negative takes points away.")


class ActivityReported(EventCollected):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "ActivityReported"
    DESCRIPTION = (
        "A fact a journeys programme observed about a visitor (a device registration's identify and `Device "
        "Registered`, a `Referral Redeemed`): identity records it like a collected event, so journeys, segments "
        "and content see it as an `ActivityRecorded` by its event name."
    )


class DeviceRegistered(Contract):
    SOURCE = JOURNEYS
    DETAIL_TYPE = "DeviceRegistered"
    DESCRIPTION = "A product serial was registered to its owner (the owner's email digest; the profile once known)."
    serial: str
    model: str | None = None
    category: str | None = None
    owner: str = Field(description="A digest of the owner's email: names nobody on the bus.")
    referral_code: str | None = Field(default=None, alias="referralCode")
