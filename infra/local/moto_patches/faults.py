"""Fault injection: a seeded fraction of the AWS calls our functions make fail the way AWS fails.

``moto_faults(faults, scope)`` wraps moto 5.2.5's ``BaseResponse.call_action`` -- the one place every JSON and
query protocol request (DynamoDB, EventBridge, SQS, SES/SESv2, Step Functions, Scheduler, ...) is dispatched -- and,
for a call that ``scope()`` says counts (by default: made on a thread while one of our Lambda handlers runs, so the
pump, the gateway and a test's own boto3 checks are never faulted), draws a fault:

* ``throttle``: the service's throttling error, 400 (DynamoDB ``ProvisionedThroughputExceededException``, SESv2
  ``TooManyRequestsException``, elsewhere ``ThrottlingException``); nothing is applied.
* ``internal``: ``InternalFailure`` (DynamoDB ``InternalServerError``), 500; nothing is applied.
* ``unavailable``: ``ServiceUnavailable``, 503; nothing is applied.
* ``timeout``: the operation **is applied**, then the caller gets ``botocore.exceptions.ReadTimeoutError`` (as if
  the response was lost on the way back). botocore retries it, so a write is applied twice unless it is idempotent.
* ``partial``: for the batch APIs only, some entries fail and the rest are applied: EventBridge ``PutEvents``
  (``FailedEntryCount``, entries with ``ErrorCode: InternalFailure``), SQS ``SendMessageBatch`` (``Failed``),
  DynamoDB ``BatchWriteItem`` (``UnprocessedItems``). Other operations draw among the other kinds.

The errors are real wire responses, so botocore's retry handler sees them as it would AWS's: with the functions'
``standard`` mode and ``max_attempts: 3`` (three retries, four attempts), a 10 % rate lets about 0.01 % of calls
through as an error to our code (0.1 ** 4), as well as every partial failure (which botocore does not retry) and
every timeout's second write. S3 and Lambda do not dispatch through ``call_action`` and are not faulted.

A timeout's retry must meet what AWS would answer it: DynamoDB ``TransactWriteItems`` is idempotent on its
``ClientRequestToken`` (botocore fills one in and sends the same on every retry; AWS answers a repeat of a successful
transaction with success, for ten minutes, without applying it again). moto ignores the token, so a retried
transaction would fail its own conditions; while faults are injected, a repeated token gets the first answer.

botocore's back-off between those retries (``ExponentialBackoff.delay_amount``: up to 1 s for a first throttling
retry, 50 ms otherwise) is wall-clock sleep, and in-process the functions run one at a time, so every sleep stalls
the whole platform; ``Faults.backoff_scale`` (default 1/100) shortens it while faults are injected.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ReadTimeoutError
from botocore.retries.standard import ExponentialBackoff
from moto.core.responses import ActionResult, BaseResponse
from moto.dynamodb.responses import DynamoHandler
from moto.events.models import EventsBackend
from moto.sqs.models import SQSBackend

from ._patching import PatchSet, require_attr, require_params, require_source
from .lambdas import running_function

KINDS = ("throttle", "internal", "unavailable", "timeout", "partial")
# (service, operation) of the batch APIs whose partial failure is a success response with failed entries
PARTIAL = {("events", "PutEvents"), ("sqs", "SendMessageBatch"), ("dynamodb", "BatchWriteItem")}

_THROTTLE = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sesv2": "TooManyRequestsException",
    "ses": "Throttling",
    "sqs": "RequestThrottled",
}
_INTERNAL = {"dynamodb": "InternalServerError"}


@dataclass(frozen=True)
class Faults:
    """What to inject: ``rate`` of the calls in scope fail, ``overrides`` set another rate for a service
    (``"dynamodb"``) or one operation (``"dynamodb.PutItem"``, the API name), ``kinds`` are drawn uniformly."""

    rate: float = 0.0
    overrides: Mapping[str, float] = field(default_factory=dict)
    kinds: tuple[str, ...] = KINDS
    seed: int = 0
    backoff_scale: float = 0.01
    limit: int | None = None  # at most this many faults (a test that needs exactly one)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be among {', '.join(KINDS)}; got {', '.join(self.kinds) or 'none'}")
        for name, value in {"rate": self.rate, **self.overrides}.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name}={value} is not between 0 and 1")

    def rate_for(self, service: str, operation: str) -> float:
        return self.overrides.get(f"{service}.{operation}", self.overrides.get(service, self.rate))

    @classmethod
    def parse(cls, text: str) -> Faults:
        """``0.1``, or ``0.1,seed=7,kinds=throttle+timeout,dynamodb=0.2,events.PutEvents=0.5`` (the CLI flag)."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise ValueError("empty fault specification")
        rate = float(parts[0])
        seed = 0
        kinds: tuple[str, ...] = KINDS
        overrides: dict[str, float] = {}
        for part in parts[1:]:
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"not name=value: {part!r}")
            if name == "seed":
                seed = int(value)
            elif name == "kinds":
                kinds = tuple(k for k in value.split("+") if k)
            else:
                overrides[name] = float(value)
        return cls(rate=rate, overrides=overrides, kinds=kinds, seed=seed)


class FaultLog:
    """What was injected: ``injected[(service, operation, kind)]`` and ``calls`` (the calls in scope); ``paused()``
    turns injection off for a while (a test's set-up and checks through the API); ``outage(name)`` makes every AWS
    call of the functions whose name contains ``name`` fail (503) for a while, as when a dependency is down, so
    their messages exhaust their receives and dead-letter (``outage_calls`` counts those calls)."""

    def __init__(self) -> None:
        self.injected: Counter[tuple[str, str, str]] = Counter()
        self.calls = 0
        self.active = True
        self.down: tuple[str, ...] = ()
        self.outage_calls = 0
        self._lock = threading.Lock()

    @contextmanager
    def outage(self, *functions: str) -> Iterator[None]:
        self.down = functions
        try:
            yield
        finally:
            self.down = ()

    def in_outage(self, function: str | None) -> bool:
        if not function or not any(name in function for name in self.down):
            return False
        with self._lock:
            self.outage_calls += 1
        return True

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.active = False
        try:
            yield
        finally:
            self.active = True

    def count(self, service: str, operation: str, kind: str | None) -> None:
        with self._lock:
            self.calls += 1
            if kind:
                self.injected[(service, operation, kind)] += 1

    def by_kind(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (_, _, kind), n in self.injected.items():
            out[kind] += n
        return out

    def total(self) -> int:
        return sum(self.injected.values())


class _Injector:
    def __init__(self, faults: Faults, log: FaultLog) -> None:
        self.faults = faults
        self.log = log
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._injected = 0

    def draw(self, service: str, operation: str) -> str | None:
        rate = self.faults.rate_for(service, operation)
        kinds = [k for k in self.faults.kinds if k != "partial" or (service, operation) in PARTIAL]
        with self._lock:
            kind = self._random.choice(kinds) if kinds and self._random.random() < rate else None
            if kind and self.faults.limit is not None:
                kind = kind if self._injected < self.faults.limit else None
                self._injected += kind is not None
        self.log.count(service, operation, kind)
        return kind

    def failing(self, n: int) -> set[int]:
        """Which of ``n`` batch entries fail in a partial failure: each with even odds, at least one."""
        with self._lock:
            chosen = {i for i in range(n) if self._random.random() < 0.5}
            return chosen or ({self._random.randrange(n)} if n else set())


# The partial failure in progress on this thread: the injector, read by the backend wrappers below.
_PARTIAL = threading.local()


def _partial_injector() -> _Injector | None:
    return getattr(_PARTIAL, "injector", None)


def _error(service: str, kind: str) -> tuple[int, dict[str, Any], str]:
    code, status = {
        "throttle": (_THROTTLE.get(service, "ThrottlingException"), 400 if service != "sesv2" else 429),
        "internal": (_INTERNAL.get(service, "InternalFailure"), 500),
        "unavailable": ("ServiceUnavailable", 503),
    }[kind]
    message = f"injected fault ({kind}) by the local cloud"
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": "local-fault", "status": status}
    if service in ("ses", "sns", "cloudformation", "iam", "sts"):  # query protocol: an XML error document
        body = (
            f'<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/"><Error><Type>Receiver</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>local-fault</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message, "Message": message})
        headers["Content-Type"] = "application/x-amz-json-1.0" if service == "dynamodb" else "application/json"
    return status, headers, body


def in_a_handler() -> bool:
    """The default scope: the call is made while one of our functions runs on this thread."""
    return running_function() is not None


def verify_patch_points() -> None:
    call_action = require_attr(BaseResponse, "call_action")
    require_params(call_action, ["self"], "BaseResponse.call_action")
    require_source(BaseResponse.__init__, "self.service_name = service_name", "BaseResponse.__init__")
    require_attr(BaseResponse, "_get_action")
    require_params(require_attr(EventsBackend, "put_events"), ["self", "events"], "EventsBackend.put_events")
    require_source(EventsBackend.put_events, "return entries", "EventsBackend.put_events")
    require_params(
        require_attr(SQSBackend, "send_message_batch"),
        ["self", "queue_name", "entries"],
        "SQSBackend.send_message_batch",
    )
    require_params(require_attr(DynamoHandler, "batch_write_item"), ["self"], "DynamoHandler.batch_write_item")
    require_params(require_attr(DynamoHandler, "transact_write_items"), ["self"], "DynamoHandler.transact_write_items")
    require_params(
        require_attr(ExponentialBackoff, "delay_amount"), ["self", "context"], "ExponentialBackoff.delay_amount"
    )
    require_source(DynamoHandler.batch_write_item, 'self.body["RequestItems"]', "DynamoHandler.batch_write_item")
    require_source(DynamoHandler.batch_write_item, '"UnprocessedItems": {}', "DynamoHandler.batch_write_item")


@contextmanager
def moto_faults(
    faults: Faults, scope: Callable[[], bool] = in_a_handler, log: FaultLog | None = None
) -> Iterator[FaultLog]:
    """Inject ``faults`` into the AWS calls for which ``scope()`` is true; yields the log of what was injected."""
    verify_patch_points()
    log = log or FaultLog()
    injector = _Injector(faults, log)
    patches = PatchSet()
    original_call = BaseResponse.call_action
    original_put_events = EventsBackend.put_events
    original_send_batch = SQSBackend.send_message_batch
    original_batch_write = DynamoHandler.batch_write_item
    original_delay = ExponentialBackoff.delay_amount
    original_transact = DynamoHandler.transact_write_items
    # ClientRequestToken -> the answer of the transaction that succeeded (the most recent ones: AWS keeps 10 minutes)
    transactions: OrderedDict[str, ActionResult] = OrderedDict()

    def transact_write_items(self: DynamoHandler) -> ActionResult:
        token = self.body.get("ClientRequestToken")
        if token and token in transactions:
            return transactions[token]
        result = original_transact(self)
        if token:
            transactions[token] = result
            if len(transactions) > 100_000:
                transactions.popitem(last=False)
        return result

    def delay_amount(self: ExponentialBackoff, context: Any) -> float:
        return float(original_delay(self, context)) * faults.backoff_scale

    def call_action(self: BaseResponse) -> Any:
        if not log.active or not scope():
            return original_call(self)
        service = str(self.service_name or "")
        if log.down and log.in_outage(running_function()):
            return _error(service, "unavailable")
        operation = self._get_action() or ""
        kind = injector.draw(service, operation)
        if kind is None:
            return original_call(self)
        if kind == "timeout":
            original_call(self)
            raise ReadTimeoutError(endpoint_url=f"https://{service}.local-fault/{operation}")
        if kind == "partial":
            _PARTIAL.injector = injector
            try:
                return original_call(self)
            finally:
                _PARTIAL.injector = None
        return _error(service, kind)

    def put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen = injector_now.failing(len(events)) if (injector_now := _partial_injector()) else set()
        applied = iter(original_put_events(self, [e for i, e in enumerate(events) if i not in chosen]))
        failed = {"ErrorCode": "InternalFailure", "ErrorMessage": "injected fault (partial) by the local cloud"}
        return [dict(failed) if i in chosen else next(applied) for i in range(len(events))]

    def send_message_batch(
        self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]
    ) -> tuple[list[Any], list[dict[str, Any]]]:
        injector_now = _partial_injector()
        chosen = injector_now.failing(len(entries)) if injector_now else set()
        keys = list(entries)
        kept = {k: v for i, (k, v) in enumerate(entries.items()) if i not in chosen}
        sent, failed = original_send_batch(self, queue_name, kept) if kept else ([], [])
        failed = failed + [
            {
                "Id": entries[keys[i]]["Id"],
                "SenderFault": False,
                "Code": "InternalError",
                "Message": "injected fault (partial) by the local cloud",
            }
            for i in sorted(chosen)
        ]
        return sent, failed

    def batch_write_item(self: DynamoHandler) -> ActionResult:
        injector_now = _partial_injector()
        if injector_now is None:
            return original_batch_write(self)
        requests = [(table, request) for table, batch in self.body["RequestItems"].items() for request in batch]
        chosen = injector_now.failing(len(requests))
        kept: dict[str, list[Any]] = {}
        unprocessed: dict[str, list[Any]] = {}
        for i, (table, request) in enumerate(requests):
            (unprocessed if i in chosen else kept).setdefault(table, []).append(request)
        self.body["RequestItems"] = kept
        result = original_batch_write(self) if kept else ActionResult({"UnprocessedItems": {}})
        response = result.result
        assert isinstance(response, dict)
        response["UnprocessedItems"] = unprocessed
        return result

    patches.set(BaseResponse, "call_action", call_action)
    patches.set(EventsBackend, "put_events", put_events)
    patches.set(SQSBackend, "send_message_batch", send_message_batch)
    patches.set(DynamoHandler, "batch_write_item", batch_write_item)
    patches.set(ExponentialBackoff, "delay_amount", delay_amount)
    patches.set(DynamoHandler, "transact_write_items", transact_write_items)
    try:
        yield log
    finally:
        patches.restore()


__all__ = ["KINDS", "FaultLog", "Faults", "in_a_handler", "moto_faults", "verify_patch_points"]
