"""The shell of every bus consumer: SQS batch → typed envelopes → the service's use case, with partial batch
failures so one bad message is retried (then dead-lettered) without holding back the others."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from services.common import observability
from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import BY_DETAIL_TYPE

UseCase = Callable[[Envelope[Any]], object]


class UnknownEvent(ValueError):
    pass


def parse_record_body(body: str) -> Envelope[Any]:
    """An EventBridge event (as delivered to SQS) → the typed envelope from its `detail`."""
    event = json.loads(body)
    contract = BY_DETAIL_TYPE.get(event.get("detail-type", ""))
    if contract is None:
        raise UnknownEvent(f"no contract for detail-type {event.get('detail-type')!r}")
    return Envelope[contract].model_validate(event["detail"])  # type: ignore[valid-type]


def sqs_handler(service: str, use_cases: dict[str, UseCase]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Lambda entry for an SQS-subscribed consumer; `use_cases` maps detail-type → function of the envelope."""
    log = observability.logger(service)
    metrics = observability.metrics(service)
    tracer = observability.tracer(service)
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        envelope = parse_record_body(record.body)
        log.append_keys(correlation_id=envelope.correlation_id, event_id=envelope.id)
        use_case = use_cases.get(envelope.detail_type)
        if use_case is None:
            raise UnknownEvent(f"{service} does not consume {envelope.detail_type}")
        use_case(envelope)

    @log.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)  # traces carry timings, never message contents
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return process_partial_response(  # type: ignore[return-value]
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler
