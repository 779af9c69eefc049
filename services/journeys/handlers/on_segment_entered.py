"""Consumer: SegmentEntered → start the journeys it triggers."""

from services.common import settings
from services.common.consumer import sqs_handler
from services.journeys import app
from services.journeys.use_cases import start_journeys

handler = sqs_handler(
    "journeys",
    {
        "SegmentEntered": lambda e: start_journeys(
            e, app.journeys(), settings.client("stepfunctions"), app.state_machine_arn(), app.publisher()
        )
    },
)
