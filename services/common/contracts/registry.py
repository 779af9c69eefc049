"""The registry of every bus event, gathered from the per-service contract modules; consumers parse with it."""

from __future__ import annotations

from services.common.contracts.collection import EVENTS, EventCollected, MessageType
from services.common.contracts.content import CONTENT, ExperimentConcluded, VariantServed
from services.common.contracts.envelope import Contract
from services.common.contracts.identity import (
    IDENTITY,
    ActivityRecorded,
    ConsentChanged,
    EmailConfirmationRequested,
    ProfileCreated,
    ProfileErased,
    ProfilesMerged,
    ProfilesUnmerged,
    ProfileUpdated,
)
from services.common.contracts.journeys import (
    JOURNEYS,
    ActivityReported,
    DeviceRegistered,
    JourneyEntered,
    JourneyEventPublished,
    JourneyExited,
    JourneyStepCompleted,
    MessageFailed,
    MessageSent,
    ProfileUpdateRequested,
    ScorePointsRequested,
)
from services.common.contracts.segments import (
    SEGMENTS,
    ScoreChanged,
    ScoreThresholdCrossed,
    SegmentEntered,
    SegmentExited,
)


def _registered() -> tuple[type[Contract], ...]:
    """Every concrete contract class defined in the per-service modules, in a stable order."""
    found: list[type[Contract]] = []
    pending = list(Contract.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "DETAIL_TYPE" in vars(cls):
            found.append(cls)
    return tuple(sorted(found, key=lambda c: (c.SOURCE, c.DETAIL_TYPE)))


ALL = _registered()
BY_DETAIL_TYPE: dict[str, type[Contract]] = {c.DETAIL_TYPE: c for c in ALL}

__all__ = [
    "ALL",
    "BY_DETAIL_TYPE",
    "CONTENT",
    "EVENTS",
    "IDENTITY",
    "JOURNEYS",
    "SEGMENTS",
    "ActivityRecorded",
    "ActivityReported",
    "ConsentChanged",
    "DeviceRegistered",
    "EmailConfirmationRequested",
    "EventCollected",
    "ExperimentConcluded",
    "JourneyEntered",
    "JourneyEventPublished",
    "JourneyExited",
    "JourneyStepCompleted",
    "MessageFailed",
    "MessageSent",
    "MessageType",
    "ProfileCreated",
    "ProfileErased",
    "ProfileUpdateRequested",
    "ProfileUpdated",
    "ProfilesMerged",
    "ProfilesUnmerged",
    "ScoreChanged",
    "ScorePointsRequested",
    "ScoreThresholdCrossed",
    "SegmentEntered",
    "SegmentExited",
    "VariantServed",
]
