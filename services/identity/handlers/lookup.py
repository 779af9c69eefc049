"""Internal API of identity (invoked with IAM by other services): resolve a visitor, read contact details."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from services.identity import app
from services.identity.domain.consent import unsubscribe_token
from services.identity.use_cases.reads import contact, find_profile_id
from services.identity.use_cases.writes import ProfileNotFound


class LookupRequest(BaseModel):
    op: Literal["resolve", "contact"]
    profile_id: str | None = Field(default=None, alias="profileId")
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`resolve` → {profileId}. `contact` → {profileId, email, firstName, traits, suppressed, consent
    (purpose → true/false/null), unsubscribeToken} for `/v1/privacy/unsubscribe?token=…` (List-Unsubscribe)."""
    request = LookupRequest.model_validate(event)
    store = app.profiles()
    try:
        if request.op == "resolve":
            kind, value = ("user", request.user_id) if request.user_id else ("anon", request.anonymous_id)
            return {"profileId": find_profile_id(kind, value, store, follow=False) if value else None}
        found = contact(request.profile_id or "", store)
    except ProfileNotFound:
        return {"profileId": None}
    return {**found, "unsubscribeToken": unsubscribe_token(found["profileId"], app.signing_key())}
