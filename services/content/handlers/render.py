"""Internal API of content (IAM-invoked by journeys' email step): a template rendered for one profile."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common import clock
from services.content import app
from services.content.use_cases.definitions import NotFound
from services.content.use_cases.templates import RenderRefused, render_for_profile


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    template_id: str = Field(alias="templateId", min_length=1, max_length=100)
    profile_id: str = Field(alias="profileId", min_length=1, max_length=200)
    message_key: str | None = Field(default=None, alias="messageKey", max_length=500)
    journey_id: str | None = Field(default=None, alias="journeyId", max_length=200)
    variables: dict[str, Any] = Field(default_factory=dict)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """`{subject, html, text, templateVersion, experiment}`; a message that cannot be rendered answers
    `{"error": {"reason"}}` (that one message fails, with its reason); anything else raises and is retried."""
    request = RenderRequest.model_validate(event)
    variables = (
        {**request.variables, "journey": {"id": request.journey_id}} if request.journey_id else request.variables
    )
    try:
        return render_for_profile(
            app.content(),
            app.definitions(),
            request.template_id,
            request.profile_id,
            variables,
            clock.now(),
            count_exposure=True,
        )
    except NotFound:
        return {"error": {"reason": f"no content template {request.template_id!r}"}}
    except RenderRefused as refused:
        return {"error": {"reason": refused.reason}}
