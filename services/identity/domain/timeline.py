"""Activity timeline: what is kept of an event, and paging across a profile and the profiles merged into it. Pure."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from services.common.clock import iso
from services.common.contracts.registry import EventCollected
from services.identity.domain.records import Entry

# A merged profile's history stays in its own chain; the survivor's timeline reads every chain of its merge family
# and interleaves them newest first (by the time identity recorded each entry). The cursor remembers, per chain, the
# last entry returned.

KEPT_CONTEXT = ("page", "campaign", "referrer", "locale", "timezone", "unverifiedClaims")


def activity_of(event: EventCollected) -> dict[str, Any]:
    """The part of a collected event the timeline keeps."""
    activity: dict[str, Any] = {
        "messageId": event.message_id,
        "type": event.type,
        "timestamp": iso(event.timestamp),
        "properties": event.properties,
        "context": {k: v for k, v in event.context.items() if k in KEPT_CONTEXT},
        "sourceId": event.source_id,
    }
    for name, value in (
        ("event", event.event),
        ("name", event.name),
        ("anonymousId", event.anonymous_id),
        ("userId", event.user_id),
        ("traits", event.traits),
    ):
        if value:
            activity[name] = value
    if event.enrichment.machine:
        activity["machine"] = True
    return activity


def encode_cursor(positions: Mapping[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(positions), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, int] | None:
    """Per chain, the seq of the last entry already returned (None: start from the newest)."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise ValueError("not a cursor this API returned") from None
    if not isinstance(raw, dict) or not all(isinstance(v, int) for v in raw.values()):
        raise ValueError("not a cursor this API returned")
    return {str(k): int(v) for k, v in raw.items()}


def interleave(pages: Mapping[str, Sequence[Entry]], limit: int) -> tuple[list[tuple[str, Entry]], bool]:
    """The `limit` newest entries across chains (each page newest first), and whether more may follow."""
    merged = sorted(
        ((profile_id, entry) for profile_id, entries in pages.items() for entry in entries),
        key=lambda pe: (pe[1].recorded_at, pe[1].seq, pe[0]),
        reverse=True,
    )
    return merged[:limit], len(merged) > limit


def timeline_row(profile_id: str, entry: Entry) -> dict[str, Any]:
    """One timeline item; `recordedOn` names the profile whose chain holds it (a merged one, for history from
    before a merge)."""
    return {**dict(entry.activity or {}), "recordedOn": profile_id, "recordedAt": entry.recorded_at}
