"""Journey definitions and the decisions around a run: validation, execution naming, email data. Pure."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_WAIT_SECONDS = 365 * 86400  # Standard workflows run up to a year


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    segment_entered: str = Field(
        alias="segmentEntered",
        min_length=1,
        max_length=100,
        description="The journey starts when a profile enters this segment.",
    )


class EmailContent(BaseModel):
    """An SES (Handlebars) template: `{{firstName}}` and other profile traits; no code runs in it."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    html: str = Field(min_length=1, max_length=200_000)
    text: str = Field(default="", max_length=200_000)

    @field_validator("subject", "html", "text")
    @classmethod
    def _balanced(cls, value: str) -> str:
        """Every `{{` is closed by `}}` before the next one opens (SES would refuse it only at send time)."""
        expect_open = True
        for token in re.findall(r"\{\{|\}\}", value):
            if (token == "{{") != expect_open:
                raise ValueError("unbalanced {{ }} placeholders")
            expect_open = not expect_open
        if not expect_open:
            raise ValueError("unbalanced {{ }} placeholders")
        return value


class JourneyDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    trigger: Trigger
    wait_seconds: int = Field(alias="waitSeconds", ge=0, le=MAX_WAIT_SECONDS)
    email: EmailContent


def template_name(journey_id: str) -> str:
    return f"journey-{journey_id}"


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def execution_name(journey_id: str, profile_id: str) -> str:
    """One run per profile and journey: the name is the idempotency key Step Functions enforces (≤ 80 chars).

    Our own ids (UUIDs, fixed length) give the readable `<journey>-<profile>`; anything else gets a readable
    prefix and a hash of the exact pair, so two different pairs never share a name.
    """
    if _UUID.match(journey_id) and _UUID.match(profile_id):
        return f"{journey_id}-{profile_id}"
    digest = hashlib.sha256(f"{journey_id}\x1f{profile_id}".encode()).hexdigest()[:24]
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", f"{journey_id}-{profile_id}")[:55]
    return f"{readable}-{digest}"


def template_data(contact: dict[str, Any]) -> dict[str, Any]:
    """Values an email template may use: the profile's traits, with a friendly fallback for the first name."""
    traits = {k: v for k, v in (contact.get("traits") or {}).items() if isinstance(v, str | int | float | bool)}
    traits.setdefault("firstName", contact.get("firstName") or "there")
    if not traits["firstName"]:
        traits["firstName"] = "there"
    return traits


def why_not_send(contact: dict[str, Any]) -> str | None:
    """Why a journey email must not go to this contact, or None. Unknown consent counts as not refused (the
    platform's default is opt-out marketing for known customers; sites that need opt-in record consent first)."""
    if not contact.get("profileId"):
        return "profile not found (erased?)"
    if not contact.get("email"):
        return "no email address"
    if contact.get("suppressed"):
        return "address suppressed (bounce or complaint)"
    consent = contact.get("consent") or {}
    granted = consent.get("emailMarketing", consent.get("email_marketing"))
    if isinstance(granted, dict):
        granted = granted.get("granted")
    if granted is False:
        return "no email marketing consent"
    return None
