"""Ingestion core (parse, validate, enrich, serialise) in events/s per core next to orjson's parse of the same
payloads; then what collecting an event costs in DynamoDB and billable AWS requests, measured on the local cloud.

The payloads are analytics.js-like batches of 20 messages (60 % page, 30 % track, 10 % identify), about 1 KB each,
from 1,000 distinct user agents (browsers × versions × OS versions × devices, a few crawlers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from bench.table import render

EVENTS = 20_000
BATCH = 20
RUNS = 5
RECEIVED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# ---- payloads ----------------------------------------------------------------------------------------------
def user_agents(count: int = 1000, seed: int = 7) -> list[str]:
    """`count` distinct, realistic user agents."""
    rng = random.Random(seed)
    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    makers: list[Callable[[], str]] = [
        lambda: (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} Chrome/{rng.randint(100, 131)}.0."
            f"{rng.randint(4000, 6800)}.{rng.randint(0, 200)} Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{rng.randint(0, 7)}) {webkit} Chrome/"
            f"{rng.randint(100, 131)}.0.{rng.randint(4000, 6800)}.{rng.randint(0, 200)} Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} Chrome/{rng.randint(100, 131)}.0.0.0 "
            f"Safari/537.36 Edg/{rng.randint(100, 131)}.0.{rng.randint(1000, 2900)}.{rng.randint(0, 99)}"
        ),
        lambda: (
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{(v := rng.randint(100, 133))}.0) Gecko/20100101 "
            f"Firefox/{v}.0"
        ),
        lambda: f"Mozilla/5.0 (X11; Linux x86_64; rv:{(v := rng.randint(100, 133))}.0) Gecko/20100101 Firefox/{v}.0",
        lambda: (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {(v := rng.randint(14, 18))}_{rng.randint(0, 6)} like Mac OS X) "
            f"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.{rng.randint(0, 6)} Mobile/15E148 Safari/604.1"
        ),
        lambda: (
            f"Mozilla/5.0 (iPad; CPU OS {(v := rng.randint(14, 18))}_{rng.randint(0, 6)} like Mac OS X) "
            f"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.{rng.randint(0, 6)} Mobile/15E148 Safari/604.1"
        ),
        lambda: (
            f"Mozilla/5.0 (Linux; Android {rng.randint(9, 15)}; {rng.choice(PHONES)}) {webkit} Chrome/"
            f"{rng.randint(100, 131)}.0.{rng.randint(4000, 6800)}.{rng.randint(0, 200)} Mobile Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (Linux; Android {rng.randint(9, 15)}; {rng.choice(PHONES)}) {webkit} "
            f"SamsungBrowser/{rng.randint(18, 26)}.0 Chrome/{rng.randint(100, 131)}.0.0.0 Mobile Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (Linux; Android {rng.randint(9, 15)}; {rng.choice(TABLETS)}) {webkit} Chrome/"
            f"{rng.randint(100, 131)}.0.{rng.randint(4000, 6800)}.{rng.randint(0, 200)} Safari/537.36"
        ),
        lambda: (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{rng.randint(0, 7)}) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{rng.randint(14, 18)}.{rng.randint(0, 6)} Safari/605.1.15"
        ),
        lambda: (
            f"Mozilla/5.0 (compatible; {rng.choice(BOTS)}/{rng.randint(1, 3)}.{rng.randint(0, 9)}; +https://example.com/bot)"
        ),
    ]
    weights = [30, 12, 8, 5, 3, 18, 4, 10, 4, 3, 5, 1]
    found: dict[str, None] = {}
    while len(found) < count:
        found[rng.choices(makers, weights)[0]()] = None
    return list(found)


PHONES = ["SM-S918B", "SM-A546B", "Pixel 8", "Pixel 7a", "M2101K6G", "CPH2451", "moto g54 5G", "K", "2201117TY"]
TABLETS = ["SM-X700", "SM-T870", "Lenovo TB-X606F", "SM-X110"]
BOTS = ["Googlebot", "bingbot", "AhrefsBot", "DuckDuckBot", "YandexBot"]
REFERRERS = [
    "",
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://l.facebook.com/",
    "https://t.co/x",
    "https://news.example.org/article",
    "https://www.shop.example/recipes",
]
QUERIES = [
    "",
    "",
    "?q=descaler+kit",
    "?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
    "?gclid=Cj0KCQ",
    "?utm_source=facebook&utm_medium=paid_social",
]
ZONES = ["Europe/Paris", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Madrid"]


def batches(agents: list[str], events: int = EVENTS, size: int = BATCH, seed: int = 11) -> list[bytes]:
    """Request bodies as a tracker sends them: `events` messages in batches of `size`."""
    rng = random.Random(seed)
    out = []
    for b in range(events // size):
        messages = []
        for i in range(size):
            n = b * size + i
            kind = rng.choices(["page", "track", "identify"], [6, 3, 1])[0]
            path = rng.choice(["/", "/recipes/pancakes", "/recipes/risotto", "/search", "/tips/descaling", "/cart"])
            query = rng.choice(QUERIES)
            url = f"https://www.shop.example{path}{query}"
            sent = RECEIVED - dt.timedelta(seconds=rng.randint(0, 5))
            message: dict[str, Any] = {
                "type": kind,
                "messageId": f"bench-{seed}-{n}",
                "anonymousId": f"anon-{n % 3000}",
                "originalTimestamp": (sent - dt.timedelta(milliseconds=rng.randint(0, 3000))).isoformat(),
                "context": {
                    "userAgent": agents[n % len(agents)],
                    "ip": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                    "timezone": rng.choice(ZONES),
                    "locale": "fr-FR",
                    "library": {"name": "analytics.js", "version": "5.2.0"},
                    "page": {"path": path, "url": url, "referrer": rng.choice(REFERRERS), "search": query},
                    "screen": {"width": 1920, "height": 1080},
                },
            }
            if kind == "page":
                message["properties"] = {"path": path, "url": url, "title": "Shop", "category": "recipes"}
            elif kind == "track":
                message["event"] = rng.choice(["Product Viewed", "Added to Cart", "Recipe Saved"])
                message["properties"] = {"sku": f"SKU-{rng.randint(1, 500)}", "price": 19.9, "currency": "EUR"}
            else:
                message["userId"] = f"user-{n % 800}"
                message["traits"] = {"email": f"user-{n % 800}@example.com", "firstName": "Ana", "plan": "free"}
            messages.append(message)
        out.append(json.dumps({"batch": messages, "sentAt": RECEIVED.isoformat()}).encode())
    return out


# ---- the core, stage by stage ------------------------------------------------------------------------------
def _rate(run: Callable[[], int]) -> tuple[float, float]:
    """Best-of-RUNS events per CPU second of `run` (which returns how many events it handled), and the median."""
    rates = []
    for _ in range(RUNS):
        started = time.process_time()
        handled = run()
        rates.append(handled / (time.process_time() - started))
    return max(rates), statistics.median(rates)


def core_table() -> str:
    from pydantic_core import from_json

    from services.common.enrichment import devices
    from services.events.domain.ingestion import collected_data, ingest_batch
    from services.events.domain.messages import (
        MAX_MESSAGE_BYTES,
        BatchRequest,
        Request,
        SegmentMessage,
        validate_message,
    )

    agents = user_agents()
    bodies = batches(agents)
    total = sum(len(orjson.loads(b)["batch"]) for b in bodies)
    request = Request(received_at=RECEIVED, source_id="bench", ip="198.51.100.7", user_agent=None)

    def floor() -> int:
        return sum(len(orjson.loads(b)["batch"]) for b in bodies)

    def parse() -> int:
        return sum(len(from_json(b.decode("utf-8"))["batch"]) for b in bodies)

    def messages(body: bytes) -> list[SegmentMessage]:
        batch = BatchRequest.model_validate(from_json(body.decode("utf-8")))
        sized = len(body) > MAX_MESSAGE_BYTES  # as the core does: a body within 32 KB needs no per-message size
        return [
            m
            for i, raw in enumerate(batch.batch)
            if isinstance(m := validate_message(raw, i, batch, sized), SegmentMessage)
        ]

    def validate() -> int:
        return sum(len(messages(b)) for b in bodies)

    def enrich() -> int:
        return sum(len([collected_data(m, request) for m in messages(b)]) for b in bodies)

    def full() -> int:
        return sum(len(ingest_batch(b, request).events) for b in bodies)

    devices.device.cache_clear()
    started = time.process_time()
    cold_events = full()  # every user agent seen for the first time: the parser runs 1,000 times
    cold = cold_events / (time.process_time() - started)
    measured: list[tuple[str, float, float]] = []
    for name, run in [
        ("orjson.loads of the same bodies (the floor)", floor),
        ("parse (pydantic-core from_json)", parse),
        ("  + validate (Segment models, once per message)", validate),
        ("  + enrich (device, geo, referrer, UTM, search, local time, IP)", enrich),
        ("  + serialise = the ingestion core (envelope JSON, to_json)", full),
    ]:
        measured.append((name, *_rate(run)))
    measured.append((f"ingestion core, cold UA cache (1,000 first sights in {total:,} events)", cold, cold))
    floor_best = measured[0][1]
    rows = [[name, int(best), int(median), 1e6 / best, floor_best / best] for name, best, median in measured]
    return render(
        f"Ingestion core, events/s on one core ({total:,} events in batches of {BATCH}, "
        f"{len(agents):,} distinct user agents)",
        ["stage", "events/s best", "events/s median", "µs/event", "× orjson's time"],
        rows,
        note=(
            f"Events per CPU-second of one thread (= per core), best and median of {RUNS} runs; each row adds a "
            "stage to the one above. Warm rows: the UA parse cache (LRU, "
            f"{devices.CACHE_SIZE:,} entries) already holds the 1,000 agents, as in a warm Lambda container; the last "
            "row parses each agent once (ua-parser, ~1 ms each). Target: ≥ 20,000 events/s/core for the core."
        ),
    )


# ---- DynamoDB and billable requests on the local cloud -------------------------------------------------------
PRICE = {
    "apigateway": 1.00,
    "lambda": 0.20,
    "events": 1.00,
    "sqs": 0.40,
    "dynamodb.read": 0.125,
    "dynamodb.write": 0.625,
    "s3.put": 5.00,  # the raw event archive's objects ($0.005 per 1,000 PUTs)
}
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class FunctionCalls:
    """botocore calls made while enabled, attributed to the function running them (the local runtime sets its name
    in the environment for the duration of an invocation) and, for DynamoDB, to the table."""

    def __init__(self) -> None:
        self.enabled = False
        self.units: Counter[tuple[str, str]] = Counter()  # (who, dimension) → units

    def record(self, service: str, operation: str, params: dict[str, Any], result: dict[str, Any]) -> None:
        if not self.enabled:
            return
        who = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "").removeprefix("cxm-local-") or "(outside a function)"
        if service == "dynamodb":
            kind = "dynamodb.read" if operation in READS else "dynamodb.write" if operation in WRITES else None
            for table, count in _units_by_table(operation, params).items() if kind else ():
                self.units[(f"{who} → {table.removeprefix('cxm-local-')}", kind)] += count
        elif service == "events" and operation == "PutEvents":
            self.units[(who, "events")] += len(params.get("Entries", []))
        elif service == "lambda" and operation == "Invoke":
            self.units[(str(params.get("FunctionName", "")).removeprefix("cxm-local-"), "lambda")] += 1
        elif service == "s3" and operation == "PutObject":
            self.units[(who, "s3.put")] += 1
        elif service == "sqs" and operation in ("DeleteMessage", "DeleteMessageBatch"):
            self.units[(who, "sqs")] += 1
        elif service == "sqs" and operation == "ReceiveMessage" and result.get("Messages"):
            self.units[(who, "sqs")] += 1  # empty polls are the mapping's fixed cost, not a per-event one


def _units_by_table(operation: str, params: dict[str, Any]) -> Counter[str]:
    """Request units per table, each item (≤ 1 KB here) counted once; transactions cost double."""
    out: Counter[str] = Counter()
    if operation in ("BatchGetItem", "BatchWriteItem"):
        for table, request in params["RequestItems"].items():
            out[table] += len(request["Keys"]) if isinstance(request, dict) else len(request)
    elif operation.startswith("Transact"):
        for item in params["TransactItems"]:
            (action,) = item.values()
            out[action["TableName"]] += 2
    else:
        out[params["TableName"]] += 1
    return out


@contextmanager
def counting(log: FunctionCalls) -> Iterator[FunctionCalls]:
    """Every botocore call, including those that fail (a failed conditional write is billed like a write)."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        result: dict[str, Any] = {}
        try:
            result = original(self, operation_name, api_params)
            return result
        finally:
            log.record(self.meta.service_model.service_name, operation_name, api_params, result)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield log
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def cost_tables() -> str:
    from bench.aws_requests import _drain
    from infra.local.cloud import LocalCloud

    log = FunctionCalls()
    results: list[tuple[str, int, int, Counter[tuple[str, str]], int]] = []
    with LocalCloud(start=RECEIVED, background_pump=False) as cloud, counting(log):
        import base64
        import urllib.request

        key = cloud.create_key("write", "bench")
        auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()

        def post(path: str, body: dict[str, Any]) -> Any:
            request = urllib.request.Request(
                cloud.url + path,
                method="POST",
                data=json.dumps(body).encode(),
                headers={"content-type": "application/json", "authorization": auth},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        def page(n: int) -> dict[str, Any]:
            return {"type": "page", "anonymousId": "known-1", "messageId": f"cost-{n}", "properties": {"path": "/"}}

        # Given a known returning visitor (identified before), with warm containers and key cache
        post("/v1/identify", {"anonymousId": "known-1", "userId": "u-1", "traits": {"email": "k@example.com"}})
        post("/v1/page", page(0))
        _drain(cloud)
        batch = {"batch": [page(n) for n in range(2, 2 + BATCH)]}
        unclaimed = {"batch": [page(n) for n in range(100, 100 + BATCH)]}
        scenarios: list[tuple[str, str, dict[str, Any], int, str]] = [
            ("1 page view, POST /v1/page", "/v1/page", page(1), 1, "24"),
            (f"{BATCH} page views, 1 POST /v1/batch", "/v1/batch", batch, BATCH, "24"),
            ("the same batch re-sent (all duplicates)", "/v1/batch", batch, BATCH, "24"),
            ("1 page view, DEDUPE_WINDOW_HOURS=0", "/v1/page", page(99), 1, "0"),
            (f"{BATCH} page views, DEDUPE_WINDOW_HOURS=0", "/v1/batch", unclaimed, BATCH, "0"),
            ("that batch re-sent, DEDUPE_WINDOW_HOURS=0", "/v1/batch", unclaimed, BATCH, "0"),
        ]
        for name, path, body, events, window in scenarios:
            cloud.runtime.extra_env["DEDUPE_WINDOW_HOURS"] = window
            deliveries = len(cloud.aws.events.deliveries)
            log.units.clear()
            log.enabled = True
            post(path, body)
            _drain(cloud)
            log.enabled = False
            results.append((name, 1, events, Counter(log.units), len(cloud.aws.events.deliveries) - deliveries))

    ddb_rows: list[list[object]] = []
    price_rows: list[list[object]] = []
    for name, requests, events, units, deliveries in results:
        for (who, dimension), count in sorted(units.items()):
            if dimension.startswith("dynamodb"):
                ddb_rows.append([name, who, dimension.removeprefix("dynamodb."), count / events])
        events_side = {
            "apigateway": requests,
            "lambda": units[("events-api", "lambda")],
            "events": units[("events-api", "events")],
            "dynamodb.read": sum(
                c for (w, d), c in units.items() if w.startswith("events-api") and d == "dynamodb.read"
            ),
            "dynamodb.write": sum(
                c for (w, d), c in units.items() if w.startswith("events-api") and d == "dynamodb.write"
            ),
        }
        whole = {
            "apigateway": requests,
            "lambda": sum(c for (_, d), c in units.items() if d == "lambda"),
            "events": sum(c for (_, d), c in units.items() if d == "events"),
            "sqs": sum(c for (_, d), c in units.items() if d == "sqs") + deliveries,
            "dynamodb.read": sum(c for (_, d), c in units.items() if d == "dynamodb.read"),
            "dynamodb.write": sum(c for (_, d), c in units.items() if d == "dynamodb.write"),
            "s3.put": sum(c for (_, d), c in units.items() if d == "s3.put"),
        }
        for scope, dims in (("events side", events_side), ("whole path today", whole)):
            per_event = {d: v / events for d, v in dims.items()}
            price = sum(per_event[d] * PRICE[d] for d in per_event)
            price_rows.append([name, scope, *[round(per_event.get(d, 0), 3) for d in PRICE], f"${price:,.2f}"])
    return (
        render(
            "DynamoDB request units per collected event, known returning visitor (by function → table)",
            ["scenario", "function → table", "kind", "units / event"],
            ddb_rows,
            note=(
                "Events side: one conditional PutItem per message on events/messages (the messageId claim; "
                "a duplicate's failed condition is billed as a write too); the API key lookup is cached per "
                "container (0). With "
                "DEDUPE_WINDOW_HOURS=0 the events side writes nothing and a re-sent message is published again "
                "under the same envelope id, which the consumers' own idempotency absorbs."
            ),
        )
        + "\n"
        + render(
            "Billable AWS requests per collected event and list price per million events (collection path)",
            [
                "scenario",
                "scope",
                "APIGW",
                "Lambda",
                "EB events",
                "SQS",
                "DDB RRU",
                "DDB WRU",
                "S3 PUT",
                "$ / 1M events",
            ],
            price_rows,
            note=(
                "us-east-1 list prices, on-demand: HTTP API $1.00/M, Lambda $0.20/M requests (duration not "
                "included), EventBridge $1.00/M events, SQS $0.40/M, DynamoDB $0.125/M RRU, $0.625/M WRU, S3 $5/M "
                "PUT. 'whole path today' adds every consumer that ran downstream (bus → SQS → identity, then "
                "segments and the raw event archive; EventBridge's SendMessage to each queue included). The "
                "archive writes one object per SQS batch it receives (up to 10 activities)."
            ),
        )
    )


def run() -> str:
    return core_table() + "\n" + cost_tables()


if __name__ == "__main__":
    print(run())
