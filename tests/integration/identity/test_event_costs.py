"""What identity costs per collected event, measured on the local cloud through the whole path (HTTP → events →
bus → identity): a known returning visitor's page view is two reads and one write on identity's tables."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client

from tests.conftest import Api
from tests.integration.identity.conftest import visit


@contextmanager
def identity_requests(cloud: Any) -> Iterator[Counter[str]]:
    """DynamoDB requests (by operation) and request units (`reads`, `writes`: items) on identity's tables, from
    any thread, while the block runs."""
    prefix = cloud.table_name("identity", "")
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            tables = params.get("RequestItems") or {params.get("TableName", ""): None}
            if operation == "TransactWriteItems":
                tables = {next(iter(i.values()))["TableName"]: None for i in params["TransactItems"]}
            mine = [t for t in tables if str(t).startswith(prefix)]
            if mine:
                with lock:
                    seen[operation] += 1
                    if operation == "BatchGetItem":
                        seen["reads"] += sum(len(params["RequestItems"][t]["Keys"]) for t in mine)
                    elif operation in ("GetItem", "Query", "Scan"):
                        seen["reads"] += 1
                    else:
                        seen["writes"] += 1
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def test_a_known_returning_visitors_event_costs_identity_two_reads_and_one_write(cloud: Any, api: Api) -> None:
    # Given a known visitor who came back (identified, and one page already recorded)
    visit(
        api, "identify", {"anonymousId": "cost-device", "userId": "cost-ana", "traits": {"email": "cost@example.com"}}
    )
    visit(api, "page", {"anonymousId": "cost-device", "properties": {"path": "/recipes/a"}})
    cloud.settle()
    # When she views another page, and then tracks an event while logged in
    with identity_requests(cloud) as page_cost:
        visit(api, "page", {"anonymousId": "cost-device", "properties": {"path": "/recipes/b"}})
        cloud.settle()
    with identity_requests(cloud) as track_cost:
        visit(api, "track", {"anonymousId": "cost-device", "userId": "cost-ana", "event": "Video Played"})
        cloud.settle()
    # Then each cost identity one write (the chain entry carrying the computed traits, in one transaction with the
    # event counter of its day: counted once) and two reads (the
    # pointer, the chain's head); with a user id too, the pointer read asks for two keys in one request
    assert page_cost == Counter({"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1, "reads": 2, "writes": 1})
    assert track_cost == Counter({"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1, "reads": 3, "writes": 1})
    profile = api.admin("GET", "/v1/profiles?userId=cost-ana").body
    assert profile["computed"]["pageViews"] == 2
    assert profile["computed"]["events"] == 4
