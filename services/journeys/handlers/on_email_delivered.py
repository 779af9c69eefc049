"""Consumer: SES delivery events (EventBridge, source aws.ses) → the `delivered` counter of the journey email's node."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from services.common import observability
from services.journeys import app
from services.journeys.use_cases.reactions import on_email_delivered

# SES events are AWS-shaped (`detail` is the SES event record), not platform envelopes, so this consumer parses the
# EventBridge event itself; partial batch failures work as for every consumer.

log = observability.logger("journeys")
tracer = observability.tracer("journeys")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    if event.get("source") != "aws.ses" or not isinstance((event.get("detail") or {}).get("mail"), dict):
        raise ValueError(f"not an SES event: {event.get('source')!r} {event.get('detail-type')!r}")
    on_email_delivered(event["detail"]["mail"], app.journeys())


@log.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
