"""Consumer: segment transitions keep the membership read model of decisions; erasure deletes it and exposures."""

from __future__ import annotations

from typing import Any

from services.common import clock
from services.common.consumer import sqs_handler
from services.common.contracts import Envelope
from services.common.erasure import erased_profile_ids
from services.content import app


def _apply(envelope: Envelope[Any], member: bool) -> None:
    app.content().set_membership(
        envelope.data.profile_id, envelope.data.segment_id, member, envelope.data.sequence, envelope.occurred_at
    )


def _erase(envelope: Envelope[Any]) -> None:
    """The survivor and every profile merged into it: memberships and exposures."""
    for profile_id in erased_profile_ids(envelope.data):
        app.content().mark_erased(profile_id, clock.now())  # first: a late transition must not recreate a record
        app.content().erase_profile(profile_id)


handler = sqs_handler(
    "content",
    {"SegmentEntered": lambda e: _apply(e, True), "SegmentExited": lambda e: _apply(e, False), "ProfileErased": _erase},
)
