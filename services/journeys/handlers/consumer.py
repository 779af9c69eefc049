"""Consumer of the journeys service: segment entries start journeys; erasures stop them and delete records."""

from services.common import settings
from services.common.consumer import sqs_handler
from services.journeys import app
from services.journeys.use_cases import erase_profile, start_journeys

handler = sqs_handler(
    "journeys",
    {
        "SegmentEntered": lambda e: start_journeys(
            e, app.journeys(), settings.client("stepfunctions"), app.state_machine_arn(), app.publisher()
        ),
        "ProfileErased": lambda e: erase_profile(e, app.journeys(), settings.client("stepfunctions")),
    },
)
