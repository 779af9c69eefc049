"""Segment HTTP Tracking API messages: validation, timestamp correction and IP anonymisation, as pure functions."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import to_json

from services.common.problems import FieldError, from_pydantic

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's per-message limit (the message as compact JSON, UTF-8)
MAX_BATCH_BYTES = 500 * 1024  # Segment's per-request limit (the decompressed body)
MAX_BATCH_MESSAGES = 2500
MessageKind = Literal["track", "identify", "page", "screen", "group", "alias"]


def _not_a_number(value: Any) -> Any:
    """The spec's times are ISO-8601 strings; pydantic alone would read 7 as 1970-01-01T00:00:07Z."""
    if isinstance(value, int | float):
        raise ValueError("an ISO-8601 date-time string with a time zone is required")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]


class SegmentMessage(BaseModel):
    """One message as the Segment spec defines it; unknown top-level fields are accepted (and not forwarded)."""

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
    timestamp: Timestamp | None = None
    originalTimestamp: Timestamp | None = None
    sentAt: Timestamp | None = None

    # Browser SDKs send "no user yet" as an empty string (RudderStack: `userId: ""`) and "nothing" as null
    # (`properties: null`); both mean absent, and the rules below then apply as to a message without the field.
    @field_validator("anonymousId", "userId", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("properties", "traits", "context", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

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


ENDPOINT_MODELS: dict[str, type[SegmentMessage]] = {
    "track": TrackMessage,
    "identify": IdentifyMessage,
    "page": PageMessage,
    "screen": ScreenMessage,
    "group": GroupMessage,
    "alias": AliasMessage,
}


class BatchRequest(BaseModel):
    """The body of `/v1/batch`: messages are validated one by one so valid ones are kept."""

    model_config = ConfigDict(extra="allow")

    batch: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_MESSAGES,
        description="Segment-spec messages, each with its `type` (track, identify, page, screen, group, alias).",
        json_schema_extra={"items": {"type": "object"}},
    )
    context: dict[str, Any] | None = Field(default=None, description="Merged under each message's own context.")
    sentAt: Timestamp | None = Field(default=None, description="Applies to messages without their own.")
    writeKey: str | None = Field(default=None, description="The write key, if not sent as the HTTP Basic user.")


@dataclass(frozen=True)
class Refusal:
    index: int
    message_id: str | None
    errors: list[FieldError]

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "errors": [e.as_dict() for e in self.errors]}


@dataclass(frozen=True)
class Request:
    """What the shell knows about the HTTP request, for enrichment. `ip` is the full client IP: the core uses it
    for the geo lookup and stores only its anonymised form."""

    received_at: dt.datetime
    source_id: str
    ip: str | None = None
    user_agent: str | None = None
    viewer_geo: dict[str, str] | None = None  # from CloudFront viewer headers
    correlation_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    trusted_caller: bool = False  # a server or admin key: what it says about identity is verified
    identity_secret: bytes | None = None  # the source's, to verify a page's `context.userHash`


def message_size(raw: object) -> int:
    """Bytes of the message as compact UTF-8 JSON, which is how clients send it."""
    return len(to_json(raw))


def validate_message(
    raw: object, index: int, batch: BatchRequest | None = None, sized: bool = True
) -> SegmentMessage | Refusal:
    """One message of a batch, with the batch's context and sentAt applied; a refusal names `batch[i].field`.

    `sized=False` skips the 32 KB check, for a request body that is itself within 32 KB (no message in it can be
    larger)."""
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    message_id = message_id if isinstance(message_id, str) else None
    if not isinstance(raw, dict):
        return Refusal(index, None, [FieldError(f"batch[{index}]", "a message must be a JSON object")])
    size = message_size(raw) if sized else 0
    if size > MAX_MESSAGE_BYTES:
        return Refusal(
            index,
            message_id,
            [FieldError(f"batch[{index}]", f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")],
        )
    merged = raw
    if batch is not None:
        own_context = raw.get("context", {})
        if batch.context is not None and isinstance(own_context, dict):
            merged = {**raw, "context": {**batch.context, **own_context}}  # a non-object context is refused below
        if batch.sentAt and "sentAt" not in merged:
            merged = {**merged, "sentAt": batch.sentAt}
    try:
        return SegmentMessage.model_validate(merged)
    except ValidationError as error:
        return Refusal(index, message_id, from_pydantic(error.errors(), prefix=f"batch[{index}]"))


def validate_batch(request: BatchRequest) -> tuple[list[SegmentMessage], list[Refusal]]:
    """Split a batch into valid messages and refusals naming the field (`batch[3].type`)."""
    accepted: list[SegmentMessage] = []
    refused: list[Refusal] = []
    for index, raw in enumerate(request.batch):
        outcome = validate_message(raw, index, request)
        if isinstance(outcome, Refusal):
            refused.append(outcome)
        else:
            accepted.append(outcome)
    return accepted, refused


def event_time(message: SegmentMessage, received_at: dt.datetime) -> dt.datetime:
    """Segment's clock-skew correction: timestamp = receivedAt − (sentAt − originalTimestamp), in UTC."""
    original = message.originalTimestamp or message.timestamp
    if message.sentAt and original:
        return (received_at - (message.sentAt - original)).astimezone(dt.UTC)
    return (original or received_at).astimezone(dt.UTC)


def valid_ip(ip: object) -> str | None:
    """The address in canonical form, or None for anything that is not one IPv4/IPv6 address."""
    if not isinstance(ip, str) or not ip or len(ip) > 45:
        return None
    if _IPV4.match(ip):
        return ip
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def anonymise_ip(ip: object) -> str | None:
    """Drop the last octet (IPv4) or the last 80 bits (IPv6) before anything is stored; anything else is dropped."""
    if not isinstance(ip, str) or not ip or len(ip) > 45:
        return None
    if _IPV4.match(ip):  # the common case, without ipaddress (a few µs per event matter at this rate)
        return ip[: ip.rindex(".")] + ".0"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}\Z", re.ASCII)
