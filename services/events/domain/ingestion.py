"""The ingestion core: request body → validated, enriched `EventCollected` envelopes serialised for the bus."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic_core import from_json, to_json

from services.common import ids
from services.common.contracts.collection import EVENTS, EventCollected
from services.common.contracts.envelope import Envelope
from services.common.enrichment import devices, geo, local_time, referrers
from services.common.identity_proof import message_trust
from services.common.ids import new_id
from services.common.problems import FieldError, from_pydantic
from services.events.domain.messages import (
    ENDPOINT_MODELS,
    MAX_MESSAGE_BYTES,
    BatchRequest,
    Refusal,
    Request,
    SegmentMessage,
    anonymise_ip,
    event_time,
    valid_ip,
    validate_message,
)


@dataclass(frozen=True)
class Config:
    """What an operator may change about enrichment (read from the environment by the composition root)."""

    anonymise_ip: bool = True
    search_parameters: tuple[str, ...] = referrers.DEFAULT_SEARCH_PARAMETERS
    internal_domains: tuple[str, ...] = ()
    locate: geo.Locate | None = None  # the MaxMind-format database lookup, when one is configured


DEFAULT = Config()


class RequestRefused(ValueError):
    """The request as a whole cannot be collected (not JSON, not an object, invalid); `errors` name the fields."""

    def __init__(self, detail: str, errors: Sequence[FieldError]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class MessageTooLarge(RequestRefused):
    """A single message is larger than Segment's per-message limit."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, [FieldError("body", detail)])


@dataclass(slots=True)
class Prepared:
    """One `EventCollected` envelope, serialised for EventBridge (`detail`): a `services.common.bus.Serialised`."""

    source: ClassVar[str] = EVENTS
    detail_type: ClassVar[str] = EventCollected.DETAIL_TYPE

    id: str
    message_id: str
    occurred_at: dt.datetime
    detail: str
    index: int = 0

    def names(self) -> dict[str, str]:
        """What a publish failure reports of this event."""
        return {"id": self.id, "messageId": self.message_id}

    def envelope(self) -> Envelope[EventCollected]:
        """The typed envelope, as a consumer reads it (for tests and in-memory fakes; not on the hot path)."""
        return Envelope[EventCollected].model_validate_json(self.detail)


@dataclass
class Ingested:
    events: list[Prepared] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def parse(body: str | bytes) -> Any:
    """JSON → Python; standard JSON only (no NaN/Infinity, which EventBridge would refuse)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise RequestRefused("The body is not UTF-8.", [FieldError("body", str(error))]) from error
    if not body.strip():
        raise RequestRefused("The body is empty.", [FieldError("body", "a JSON object is required")])
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError as error:
        raise RequestRefused("The body is not valid JSON.", [FieldError("body", str(error))]) from error


def ingest_batch(body: str | bytes, request: Request, config: Config = DEFAULT) -> Ingested:
    """A `/v1/batch` body: every valid message prepared, every refused one named; `RequestRefused` for the body."""
    parsed = parse(body)
    if not isinstance(parsed, dict):
        raise RequestRefused("The body must be a JSON object.", [FieldError("body", "a JSON object is required")])
    sized = _size(body) > MAX_MESSAGE_BYTES  # a body within 32 KB cannot hold a larger message: skip measuring
    try:
        batch = BatchRequest.model_validate(parsed)
    except ValidationError as error:
        raise RequestRefused("The request is invalid.", from_pydantic(error.errors())) from error
    out = Ingested()
    first_index: dict[str, int] = {}
    for index, raw in enumerate(batch.batch):
        outcome = validate_message(raw, index, batch, sized)
        if isinstance(outcome, Refusal):
            out.refused.append(outcome)
            continue
        if outcome.messageId:
            seen = first_index.setdefault(outcome.messageId, index)
            if seen != index:
                out.refused.append(
                    Refusal(
                        index,
                        outcome.messageId,
                        [FieldError(f"batch[{index}].messageId", f"duplicate of batch[{seen}] in this request")],
                    )
                )
                continue
        out.events.append(prepare(outcome, request, config, index))
    return out


def ingest_one(kind: str, body: str | bytes, request: Request, config: Config = DEFAULT) -> Prepared:
    """A `/v1/<kind>` body (one message, its type implied by the path); raises `RequestRefused` naming the field."""
    size = _size(body)
    if size > MAX_MESSAGE_BYTES:  # the message as sent
        raise MessageTooLarge(f"The message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes.")
    raw = parse(body)
    if not isinstance(raw, dict):
        raise RequestRefused("The body must be a JSON object.", [FieldError("body", "a JSON object is required")])
    try:
        message = ENDPOINT_MODELS[kind].model_validate(raw)
    except ValidationError as error:
        raise RequestRefused("The request is invalid.", from_pydantic(error.errors())) from error
    return prepare(message, request, config)


def _size(body: str | bytes) -> int:
    """UTF-8 bytes of the body, without encoding it again when it is ASCII (the usual case)."""
    if isinstance(body, bytes):
        return len(body)
    return len(body) if body.isascii() else len(body.encode())


# Pure and hot (every collected event passes here), so it avoids work twice: messages are validated once with the
# Segment models, the event is built as a plain dict of already-validated values and serialised by pydantic-core
# (Rust) instead of being validated again as `EventCollected`. A unit test proves the output is what
# `Envelope[EventCollected]` reads back.
def prepare(message: SegmentMessage, request: Request, config: Config = DEFAULT, index: int = 0) -> Prepared:
    data = collected_data(message, request, config)
    return serialise(data, event_id(request.source_id, data["messageId"]), request, index)


def event_id(source_id: str, message_id: str) -> str:
    """`derived_id(source_id, message_id, "EventCollected")` (a UUIDv5), computed without `uuid.UUID`'s overhead;
    a unit test proves both agree. The same message from the same source always gets the same envelope id."""
    name = f"{source_id}\x1f{message_id}\x1f{EventCollected.DETAIL_TYPE}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE + name).digest()[:16])  # UUIDv5 is SHA-1 by definition
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_NAMESPACE = ids._NAMESPACE.bytes


def serialise(data: dict[str, Any], event_id: str, request: Request, index: int = 0) -> Prepared:
    """The envelope JSON; its id is derived from source and messageId so a re-publish is deduped downstream."""
    detail = to_json(
        {
            "id": event_id,
            "occurredAt": request.received_at,
            "correlationId": request.correlation_id or event_id,
            "version": EventCollected.VERSION,
            "data": data,
        },
        inf_nan_mode="null",  # 1e400 parses as infinity; EventBridge accepts only standard JSON
    ).decode()
    return Prepared(event_id, data["messageId"], request.received_at, detail, index)


def collected_data(message: SegmentMessage, request: Request, config: Config = DEFAULT) -> dict[str, Any]:
    """The `EventCollected` fields (camelCase) of a validated message; absent optional fields are left out."""
    context = dict(message.context)
    client_ip = valid_ip(context.get("ip")) or valid_ip(request.ip)
    stored_ip = anonymise_ip(client_ip) if config.anonymise_ip else client_ip
    if stored_ip:
        context["ip"] = stored_ip
    else:
        context.pop("ip", None)
    user_agent = context.get("userAgent")
    if not isinstance(user_agent, str):
        user_agent = request.user_agent
        if user_agent and "userAgent" not in context:
            context["userAgent"] = user_agent
    timestamp = event_time(message, request.received_at)
    traits = message.traits or (context["traits"] if isinstance(context.get("traits"), dict) else {})
    data: dict[str, Any] = {
        "messageId": message.messageId or new_id(),
        "type": message.type,
        "traits": traits,
        "properties": message.properties,
        "context": context,
        "timestamp": timestamp,
        "receivedAt": request.received_at,
        "sourceId": request.source_id,
        "enrichment": enrichment(message, context, user_agent, client_ip, timestamp, request, config),
        "trust": message_trust(request.trusted_caller, request.identity_secret, message.userId, traits, context),
    }
    context.pop("userHash", None)  # verified here; the proof goes no further
    if message.event is not None:
        data["event"] = message.event
    if message.name is not None:
        data["name"] = message.name
    if message.anonymousId is not None:
        data["anonymousId"] = message.anonymousId
    if message.userId is not None:
        data["userId"] = message.userId
    if message.previousId is not None:
        data["previousId"] = message.previousId
    if message.groupId is not None:
        data["groupId"] = message.groupId
    return data


def enrichment(
    message: SegmentMessage,
    context: dict[str, Any],
    user_agent: str | None,
    client_ip: str | None,
    timestamp: dt.datetime,
    request: Request,
    config: Config,
) -> dict[str, Any]:
    """Device, geo, referrer, campaign, site search and local time; each part only when there is something to say."""
    out: dict[str, Any] = {"machine": False}
    device = devices.device(user_agent) if user_agent else None
    if device:
        out["device"] = device
        if device["type"] == "bot":
            out["machine"] = True
            out["machineReason"] = "bot-agent"
    located = geo.locate(client_ip, request.viewer_geo, config.locate)
    if located:
        out["geo"] = located
    page = context.get("page")
    page = page if isinstance(page, dict) else {}
    page_url = page.get("url") or message.properties.get("url")
    referrer_url = page.get("referrer") or message.properties.get("referrer")
    page_host, page_query = referrers.split(page_url)
    if not page_query and isinstance(page.get("search"), str):
        _, page_query = referrers.split(f"http://x/{page['search']}")
    campaign = referrers.campaign(context.get("campaign"), page_query)
    if campaign:
        out["campaign"] = campaign
    if page_url or referrer_url or campaign:
        out["referrer"] = referrers.classify(referrer_url, page_host, page_query, campaign, config.internal_domains)
    terms = referrers.search_terms(page_query, config.search_parameters)
    if terms:
        out["searchTerms"] = terms
    local = local_time.local_time(timestamp, context.get("timezone"))
    if local:
        out["local"] = local
    return out


def collected(message: SegmentMessage, request: Request, config: Config = DEFAULT) -> EventCollected:
    """The enriched event as the typed contract (what consumers see); the hot path serialises the same dict."""
    return EventCollected.model_validate(collected_data(message, request, config))
