"""`cxm replay`: put dead-lettered messages back on the queue they failed from, once their cause is fixed.

Works against any SQS endpoint (the local cloud or AWS): source queues are found through their RedrivePolicy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Redrive:
    source_url: str
    dlq_url: str


def redrives(sqs: Any, prefix: str = "") -> list[Redrive]:
    """Every (source queue, its DLQ) pair whose source name starts with `prefix`."""
    urls: list[str] = []
    kwargs: dict[str, Any] = {"QueueNamePrefix": prefix} if prefix else {}
    while True:
        page = sqs.list_queues(**kwargs)
        urls.extend(page.get("QueueUrls", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    arn_to_url = {}
    policies = {}
    for url in urls:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"]).get(
            "Attributes", {}
        )
        arn_to_url[attrs["QueueArn"]] = url
        if "RedrivePolicy" in attrs:
            policies[url] = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
    return [Redrive(url, arn_to_url[dlq]) for url, dlq in policies.items() if dlq in arn_to_url]


def replay(sqs: Any, redrive: Redrive, limit: int | None = None) -> int:
    """Move messages from the DLQ back to the source queue (send first, then delete: a crash duplicates at worst,
    which the consumers' idempotency absorbs). Returns how many moved."""
    moved = 0
    while limit is None or moved < limit:
        batch = sqs.receive_message(
            QueueUrl=redrive.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return moved
        for message in batch:
            attributes = message.get("MessageAttributes") or {}
            send: dict[str, Any] = {"QueueUrl": redrive.source_url, "MessageBody": message["Body"]}
            if attributes:
                send["MessageAttributes"] = attributes
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=redrive.dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def replay_all(sqs: Any, prefix: str = "", only: str | None = None) -> dict[str, int]:
    """Replay every DLQ (or those whose source queue name contains `only`); returns queue name → moved."""
    out: dict[str, int] = {}
    for redrive in redrives(sqs, prefix):
        name = redrive.source_url.rsplit("/", 1)[-1]
        if only and only not in name:
            continue
        out[name] = replay(sqs, redrive)
    return out
