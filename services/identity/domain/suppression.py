"""SES feedback → the suppression list: which addresses a bounce or complaint notification names. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.identity.domain.profiles import looks_like_email, normalise_email

# SES v2 (configuration-set event destination → EventBridge) sends `detail-type` "Email Bounced" or "Email Complaint
# Received" from `aws.ses`, with the SES event record as `detail` (`eventType`, `bounce`/`complaint`, `mail`).
# Only permanent (hard) bounces suppress an address; transient ones say nothing about the address itself.

BOUNCED = "Email Bounced"
COMPLAINED = "Email Complaint Received"


@dataclass(frozen=True)
class Feedback:
    reason: str  # "bounce" | "complaint"
    addresses: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)


def feedback(detail_type: str, detail: Mapping[str, Any]) -> Feedback | None:
    """The addresses to suppress, or None when the notification does not call for it."""
    mail = _object(detail, "mail")
    about = {"sesMessageId": mail.get("messageId")} if mail.get("messageId") else {}
    if detail_type == BOUNCED:
        bounce = _object(detail, "bounce")
        if bounce.get("bounceType") != "Permanent":
            return None
        recipients = bounce.get("bouncedRecipients") or []
        about.update({k: bounce[k] for k in ("bounceSubType", "feedbackId") if bounce.get(k)})
        return _found("bounce", recipients, about)
    if detail_type == COMPLAINED:
        complaint = _object(detail, "complaint")
        recipients = complaint.get("complainedRecipients") or []
        about.update({k: complaint[k] for k in ("complaintFeedbackType", "feedbackId") if complaint.get(k)})
        return _found("complaint", recipients, about)
    return None


def _object(detail: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = detail.get(name)
    return value if isinstance(value, dict) else {}


def _found(reason: str, recipients: Any, about: dict[str, Any]) -> Feedback | None:
    addresses = tuple(
        dict.fromkeys(
            normalise_email(r["emailAddress"])
            for r in recipients
            if isinstance(r, dict) and looks_like_email(r.get("emailAddress"))
        )
    )
    return Feedback(reason, addresses, about) if addresses else None
