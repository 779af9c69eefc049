"""Plays the Lambda SQS event-source mapping locally: batches, partial batch failures, retries, then the DLQ."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

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


class QueueWatch(Protocol):
    """What the pump may ask the emulated SQS without a request (``moto_patches.SqsArrivals`` answers)."""

    def ready(self, queue_arn: str) -> bool:
        """Could a receive on this queue return a message now?"""
        ...

    def seconds_until_ready(self, queue_arns: Iterable[str]) -> float | None:
        """When does the earliest delayed or invisible message of these queues become ready (None: none)?"""
        ...


class Pump:
    """Receives from every consumer queue and invokes its function, as the managed event-source mapping does.

    A failed record (listed in `batchItemFailures`, or the whole batch when the function raised) is made
    visible again at once, so it is retried; after `maxReceiveCount` receives SQS moves it to the DLQ.

    One thread plays every mapping, so the consumers take turns. In AWS each mapping polls on its own and scales
    out with its backlog; here the background loop lets a consumer whose batches come back full keep going for
    up to `turn` seconds before the next one gets its turn, so a long backlog is not drained ten messages per
    round of (mostly empty) receives on every other queue. `stats` counts per subscription.

    An idle pump does not poll: it sleeps until `wake()` (the local cloud calls it on every SQS arrival, visibility
    change and clock move), until the earliest delayed or invisible message becomes ready (asked of `watch`), and
    at most `idle_wait` seconds, a fallback for anything nobody announces. With a `watch`, a pass also skips the
    receive on a queue with nothing ready, so a wake-up that brought nothing costs no requests.
    """

    def __init__(
        self,
        consumers: list[Consumer],
        region: str,
        idle_wait: float = 5.0,
        turn: float = 0.5,
        watch: QueueWatch | None = None,
    ) -> None:
        self._consumers = consumers
        self._region = region
        self.idle_wait = idle_wait  # public: tests raise it to prove that wake-ups alone deliver
        self._turn = turn
        self._watch = watch
        self._wakeups = 0
        self._woken = threading.Condition()
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
        self.wake()
        if self._thread:
            self._thread.join(timeout=5)

    def wake(self, *_: object) -> None:
        """Something may be ready to deliver: an idle background loop makes a pass now. Cheap, any thread; takes
        and ignores arguments, so it can subscribe to SQS arrivals and to clock moves (`on_advance(old, new)`)."""
        with self._woken:
            self._wakeups += 1
            self._woken.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Read before the pass, so a wake-up during it (a handler's own publish) is not lost.
            seen = self._wakeups
            if self.pump_once(turn=self._turn):
                continue
            self._sleep(seen, self._pause())

    def _sleep(self, seen: int, pause: float) -> None:
        with self._woken:
            self._woken.wait_for(lambda: self._wakeups != seen or self._stop.is_set(), timeout=pause)

    def _pause(self) -> float:
        if self._watch is None:
            return self.idle_wait
        ready_in = self._watch.seconds_until_ready(c.queue_arn for c in self._consumers)
        return self.idle_wait if ready_in is None else min(self.idle_wait, max(0.001, ready_in))

    def pump_once(self, turn: float = 0.0) -> int:
        """One pass over every queue (skipping, without a request, those the watch says have nothing ready);
        returns how many messages were handed to functions.

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
        if self._watch is not None and not self._watch.ready(consumer.queue_arn):
            return 0
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
