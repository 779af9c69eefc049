"""The identity APIs' one mapping of domain errors to HTTP problems (problem+json answers)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from services.common.api import problem_response
from services.common.problems import FieldError, Problem, bad_request, conflict, not_found
from services.identity.ports import ExportPartFailed
from services.identity.use_cases.imports import ImportNotFound, ImportStateError
from services.identity.use_cases.merges import MergeConflict, MergeNotFound, NoProfileToMerge, UnmergeConflict
from services.identity.use_cases.privacy import ErasureConflict, InvalidToken
from services.identity.use_cases.reads import IDENTIFIER_KINDS, IdentifierNotFound, InvalidCursor, PersonNotFound
from services.identity.use_cases.writes import ProfileNotFound

QUERY_NAMES = {kind: name for name, kind in IDENTIFIER_KINDS.items() if kind}  # email, user, anon → their API name

# A Conflict outside these (a profile that kept changing under a trait or consent change) is not a refusal: it
# fails the request as any unexpected error does.
REFUSALS = (MergeConflict, UnmergeConflict, ErasureConflict)
Refusal = MergeConflict | UnmergeConflict | ErasureConflict
NotFound = ProfileNotFound | ImportNotFound


def not_found_problem(error: NotFound) -> Problem:
    """What was asked for does not exist."""
    if isinstance(error, ImportNotFound):
        return not_found(f"No import {error}.", "importId")
    if isinstance(error, MergeNotFound):
        return not_found(f"No merge {error.merge_id} into {error.survivor}.", "mergeId")
    if isinstance(error, IdentifierNotFound):
        name = QUERY_NAMES[error.kind]
        return not_found(f"No profile for {name} {error.value}.", name)
    if isinstance(error, PersonNotFound):
        return not_found("No profile for this person.", "profileId")
    if isinstance(error, NoProfileToMerge):
        return not_found(f"No profile {error}.", "mergedProfileId")
    return not_found(f"No profile {error}.", "profileId")


def refused_problem(error: Refusal | ImportStateError) -> Problem:
    """The state does not allow the operation (or concurrent writers kept winning): 409."""
    if isinstance(error, ImportStateError):
        return conflict(str(error), "importId")
    if isinstance(error, MergeConflict):
        return conflict(str(error), "mergedProfileId")
    if isinstance(error, UnmergeConflict):
        return conflict(str(error), "mergeId")
    return conflict(str(error), "profileId")


def part_failed_problem(failed: ExportPartFailed) -> Problem:
    """A service could not give its part of an export: 502 when it failed, 503 when it could not be asked."""
    detail = f"The {failed.service} service could not give its part of the export; no document was made. Try again."
    status, title = (503, "Service Unavailable") if failed.unavailable else (502, "Bad Gateway")
    return Problem(status, title, detail, [FieldError(failed.service, failed.reason)], {"service": failed.service})


def register(app: APIGatewayHttpResolver) -> None:
    """Answer the domain errors a route lets through with their problem, so routes just call use cases."""

    @app.exception_handler([ProfileNotFound, ImportNotFound])
    def _not_found(error: NotFound) -> Response[Any]:
        return problem_response(not_found_problem(error))

    @app.exception_handler([*REFUSALS, ImportStateError])
    def _refused(error: Refusal | ImportStateError) -> Response[Any]:
        return problem_response(refused_problem(error))

    @app.exception_handler(ExportPartFailed)
    def _part_failed(error: ExportPartFailed) -> Response[Any]:
        return problem_response(part_failed_problem(error))

    @app.exception_handler(InvalidToken)
    def _invalid_token(error: InvalidToken) -> Response[Any]:
        return problem_response(bad_request(str(error), [FieldError("token", str(error))]))

    @app.exception_handler(InvalidCursor)
    def _invalid_cursor(error: InvalidCursor) -> Response[Any]:
        return problem_response(bad_request(str(error), [FieldError("cursor", str(error))]))
