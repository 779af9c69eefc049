"""The journeys API's one mapping of domain errors to HTTP problems (problem+json answers)."""

from __future__ import annotations

from services.common.problems import FieldError, Problem, bad_request, conflict, not_found
from services.journeys.domain.definition import DefinitionError
from services.journeys.domain.errors import JourneyNotFound, LifecycleConflict

JourneyError = DefinitionError | JourneyNotFound | LifecycleConflict
JOURNEY_ERRORS: list[type[Exception]] = [DefinitionError, JourneyNotFound, LifecycleConflict]


def problem(error: JourneyError) -> Problem:
    """The HTTP answer to a domain error of the journeys service."""
    if isinstance(error, DefinitionError):
        return bad_request("The journey is invalid; nothing was saved.", [FieldError(p, m) for p, m in error.errors])
    if isinstance(error, JourneyNotFound):
        return not_found(str(error), "journeyId")
    return conflict(str(error), error.field)
