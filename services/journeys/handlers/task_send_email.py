"""Step Functions task: send the journey's email for one profile, once."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.common import internal, observability, settings
from services.journeys import app
from services.journeys.use_cases import send_journey_email

log = observability.logger("journeys")


@log.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return send_journey_email(
        event,
        app.journeys(),
        partial(internal.invoke, "identity.lookup"),
        settings.client("sesv2"),
        app.email_from(),
        app.configuration_set(),
        app.publisher(),
        app.link_signing(),
    )
