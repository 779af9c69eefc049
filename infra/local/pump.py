"""Plays the Lambda SQS event-source mapping locally: batches, partial batch failures, retries, then the DLQ."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3

from infra.local.resources import Consumer


@dataclass
class ConsumerStats:
    """What the pump handed one subscription's function: records done and failed, and when it last delivered."""

    delivered: int = 0
    failed: int = 0
    batches: int = 0
    last_delivery: float | None = None  # time.monotonic()


def sqs_event(consumer: Consumer, messages: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """The event Lambda receives from an SQS event-source mapping."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {k: str(v) for k, v in (m.get("Attributes") or {}).items()},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": consumer.queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class Pump:
    """Polls every consumer queue and invokes its function, as the managed event-source mapping does.

    A failed record (listed in `batchItemFailures`, or the whole batch when the function raised) is made
    visible again at once, so it is retried; after `maxReceiveCount` receives SQS moves it to the DLQ.

    One thread plays every mapping, so the consumers take turns. In AWS each mapping polls on its own and scales
    out with its backlog; here the background loop lets a consumer whose batches come back full keep going for
    up to `turn` seconds before the next one gets its turn, so a long backlog is not drained ten messages per
    round of (mostly empty) receives on every other queue. `stats` counts per subscription.
    """

    def __init__(self, consumers: list[Consumer], region: str, idle_sleep: float = 0.02, turn: float = 0.5) -> None:
        self._consumers = consumers
        self._region = region
        self._idle = idle_sleep
        self._turn = turn
        self._sqs = boto3.client("sqs", region_name=region)
        self._lambda = boto3.client("lambda", region_name=region)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0
        self.stats: dict[str, ConsumerStats] = {f"{c.service}/{c.subscription}": ConsumerStats() for c in consumers}

    def start(self) -> Pump:
        self._thread = threading.Thread(target=self._run, name="cxm-pump", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.pump_once(turn=self._turn):
                time.sleep(self._idle)

    def pump_once(self, turn: float = 0.0) -> int:
        """One pass over every queue; returns how many messages were handed to functions.

        Each queue gets one batch, and more while its batches come back full and wholly processed and `turn`
        seconds have not passed (a failed record waits for the next pass, as it did, so the other consumers run
        between its retries).
        """
        handled = 0
        with self._lock:
            for consumer in self._consumers:
                started = time.monotonic()
                while True:
                    failed = self.failed
                    received = self._deliver(consumer)
                    handled += received
                    if (
                        received < consumer.batch_size
                        or self.failed != failed
                        or time.monotonic() - started >= turn
                        or self._stop.is_set()
                    ):
                        break
        return handled

    def _deliver(self, consumer: Consumer) -> int:
        messages = self._sqs.receive_message(
            QueueUrl=consumer.queue_url, MaxNumberOfMessages=consumer.batch_size, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return 0
        response = self._lambda.invoke(
            FunctionName=consumer.function_name,
            Payload=json.dumps(sqs_event(consumer, messages, self._region)).encode(),
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            failed_ids = {m["MessageId"] for m in messages}
        else:
            failed_ids = {f["itemIdentifier"] for f in (payload or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=consumer.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        for message in messages:
            if message["MessageId"] in failed_ids:
                self._sqs.change_message_visibility(
                    QueueUrl=consumer.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        self.delivered += len(done)
        self.failed += len(failed_ids)
        stats = self.stats[f"{consumer.service}/{consumer.subscription}"]
        stats.delivered += len(done)
        stats.failed += len(failed_ids)
        stats.batches += 1
        stats.last_delivery = time.monotonic()
        return len(messages)

    def backlog(self, stop_at: int | None = None) -> int:
        """Messages waiting or in flight on every consumer queue (not the DLQs); with `stop_at`, counting stops
        once the total reaches it (enough to know the cloud is busy)."""
        total = 0
        for consumer in self._consumers:
            attrs = self._sqs.get_queue_attributes(
                QueueUrl=consumer.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            total += int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            if stop_at is not None and total >= stop_at:
                break
        return total
