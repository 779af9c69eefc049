"""Consumer: EventCollected → the profile it belongs to, its computed traits, traits and timeline (identity)."""

from services.common.consumer import sqs_handler
from services.identity import app
from services.identity.use_cases.recording import record_event

handler = sqs_handler(
    "identity",
    {"EventCollected": lambda e: record_event(e, app.profiles(), app.publisher(), app.identity_settings())},
)
