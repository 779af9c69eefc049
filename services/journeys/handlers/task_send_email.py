"""Step Functions task: send a journey email node's message to one profile, once."""

from __future__ import annotations

from typing import Any

from services.common import observability
from services.common.access import source_settings
from services.journeys import app
from services.journeys.use_cases.sending import send_journey_email

log = observability.logger("journeys")
tracer = observability.tracer("journeys")


@log.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    repo = app.journeys()
    run = event["run"]
    definition, _ = app.version(repo, run["journeyId"], int(run["version"]))
    journey = repo.journey(run["journeyId"]) or {}
    return send_journey_email(
        event,
        definition,
        repo,
        app.directory(),
        app.mailer(),
        app.email_from(),
        app.configuration_set(),
        app.publisher(),
        app.link_signing(),
        app.delivery_settings("email"),
        journey.get("status", "archived"),
        app.renderer(),
        source_settings,
    )
