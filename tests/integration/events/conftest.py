"""Fixtures for the events service on the local cloud: a tap on the bus, the dedupe table, "nothing written"."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.conftest import START, Api, Reply, _decode

PROBLEM = "application/problem+json"


@pytest.fixture(scope="package")
def cloud() -> Iterator[Any]:
    """One local cloud for the events tests (per xdist worker): they assert on what they caused, never on totals."""
    from infra.local.cloud import LocalCloud

    with LocalCloud(start=START, stage=f"t{uuid.uuid4().hex[:6]}") as running:
        yield running


class Tap:
    """An extra rule on the bus delivering every `cxm.events` event to a queue of the test's own: what the events
    service published, independent of any consumer."""

    def __init__(self, cloud: Any) -> None:
        self._sqs = boto3.client("sqs", region_name=cloud.region)
        events = boto3.client("events", region_name=cloud.region)
        self._url = self._sqs.create_queue(QueueName="test-events-tap")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="test-events-tap", EventBusName=cloud.names.bus(), EventPattern=json.dumps({"source": ["cxm.events"]})
        )
        events.put_targets(Rule="test-events-tap", EventBusName=cloud.names.bus(), Targets=[{"Id": "tap", "Arn": arn}])

    def take(self) -> list[dict[str, Any]]:
        """The `detail` (envelope) of every event published since the last call, in order."""
        out: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return out
            for message in messages:
                body = json.loads(message["Body"])
                assert body["detail-type"] == "EventCollected", body
                out.append(body["detail"])
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="package")
def tap(cloud: Any) -> Tap:
    return Tap(cloud)


@pytest.fixture
def published(tap: Tap) -> Iterator[Tap]:
    """The tap, emptied before the test."""
    tap.take()
    yield tap


def profile_count(cloud: Any) -> int:
    table = boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("identity", "profiles"))
    return sum(1 for item in table.scan()["Items"] if item["sk"] == "PROFILE")


def ledger_items(cloud: Any) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("events", "messages"))
    return list(table.scan()["Items"])


def dead_letter_count(cloud: Any) -> int:
    """Messages parked in every consumer's DLQ (what a failing consumer left)."""
    sqs = boto3.client("sqs", region_name=cloud.region)
    return sum(
        int(
            sqs.get_queue_attributes(QueueUrl=c.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        for c in cloud.provisioned.consumers
    )


@dataclass
class Writes:
    profiles: int
    ledger: int
    dead_letters: int


@pytest.fixture
def nothing_written(cloud: Any, tap: Tap) -> Iterator[None]:
    """Asserts after the test that what it sent created no profile, no bus event and no dedupe claim."""
    cloud.settle()
    tap.take()
    before = Writes(profile_count(cloud), len(ledger_items(cloud)), dead_letter_count(cloud))
    yield
    cloud.settle()
    assert tap.take() == []
    assert Writes(profile_count(cloud), len(ledger_items(cloud)), dead_letter_count(cloud)) == before


def assert_problem(reply: Reply, status: int, field: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reply.content_type.startswith(PROBLEM), reply.headers
    assert reply.body["status"] == status
    if field:
        assert field in [e["field"] for e in reply.body.get("errors", [])], reply.body


def post_raw(api: Api, path: str, data: bytes, headers: dict[str, str], key: str | None = None) -> Reply:
    """A POST with exactly these bytes and headers (the `Api` helper always sends application/json)."""
    sent = dict(headers)
    if key:
        sent["authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    request = urllib.request.Request(api.base_url + path, method="POST", data=data, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, _decode(response.read()))
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, _decode(error.read()))


def gzipped(body: Any) -> bytes:
    return gzip.compress(json.dumps(body).encode())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def get_raw(api: Api, path: str, headers: dict[str, str] | None = None) -> Reply:
    """A GET that does not follow redirects; the body is kept as bytes unless it is JSON."""
    request = urllib.request.Request(api.base_url + path, method="GET", headers=headers or {})
    try:
        with _OPENER.open(request, timeout=30) as response:
            raw, status, got = response.read(), response.status, response.headers
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, error.headers
    out = {k.lower(): v for k, v in got.items()}
    body: Any = _decode(raw) if "json" in out.get("content-type", "") else raw
    return Reply(status, out, body)
