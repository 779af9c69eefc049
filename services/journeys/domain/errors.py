"""What the journeys core refuses, as domain errors (handlers/problems.py turns them into problem+json)."""

from __future__ import annotations


class JourneyNotFound(LookupError):
    def __init__(self, journey_id: str, detail: str = "") -> None:
        super().__init__(detail or f"No journey {journey_id}.")
        self.journey_id = journey_id


class LifecycleConflict(RuntimeError):
    """The journey is not in a state that allows this (archived, already published meanwhile, ...)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field
