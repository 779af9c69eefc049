"""A published journey version compiled into its own Step Functions state machine (ASL), node by node. Pure."""

from __future__ import annotations

import json
from typing import Any

from services.journeys.domain.definition import (
    ACTIONS,
    ClaimCodeNode,
    ConditionNode,
    ExitNode,
    HoldoutNode,
    JourneyDefinition,
    SplitNode,
    WaitForEventNode,
    WaitNode,
)

# Every node becomes a state named after it, so the AWS console draws the marketer's graph. A node's task (one
# Lambda call) does the node's work and its bookkeeping (counters, where the run is) and answers which edge to
# take: `$.step = {"node": id, "branch": label}`; a Choice follows the label. Waits are native `Wait` states
# (exact timers, up to a year); a wait for an event is a `.waitForTaskToken` task with `TimeoutSeconds`.

# Node ids cannot contain a dot, so these names never collide with a node's states ("<id>", "<id>.<part>").
FINISH = "journey.finish"
FAILED = "journey.fail"
HOLDOUT_WAIT = "journey.holdout"
SUCCEEDED = "journey.done"
FAILED_END = "journey.failed"
ENTRY_WAIT = "journey.start"
# errors of the Lambda service itself, and our own "try again later" (SES throttling, a webhook that is down, a
# global rate limit): retried with back-off; the task is idempotent on its dedupe key, so a retry never sends twice
TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
]
TRY_AGAIN = "TryAgain"
# What a task raises when AWS failed it past botocore's own retries (a throttled or failed call, a lost answer, events
# the bus refused): every task is idempotent on its execution, node and entry time, so it is retried like TryAgain.
# boto3 raises a ClientError subclass named after the error code when the service models it, and Step Functions
# matches the class name, so the transient codes are listed one by one.
AWS_FAILURES = [
    "PublishFailed",
    "InternalCallFailed",  # another service's internal function failed (its own AWS calls throttled, say)
    "ClientError",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "TooManyRequestsException",
    "TransactionConflictException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "EndpointConnectionError",
]
HOLDOUT_WINDOW_DEFAULT = 7 * 86400


def _label(target: str | None) -> str:
    return target if target is not None else FINISH


def _task(function: str, kind: str, node_id: str, *, token: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "kind": kind,
        "node": node_id,
        "run.$": "$.run",
        "via.$": "$.step",
        "execution.$": "$$.Execution.Id",
        "enteredTime.$": "$$.State.EnteredTime",
    }
    if token:
        payload["token.$"] = "$$.Task.Token"
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke" + (".waitForTaskToken" if token else ""),
        "Parameters": {"FunctionName": "${" + function + "}", "Payload": payload},
        "ResultPath": "$.step",
        "Retry": [
            {"ErrorEquals": TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2},
            {"ErrorEquals": [TRY_AGAIN], "IntervalSeconds": 5, "MaxAttempts": 8, "BackoffRate": 2},
            {"ErrorEquals": AWS_FAILURES, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2},
        ],
    }
    if not token:
        state["ResultSelector"] = {
            "node.$": "$.Payload.node",
            "branch.$": "$.Payload.branch",
            "until.$": "$.Payload.until",
        }
    return state


def _choice(node_id: str, targets: dict[str, str], default: str) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.step.branch", "StringEquals": label, "Next": target} for label, target in targets.items()
        ],
        "Default": default,
    }


def compile_journey(
    definition: JourneyDefinition,
    *,
    step_function: str = "step",
    email_function: str = "send_email",
    holdout_window_seconds: int = HOLDOUT_WINDOW_DEFAULT,
) -> dict[str, Any]:
    """The ASL document of one journey version. `${step}`/`${send_email}` are substituted with function ARNs."""
    states: dict[str, Any] = {}
    for node in definition.nodes:
        states.update(_node_states(node, step_function, email_function))
    states[FINISH] = {**_task(step_function, "finish", FINISH), "Next": SUCCEEDED}
    states[FAILED] = {**_task(step_function, "fail", FAILED), "Next": FAILED_END}
    states[HOLDOUT_WAIT] = {"Type": "Wait", "Seconds": holdout_window_seconds, "Next": FINISH}
    states[SUCCEEDED] = {"Type": "Succeed"}
    states[FAILED_END] = {
        "Type": "Fail",
        "Error": "JourneyStepFailed",
        "Cause": "A step failed and has no failure edge; see the run in GET /v1/journeys/{id}/runs.",
    }
    start = definition.start
    if definition.entry.trigger.trait_date is not None:
        # entered when the trait is set; the run itself begins on the trait's date (+ offset)
        states[ENTRY_WAIT] = {"Type": "Wait", "TimestampPath": "$.run.startAt", "Next": definition.start}
        start = ENTRY_WAIT
    return {
        "Comment": f"Journey {definition.name!r}: one run per profile. Generated from the journey definition; "
        "do not edit (publish a new version instead).",
        "StartAt": start,
        "States": states,
    }


def _node_states(node: Any, step: str, email: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    nid = node.id
    if isinstance(node, WaitNode):
        out[nid] = {**_task(step, "wait", nid), "Next": f"{nid}.wait"}
        out[f"{nid}.wait"] = {"Type": "Wait", "TimestampPath": "$.step.until", "Next": _label(node.next)}
    elif isinstance(node, WaitForEventNode):
        task = _task(step, "waitForEvent", nid, token=True)
        task["TimeoutSeconds"] = node.timeout_seconds
        task["Catch"] = [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": f"{nid}.timeout"}]
        out[nid] = {**task, "Next": f"{nid}.branch"}
        out[f"{nid}.timeout"] = {
            "Type": "Pass",
            "Result": {"node": nid, "branch": "timeout"},
            "ResultPath": "$.step",
            "Next": _label(node.timeout_next),
        }
        out[f"{nid}.branch"] = _choice(
            nid, {str(i): _label(b.next) for i, b in enumerate(node.branches)}, _label(node.timeout_next)
        )
    elif isinstance(node, ConditionNode):
        out[nid] = {**_task(step, "condition", nid), "Next": f"{nid}.branch"}
        out[f"{nid}.branch"] = _choice(
            nid, {str(i): _label(b.next) for i, b in enumerate(node.branches)}, _label(node.else_next)
        )
    elif isinstance(node, SplitNode):
        out[nid] = {**_task(step, "split", nid), "Next": f"{nid}.branch"}
        targets = {str(i): _label(b.next) for i, b in enumerate(node.branches)}
        out[f"{nid}.branch"] = _choice(nid, targets, _label(node.branches[-1].next))
    elif isinstance(node, HoldoutNode):
        out[nid] = {**_task(step, "holdout", nid), "Next": f"{nid}.branch"}
        out[f"{nid}.branch"] = _choice(nid, {"holdout": HOLDOUT_WAIT}, _label(node.next))
    elif isinstance(node, ACTIONS):
        kind = node.type
        task = _task(email if kind == "email" else step, kind, nid)
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{nid}.error"}]
        out[nid] = {**task, "Next": f"{nid}.branch"}
        failure = node.on_failure if node.on_failure is not None else FAILED
        out[f"{nid}.error"] = {
            "Type": "Pass",
            "Result": {"node": nid, "branch": "failed"},
            "ResultPath": "$.step",
            "Next": failure,
        }
        hold = _task(step, "hold", nid, token=True)
        out[f"{nid}.hold"] = {**hold, "ResultPath": None, "Next": nid}
        # over a frequency cap or in quiet hours: wait until the message may go, then try the node again
        out[f"{nid}.defer"] = {"Type": "Wait", "TimestampPath": "$.step.until", "Next": nid}
        targets = {"held": f"{nid}.hold", "deferred": f"{nid}.defer", "failed": failure}
        if isinstance(node, ClaimCodeNode) and node.on_empty is not None:
            targets["empty"] = node.on_empty  # the pool had no code left
        out[f"{nid}.branch"] = _choice(nid, targets, _label(node.next))
    elif isinstance(node, ExitNode):
        out[nid] = {**_task(step, "exit", nid), "Next": SUCCEEDED}
    else:  # pragma: no cover - the definition's union is closed
        raise TypeError(f"no compilation for {type(node).__name__}")
    return out


def substitute(asl: dict[str, Any], functions: dict[str, str]) -> str:
    """The ASL as JSON with `${name}` replaced by the function ARNs."""
    text = json.dumps(asl, ensure_ascii=False)
    for name, arn in functions.items():
        text = text.replace("${" + name + "}", arn)
    return text
