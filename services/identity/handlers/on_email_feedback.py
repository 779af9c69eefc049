"""Consumer: SES bounce and complaint notifications (EventBridge, source aws.ses) → the suppression list."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from services.common import observability
from services.identity import app
from services.identity.use_cases.privacy import record_email_feedback

# SES events are AWS-shaped (`detail` is the SES event record), not platform envelopes, so this consumer parses the
# EventBridge event itself; partial batch failures work as for every consumer.

log = observability.logger("identity")
metrics = observability.metrics("identity")
tracer = observability.tracer("identity")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    event = json.loads(record.body)
    if event.get("source") != "aws.ses" or not isinstance(event.get("detail"), dict):
        raise ValueError(f"not an SES notification: {event.get('source')!r} {event.get('detail-type')!r}")
    suppressed = record_email_feedback(app.profiles(), event.get("detail-type", ""), event["detail"])
    if suppressed:
        log.info("addresses suppressed", extra={"count": len(suppressed), "reason": event.get("detail-type")})


@log.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
