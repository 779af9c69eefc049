"""Consumer of the raw event archive: ActivityRecorded is kept sealed, ProfileErased shreds the person's keys."""

from __future__ import annotations

import json
from typing import Any

from services.common import clock, observability
from services.common.consumer import parse_record_body
from services.events import app
from services.events.use_cases import keep, shred

log = observability.logger("events")
metrics = observability.metrics("events")


@log.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Erasures in a batch are applied before its activities are kept (one sealed object per batch). Failures are
    reported per message (partial batch response), so SQS retries them and then dead-letters them."""
    failed: list[str] = []
    activities: list[tuple[str, str, dict[str, Any]]] = []  # (SQS message id, profile id, archived event)
    erasures: list[tuple[str, list[str]]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            envelope = parse_record_body(record["body"])
            raw = json.loads(record["body"])
        except Exception:
            log.exception("unreadable message", extra={"sqs_message_id": message_id})
            failed.append(message_id)
            continue
        if envelope.detail_type == "ProfileErased":
            erasures.append((message_id, [envelope.data.profile_id, *envelope.data.profile_ids]))
        elif envelope.detail_type == "ActivityRecorded":
            archived = {
                "id": envelope.id,
                "source": raw["source"],
                "detailType": raw["detail-type"],
                "detail": raw["detail"],
            }
            activities.append((message_id, envelope.data.profile_id, archived))
        else:
            log.error("the archive does not consume this event", extra={"detail_type": envelope.detail_type})
            failed.append(message_id)
    now = clock.now()
    ring = app.key_ring()
    for message_id, profile_ids in erasures:
        try:
            shred(profile_ids, ring, now)
        except Exception:
            log.exception("could not shred", extra={"sqs_message_id": message_id})
            failed.append(message_id)
    if activities:
        try:
            kept = keep([(profile_id, data) for _, profile_id, data in activities], ring, app.archive_store(), now)
            log.info("archived", extra={"records": kept.records, "skipped_erased": kept.skipped_erased})
        except Exception:
            log.exception("could not archive the batch")
            failed.extend(message_id for message_id, _, _ in activities)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
