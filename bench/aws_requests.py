"""Billable AWS requests per collected event on the skeleton path, by service and operation, priced at list prices.

Measured on the local cloud: every boto3 call made by our functions and by the pieces that play AWS-managed
mechanics (API Gateway → Lambda, SQS event-source mapping, Step Functions → Lambda), plus EventBridge's own
deliveries to SQS and Step Functions state transitions, which moto performs without a boto3 call.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.client

from bench.table import render

# us-east-1 list prices (USD), on-demand, first tier.
PRICE_PER_MILLION = {
    "apigateway": 1.00,  # HTTP API request
    "lambda": 0.20,  # request (duration not included: see the note)
    "events": 1.00,  # custom event published (64 KB chunk)
    "sqs": 0.40,  # standard queue request (64 KB chunk)
    "dynamodb.read": 0.125,  # on-demand read request unit
    "dynamodb.write": 0.625,  # on-demand write request unit
    "states": 25.00,  # Standard workflow state transition
    "ses": 100.00,  # email sent ($0.10 per 1,000)
    "s3.put": 5.00,  # S3 Standard PUT/COPY/POST/LIST ($0.005 per 1,000): the raw event archive
}
DDB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class CallLog:
    """Counts API calls made through botocore in this process, from any thread, while enabled."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.units: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.enabled = False

    def record(self, service: str, operation: str, params: dict[str, Any], result: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if service == "sqs" and operation == "ReceiveMessage" and not result.get("Messages"):
            return  # empty polls are the event-source mapping's fixed cost, not a per-event one
        if service == "sqs" and operation == "GetQueueAttributes":
            return
        if service == "stepfunctions" and operation.startswith(("List", "Describe", "GetExecutionHistory")):
            return  # the harness watching executions; no function of ours makes these calls
        with self._lock:
            self.calls[(service, operation)] += 1
            if service == "dynamodb":
                self.units[_ddb_kind(operation)] += _ddb_units(operation, params)
            elif service == "events" and operation == "PutEvents":
                self.units["events"] += len(params.get("Entries", []))


def _ddb_kind(operation: str) -> str:
    return "dynamodb.read" if operation in DDB_READS else "dynamodb.write"


def _ddb_units(operation: str, params: dict[str, Any]) -> int:
    """Request units, counting each item (≤ 1 KB here) once; transactions cost double."""
    if operation == "BatchGetItem":
        return sum(len(t["Keys"]) for t in params["RequestItems"].values())
    if operation == "BatchWriteItem":
        return sum(len(items) for items in params["RequestItems"].values())
    if operation == "TransactWriteItems":
        return 2 * len(params["TransactItems"])
    return 1


@contextmanager
def counting(log: CallLog) -> Iterator[CallLog]:
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        result = original(self, operation_name, api_params)
        log.record(self.meta.service_model.service_name, operation_name, api_params, result)
        return result

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield log
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def _post(url: str, path: str, key: str, body: dict[str, Any], bearer: bool = False) -> Any:
    auth = f"Bearer {key}" if bearer else "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    method = "PUT" if path.startswith("/v1/content/slots") else "POST"
    request = urllib.request.Request(
        url + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": auth},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def measure(
    cloud: Any, log: CallLog, action: Callable[[], int], wait: Callable[[], None]
) -> tuple[dict[str, float], Counter[str]]:
    """Run one scenario and return the billable units it caused, per AWS price dimension."""
    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    deliveries_before = len(cloud.aws.events.deliveries)
    emails_before = len(cloud.sent_emails())
    transitions_before = _transitions(sfn)
    log.calls.clear()
    log.units.clear()
    log.enabled = True
    http_requests = action()
    wait()
    log.enabled = False
    lambda_invokes = sum(n for (service, op), n in log.calls.items() if service == "lambda" and op == "Invoke")
    sqs_requests = sum(n for (service, _), n in log.calls.items() if service == "sqs")
    deliveries = len(cloud.aws.events.deliveries) - deliveries_before
    operations: Counter[str] = Counter({f"{svc}.{op}": n for (svc, op), n in log.calls.items()})
    operations["apigateway.HTTP request"] = http_requests
    operations["sqs.SendMessage (EventBridge target)"] = deliveries
    units = {
        "apigateway": http_requests,
        "lambda": lambda_invokes,
        "events": log.units["events"],
        "sqs": sqs_requests + deliveries,  # + EventBridge's SendMessage to each subscribed queue
        "dynamodb.read": log.units["dynamodb.read"],
        "dynamodb.write": log.units["dynamodb.write"],
        "states": _transitions(sfn) - transitions_before,
        "ses": len(cloud.sent_emails()) - emails_before,
        "s3.put": sum(n for (service, op), n in log.calls.items() if service == "s3" and op == "PutObject"),
    }
    operations["states.StateTransition"] = int(units["states"])
    return units, +operations


def _transitions(sfn: Any) -> int:
    total = 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"])
        for execution in (execution for page in pages for execution in page["executions"]):
            history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            total += sum(1 for e in history if e["type"].endswith("StateEntered"))
    return total


def _drain(cloud: Any) -> None:
    idle = 0
    while idle < 3:
        idle = idle + 1 if cloud.pump.pump_once() == 0 else 0


def run() -> str:
    from infra.local.cloud import LocalCloud

    log = CallLog()
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with LocalCloud(start=start, background_pump=False) as cloud, counting(log):
        write, admin = cloud.create_key("write", "bench"), cloud.create_key("admin", "bench")
        segment = _post(
            cloud.url,
            "/v1/segments",
            admin,
            {
                "name": "Recipe readers",
                "condition": {
                    "behaviour": {
                        "type": "page",
                        "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}],
                    },
                    "op": "atLeast",
                    "value": 2,
                    "withinDays": 14,
                },
            },
            bearer=True,
        )["segmentId"]
        _post(
            cloud.url,
            "/v1/journeys",
            admin,
            {
                "name": "Welcome",
                "trigger": {"segmentEntered": segment},
                "waitSeconds": 172800,
                "email": {"subject": "Hi {{firstName}}", "html": "<p>Hi {{firstName}}</p>"},
            },
            bearer=True,
        )
        _post(
            cloud.url,
            "/v1/content/slots/home-hero",
            admin,
            {
                "name": "Hero",
                "variants": [
                    {"variantId": "r", "segmentId": segment, "content": {}},
                    {"variantId": "d", "content": {}},
                ],
            },
            bearer=True,
        )
        _post(
            cloud.url,
            "/v1/identify",
            write,
            {"anonymousId": "v1", "userId": "u1", "traits": {"email": "v1@example.com", "firstName": "Vi"}},
        )
        _post(cloud.url, "/v1/page", write, {"anonymousId": "v1", "properties": {"path": "/about"}})
        _drain(cloud)

        def page(path: str) -> Callable[[], int]:
            return lambda: (
                _post(cloud.url, "/v1/page", write, {"anonymousId": "v1", "properties": {"path": path}}),
                1,
            )[1]

        def drain() -> None:
            _drain(cloud)

        def email_sent() -> None:
            cloud.wait_for(lambda: cloud.sent_emails())
            cloud.wait_for(lambda: cloud.executions("SUCCEEDED"))
            time.sleep(0.2)

        scenarios = [
            ("page view, known visitor, no change", page("/about/team"), drain),
            ("1st recipe page view (rollup write)", page("/recipes/soup"), drain),
            ("2nd recipe view: enters segment, journey starts", page("/recipes/bread"), drain),
            ("journey: wait 2 days, send the email", lambda: (cloud.clock.advance(days=2), 0)[1], email_sent),
        ]
        results = [(name, measure(cloud, log, action, wait)) for name, action, wait in scenarios]

    dims = list(PRICE_PER_MILLION)
    rows = []
    for name, (units, _) in results:
        cost = sum(units[d] * PRICE_PER_MILLION[d] for d in dims)
        rows.append([name, *[int(units[d]) for d in dims], int(sum(units.values())), f"${cost:,.2f}"])
    header = [
        "scenario",
        "APIGW",
        "Lambda",
        "EB events",
        "SQS",
        "DDB RRU",
        "DDB WRU",
        "SFN trans",
        "SES",
        "S3 PUT",
        "total",
        "$ / 1M",
    ]
    by_operation = sorted({op for _, (_, ops) in results for op in ops})
    operation_rows = [[op, *[ops.get(op, 0) for _, (_, ops) in results]] for op in by_operation]
    return (
        render(
            "Billable AWS requests per collected event (skeleton path), and list price per million events",
            header,
            rows,
            note=(
                "Prices: us-east-1 list, on-demand first tier; Lambda duration not included (measure in AWS). "
                "SQS counts the EventBridge delivery, the mapping's receive and delete; batching 10 messages "
                "per receive in production divides those two by up to 10."
            ),
        )
        + "\n"
        + render(
            "The same, by service and operation (columns: the scenarios above, in order)",
            ["operation", *[f"#{i + 1}" for i in range(len(results))]],
            operation_rows,
        )
    )
