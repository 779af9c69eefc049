"""Erasure tombstones: what a service keeps after erasing a person, so in-flight messages can't bring data back."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from services.common.contracts.identity import ProfileErased
from services.common.dynamo import expires_at

# What a service keeps after erasing a person: a tombstone that names nobody (a one-way digest of the profile id) and
# expires after 30 days. A message about the person still in flight — a late delivery, a retry, a DLQ replay — finds it
# and is dropped instead of bringing their data back. Checked only where a service would create a record for a profile
# it has none for, so steady-state traffic pays nothing.

TOMBSTONE_DAYS = 30  # longer than a message can wait: 4 days in a queue, 14 in a dead-letter queue, plus margin
TOMBSTONE_SK = "ERASED"


def erased_profile_ids(data: ProfileErased) -> list[str]:
    """The erased profile and every profile merged into it, once each."""
    return list(dict.fromkeys([data.profile_id, *data.profile_ids]))


def profile_digest(profile_id: str) -> str:
    """How a store refers to a profile without naming it (tombstones here, the event archive's key ring)."""
    return hashlib.sha256(b"cxm-profile:" + profile_id.encode()).hexdigest()


def tombstone_key(profile_id: str) -> dict[str, str]:
    """The key of a profile's tombstone in a service's (pk, sk) table."""
    return {"pk": f"ERASED#{profile_digest(profile_id)}", "sk": TOMBSTONE_SK}


def tombstone_item(profile_id: str, now: dt.datetime) -> dict[str, Any]:
    return {**tombstone_key(profile_id), "expiresAt": expires_at(now, TOMBSTONE_DAYS)}
