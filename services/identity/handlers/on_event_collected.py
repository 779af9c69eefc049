"""Consumer: EventCollected and journeys' ActivityReported → the profile, its traits, computed traits and timeline."""

from typing import Any

from services.common.access import source_settings
from services.common.consumer import sqs_handler
from services.common.contracts import Envelope
from services.identity import app
from services.identity.use_cases.recording import record_event


def _record(envelope: Envelope[Any]) -> None:
    record_event(envelope, app.profiles(), app.publisher(), app.identity_settings(), source_settings, app.signing_key)


handler = sqs_handler("identity", {"EventCollected": _record, "ActivityReported": _record})
