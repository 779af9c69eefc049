"""The segments API's one mapping of domain errors to HTTP problems (problem+json answers)."""

from __future__ import annotations

from services.common.conditions.faults import InvalidDefinition
from services.common.problems import FieldError, Problem, bad_request, conflict, not_found
from services.segments.use_cases.definitions import NotFound, VersionConflict

SegmentsError = InvalidDefinition | NotFound | VersionConflict
SEGMENTS_ERRORS: list[type[Exception]] = [InvalidDefinition, NotFound, VersionConflict]


def problem(error: SegmentsError) -> Problem:
    """The HTTP answer to a domain error of the segments service."""
    if isinstance(error, InvalidDefinition):
        return bad_request("The definition is invalid.", [FieldError(f.path, f.message) for f in error.faults])
    if isinstance(error, NotFound):
        return not_found(str(error), f"{error.kind}Id")
    return conflict(str(error), "expectedVersion")
