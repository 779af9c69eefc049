"""The journeys API's one mapping of domain errors to HTTP problems (problem+json answers)."""

from __future__ import annotations

from services.common.problems import FieldError, Problem, bad_request, conflict, not_found
from services.journeys.domain.coupons import PoolBusy, PoolNotFound
from services.journeys.domain.definition import DefinitionError
from services.journeys.domain.errors import JourneyNotFound, LifecycleConflict
from services.journeys.domain.registry import RateLimited, SerialMalformed, SerialTaken, SerialUnknown

JourneyError = DefinitionError | JourneyNotFound | LifecycleConflict
JOURNEY_ERRORS: list[type[Exception]] = [DefinitionError, JourneyNotFound, LifecycleConflict]


def problem(error: JourneyError) -> Problem:
    """The HTTP answer to a domain error of the journeys service."""
    if isinstance(error, DefinitionError):
        return bad_request("The journey is invalid; nothing was saved.", [FieldError(p, m) for p, m in error.errors])
    if isinstance(error, JourneyNotFound):
        return not_found(str(error), "journeyId")
    return conflict(str(error), error.field)


CouponError = PoolNotFound | PoolBusy
COUPON_ERRORS: list[type[Exception]] = [PoolNotFound, PoolBusy]


def coupon_problem(error: CouponError) -> Problem:
    """The HTTP answer to a refusal about coupon pools."""
    if isinstance(error, PoolNotFound):
        return not_found(str(error), "poolId")
    return conflict(str(error), "poolId")


ProgrammeError = SerialMalformed | SerialUnknown | SerialTaken | RateLimited
PROGRAMME_ERRORS: list[type[Exception]] = [SerialMalformed, SerialUnknown, SerialTaken, RateLimited]
PROBLEM_TYPES = "https://cxm.dev/problems/"


def programme_problem(error: ProgrammeError) -> Problem:
    """The HTTP answer to a refused registration: each refusal its own problem `type`; a taken serial never says
    whose it is."""
    if isinstance(error, RateLimited):
        return Problem(
            429,
            "Too Many Requests",
            str(error),
            [FieldError("serial", "too many attempts")],
            {"type": PROBLEM_TYPES + "rate-limited", "retryAfter": error.retry_after},
        )
    if isinstance(error, SerialMalformed):
        return Problem(
            400,
            "Bad Request",
            str(error),
            [FieldError("serial", str(error))],
            {"type": PROBLEM_TYPES + "serial-malformed"},
        )
    if isinstance(error, SerialUnknown):
        return Problem(
            404, "Not Found", str(error), [FieldError("serial", str(error))], {"type": PROBLEM_TYPES + "serial-unknown"}
        )
    return Problem(
        409, "Conflict", str(error), [FieldError("serial", str(error))], {"type": PROBLEM_TYPES + "serial-taken"}
    )
