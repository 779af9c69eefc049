"""Powertools logger, tracer and metrics, one set per service; JSON logs with the correlation id; key figures."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = "CxM"
# A function that published no metric this invocation is normal here, not worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# The platform's key figures (namespace CxM, dimension `service`), counted as their bus events are published, so the
# functional core stays free of metrics: detail-type → metric name. The dashboard plots these (docs/operations.md).
EVENTS_COLLECTED = "EventsCollected"
PROFILES_CREATED = "ProfilesCreated"
PROFILES_MERGED = "ProfilesMerged"
SEGMENT_ENTRIES = "SegmentEntries"
SEGMENT_EXITS = "SegmentExits"
DECISIONS = "Decisions"  # content's `GET /v1/decide` answers (counted by its handler: nothing is published)
SENDS = "Sends"  # journeys' messages, with dimensions `channel` (email, sms, webhook) and `outcome` (sent, failed)
KEY_FIGURES = {
    "EventCollected": EVENTS_COLLECTED,
    "ProfileCreated": PROFILES_CREATED,
    "ProfilesMerged": PROFILES_MERGED,
    "SegmentEntered": SEGMENT_ENTRIES,
    "SegmentExited": SEGMENT_EXITS,
}
SEND_OUTCOMES = {"MessageSent": "sent", "MessageFailed": "failed"}
CHANNELS = ("email", "sms", "webhook")


@cache
def logger(service: str) -> Logger:
    return Logger(service=service)


@cache
def tracer(service: str) -> Tracer:
    return Tracer(service=service)


@cache
def metrics(service: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=service)


def count(service: str, name: str, value: int = 1, **dimensions: str) -> None:
    """Emit one key figure now, as its own EMF record (namespace CxM, dimensions `service` + `dimensions`).

    Not through the shared `Metrics` buffer: powertools shares it between every `Metrics` of a process, so in the
    local cloud (all services in one process) a figure would be flushed under another service's name; a record of
    its own needs no flush and no decorator. Off where powertools metrics are off (POWERTOOLS_METRICS_DISABLED)."""
    if value <= 0 or is_metrics_disabled():
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": service, **dimensions},
    ):
        pass


def count_published(service: str, published: Sequence[tuple[str, str | None]]) -> None:
    """Key figures of (detail-type, channel) pairs just published: one record per figure, summed over the batch."""
    figures: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for detail_type, channel in published:
        if detail_type in KEY_FIGURES:
            figures[(KEY_FIGURES[detail_type], ())] += 1
        elif detail_type in SEND_OUTCOMES and channel:
            figures[(SENDS, (("channel", channel), ("outcome", SEND_OUTCOMES[detail_type])))] += 1
    for (name, dimensions), value in figures.items():
        count(service, name, value, **dict(dimensions))


class CountingPublisher:
    """A bus publisher (`services.common.bus`) that counts the key figures among what it published, after the bus
    took them. Composition roots wrap their publisher in it; the use cases only see a `Publisher`."""

    def __init__(self, inner: Any, service: str) -> None:
        self._inner = inner
        self._service = service

    def publish(self, events: Sequence[Any]) -> None:
        self._inner.publish(events)
        count_published(self._service, [(e.detail_type, getattr(e.data, "channel", None)) for e in events])

    def publish_serialised(self, events: Sequence[Any]) -> None:
        self._inner.publish_serialised(events)
        count_published(self._service, [(e.detail_type, _channel(e)) for e in events])


def _channel(serialised: Any) -> str | None:
    if serialised.detail_type not in SEND_OUTCOMES:
        return None
    channel = (json.loads(serialised.detail).get("data") or {}).get("channel")
    return str(channel) if channel else None
