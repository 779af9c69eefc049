"""Email opens and clicks as collected events (profile, sent message, link, machine-made verdict). Pure."""

from __future__ import annotations

import hashlib
from typing import Any

from services.common.email_links import TrackingToken
from services.common.enrichment import devices, geo
from services.common.ids import new_id
from services.events.domain.ingestion import DEFAULT, Config, Prepared, event_id, serialise
from services.events.domain.messages import Request, anonymise_ip, valid_ip
from services.events.domain.scanners import Verdict

EMAIL_OPENED = "Email Opened"
EMAIL_LINK_CLICKED = "Email Link Clicked"
EMAIL_SOURCE = "email"  # the sourceId of tracked opens and clicks (no write key is involved)
# a 1×1 transparent GIF, the smallest image every mail client renders
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def link_key(url: str) -> str:
    """A short stable name for a link of an email (the click log stores one attribute per link)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def email_activity(token: TrackingToken, request: Request, verdict: Verdict, config: Config = DEFAULT) -> Prepared:
    """The `EventCollected` of one open or click, attributed to the token's profile (`profileId`)."""
    client_ip = valid_ip(request.ip)
    stored_ip = anonymise_ip(client_ip) if config.anonymise_ip else client_ip
    context: dict[str, Any] = {}
    if stored_ip:
        context["ip"] = stored_ip
    if request.user_agent:
        context["userAgent"] = request.user_agent
    enrichment: dict[str, Any] = {"machine": verdict.machine}
    if verdict.reason:
        enrichment["machineReason"] = verdict.reason
    device = devices.device(request.user_agent) if request.user_agent else None
    if device:
        enrichment["device"] = device
    located = geo.locate(client_ip, request.viewer_geo, config.locate)
    if located:
        enrichment["geo"] = located
    properties: dict[str, Any] = {"emailMessageId": token.message_id}
    if token.url is not None:
        properties["url"] = token.url
    message_id = new_id()
    data = {
        "messageId": message_id,
        "type": "track",
        "event": EMAIL_LINK_CLICKED if token.kind == "click" else EMAIL_OPENED,
        "profileId": token.profile_id,
        "traits": {},
        "properties": properties,
        "context": context,
        "timestamp": request.received_at,
        "receivedAt": request.received_at,
        "sourceId": EMAIL_SOURCE,
        "enrichment": enrichment,
    }
    return serialise(data, event_id(EMAIL_SOURCE, message_id), request)
