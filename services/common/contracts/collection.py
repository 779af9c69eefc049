"""Bus events published by the events service (source cxm.events)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.contracts.envelope import Contract

EVENTS = "cxm.events"


class Device(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    type: Literal["desktop", "mobile", "tablet", "bot", "other"] = "other"
    browser: str | None = None
    os: str | None = None


class Geo(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    region: str | None = None
    city: str | None = None


class Referrer(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    type: Literal["search", "social", "email", "paid", "internal", "direct", "other"] = "direct"
    source: str | None = Field(default=None, description="e.g. google, facebook, newsletter")


class Campaign(BaseModel):
    """UTM fields (Segment's context.campaign)."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    source: str | None = None
    medium: str | None = None
    name: str | None = None
    term: str | None = None
    content: str | None = None


class LocalTime(BaseModel):
    """The visitor's local time of the event, from context.timezone."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    hour: int = Field(ge=0, le=23)
    weekday: int = Field(ge=0, le=6, description="Monday = 0")
    part_of_day: Literal["night", "morning", "afternoon", "evening"] = Field(alias="partOfDay")
    timezone: str


class Enrichment(BaseModel):
    """What the events service derived from the request and the message; every part is optional."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)
    device: Device | None = None
    geo: Geo | None = None
    referrer: Referrer | None = None
    campaign: Campaign | None = None
    local: LocalTime | None = None
    search_terms: str | None = Field(default=None, alias="searchTerms")
    machine: bool = Field(default=False, description="Looks machine-made (email scanner, bot): ignored by scoring.")
    machine_reason: str | None = Field(
        default=None,
        alias="machineReason",
        description="Why `machine` is set: bot-agent, after-delivery, scanner-agent or link-burst.",
    )


MessageType = Literal["track", "identify", "page", "screen", "group", "alias"]


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
    enrichment: Enrichment = Field(default_factory=Enrichment)
    trust: Literal["claim", "verified"] = Field(
        default="claim",
        description="Whether the identity the message names is verified (a server or admin key, or a valid "
        "`context.userHash` from the site's back-end) or only claimed (a public write key): identity never lets a "
        "claim join a device to someone else's known profile.",
    )
    profile_id: str | None = Field(
        default=None,
        alias="profileId",
        description="The profile a signed email link was sent to (email opens and clicks, which carry no client "
        "id): identity attributes the event to this profile.",
    )
