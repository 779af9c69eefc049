"""Consumer: identity's EmailConfirmationRequested (double opt-in) → the confirmation email, once a day per address."""

from typing import Any

from services.common.consumer import sqs_handler
from services.common.contracts import Envelope
from services.journeys import app
from services.journeys.use_cases.confirmations import send_confirmation


def _send(envelope: Envelope[Any]) -> None:
    send_confirmation(
        envelope,
        app.journeys(),
        app.directory(),
        app.mailer(),
        app.email_from(),
        app.configuration_set(),
        app.public_api_url(),
    )


handler = sqs_handler("journeys", {"EmailConfirmationRequested": _send})
