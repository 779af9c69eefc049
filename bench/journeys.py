"""Journeys on the local cloud: Step Functions state transitions and billable AWS requests per journey entry, for a
5-node and a 15-node journey, and the list price per 1,000 entries.

Each journey (API trigger) is published, `profiles` known customers are enrolled with one `POST .../enrol`, and the
virtual clock is moved a day at a time until every run has finished. What is counted:

* state transitions, from each execution's history (see `_transitions`);
* AWS requests, with `bench.aws_requests`' botocore counter: every call made by the platform's functions and by the
  pieces that play AWS-managed mechanics (API Gateway → Lambda, Step Functions → Lambda, the SQS event-source
  mappings), plus EventBridge's deliveries to SQS, which moto makes without a boto3 call. The harness's own calls
  (listing executions, reading histories, queue depths) are left out by `CallLog`, and so is everything on the main
  thread (`_RunLog`): that thread moves the clock, and each move fires the platform's scheduled rules (the segments
  sweep every minute, identity's erasure fences every 5 minutes) on it, a fixed cost per minute, not per entry.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from bench.aws_requests import CallLog, counting
from bench.table import render
from infra.catalog import SERVICES

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)  # a Monday morning, as in the tests
DAY = 86400
MAX_DAYS = 30  # the longest path below takes 10 days (the holdout's 7-day window); a bound, not a target
ENROL_BATCH = 1000  # POST /v1/journeys/{id}/enrol takes up to 1,000 profile ids

# us-east-1 list prices (USD), on-demand, first tier, as the issue states them (source: each service's AWS pricing
# page; written in December 2026 without network access, so not re-checked there: check before quoting):
# Step Functions Standard $0.025 per 1,000 state transitions; Lambda $0.20 per 1M requests and $0.0000133334 per
# GB-second on arm64; DynamoDB on-demand $0.625 per million write and $0.125 per million read request units; SES
# $0.10 per 1,000 emails; EventBridge $1.00 per million custom events; SQS $0.40 per million requests; HTTP API
# $1.00 per million requests; Secrets Manager $0.05 per 10,000 API calls (the link-signing secret of send_email).
PRICE_TRANSITION = 0.025 / 1_000
PRICE_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_LAMBDA_GB_SECOND = 0.0000133334  # arm64
PRICE_DDB_WRITE = 0.625 / 1_000_000
PRICE_DDB_READ = 0.125 / 1_000_000
PRICE_SES_EMAIL = 0.10 / 1_000
PRICE_EVENT = 1.00 / 1_000_000
PRICE_SQS_REQUEST = 0.40 / 1_000_000
PRICE_HTTP_API_REQUEST = 1.00 / 1_000_000
PRICE_SECRETS_CALL = 0.05 / 10_000
# Lambda duration is a stated assumption, not measured: in-process handlers on moto spend their time in moto's
# Python emulation of DynamoDB, which says nothing about AWS. 100 ms billed per invocation (warm, arm64: a few
# DynamoDB calls, a PutEvents, an SES send or an internal lookup) is a generous average; `lambda_ms=` changes it.
LAMBDA_MS = 100
# Step Functions API calls (StartExecution, SendTaskSuccess, ...) carry no charge: Standard workflows are billed
# by state transition only. They are counted among "other requests" and priced at $0.

EMAIL = "<p>Hi {{firstName}}</p><p><a href='https://example.com/recipes'>Recipes</a></p>"


def _email(node_id: str, subject: str, next_node: str | None) -> dict[str, Any]:
    return {"id": node_id, "type": "email", "subject": subject, "html": EMAIL, "next": next_node}


def _wait(node_id: str, days: int, next_node: str | None) -> dict[str, Any]:
    return {"id": node_id, "type": "wait", "seconds": days * DAY, "next": next_node}


PRO = {"trait": "plan", "op": "equals", "value": "pro"}

# wait 1d → pro customers get the tips email, the others skip it → wait 2d → the last email
FIVE_NODES = [
    _wait("wait1", 1, "plan"),
    {"id": "plan", "type": "condition", "branches": [{"condition": PRO, "next": "tips"}], "elseNext": "wait2"},
    _email("tips", "Pro tips, {{firstName}}", "wait2"),
    _wait("wait2", 2, "last"),
    _email("last", "How is it going, {{firstName}}?", None),
]
# welcome → 1d → pro: tips → 2d → holdout 10% (a 7-day control window) → reminder;
#                 others: A/B split → offer A → 1d / offer B → 3d → reminder
# reminder → 2d → last email → exit
FIFTEEN_NODES = [
    _email("welcome", "Welcome, {{firstName}}", "wait1"),
    _wait("wait1", 1, "plan"),
    {"id": "plan", "type": "condition", "branches": [{"condition": PRO, "next": "tips"}], "elseNext": "ab"},
    _email("tips", "Pro tips, {{firstName}}", "waitPro"),
    _wait("waitPro", 2, "control"),
    {"id": "control", "type": "holdout", "percent": 10, "next": "reminder"},
    {"id": "ab", "type": "split", "branches": [{"percent": 50, "next": "offerA"}, {"percent": 50, "next": "offerB"}]},
    _email("offerA", "10% off, {{firstName}}", "waitA"),
    _email("offerB", "Free shipping, {{firstName}}", "waitB"),
    _wait("waitA", 1, "reminder"),
    _wait("waitB", 3, "reminder"),
    _email("reminder", "Still thinking, {{firstName}}?", "waitFinal"),
    _wait("waitFinal", 2, "last"),
    _email("last", "Last chance, {{firstName}}", "done"),
    {"id": "done", "type": "exit"},
]
JOURNEYS = [("5-node", FIVE_NODES), ("15-node", FIFTEEN_NODES)]


class _RunLog(CallLog):
    """`CallLog` of the calls made off the main thread; those on it (the scheduled rules that the clock's moves
    fire) go to `left_out`, counted by the same rules."""

    def __init__(self) -> None:
        super().__init__()
        self.left_out = CallLog()
        self.left_out.enabled = True
        self.invoked: Counter[str] = Counter()  # Lambda invocations by function name

    def record(self, service: str, operation: str, params: dict[str, Any], result: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if threading.current_thread() is threading.main_thread():
            self.left_out.record(service, operation, params, result)
            return
        super().record(service, operation, params, result)
        if (service, operation) == ("lambda", "Invoke"):
            with self._lock:
                self.invoked[str(params["FunctionName"]).rsplit(":", 1)[-1]] += 1


@dataclass
class Measured:
    name: str
    nodes: int
    entries: int = 0
    finished: Counter[str] = field(default_factory=Counter)
    transitions: int = 0
    retries: int = 0
    days: int = 0
    emails: int = 0
    http_requests: int = 0
    deliveries: int = 0  # EventBridge → SQS
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    units: Counter[str] = field(default_factory=Counter)
    invokes_by_function: Counter[str] = field(default_factory=Counter)

    @property
    def lambda_invokes(self) -> int:
        return sum(self.invokes_by_function.values())

    @property
    def sqs_requests(self) -> int:
        return sum(n for (service, _), n in self.calls.items() if service == "sqs") + self.deliveries

    @property
    def other_requests(self) -> Counter[str]:
        """Every billable (or free) request that is neither a Lambda invocation nor a DynamoDB request."""
        out: Counter[str] = Counter()
        for (service, operation), n in self.calls.items():
            if service in ("lambda", "dynamodb"):
                continue
            if (service, operation) == ("events", "PutEvents"):
                out["events.PutEvents entries"] += self.units["events"]
            else:
                out[f"{service}.{operation}"] += n
        out["apigateway.HTTP request"] = self.http_requests
        out["sqs.SendMessage (EventBridge target)"] = self.deliveries
        return +out

    def dollars(self, memory_mb: dict[str, int], lambda_ms: float) -> dict[str, float]:
        """What the run cost at list prices, by price dimension."""
        unpriced = {s for s, _ in self.calls} - {"lambda", "dynamodb", "events", "sqs", "sesv2", "stepfunctions"}
        unpriced -= {"secretsmanager"}
        assert not unpriced, f"no price for {unpriced}"  # a new kind of request: give it a price above
        gb_seconds = sum(n * memory_mb[fn] / 1024 * lambda_ms / 1000 for fn, n in self.invokes_by_function.items())
        secrets = sum(n for (service, _), n in self.calls.items() if service == "secretsmanager")
        return {
            "Step Functions transitions": self.transitions * PRICE_TRANSITION,
            "Lambda requests": self.lambda_invokes * PRICE_LAMBDA_REQUEST,
            "Lambda duration (assumed)": gb_seconds * PRICE_LAMBDA_GB_SECOND,
            "DynamoDB reads": self.units["dynamodb.read"] * PRICE_DDB_READ,
            "DynamoDB writes": self.units["dynamodb.write"] * PRICE_DDB_WRITE,
            "SES emails": self.emails * PRICE_SES_EMAIL,
            "EventBridge events": self.units["events"] * PRICE_EVENT,
            "SQS requests": self.sqs_requests * PRICE_SQS_REQUEST,
            "HTTP API requests": self.http_requests * PRICE_HTTP_API_REQUEST,
            "Secrets Manager calls": secrets * PRICE_SECRETS_CALL,
        }


def run(profiles: int = 20, lambda_ms: float = LAMBDA_MS) -> str:
    from infra.local.cloud import LocalCloud

    profiles, lambda_ms = int(profiles), float(lambda_ms)
    log = _RunLog()
    results: list[Measured] = []
    with LocalCloud(start=START, background_pump=True, stage="benchj") as cloud, counting(log):
        admin, write = cloud.create_key("admin", "bench"), cloud.create_key("write", "bench")
        functions = {
            cloud.names.function_name(service.name, function.name): f"{service.name}.{function.name}"
            for service in SERVICES
            for function in service.functions
        }
        memory_mb = {
            f"{service.name}.{function.name}": function.memory_mb
            for service in SERVICES
            for function in service.functions
        }
        customers = _customers(cloud, write, admin, profiles)
        for name, nodes in JOURNEYS:
            results.append(_measure(cloud, log, admin, name, nodes, customers, functions))

    return _report(results, memory_mb, lambda_ms, log.left_out)


def _customers(cloud: Any, write: str, admin: str, count: int) -> list[str]:
    """`count` known customers (userId, email, first name; every other one on the pro plan): their profile ids."""
    users = [f"bench-{i:05d}" for i in range(count)]
    for i, user in enumerate(users):
        traits = {"email": f"{user}@example.com", "firstName": f"Cu{i}", "plan": "pro" if i % 2 == 0 else "free"}
        _call(cloud.url, "POST", "/v1/identify", write, {"userId": user, "traits": traits})
    cloud.settle()
    return [str(_call(cloud.url, "GET", f"/v1/profiles?userId={user}", admin)["profileId"]) for user in users]


def _measure(
    cloud: Any,
    log: _RunLog,
    admin: str,
    name: str,
    nodes: list[dict[str, Any]],
    customers: list[str],
    functions: dict[str, str],
) -> Measured:
    document = {
        "name": f"Bench {name}",
        "entry": {"trigger": {"api": True}, "reentry": "whenNotInside"},
        "start": nodes[0]["id"],
        "nodes": nodes,
    }
    created = _call(cloud.url, "POST", "/v1/journeys?publish=true", admin, document)
    machine = created["versions"][0]["machineArn"]
    cloud.settle()
    out = Measured(name, len(nodes))
    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    delivered_before = list(cloud.aws.events.deliveries)[-1:]
    invoked_before = list(cloud.runtime.invocations)[-1:]
    left_out_before = log.left_out.calls[("lambda", "Invoke")]
    emails_before = len(cloud.sent_emails())
    log.calls.clear()
    log.units.clear()
    log.invoked.clear()
    log.enabled = True
    for chunk in range(0, len(customers), ENROL_BATCH):
        ids = customers[chunk : chunk + ENROL_BATCH]
        entered = _call(cloud.url, "POST", f"/v1/journeys/{created['journeyId']}/enrol", admin, {"profileIds": ids})
        out.entries += int(entered["entered"])
        out.http_requests += 1
    for out.days in range(MAX_DAYS + 1):
        cloud.settle_runs(timeout=60)
        if not _executions(sfn, machine, "RUNNING"):
            break
        cloud.advance("1d")
    else:
        raise TimeoutError(f"{name}: runs still going after {MAX_DAYS} days")
    cloud.settle()
    log.enabled = False
    out.calls = Counter(log.calls)
    out.units = Counter(log.units)
    out.deliveries = _since(list(cloud.aws.events.deliveries), delivered_before)
    out.emails = len(cloud.sent_emails()) - emails_before
    out.invokes_by_function = Counter({functions[fn]: n for fn, n in log.invoked.items()})
    # every handler run went through a counted boto3 Invoke (none bypassed botocore, as EventBridge → Lambda would)
    handler_runs = _since(list(cloud.runtime.invocations), invoked_before)
    counted = out.lambda_invokes + log.left_out.calls[("lambda", "Invoke")] - left_out_before
    assert handler_runs == counted, f"{handler_runs} handler runs, {counted} Lambda invocations counted"
    for execution in _executions(sfn, machine):
        out.finished[execution["status"]] += 1
        transitions, retries = _transitions(sfn, execution["executionArn"])
        out.transitions += transitions
        out.retries += retries
    return out


def _since(log: list[Any], before: list[Any]) -> int:
    """How many entries of a bounded log (most recent last: EventBridge deliveries, handler runs) came after
    `before`'s one entry (the last one when the measurement began)."""
    if not before:
        return len(log)
    for count, entry in enumerate(reversed(log)):
        if entry is before[0]:
            return count
    raise RuntimeError("the local cloud's logs overflowed during the run: run fewer profiles")


def _executions(sfn: Any, machine: str, status: str | None = None) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"stateMachineArn": machine, **({"statusFilter": status} if status else {})}
    return [e for page in sfn.get_paginator("list_executions").paginate(**kwargs) for e in page["executions"]]


def _transitions(sfn: Any, execution_arn: str) -> tuple[int, int]:
    """(billed state transitions, of which retries) of one execution.

    AWS bills a Standard workflow per state transition: every state entered (Task, Choice, Wait, Pass, Succeed,
    Fail), and every retry of a task, which re-runs the state. In the history a state entered is a `*StateEntered`
    event; a retry adds no `*StateEntered`, only another `TaskScheduled` (or `LambdaFunctionScheduled`) inside the
    same state, so the retries are the scheduled attempts beyond the first of each state entered.
    """
    events = [
        e
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for e in page["events"]
    ]
    entered = retries = attempts = 0
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            entered += 1
            attempts = 0
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            attempts += 1
            retries += attempts > 1
    return entered + retries, retries


def _report(results: list[Measured], memory_mb: dict[str, int], lambda_ms: float, left_out: CallLog) -> str:
    rows = []
    costs = [m.dollars(memory_mb, lambda_ms) for m in results]
    for m, cost in zip(results, costs, strict=True):
        n = m.entries
        rows.append(
            [
                m.name,
                m.nodes,
                n,
                round(m.transitions / n, 2),
                round(m.lambda_invokes / n, 2),
                round(m.units["dynamodb.read"] / n, 2),
                round(m.units["dynamodb.write"] / n, 2),
                round(sum(m.other_requests.values()) / n, 2),
                round(m.emails / n, 2),
                f"${sum(cost.values()) / n * 1000:,.4f}",
                f"${(sum(cost.values()) - cost['SES emails']) / n * 1000:,.4f}",
            ]
        )
    header = [
        "journey",
        "nodes",
        "entries",
        "transitions/entry",
        "Lambda invokes/entry",
        "DDB RRU/entry",
        "DDB WRU/entry",
        "other requests/entry",
        "emails/entry",
        "$/1,000 entries",
        "$/1,000 without SES",
    ]
    how = "; ".join(f"{m.name}: {dict(m.finished)} after {m.days} days, {m.retries} retried attempts" for m in results)
    summary = render(
        "Journeys: state transitions and AWS requests per entry, and the list price per 1,000 entries",
        header,
        rows,
        note=(
            f"Runs: {how}. Transitions: every *StateEntered of each execution's history plus retried task attempts. "
            "DynamoDB: request units, 1 per item (≤ 1 KB) read or written, transactions ×2. Other requests: "
            "EventBridge events (PutEvents entries), SQS requests (EventBridge's delivery, the event-source "
            "mapping's receives with messages and deletes), SES sends, Step Functions API calls (free) and the "
            f"enrol HTTP request (one per {ENROL_BATCH:,} entries). Lambda duration: assumed {lambda_ms:g} ms billed "
            "per invocation at the function's memory from the manifest (not measured). Prices: us-east-1 list. "
            "Left out, as a fixed cost per minute and not per entry: the scheduled rules that the clock's moves fired "
            f"({_by_service(left_out.calls)} over both journeys)."
        ),
    )
    ops = sorted({op for m in results for op in _operations(m)})
    breakdown = render(
        "The same per entry, by service and operation (Lambda: by function invoked)",
        ["request", *[m.name for m in results]],
        [[op, *[round(_operations(m).get(op, 0) / m.entries, 2) for m in results]] for op in ops],
    )
    dollars = render(
        "The price per 1,000 entries by dimension (us-east-1 list prices)",
        ["dimension", *[m.name for m in results]],
        [
            [
                dimension,
                *[f"${cost[dimension] / m.entries * 1000:,.4f}" for m, cost in zip(results, costs, strict=True)],
            ]
            for dimension in costs[0]
        ],
    )
    return summary + "\n" + breakdown + "\n" + dollars


def _by_service(calls: Counter[tuple[str, str]]) -> str:
    services: Counter[str] = Counter()
    for (service, _), n in calls.items():
        services[service] += n
    return ", ".join(f"{n:,} {service}" for service, n in services.most_common()) or "none"


def _operations(m: Measured) -> Counter[str]:
    out: Counter[str] = Counter({f"lambda.Invoke ({fn})": n for fn, n in m.invokes_by_function.items()})
    out.update({f"{s}.{o}": n for (s, o), n in m.calls.items() if s == "dynamodb"})
    out.update(m.other_requests)
    out["states.StateTransition"] = m.transitions
    return +out


def _call(url: str, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> Any:
    auth = f"Bearer {key}" if method == "GET" or path.startswith("/v1/journeys") else _basic(key)
    request = urllib.request.Request(
        url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json", "authorization": auth},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()
