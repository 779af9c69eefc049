"""What a decision leaves behind for a known visitor: their exposure to a slot, and whether a serve is worth a write."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RETENTION_DAYS = 395  # 13 months after the last recorded serve, like identity's timeline


@dataclass(frozen=True)
class Exposure:
    """What one profile was shown in one slot: the variant served last (and the segment it targets, none for the
    default), the first and the last recorded serve, and in how many clock hours (UTC) the slot was served."""

    slot_id: str
    variant_id: str
    segment_id: str | None
    first_served_at: dt.datetime
    last_served_at: dt.datetime
    served_hours: int


@dataclass(frozen=True)
class Serve:
    """A serve to record: the variant shown now, and whether it opens a new hour (counted) or only changes the
    variant within an hour already counted."""

    slot_id: str
    variant_id: str
    segment_id: str | None
    at: dt.datetime
    new_hour: bool


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def serve_to_record(
    previous: Exposure | None, slot_id: str, variant_id: str, segment_id: str | None, now: dt.datetime
) -> Serve | None:
    """None when the stored exposure already says it all: the same variant, last served within this clock hour.
    So a visitor reloading a page costs one write per slot and hour, not one per page; the count is of hours."""
    new_hour = previous is None or _hour(now) > _hour(previous.last_served_at)
    if not new_hour and previous is not None and previous.variant_id == variant_id:
        return None
    return Serve(slot_id, variant_id, segment_id, now, new_hour=new_hour)
