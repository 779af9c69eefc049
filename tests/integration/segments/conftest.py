"""Fixtures for the segments service on the local cloud: its table, the bus, and a tap on what it publishes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from services.common.bus import EventBridgePublisher
from services.common.contracts import envelope
from services.common.contracts.registry import ActivityRecorded
from services.segments.adapters.dynamodb import DynamoSegments
from services.segments.domain.catalog import Catalog, build
from tests.conftest import START, BusTap


@pytest.fixture(scope="module")
def repo(cloud: Any) -> DynamoSegments:
    table = boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.table_name("segments", "segments"))
    return DynamoSegments(table)


@pytest.fixture(scope="module")
def bus(cloud: Any) -> EventBridgePublisher:
    return EventBridgePublisher(boto3.client("events", region_name=cloud.region), cloud.names.bus())


def catalog_of(repo: DynamoSegments) -> Catalog:
    found = repo.definitions()
    return build(found.segments, found.plans, found.questionnaires, found.generation)


class Tap(BusTap):
    """What segments published (a rule and queue of the test's own)."""

    def __init__(self, cloud: Any) -> None:
        super().__init__(cloud, "cxm.segments")

    def of(self, profile_id: str, *types: str) -> list[dict[str, Any]]:
        return [
            e for e in self.drain() if e["data"].get("profileId") == profile_id and (not types or e["type"] in types)
        ]


@pytest.fixture(scope="module")
def tap(cloud: Any) -> Tap:
    return Tap(cloud)


def activity(
    profile_id: str,
    message_id: str,
    *,
    at: dt.datetime = START,
    kind: str = "page",
    path: str | None = None,
    event: str | None = None,
    **fields: Any,
) -> Any:
    """An ActivityRecorded envelope as identity publishes it (the segments service's only input for behaviour)."""
    properties = fields.pop("properties", {})
    if path is not None:
        properties["path"] = path
    return envelope(
        ActivityRecorded(
            profileId=profile_id,
            messageId=message_id,
            type=kind,
            event=event,
            properties=properties,
            timestamp=at,
            **fields,
        ),
        id=f"activity-{profile_id}-{message_id}",
    )
