"""Key figures as CloudWatch EMF: counted from what a service published, one record per figure and batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from services.common import observability
from services.common.contracts import envelope
from services.common.contracts.registry import MessageFailed, MessageSent, ProfileCreated, ProfilesMerged
from services.common.observability import CountingPublisher


class Bus:
    """An in-memory bus (the publisher the counting one wraps)."""

    def __init__(self, refuse: bool = False) -> None:
        self.published: list[Any] = []
        self.refuse = refuse

    def publish(self, events: Sequence[Any]) -> None:
        if self.refuse:
            raise RuntimeError("the bus refused the entries")
        self.published.extend(events)

    def publish_serialised(self, events: Sequence[Any]) -> None:
        self.publish(events)


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)


def emf(out: str) -> dict[tuple[str, ...], float]:
    """(service, metric, other dimension values...) → value, from the EMF records on stdout."""
    figures: dict[tuple[str, ...], float] = {}
    for line in out.splitlines():
        record = json.loads(line)
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "CxM"
        ((metric,),) = [directive["Metrics"]]
        dimensions = directive["Dimensions"][0]
        assert dimensions[0] == "service"
        key = (record["service"], metric["Name"], *(record[d] for d in dimensions[1:]))
        assert key not in figures, "one record per figure"
        figures[key] = sum(record[metric["Name"]])
    return figures


def sent(channel: str) -> Any:
    return envelope(MessageSent(profileId="p1", journeyId="j1", channel=channel, dedupeKey=f"d-{channel}"))


def failed(channel: str) -> Any:
    return envelope(MessageFailed(profileId="p1", channel=channel, reason="no consent", dedupeKey=f"f-{channel}"))


def test_published_key_figures_are_counted_per_batch(metrics_on: None, capsys: pytest.CaptureFixture[str]) -> None:
    # Given identity's publisher, when it publishes two new profiles, a merge and an unrelated event
    bus = Bus()
    merged = ProfilesMerged(survivingProfileId="p1", mergedProfileId="p2", reason="verified")
    events = [envelope(ProfileCreated(profileId="p1")), envelope(ProfileCreated(profileId="p2")), envelope(merged)]
    CountingPublisher(bus, "identity").publish(events)
    # Then the bus got them all and each figure is one EMF record with the batch's count
    assert bus.published == events
    assert emf(capsys.readouterr().out) == {("identity", "ProfilesCreated"): 2, ("identity", "ProfilesMerged"): 1}


def test_sends_are_counted_by_channel_and_outcome(metrics_on: None, capsys: pytest.CaptureFixture[str]) -> None:
    CountingPublisher(Bus(), "journeys").publish([sent("email"), sent("email"), failed("sms"), sent("webhook")])
    assert emf(capsys.readouterr().out) == {
        ("journeys", "Sends", "email", "sent"): 2,
        ("journeys", "Sends", "sms", "failed"): 1,
        ("journeys", "Sends", "webhook", "sent"): 1,
    }


def test_serialised_events_are_counted_too(metrics_on: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The events service publishes events it serialised itself (its hot path)."""

    class Serialised:
        def __init__(self, detail_type: str, detail: dict[str, Any]) -> None:
            self.detail_type = detail_type
            self.detail = json.dumps(detail)

    events = [Serialised("EventCollected", {"data": {}}) for _ in range(3)]
    CountingPublisher(Bus(), "events").publish_serialised(events)
    CountingPublisher(Bus(), "journeys").publish_serialised([Serialised("MessageFailed", {"data": {"channel": "sms"}})])
    assert emf(capsys.readouterr().out) == {
        ("events", "EventsCollected"): 3,
        ("journeys", "Sends", "sms", "failed"): 1,
    }


def test_nothing_is_counted_when_the_bus_refuses(metrics_on: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError):
        CountingPublisher(Bus(refuse=True), "identity").publish([envelope(ProfileCreated(profileId="p1"))])
    assert capsys.readouterr().out == ""


def test_no_metrics_where_powertools_metrics_are_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The local cloud turns them off (POWERTOOLS_METRICS_DISABLED): nothing is printed, nothing accumulates."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    CountingPublisher(Bus(), "identity").publish([envelope(ProfileCreated(profileId="p1"))])
    observability.count("content", observability.DECISIONS, 3)
    assert capsys.readouterr().out == ""


def test_a_count_is_flushed_at_once_without_warnings(
    metrics_on: None, capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    observability.count("content", observability.DECISIONS, 2)
    observability.count("content", observability.DECISIONS, 0)  # nothing decided: no record
    assert emf(capsys.readouterr().out) == {("content", "Decisions"): 2}
    assert not [w for w in recwarn if "metric" in str(w.message).lower()]


def test_every_service_publishes_through_a_counting_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each composition root wraps its bus publisher, naming its own service."""
    from services.common import settings
    from services.events import app as events_app
    from services.identity import app as identity_app
    from services.journeys import app as journeys_app
    from services.segments import app as segments_app

    monkeypatch.setenv("EVENT_BUS_NAME", "cxm-test")
    monkeypatch.setattr(settings, "client", lambda service: object())  # no boto3 client in a unit test
    for service, app in (
        ("events", events_app),
        ("identity", identity_app),
        ("segments", segments_app),
        ("journeys", journeys_app),
    ):
        publisher = app.publisher()
        assert isinstance(publisher, CountingPublisher)
        assert publisher._service == service


class SpyTracer:
    """Records what `capture_lambda_handler` wrapped, and how."""

    def __init__(self) -> None:
        self.wrapped: list[tuple[str, bool]] = []

    def capture_lambda_handler(self, capture_response: bool = True) -> Any:
        def decorate(handler: Any) -> Any:
            self.wrapped.append((handler.__qualname__, capture_response))
            return handler

        return decorate


def test_api_and_consumer_handlers_are_traced_without_their_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    """X-Ray traces (the stack turns active tracing on) hold timings, never a response with personal data."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from services.common import api, consumer
    from services.common.manifest import Function

    spy = SpyTracer()
    monkeypatch.setattr(observability, "tracer", lambda service: spy)
    api.http_handler(APIGatewayHttpResolver(), "content", Function("api", "h", "d"))
    consumer.sqs_handler("identity", {})
    assert spy.wrapped == [("http_handler.<locals>.handler", False), ("sqs_handler.<locals>.handler", False)]
