"""Bus events published by the events service (source cxm.events)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from services.common.contracts.envelope import Contract

EVENTS = "cxm.events"
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
