"""The local event-source mapping waits for messages instead of polling: idle it costs (almost) nothing, yet delivers
what arrives at once, and what is delayed when it becomes ready."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.sqs.models import SQSBackend

from infra.local.resources import ACCOUNT
from services.common.contracts import envelope
from services.common.contracts.registry import EventCollected
from tests.conftest import START

# A pump that waits this long for lack of a wake-up would fail every test below: they prove the wake-ups.
NEVER = 3600.0


@pytest.fixture
def receives(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ReceiveMessage the emulated SQS serves during the test (queue names)."""
    served: list[str] = []
    original = SQSBackend.receive_message

    def counting(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        served.append(queue_name)
        return original(self, queue_name, *args, **kwargs)

    monkeypatch.setattr(SQSBackend, "receive_message", counting)
    return served


@pytest.fixture
def patient_pump(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The cloud's background pump with its fallback wait out of reach, so only a wake-up makes it deliver."""
    cloud.settle()
    monkeypatch.setattr(cloud.pump, "idle_wait", NEVER)
    cloud.pump.wake()  # the pass that follows ends in a wait of NEVER seconds
    time.sleep(0.05)
    yield cloud.pump


def pump_cpu_seconds() -> float:
    """CPU time used so far by the background pump's thread (utime + stime of /proc/self/task/<tid>/stat)."""
    thread = next(t for t in threading.enumerate() if t.name == "cxm-pump")
    stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def collected_body(cloud: Any, anonymous_id: str) -> str:
    """An EventCollected as the bus rule delivers it to a consumer queue."""
    event = envelope(
        EventCollected(
            messageId=f"m-{uuid.uuid4().hex[:8]}",
            type="page",
            anonymousId=anonymous_id,
            properties={"path": "/recipes/idle"},
            timestamp=START,
            receivedAt=START,
            sourceId="site",
        )
    )
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event.detail_type,
            "source": event.source,
            "account": ACCOUNT,
            "time": "2026-03-02T09:00:00Z",
            "region": cloud.region,
            "resources": [],
            "detail": json.loads(event.to_detail()),
        }
    )


def eventually(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_an_idle_pump_makes_no_receive_calls_and_uses_no_cpu(cloud: Any, receives: list[str]) -> None:
    # Given a local cloud with nothing to deliver
    cloud.settle()
    receives.clear()
    cpu = pump_cpu_seconds()

    # When it stays idle for a second
    time.sleep(1.0)

    # Then its pump asked SQS for nothing, and spent (almost) no CPU (polling every queue every 20 ms took ~55 %)
    assert receives == []
    assert pump_cpu_seconds() - cpu < 0.05


def test_a_message_sent_to_an_idle_pump_is_delivered_at_once(cloud: Any, patient_pump: Any) -> None:
    # Given an idle pump that would not look again for an hour on its own
    consumer = next(c for c in cloud.provisioned.consumers if c.subscription == "event-collected")
    stats = patient_pump.stats[f"{consumer.service}/{consumer.subscription}"]
    before = stats.delivered

    # When an event arrives on its queue
    boto3.client("sqs", region_name=cloud.region).send_message(
        QueueUrl=consumer.queue_url, MessageBody=collected_body(cloud, "idle-visitor")
    )

    # Then the arrival wakes the pump, which hands it to the function
    eventually(lambda: stats.delivered > before)
    assert stats.failed == 0


def test_a_delayed_message_is_delivered_when_its_delay_ends(cloud: Any, patient_pump: Any) -> None:
    # Given an idle pump that would not look again for an hour on its own
    consumer = next(c for c in cloud.provisioned.consumers if c.subscription == "event-collected")
    stats = patient_pump.stats[f"{consumer.service}/{consumer.subscription}"]
    before = stats.delivered

    # When a message arrives that SQS holds back for a second
    sent = time.monotonic()
    boto3.client("sqs", region_name=cloud.region).send_message(
        QueueUrl=consumer.queue_url, MessageBody=collected_body(cloud, "delayed-visitor"), DelaySeconds=1
    )

    # Then the pump delivers it once the delay is over: not before, and without waiting for its fallback
    eventually(lambda: stats.delivered > before)
    assert time.monotonic() - sent >= 1.0
    assert stats.failed == 0


def test_a_failing_record_is_still_retried_and_dead_lettered(cloud: Any, patient_pump: Any) -> None:
    # Given an idle pump and a message its function cannot parse
    consumer = next(c for c in cloud.provisioned.consumers if c.subscription == "event-collected")
    key = f"{consumer.service}/{consumer.subscription}"
    boto3.client("sqs", region_name=cloud.region).send_message(
        QueueUrl=consumer.queue_url, MessageBody=json.dumps({"detail": {"id": "poison-idle", "data": {}}})
    )

    # Then each failure makes the record visible again, which wakes the pump for the retry, until the DLQ has it
    letters = eventually(lambda: cloud.dead_letters().get(key))
    assert json.loads(letters[0]["Body"])["detail"]["id"] == "poison-idle"
