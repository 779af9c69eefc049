"""Bus events published by the identity service (source cxm.identity)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from services.common.contracts.collection import Enrichment, MessageType
from services.common.contracts.envelope import Contract

IDENTITY = "cxm.identity"


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
    enrichment: Enrichment = Field(default_factory=Enrichment)


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
