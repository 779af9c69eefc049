"""Fixtures for the identity service on the local cloud: one cloud per worker, a browser-like client, the real
store, and a tap on what identity publishes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from services.identity.adapters.dynamodb import DynamoProfiles
from tests.conftest import START, Api, BusTap, Reply, api_for

BROWSER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4"


@pytest.fixture(scope="package")
def cloud() -> Iterator[Any]:
    """One local cloud for the identity tests (per xdist worker): each test uses its own visitors and emails."""
    from infra.local.cloud import LocalCloud

    # its own stage: nothing cached in a warm "container" (settings, keys) leaks from another cloud of this process
    with LocalCloud(start=START, stage=f"id{uuid.uuid4().hex[:6]}") as running:
        yield running


@pytest.fixture(scope="package")
def api(cloud: Any) -> Api:
    return api_for(cloud)


def visit(api: Api, kind: str, message: dict[str, Any], signed_in: bool = False) -> Reply:
    """A message from a browser (a bot's user agent would be marked machine-made and not count as engagement);
    `signed_in`: a login the site's back-end reports with its server key (a verified identity)."""
    key, scheme = (api.server_key, "bearer") if signed_in else (api.write_key, "basic")
    headers = {"user-agent": BROWSER_AGENT}
    reply = api.request("POST", f"/v1/{kind}", message, key=key, scheme=scheme, headers=headers)
    assert reply.status == 200, reply.body
    return reply


@pytest.fixture(scope="package")
def store(cloud: Any) -> DynamoProfiles:
    dynamodb = boto3.resource("dynamodb", region_name=cloud.region)
    return DynamoProfiles(
        dynamodb.Table(cloud.table_name("identity", "profiles")),
        dynamodb.Table(cloud.table_name("identity", "timeline")),
    )


class Tap(BusTap):
    """What identity published (a rule and queue of the test's own)."""

    def __init__(self, cloud: Any) -> None:
        super().__init__(cloud, "cxm.identity")

    def of(self, *types: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["type"] in types and all(e["data"].get(k) == v for k, v in match.items())]


@pytest.fixture(scope="package")
def tap(cloud: Any) -> Tap:
    return Tap(cloud)
