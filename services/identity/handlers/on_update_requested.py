"""Consumer: ProfileUpdateRequested (a journey's updateProfile step) → the profile's traits and tags (identity)."""

from services.common.consumer import sqs_handler
from services.identity import app
from services.identity.use_cases.profiles import apply_requested_update

handler = sqs_handler(
    "identity",
    {"ProfileUpdateRequested": lambda e: apply_requested_update(e, app.profiles(), app.publisher())},
)
