"""HTTP entry of the journeys service: the admin journeys API."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body

from services.common import clock, settings
from services.common.api import http_handler, resolver
from services.common.ids import new_id
from services.common.problems import FieldError, bad_request, not_found
from services.journeys import app as deps
from services.journeys.domain.journeys import JourneyDefinition, template_name
from services.journeys.domain.tracked_email import MAX_TRACKED_LINKS, track_links
from services.journeys.manifest import MANIFEST

app = resolver("CxM journeys API")


@app.post("/v1/journeys", summary="Define a journey: trigger, wait, email", tags=["journeys"])
def create_journey(body: Annotated[JourneyDefinition, Body()]) -> Any:
    # The SES template gets the tracked HTML (links → per-recipient placeholders, an open pixel); the definition
    # keeps the HTML as written, and the tracked links in the order of their placeholders.
    tracked = track_links(body.email.html)
    if len(tracked.links) > MAX_TRACKED_LINKS:
        message = f"at most {MAX_TRACKED_LINKS} distinct links can be tracked; this email has {len(tracked.links)}"
        raise bad_request(message, [FieldError("email.html", message)])
    journey_id = new_id()
    settings.client("sesv2").create_email_template(
        TemplateName=template_name(journey_id),
        TemplateContent={"Subject": body.email.subject, "Html": tracked.html, "Text": body.email.text},
    )
    definition = {**body.model_dump(by_alias=True), "trackedLinks": list(tracked.links)}
    saved = deps.journeys().save_journey(journey_id, definition, clock.now())
    return saved, 201


@app.get("/v1/journeys", summary="List journeys", tags=["journeys"])
def list_journeys() -> dict[str, Any]:
    return {"journeys": deps.journeys().journeys()}


@app.get("/v1/journeys/<journeyId>", summary="A journey definition", tags=["journeys"])
def get_journey(journeyId: str) -> dict[str, Any]:
    found = deps.journeys().journey(journeyId)
    if not found:
        raise not_found(f"No journey {journeyId}.", "journeyId")
    return found


handler = http_handler(app, MANIFEST.name, MANIFEST.function("api"))
