"""Whether to pause the platform's email sending, given the account's SES bounce and complaint rates (pure)."""

from __future__ import annotations

from dataclasses import dataclass

# The rates at which SES puts an account under review (https://docs.aws.amazon.com/ses/latest/dg/faqs-enforcement.html);
# it pauses the whole account at 10 % / 0.5 %. We stop our own sending first, so the account keeps its other mail.
BOUNCE_RATE_LIMIT = 0.05
COMPLAINT_RATE_LIMIT = 0.001


@dataclass(frozen=True)
class Rates:
    """The latest `AWS/SES` Reputation.BounceRate and Reputation.ComplaintRate (fractions; None: no data)."""

    bounce: float | None
    complaint: float | None


@dataclass(frozen=True)
class Verdict:
    pause: bool
    reasons: tuple[str, ...]


def sending_verdict(
    rates: Rates, bounce_limit: float = BOUNCE_RATE_LIMIT, complaint_limit: float = COMPLAINT_RATE_LIMIT
) -> Verdict:
    """Pause when either rate is at or above its limit; a missing rate never pauses (no data is not bad data)."""
    reasons = []
    if rates.bounce is not None and rates.bounce >= bounce_limit:
        reasons.append(f"bounce rate {rates.bounce:.2%} >= {bounce_limit:.2%}")
    if rates.complaint is not None and rates.complaint >= complaint_limit:
        reasons.append(f"complaint rate {rates.complaint:.3%} >= {complaint_limit:.3%}")
    return Verdict(pause=bool(reasons), reasons=tuple(reasons))
