"""Internal API of identity (invoked with IAM by other services): resolve a visitor, read contact details."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from services.identity import app
from services.identity.use_cases import ProfileNotFound, find_profile_id, profile_view


class LookupRequest(BaseModel):
    op: Literal["resolve", "contact"]
    profile_id: str | None = Field(default=None, alias="profileId")
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    user_id: str | None = Field(default=None, alias="userId")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = LookupRequest.model_validate(event)
    repo = app.profiles()
    try:
        if request.op == "resolve":
            kind, value = ("user", request.user_id) if request.user_id else ("anon", request.anonymous_id)
            return {"profileId": find_profile_id(kind, value, repo) if value else None}
        profile = profile_view(request.profile_id or "", repo, activity_limit=0)
    except ProfileNotFound:
        return {"profileId": None}
    traits = profile.get("traits", {})
    return {
        "profileId": profile["profileId"],
        "email": traits.get("email"),
        "firstName": traits.get("firstName"),
        "traits": traits,
    }
