"""In-process Lambda runtime for moto: invoking a function runs its real Python handler, no Docker.

Single patch point: ``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored,
logs)`` is the method that would start a Docker container, and in moto 5.2.5 every invocation path reaches it:

* boto3 ``lambda.invoke`` (RequestResponse and Event): ``LambdaBackend.invoke`` -> ``LambdaFunction.invoke``;
* Step Functions ``lambda:invoke`` / function-ARN tasks: a boto3 invoke from the execution thread -> same;
* SQS and DynamoDB-stream event-source mappings, SNS subscriptions: ``LambdaBackend.send_*`` ->
  ``fn.invoke`` (synchronously, inside the triggering ``send_message``/write/publish);
* EventBridge Lambda targets (see ``eventbridge.py``): ``get_backend(...).invoke``.

With ``mock_aws(config={"lambda": {"use_docker": False}})`` moto serves Lambda from ``LambdaSimpleBackend``,
whose ``invoke`` just echoes the payload; it is routed back to ``LambdaBackend.invoke`` so both ``use_docker``
settings behave the same. Patching only ``invoke`` would miss the event-source paths, which call ``fn.invoke``.

Second patch, for the threads that do not invoke: while a handler runs, its environment is in ``os.environ``
and is taken out again afterwards. Proxy lookup (``urllib.request.getproxies_environment``, which botocore
runs on every client creation, and urllib and requests on every opener or session) iterates ``os.environ``
and fails with ``KeyError`` when a key it has listed is removed before it reads it. The lookup functions are
wrapped wherever the libraries bound them (``_PROXY_LOOKUPS``) to look again on that ``KeyError``. (Holding
``_ENV_LOCK`` instead would order it against other locks, such as the one our settings module creates clients
under, and a handler waiting for one while a reader holds the other would deadlock.)

Known differences from AWS: invocations are serialised (see ``_ENV_LOCK``); ``InvocationType=Event`` runs
synchronously; a raised exception gives ``FunctionError: "Handled"`` (moto's header) where AWS says
``"Unhandled"``; handler modules are imported once per process, so read configuration at call time.
"""

from __future__ import annotations

import collections
import datetime as dt
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.utils
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend

from ._patching import (
    PatchPointMoved,
    PatchSet,
    require_attr,
    require_params,
    require_source,
)

Handler = Callable[[Any, Any], Any]
HandlerRef = str | Handler  # "pkg.module.func" or the callable itself

# os.environ is process-global, and a handler sees its function's Environment.Variables there, so two
# invocations must not overlap. The lock is re-entrant because invocations nest on the same thread: a handler
# that sends to an SQS queue with an event-source mapping, or invokes another function directly, runs the
# second handler synchronously inside the first. Trade-off: a handler that *waits* for another thread which
# itself needs a Lambda (e.g. start_sync_execution of an express machine with a Lambda task) deadlocks.
_ENV_LOCK = threading.RLock()

DEFAULT_MAX_INVOCATIONS = 10_000

# The functions running on each thread (innermost last): fault injection faults only the calls our handlers make.
_RUNNING = threading.local()


def running_function() -> str | None:
    """The name of the function whose handler is running on this thread (the innermost), or None."""
    stack: list[str] = getattr(_RUNNING, "stack", [])
    return stack[-1] if stack else None


# (module, name) of every binding of urllib's environment proxy lookup that code in another thread may call
# while a handler's environment is being applied or removed. Modules not installed are skipped.
_PROXY_LOOKUPS = (
    ("urllib.request", "getproxies"),
    ("urllib.request", "getproxies_environment"),  # proxy_bypass_environment looks this one up
    ("botocore.utils", "getproxies"),  # EndpointCreator._get_proxies -> get_environ_proxies
    ("requests.utils", "getproxies"),
    ("requests.utils", "getproxies_environment"),
)

_FUNCTION_ATTRS = (
    "function_name",
    "function_arn",
    "handler",
    "environment_vars",
    "memory_size",
    "timeout",
    "version",
    "run_time",
    "region",
)


class FakeLambdaContext:
    """The subset of the Lambda context object that handlers and aws-lambda-powertools use."""

    def __init__(self, fn: LambdaFunction, request_id: str) -> None:
        self.function_name: str = fn.function_name
        self.function_version: str = str(fn.version or "$LATEST")
        self.invoked_function_arn: str = fn.function_arn
        self.memory_limit_in_mb: int = int(fn.memory_size or 128)
        self.aws_request_id: str = request_id
        self.log_group_name: str = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name: str = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{request_id[:8]}"
        self.identity: Any = None
        self.client_context: Any = None
        # Real (monotonic) time: the timeout protects against handlers that hang, which is a wall-clock matter.
        self._deadline = time.monotonic() + int(fn.timeout or 3)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One handler call, recorded for assertions."""

    function_name: str
    event: Any
    # the JSON text returned to the caller (the error document when errored)
    payload: str
    errored: bool
    request_id: str
    cold_start: bool


@dataclass
class InProcessLambdaRuntime:
    """Runs moto Lambda functions as Python callables.

    ``registry`` maps a function name to a handler (``"pkg.module.func"`` or a callable); functions not in it
    use their own ``Handler`` setting, resolved with importlib, so ``CreateFunction(Handler="app.orders.handler")``
    works as long as ``app`` is importable. ``extra_env`` is applied under the function's own variables.
    """

    registry: dict[str, HandlerRef] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    max_invocations: int = DEFAULT_MAX_INVOCATIONS
    invocations: collections.deque[Invocation] = field(init=False)
    _warm: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        # Bounded: a long local session must not grow without limit; tests look at recent calls only.
        self.invocations = collections.deque(maxlen=self.max_invocations)

    def register(self, function_name: str, handler: HandlerRef) -> None:
        self.registry[function_name] = handler

    def calls_to(self, function_name: str) -> list[Invocation]:
        return [inv for inv in list(self.invocations) if inv.function_name == function_name]

    def resolve(self, fn: LambdaFunction) -> Handler:
        target = self.registry.get(fn.function_name) or fn.handler
        if callable(target):
            return target
        if not target or "." not in target:
            raise ValueError(f"function {fn.function_name!r}: handler {target!r} is not 'pkg.module.func'")
        module_name, _, attr = target.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attr)
        if not callable(handler):
            raise TypeError(f"function {fn.function_name!r}: {target} is not callable")
        return handler

    def invoke(self, fn: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """Run the handler; returns moto's ``(payload, errored, logs)`` triple."""
        request_id = str(uuid.uuid4())
        log_buffer = io.StringIO()
        log_handler = logging.StreamHandler(log_buffer)
        root = logging.getLogger()
        with _ENV_LOCK, _function_environment(fn, self.extra_env):
            cold_start = fn.function_arn not in self._warm
            self._warm.add(fn.function_arn)
            _tell_powertools_whether_cold(cold_start)
            root.addHandler(log_handler)
            stack: list[str] = _RUNNING.__dict__.setdefault("stack", [])
            stack.append(fn.function_name)
            try:
                payload, errored = self._call(fn, event, request_id)
            finally:
                stack.pop()
                root.removeHandler(log_handler)
        self.invocations.append(Invocation(fn.function_name, event, payload, errored, request_id, cold_start))
        return payload, errored, log_buffer.getvalue()

    def _call(self, fn: LambdaFunction, event: Any, request_id: str) -> tuple[str, bool]:
        try:
            result = self.resolve(fn)(event, FakeLambdaContext(fn, request_id))
        except Exception as exc:  # any handler error becomes a Lambda error document
            # Lambda's error document; Step Functions uses errorType as the error name for Retry/Catch.
            return _error_payload(type(exc).__name__, str(exc), traceback.format_exc().splitlines()), True
        try:
            return json.dumps(result), False
        except (TypeError, ValueError) as exc:
            # what the real runtime reports for a result it cannot serialise
            return _error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}", []), True


# Powertools keeps "is this a cold start?" in module globals, one per process, while a Lambda container has one
# function: its first call is cold. All functions share this process, so each call sets the flags to whether *its
# function* is cold here (invocations are serialised, so nothing else reads them in between).
_POWERTOOLS_COLD_START_FLAGS = (
    "aws_lambda_powertools.logging.logger",
    "aws_lambda_powertools.metrics.provider.cold_start",
    "aws_lambda_powertools.tracing.tracer",
)


def _tell_powertools_whether_cold(cold_start: bool) -> None:
    for module_name in _POWERTOOLS_COLD_START_FLAGS:
        module = sys.modules.get(module_name)  # not imported yet: nothing has read its flag
        if module is not None and hasattr(module, "is_cold_start"):
            setattr(module, "is_cold_start", cold_start)  # noqa: B010 (a module global, not typed)


def _error_payload(error_type: str, message: str, stack: list[str]) -> str:
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": stack})


@contextmanager
def _function_environment(fn: LambdaFunction, extra_env: Mapping[str, str]) -> Iterator[None]:
    """Apply the function's environment to os.environ for the duration of the call (caller holds the lock)."""
    env: dict[str, str] = {
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version or "$LATEST"),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size or 128),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout or 3),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "_HANDLER": str(fn.handler),
        **extra_env,
        **{key: str(value) for key, value in (fn.environment_vars or {}).items()},
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        # Restores the *caller's* values, so a nested invocation hands back its parent's environment.
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _environment_readers() -> list[tuple[Any, str, Callable[[], dict[str, str]]]]:
    """The installed proxy-lookup bindings of ``_PROXY_LOOKUPS``, each with the function it is bound to."""
    readers = []
    for module_name, name in _PROXY_LOOKUPS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        readers.append((module, name, require_attr(module, name)))
    return readers


_LOOKUP_ATTEMPTS = 1_000


def _retrying_on_a_vanished_key(lookup: Callable[[], dict[str, str]]) -> Callable[[], dict[str, str]]:
    def lookup_again_on_a_vanished_key() -> dict[str, str]:
        # A KeyError from the lookup can only be a key removed between listing and reading it (the lookup does
        # nothing else that raises it); the next listing no longer has it. Bounded so a real fault still surfaces.
        for _ in range(_LOOKUP_ATTEMPTS - 1):
            try:
                return lookup()
            except KeyError:
                continue
        return lookup()

    lookup_again_on_a_vanished_key.__wrapped__ = lookup  # type: ignore[attr-defined]
    return lookup_again_on_a_vanished_key


def verify_patch_points() -> None:
    """Raise ``PatchPointMoved`` if the moto internals patched by :func:`inprocess_lambdas` changed shape."""
    # the lookups iterate os.environ, and botocore reaches them through its module-level binding
    require_source(urllib.request.getproxies_environment, "os.environ", "urllib.request.getproxies_environment")
    require_source(botocore.utils.get_environ_proxies, "getproxies()", "botocore.utils.get_environ_proxies")
    for module_name in _POWERTOOLS_COLD_START_FLAGS:
        require_attr(importlib.import_module(module_name), "is_cold_start")
    _environment_readers()
    require_params(
        require_attr(LambdaFunction, "_invoke_lambda"),
        ["self", "event"],
        "LambdaFunction._invoke_lambda",
    )
    require_source(LambdaFunction.invoke, "self._invoke_lambda(", "LambdaFunction.invoke")
    expected_invoke = [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    require_params(require_attr(LambdaBackend, "invoke"), expected_invoke, "LambdaBackend.invoke")
    require_params(
        require_attr(LambdaSimpleBackend, "invoke"),
        expected_invoke,
        "LambdaSimpleBackend.invoke",
    )
    # Attributes the runtime reads; moto assigns them in LambdaFunction.__init__ (so they are in its co_names).
    assigned = set(LambdaFunction.__init__.__code__.co_names) | set(vars(LambdaFunction))
    for attr in _FUNCTION_ATTRS:
        if attr not in assigned:
            raise PatchPointMoved(f"LambdaFunction no longer has {attr!r}")


@contextmanager
def inprocess_lambdas(
    runtime: InProcessLambdaRuntime | None = None,
) -> Iterator[InProcessLambdaRuntime]:
    """Route every moto Lambda invocation to ``runtime`` (a new empty-registry runtime if omitted)."""
    verify_patch_points()
    runtime = runtime or InProcessLambdaRuntime()
    patches = PatchSet()

    def invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        # LambdaFunction.invoke has already json.loads()-ed the body, except that an empty body arrives as the
        # *string* "{}" (moto's placeholder), which a handler must see as {}.
        if event is None or event == "{}":
            event = {}
        return runtime.invoke(self, event)

    patches.set(LambdaFunction, "_invoke_lambda", invoke_lambda)
    patches.set(LambdaSimpleBackend, "invoke", LambdaBackend.invoke)
    for module, name, lookup in _environment_readers():
        patches.set(module, name, _retrying_on_a_vanished_key(lookup))
    try:
        yield runtime
    finally:
        patches.restore()
