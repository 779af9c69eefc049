"""The events API's one mapping of domain errors to HTTP problems (problem+json answers)."""

from __future__ import annotations

from services.common.bus import PublishFailed
from services.common.email_links import ExpiredToken, InvalidToken
from services.common.problems import FieldError, Problem, bad_request, not_found, too_large
from services.events.domain.ingestion import MessageTooLarge, RequestRefused
from services.events.domain.messages import Refusal
from services.events.ports import LedgerUnavailable

CollectionError = RequestRefused | PublishFailed | LedgerUnavailable
COLLECTION_ERRORS: list[type[Exception]] = [RequestRefused, PublishFailed, LedgerUnavailable]


def problem(error: CollectionError | InvalidToken | ExpiredToken) -> Problem:
    """The HTTP answer to a domain error of the events service."""
    if isinstance(error, MessageTooLarge):
        return too_large(error.detail)
    if isinstance(error, RequestRefused):
        return bad_request(error.detail, error.errors)
    if isinstance(error, ExpiredToken):
        return not_found(str(error), "token")
    if isinstance(error, InvalidToken):
        return bad_request("This is not a valid link.", [FieldError("token", str(error))])
    # The bus or the dedupe ledger failed: nothing was collected (claims are released); Segment clients retry on 5xx.
    return Problem(
        503, "Service Unavailable", "Events could not be queued; retry the request.", extra={"retryable": True}
    )


def no_valid_message(refused: list[Refusal]) -> Problem:
    """Every message of a batch was refused: the request is a 400 listing each message's errors."""
    errors = [error for refusal in refused for error in refusal.errors]
    return Problem(
        400,
        "Bad Request",
        "No message in the batch is valid.",
        errors,
        extra={"rejected": [r.as_dict() for r in refused]},
    )
