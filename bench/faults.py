"""Faults: a seeded day of traffic through the whole platform while the local cloud makes 10 % of the functions' AWS
calls fail (throttling, 5xx, timeouts after the write, partial batch failures), then what was retried, dead-lettered
and replayed, and whether everything came out exactly once.

The traffic and its ledger are shared with `tests/flows/test_faults.py` (2,000 events, asserted); the bench runs
10,000 and prints the figures: `make bench ARGS=faults` (`events=2000`, `rate=0.2`, `seed=3`, or the CLI spelling
`faults=0.1,dynamodb.TransactWriteItems=0.8`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.table import render

BROWSER = {
    "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
}
RECIPES = {"type": "page", "where": [{"property": "path", "op": "startsWith", "value": "/recipes"}]}
EVENTS_PER_VISITOR = 10
PATHS = ("/recipes/pancakes", "/recipes/risotto", "/inspiration/spring", "/products/kettle", "/about")
SLOT = "faults-hero"
EXPERIMENT = "faults-headline"


class Client:
    """The front-end and the marketer: HTTP with the retries a real client makes (Segment's SDKs retry 5xx and 429
    with the same messageIds; a script retries a 5xx read)."""

    def __init__(self, base_url: str, write_key: str, admin_key: str, server_key: str = "") -> None:
        self.base_url = base_url
        self.write_key = write_key
        self.admin_key = admin_key
        self.server_key = server_key  # the site's back-end: what it says about who a visitor is, is verified
        self.retried: Counter[str] = Counter()  # requests answered 5xx/429 and sent again, by path

    def call(
        self, method: str, path: str, body: Any = None, *, admin: bool = False, server: bool = False, attempts: int = 8
    ) -> Any:
        key = self.admin_key if admin else self.server_key if server else self.write_key
        auth = f"Bearer {key}" if admin else "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        headers = {"content-type": "application/json", "authorization": auth, **BROWSER}
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(attempts):
            request = urllib.request.Request(self.base_url + path, method=method, data=data, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    raw = response.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as error:
                if (error.code >= 500 or error.code == 429) and attempt < attempts - 1:
                    self.retried[path.split("?")[0].rsplit("/", 1)[0] if "/v1/segments/" in path else path] += 1
                    time.sleep(0.01)
                    continue
                raise AssertionError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None
        raise AssertionError("unreachable")


@dataclass
class Ledger:
    """What the traffic must produce, computed from what was sent."""

    visitors: list[str] = field(default_factory=list)
    sent: dict[str, list[str]] = field(default_factory=dict)  # anonymousId -> messageIds
    recipe_views: Counter[str] = field(default_factory=Counter)
    orders: Counter[str] = field(default_factory=Counter)
    saves: Counter[str] = field(default_factory=Counter)
    variant: dict[str, str] = field(default_factory=dict)  # anonymousId -> variant decide answered

    def score(self, visitor: str) -> float:
        return float(min(self.recipe_views[visitor], 10) * 5 + self.orders[visitor] * 40)

    def fans(self) -> set[str]:
        return {v for v in self.visitors if self.recipe_views[v] >= 2}

    def events(self) -> int:
        return sum(len(ids) for ids in self.sent.values())


def define(client: Client) -> dict[str, str]:
    """Given a scoring plan with tiers, a recipe segment, a journey mailing its entrants, and a headline experiment on
    a slot."""
    plan = client.call(
        "POST",
        "/v1/scoring/plans",
        {
            "name": "Faults engagement",
            "rules": [
                {"name": "recipe-view", "activity": RECIPES, "points": 5, "maxPerDay": 50},
                {"name": "purchase", "activity": {"event": "Order Completed"}, "points": 40},
            ],
            "tiers": [{"name": "cold"}, {"name": "warm", "min": 10}, {"name": "hot", "min": 60}],
        },
        admin=True,
    )
    fans = client.call(
        "POST",
        "/v1/segments",
        {"name": "Faults recipe fans", "condition": {"behaviour": RECIPES, "op": "atLeast", "value": 2}},
        admin=True,
    )
    journey = client.call(
        "POST",
        "/v1/journeys",
        {
            "name": "Faults welcome",
            "trigger": {"segmentEntered": fans["segmentId"]},
            "waitSeconds": 0,
            "email": {"subject": "Recipes for {{firstName}}", "html": "<p>Cook tonight, {{firstName}}</p>"},
        },
        admin=True,
    )
    client.call(
        "PUT",
        f"/v1/content/slots/{SLOT}",
        {"name": "Faults hero", "variants": [{"variantId": "generic", "content": {"title": "Welcome"}}]},
        admin=True,
    )
    experiment = {
        "name": "Faults headline",
        "target": {"slotId": SLOT},
        "variants": [{"id": "control", "content": {"title": "Welcome"}}, {"id": "bold", "content": {"title": "Cook!"}}],
        "goal": {"event": "Recipe Saved"},
    }
    client.call("PUT", f"/v1/experiments/{EXPERIMENT}", experiment, admin=True)
    client.call("POST", f"/v1/experiments/{EXPERIMENT}/start", admin=True)
    return {"plan": plan["planId"], "fans": fans["segmentId"], "journey": journey["journeyId"]}


def introductions(client: Client, events: int, seed: int = 11, batch_size: int = 20) -> Ledger:
    """When events/10 visitors arrive: each asks which hero to show (an experiment exposure), then signs up: the
    site's back-end tells us her email and first name (an identify with its server key, so the address is confirmed
    and may be mailed; sent before her activity, so her welcome mail always has an address)."""
    ledger = Ledger(visitors=[f"fv-{seed}-{i}" for i in range(events // EVENTS_PER_VISITOR)])
    for visitor in ledger.visitors:
        (hero,) = client.call("GET", f"/v1/decide?slots={SLOT}&anonymousId={visitor}")["slots"]
        ledger.variant[visitor] = hero["variantId"]
    identifies = [
        {
            "type": "identify",
            "anonymousId": visitor,
            "messageId": f"{visitor}-m0",
            "traits": {"email": f"{visitor}@faults.example", "firstName": f"F{n}"},
        }
        for n, visitor in enumerate(ledger.visitors)
    ]
    for visitor in ledger.visitors:
        ledger.sent[visitor] = [f"{visitor}-m0"]
    for start in range(0, len(identifies), batch_size):
        client.call("POST", "/v1/batch", {"batch": identifies[start : start + batch_size]}, server=True)
    return ledger


def activity(client: Client, ledger: Ledger, seed: int = 11, batch_size: int = 20) -> None:
    """When each visitor then reads pages, buys and saves recipes: nine messages each, visitors interleaved, in
    /v1/batch calls."""
    rng = random.Random(seed)
    queues: dict[str, list[dict[str, Any]]] = {}
    for visitor in ledger.visitors:
        messages: list[dict[str, Any]] = []
        for _ in range(EVENTS_PER_VISITOR - 1):
            pick = rng.random()
            if pick < 0.75:
                path = rng.choice(PATHS)
                messages.append({"type": "page", "properties": {"path": path}})
                ledger.recipe_views[visitor] += path.startswith("/recipes")
            elif pick < 0.87:
                messages.append({"type": "track", "event": "Order Completed", "properties": {"total": 20}})
                ledger.orders[visitor] += 1
            else:
                messages.append({"type": "track", "event": "Recipe Saved", "properties": {"recipe": "pavlova"}})
                ledger.saves[visitor] += 1
        for i, message in enumerate(messages, start=1):
            message.update(anonymousId=visitor, messageId=f"{visitor}-m{i}")
        ledger.sent[visitor] += [m["messageId"] for m in messages]
        queues[visitor] = messages
    pending = [m for _, m in _interleave(queues, rng)]
    for start in range(0, len(pending), batch_size):
        client.call("POST", "/v1/batch", {"batch": pending[start : start + batch_size]})


def _interleave(queues: dict[str, list[dict[str, Any]]], rng: random.Random) -> list[tuple[float, dict[str, Any]]]:
    """Each visitor's messages in order, visitors mixed: a sort key per message that keeps a visitor's order."""
    keyed: list[tuple[float, dict[str, Any]]] = []
    for messages in queues.values():
        at = 0.0
        for message in messages:
            at += rng.random()
            keyed.append((at, message))
    keyed.sort(key=lambda pair: pair[0])
    return [(float(i), m) for i, (_, m) in enumerate(keyed)]


def dead_letters(cloud: Any) -> dict[str, int]:
    """Messages waiting in each consumer's DLQ (asked without faults: the harness's own calls)."""
    import boto3

    sqs = boto3.client("sqs", region_name=cloud.region)
    out: dict[str, int] = {}
    for consumer in cloud.provisioned.consumers:
        attrs = sqs.get_queue_attributes(QueueUrl=consumer.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
        waiting = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        if waiting:
            out[f"{consumer.service}/{consumer.subscription}"] = waiting
    return out


OUTAGE = "segments-on-activity-recorded"  # the segments service's consumer of recorded activity


def through_an_outage(cloud: Any, function: str = OUTAGE, timeout: float = 1800) -> int:
    """Deliver what is queued while every AWS call of `function` fails (its dependency is down): its records
    exhaust their receives and dead-letter, as they would in AWS, for `cxm replay` to bring back once it is up.
    Returns how many records dead-lettered."""
    with cloud.aws.faults.outage(function):
        cloud.settle(timeout=timeout)
    return sum(dead_letters(cloud).values())


def settle_and_replay(cloud: Any, rounds: int = 8, timeout: float = 1800) -> dict[str, Any]:
    """Then wait until every queue is idle and every journey run has finished; replay what dead-lettered (`cxm
    replay`) and wait again, until nothing is left. Returns the figures: what the pump retried, what dead-lettered,
    what was replayed."""
    dead: Counter[str] = Counter()
    replayed = 0
    left: dict[str, int] = {}
    for _ in range(rounds):
        _settle_everything(cloud, timeout)
        left = dead_letters(cloud)
        if not left:
            break
        dead.update(left)
        replayed += sum(cloud.replay().values())
    return {
        "faults": dict(cloud.aws.faults.by_kind()),
        "awsCallsInScope": cloud.aws.faults.calls,
        "recordsRetried": cloud.pump.failed,
        "deadLettered": dict(dead),
        "replayed": replayed,
        "deadLettersLeft": sum(left.values()),
        "executions": Counter(e["status"] for e in cloud.executions()),
        "failedRuns": failed_runs(cloud),
    }


def failed_runs(cloud: Any) -> list[str]:
    """Why each failed journey run failed (its error and the start of its cause)."""
    import boto3

    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    out = []
    for execution in cloud.executions("FAILED"):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        history = sfn.get_execution_history(executionArn=execution["executionArn"], reverseOrder=True)["events"]
        task = next((e.get("taskFailedEventDetails") for e in history if e.get("taskFailedEventDetails")), None)
        underneath = f" (last task error: {task.get('error')}: {str(task.get('cause'))[:200]})" if task else ""
        out.append(f"{described.get('error')}: {str(described.get('cause'))[:200]}{underneath}")
    return out


def _settle_everything(cloud: Any, timeout: float) -> None:
    """Queues idle and no journey run left running. A run whose task failed waits for its Retry back-off on the
    virtual clock (frozen in tests), so while runs are left the clock moves a minute at a time."""
    deadline = time.monotonic() + timeout
    while True:
        cloud.settle(timeout=max(1.0, deadline - time.monotonic()))
        if not cloud.executions("RUNNING"):
            cloud.settle(timeout=max(1.0, deadline - time.monotonic()))
            if not cloud.executions("RUNNING"):
                return
        if time.monotonic() > deadline:
            raise TimeoutError("journey runs still running")
        cloud.settle_runs(timeout=max(1.0, deadline - time.monotonic()))
        cloud.clock.advance_by(dt.timedelta(minutes=1))


def check(cloud: Any, client: Client, ledger: Ledger, definitions: dict[str, str]) -> list[tuple[str, Any, Any]]:
    """(what, expected, found) for everything that must come out exactly once (asked with faults paused)."""
    fans = ledger.fans()
    timelines_exact = scores_exact = 0
    with cloud.aws.faults.paused():
        for visitor in ledger.visitors:
            profile_id = client.call("GET", f"/v1/profiles?anonymousId={visitor}", admin=True)["profileId"]
            items = client.call("GET", f"/v1/profiles/{profile_id}/timeline?limit=100", admin=True)["items"]
            timelines_exact += sorted(i["messageId"] for i in items) == sorted(ledger.sent[visitor])
            mine = client.call("GET", f"/v1/segments/memberships/{profile_id}", admin=True)
            score = mine["scores"].get(definitions["plan"])  # none until a rule of the plan matched
            scores_exact += (score["score"] if score else 0.0) == ledger.score(visitor)
        size = client.call("GET", f"/v1/segments/{definitions['fans']}", admin=True)["size"]
        analytics = client.call("GET", f"/v1/journeys/{definitions['journey']}/analytics", admin=True)
        results = client.call("GET", f"/v1/experiments/{EXPERIMENT}/results", admin=True)
    email = analytics["versions"][0]["nodes"]["email"]
    subjects = Counter(m.subject for m in cloud.sent_emails())
    users = {v["variantId"]: v["users"] for v in results["variants"]}
    return [
        ("timelines with every event once", len(ledger.visitors), timelines_exact),
        ("exact scores", len(ledger.visitors), scores_exact),
        ("segment size", len(fans), size),
        ("emails sent", len(fans), sum(subjects.values())),
        ("people mailed twice", 0, sum(1 for n in subjects.values() if n > 1)),
        (
            "journey: entered / sent / completed",
            (len(fans),) * 3,
            (email["entered"], email["sent"], email["completed"]),
        ),
        ("experiment users", len(ledger.visitors), sum(users.values())),
    ]


def run(events: str = "10000", rate: str = "0.1", seed: str = "7", faults: str = "", outage: str = OUTAGE) -> str:
    """`faults=` takes the CLI spelling (`0.1,dynamodb.TransactWriteItems=0.8`) instead of `rate=` and `seed=`;
    `outage=` names the function that is down while the introductions are delivered (`outage=` empty: none)."""
    from infra.local.cloud import LocalCloud
    from infra.local.moto_patches import Faults

    count = int(events)
    chosen = Faults.parse(faults) if faults else Faults(rate=float(rate), seed=int(seed))
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    with LocalCloud(start=start, faults=chosen) as cloud:
        client = Client(
            cloud.url,
            cloud.create_key("write", "bench", "bench"),
            cloud.create_key("admin", "bench"),
            cloud.create_key("server", "bench", "bench back-end"),
        )
        with cloud.aws.faults.paused():
            definitions = define(client)
            cloud.settle()
        started = time.monotonic()
        ledger = introductions(client, count)
        if outage:
            through_an_outage(cloud, outage)
        else:
            cloud.settle(timeout=1800)
        activity(client, ledger)
        figures = settle_and_replay(cloud)
        duration = time.monotonic() - started
        checks = check(cloud, client, ledger, definitions)
        consumers = [
            (
                name,
                stats.delivered,
                stats.failed,
                figures["deadLettered"].get(name, 0),
            )
            for name, stats in cloud.pump.stats.items()
            if stats.delivered or stats.failed
        ]
    injected = figures["faults"]
    summary = render(
        f"Faults: {count:,} events, {chosen.rate:.0%} of the functions' AWS calls failing"
        + "".join(f", {name} {value:.0%}" for name, value in chosen.overrides.items())
        + f" (seed {chosen.seed})"
        + (f"; {outage} down while the introductions were delivered" if outage else ""),
        [
            "events",
            "visitors",
            "AWS calls in scope",
            "faults injected",
            "outage calls",
            "HTTP retries",
            "records retried",
            "dead-lettered",
            "replayed",
            "left in DLQs",
            "failed runs",
            "seconds",
        ],
        [
            [
                ledger.events(),
                len(ledger.visitors),
                figures["awsCallsInScope"],
                sum(injected.values()),
                cloud.aws.faults.outage_calls,
                sum(client.retried.values()),
                figures["recordsRetried"],
                sum(figures["deadLettered"].values()),
                figures["replayed"],
                figures["deadLettersLeft"],
                len(figures["failedRuns"]),
                round(duration, 1),
            ]
        ],
        "HTTP retries: /v1/batch and /v1/decide calls answered 5xx and sent again by the client (same messageIds); "
        "records retried: SQS records a consumer failed (batchItemFailures), delivered again by the pump; "
        "dead-lettered: records that failed maxReceiveCount (5) times, moved to their DLQ; replayed: by `cxm replay`.",
    )
    kinds = render(
        "Faults injected, by kind",
        ["kind", "count"],
        sorted(injected.items(), key=lambda pair: -pair[1]),
        "throttle/internal/unavailable: nothing applied; timeout: applied, answer lost; partial: batch entries failed",
    )
    per_consumer = render(
        "Per consumer (SQS → Lambda)",
        ["subscription", "delivered", "retried", "dead-lettered"],
        consumers,
    )
    outcome = render(
        "Exactly once?",
        ["what", "expected", "found", "ok"],
        [(what, str(expected), str(found), "yes" if expected == found else "NO") for what, expected, found in checks],
    )
    why = "".join(f"  failed run: {reason}\n" for reason in figures["failedRuns"][:5])
    return "\n".join([summary, kinds, per_consumer, outcome + why])
