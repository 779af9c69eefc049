"""Segment HTTP Tracking API messages: validation, timestamp correction and enrichment, as pure functions."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from services.common.contracts.events import EventCollected
from services.common.ids import new_id
from services.common.problems import FieldError, from_pydantic

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's per-message limit
MAX_BATCH_BYTES = 500 * 1024  # Segment's per-request limit
MessageKind = Literal["track", "identify", "page", "screen", "group", "alias"]


class SegmentMessage(BaseModel):
    """One message as the Segment spec defines it; unknown top-level fields are kept."""

    model_config = ConfigDict(extra="allow", str_max_length=8192)

    type: MessageKind
    messageId: str | None = Field(default=None, max_length=200)
    anonymousId: str | None = Field(default=None, min_length=1, max_length=200)
    userId: str | None = Field(default=None, min_length=1, max_length=200, validate_default=True)
    event: str | None = Field(default=None, min_length=1, max_length=200, validate_default=True)
    name: str | None = Field(default=None, max_length=200)
    previousId: str | None = Field(default=None, max_length=200, validate_default=True)
    groupId: str | None = Field(default=None, max_length=200, validate_default=True)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: AwareDatetime | None = None
    originalTimestamp: AwareDatetime | None = None
    sentAt: AwareDatetime | None = None

    # Field validators (not one model validator) so each refusal names the field at fault.
    @field_validator("userId")
    @classmethod
    def _someone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and not info.data.get("anonymousId"):
            raise ValueError("either anonymousId or userId is required")
        return value

    @field_validator("event")
    @classmethod
    def _track_names_event(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("type") == "track" and not value:
            raise ValueError("a track message needs `event`")
        return value

    @field_validator("previousId")
    @classmethod
    def _alias_names_both(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("type") == "alias" and not (value and info.data.get("userId")):
            raise ValueError("an alias message needs `previousId` and `userId`")
        return value

    @field_validator("groupId")
    @classmethod
    def _group_names_group(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("type") == "group" and not value:
            raise ValueError("a group message needs `groupId`")
        return value


# One model per endpoint: the same rules, with `type` implied by the path (/v1/track, /v1/page, ...); a body that
# names another type is refused rather than recorded as something the endpoint does not mean.
class TrackMessage(SegmentMessage):
    type: Literal["track"] = "track"  # type: ignore[assignment]


class IdentifyMessage(SegmentMessage):
    type: Literal["identify"] = "identify"  # type: ignore[assignment]


class PageMessage(SegmentMessage):
    type: Literal["page"] = "page"  # type: ignore[assignment]


class ScreenMessage(SegmentMessage):
    type: Literal["screen"] = "screen"  # type: ignore[assignment]


class GroupMessage(SegmentMessage):
    type: Literal["group"] = "group"  # type: ignore[assignment]


class AliasMessage(SegmentMessage):
    type: Literal["alias"] = "alias"  # type: ignore[assignment]


class BatchRequest(BaseModel):
    """The body of `/v1/batch`: messages are validated one by one so valid ones are kept."""

    model_config = ConfigDict(extra="allow")

    batch: list[dict[str, Any]] = Field(min_length=1, max_length=2500)
    context: dict[str, Any] | None = None
    sentAt: AwareDatetime | None = None
    writeKey: str | None = None


@dataclass(frozen=True)
class Refusal:
    index: int
    message_id: str | None
    errors: list[FieldError]

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "errors": [e.as_dict() for e in self.errors]}


@dataclass(frozen=True)
class Request:
    """What the shell knows about the HTTP request, for enrichment."""

    received_at: dt.datetime
    source_id: str
    ip: str | None = None
    user_agent: str | None = None


def validate_batch(request: BatchRequest) -> tuple[list[SegmentMessage], list[Refusal]]:
    """Split a batch into valid messages and refusals naming the field (`batch[3].type`)."""
    accepted: list[SegmentMessage] = []
    refused: list[Refusal] = []
    for index, raw in enumerate(request.batch):
        message_id = raw.get("messageId") if isinstance(raw.get("messageId"), str) else None
        size = len(json.dumps(raw, default=str).encode())
        if size > MAX_MESSAGE_BYTES:
            refused.append(
                Refusal(
                    index,
                    message_id,
                    [FieldError(f"batch[{index}]", f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")],
                )
            )
            continue
        own_context = raw.get("context", {})
        merged = raw
        if request.context is not None and isinstance(own_context, dict):
            merged = {**raw, "context": {**request.context, **own_context}}  # a non-object context is refused below
        if request.sentAt and "sentAt" not in merged:
            merged = {**merged, "sentAt": request.sentAt.isoformat()}
        try:
            accepted.append(SegmentMessage.model_validate(merged))
        except ValidationError as error:
            refused.append(Refusal(index, message_id, from_pydantic(error.errors(), prefix=f"batch[{index}]")))
    return accepted, refused


def event_time(message: SegmentMessage, received_at: dt.datetime) -> dt.datetime:
    """Segment's clock-skew correction: timestamp = receivedAt − (sentAt − originalTimestamp)."""
    if message.sentAt and (message.originalTimestamp or message.timestamp):
        original = message.originalTimestamp or message.timestamp
        assert original is not None
        return received_at - (message.sentAt - original)
    return message.timestamp or message.originalTimestamp or received_at


def anonymise_ip(ip: object) -> str | None:
    """Drop the last octet (IPv4) or the last 80 bits (IPv6) before anything is stored; anything else is dropped."""
    if not isinstance(ip, str) or not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def collected(message: SegmentMessage, request: Request) -> EventCollected:
    """The enriched event the rest of the platform sees."""
    context = dict(message.context)
    ip = anonymise_ip(context.get("ip") or request.ip)
    if ip:
        context["ip"] = ip
    else:
        context.pop("ip", None)
    if request.user_agent and "userAgent" not in context:
        context["userAgent"] = request.user_agent
    return EventCollected(
        messageId=message.messageId or new_id(),
        type=message.type,
        event=message.event,
        name=message.name,
        anonymousId=message.anonymousId,
        userId=message.userId,
        previousId=message.previousId,
        groupId=message.groupId,
        traits=message.traits or (context["traits"] if isinstance(context.get("traits"), dict) else {}),
        properties=message.properties,
        context=context,
        timestamp=event_time(message, request.received_at),
        receivedAt=request.received_at,
        sourceId=request.source_id,
    )
