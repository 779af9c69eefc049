"""Consumer: ActivityRecorded → rollup update and segment transitions."""

from services.common.consumer import sqs_handler
from services.segments import app
from services.segments.use_cases import record_activity

handler = sqs_handler("segments", {"ActivityRecorded": lambda e: record_activity(e, app.segments(), app.publisher())})
