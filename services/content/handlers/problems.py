"""The content API's one mapping of domain errors to HTTP problems (problem+json answers)."""

from __future__ import annotations

from services.common.problems import FieldError, Problem, bad_request, conflict, not_found
from services.content.use_cases.analytics import BadRange
from services.content.use_cases.decisions import UnknownSlot
from services.content.use_cases.definitions import Conflict, InvalidDefinition, NotFound

ContentError = InvalidDefinition | NotFound | Conflict | UnknownSlot | BadRange
CONTENT_ERRORS: list[type[Exception]] = [InvalidDefinition, NotFound, Conflict, UnknownSlot, BadRange]


def problem(error: ContentError) -> Problem:
    if isinstance(error, InvalidDefinition):
        return bad_request("The definition is invalid.", [FieldError(p, m) for p, m in error.faults])
    if isinstance(error, NotFound):
        return not_found(str(error), f"{error.kind}Id")
    if isinstance(error, BadRange):
        return bad_request(f"The range is invalid: {error}.", [FieldError("to", str(error))])
    if isinstance(error, UnknownSlot):
        return not_found(f"No slot {error.slot_id}.", "slots")
    return conflict(str(error), error.field)
