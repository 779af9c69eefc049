"""Patches that make moto 5.2.5 behave like AWS where the local cloud needs it (time, Lambda, EventBridge, SESv2),
and cost what it should (SQS, DynamoDB transactions and DynamoDB queries that do not slow down with the backlog or the
table, cheaper request dispatch).

Every patch touches moto internals, so they are proven against one moto version only: ``moto_version_guard()``
refuses any other, and each module's ``verify_patch_points()`` (run on entry and by the canary tests in
``tests/integration/local_cloud``) fails loudly if an internal moved. Use them together::

    clock = VirtualClock(datetime(2025, 1, 1, tzinfo=timezone.utc))
    with mock_aws(config=MOTO_CONFIG), local_aws_patches(clock, InProcessLambdaRuntime()) as aws:
        ...
        clock.advance(days=14)
        aws.runtime.invocations, aws.events.deliveries, aws.ses.rendering_failures
        aws.sqs.subscribe(wake_the_consumer)  # called on every SQS arrival (see arrivals.py)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import moto

from ._patching import PatchPointMoved
from .arrivals import SqsArrivals, sqs_arrivals
from .dispatch import moto_dispatch_shortcuts
from .dynamodb import dynamodb_atomic_requests, dynamodb_item_transactions, dynamodb_key_queries
from .eventbridge import EventBridgeDeliveries, eventbridge_targets
from .faults import FaultLog, Faults, moto_faults
from .lambdas import (
    FakeLambdaContext,
    InProcessLambdaRuntime,
    Invocation,
    inprocess_lambdas,
)
from .sesv2 import SesV2TemplateLog, sesv2_templates
from .sqs import sqs_constant_time
from .virtual_clock import VirtualClock, virtual_time

SUPPORTED_MOTO_VERSION = "5.2.5"

# The mock_aws config the patches are designed for: executing Step Functions, Lambda without Docker.
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

__all__ = [
    "MOTO_CONFIG",
    "SUPPORTED_MOTO_VERSION",
    "EventBridgeDeliveries",
    "FakeLambdaContext",
    "FaultLog",
    "Faults",
    "InProcessLambdaRuntime",
    "Invocation",
    "LocalAwsPatches",
    "MotoVersionError",
    "PatchPointMoved",
    "SesV2TemplateLog",
    "SqsArrivals",
    "VirtualClock",
    "dynamodb_atomic_requests",
    "dynamodb_item_transactions",
    "dynamodb_key_queries",
    "eventbridge_targets",
    "inprocess_lambdas",
    "local_aws_patches",
    "moto_dispatch_shortcuts",
    "moto_faults",
    "moto_version_guard",
    "sesv2_templates",
    "sqs_arrivals",
    "sqs_constant_time",
    "virtual_time",
]


class MotoVersionError(RuntimeError):
    """The installed moto is not the version the patches were proven against."""


def moto_version_guard() -> None:
    """Raise :class:`MotoVersionError` unless moto is exactly ``SUPPORTED_MOTO_VERSION``."""
    installed = getattr(moto, "__version__", "unknown")
    if installed != SUPPORTED_MOTO_VERSION:
        raise MotoVersionError(
            f"infra.local.moto_patches is proven against moto {SUPPORTED_MOTO_VERSION}, but moto {installed} is "
            "installed. The patches replace moto internals (Step Functions wait/callback/retry, "
            "LambdaFunction._invoke_lambda, events Rule.send_to_targets, SESV2Response, SQS queue internals, "
            "BaseResponse.call_action's action lookup, DynamoDB transact_write_items); re-run "
            "tests/integration/local_cloud against the new version, fix what moved, then bump "
            "SUPPORTED_MOTO_VERSION together with the pin in pyproject.toml."
        )


@dataclass(frozen=True)
class LocalAwsPatches:
    """Handles to what ``local_aws_patches`` installed, for driving time and making assertions."""

    clock: VirtualClock
    runtime: InProcessLambdaRuntime
    events: EventBridgeDeliveries
    ses: SesV2TemplateLog
    sqs: SqsArrivals
    faults: FaultLog


@contextmanager
def local_aws_patches(
    clock: VirtualClock | None = None,
    runtime: InProcessLambdaRuntime | None = None,
    faults: Faults | None = None,
) -> Iterator[LocalAwsPatches]:
    """Enter all ten patches (inside or outside ``mock_aws``; they patch classes, not backends), and the fault
    injection when ``faults`` is given (see ``faults.py``: only calls made by running handlers are faulted).

    The clock also drives EventBridge envelope times, so events and state machines share one "now".
    """
    moto_version_guard()
    clock = clock or VirtualClock()
    runtime = runtime or InProcessLambdaRuntime()
    with ExitStack() as stack:
        stack.enter_context(virtual_time(clock))
        stack.enter_context(inprocess_lambdas(runtime))
        events = stack.enter_context(eventbridge_targets(clock))
        ses = stack.enter_context(sesv2_templates())
        stack.enter_context(sqs_constant_time())
        arrivals = stack.enter_context(sqs_arrivals())  # after sqs_constant_time: it wraps the ledger's methods
        stack.enter_context(moto_dispatch_shortcuts())
        stack.enter_context(dynamodb_item_transactions())
        stack.enter_context(dynamodb_atomic_requests())
        stack.enter_context(dynamodb_key_queries())
        fault_log = stack.enter_context(moto_faults(faults)) if faults is not None else FaultLog()
        yield LocalAwsPatches(clock=clock, runtime=runtime, events=events, ses=ses, sqs=arrivals, faults=fault_log)
