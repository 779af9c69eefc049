"""Canaries for infra.local.moto_patches: each patch's user-visible behaviour against moto 5.2.5.

If a moto upgrade moves a patch point, these fail (fast, via verify_patch_points, or by behaviour) instead of
a journey test hanging on a real-time 14-day wait.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ses.models import ses_backends

from infra.local import moto_patches
from infra.local.moto_patches import (
    InProcessLambdaRuntime,
    LocalAwsPatches,
    MotoVersionError,
    VirtualClock,
    arrivals,
    dispatch,
    dynamodb,
    dynamodb_item_transactions,
    dynamodb_key_queries,
    eventbridge,
    faults,
    lambdas,
    local_aws_patches,
    moto_version_guard,
    sesv2,
    sqs,
    sqs_constant_time,
    virtual_clock,
)
from infra.local.moto_patches.eventbridge import render_input_template

from . import handlers_for_tests as handlers

REGION = "eu-west-1"
ACCOUNT = "123456789012"
UTC = dt.UTC
START = dt.datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
# import path of the handler module, however pytest imported this package
HANDLERS = handlers.__name__


# ---- fixtures & helpers -------------------------------------------------------------------------------------
@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore 1.44 would send DynamoDB-streams calls to account-ID endpoints moto does not route
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAwsPatches]:
    clock = VirtualClock(START)
    monkeypatch.setattr(handlers, "clock_now", clock.now)
    monkeypatch.setattr(handlers, "received", [])
    monkeypatch.setattr(handlers, "flaky_calls", [])
    with (
        mock_aws(config=MOTO_CONFIG),
        local_aws_patches(clock, InProcessLambdaRuntime()) as patches,
    ):
        yield patches


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def eventually(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll (10 ms) until predicate() is truthy; bounded by `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def stays(predicate: Callable[[], bool], seconds: float = 0.1) -> bool:
    """True if predicate() holds throughout `seconds` of real time (checked every 10 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(0.01)
    return predicate()


def role_arn() -> str:
    iam = client("iam")
    try:
        return iam.get_role(RoleName="local-role")["Role"]["Arn"]
    except ClientError:
        return iam.create_role(RoleName="local-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def create_function(name: str, handler: str, env: dict[str, str] | None = None) -> str:
    code = io.BytesIO()
    zipfile.ZipFile(code, "w").close()  # the code is never run: the in-process runtime imports `handler`
    return client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(),
        Handler=handler,
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": env or {}},
    )["FunctionArn"]


def create_state_machine(definition: dict[str, Any]) -> str:
    return client("stepfunctions").create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}",
        roleArn=role_arn(),
        definition=json.dumps(definition),
    )["stateMachineArn"]


def start(state_machine_arn: str, payload: dict[str, Any] | None = None) -> str:
    # Always name executions: moto names unnamed ones ":None" and rejects the second.
    return client("stepfunctions").start_execution(
        stateMachineArn=state_machine_arn,
        name=str(uuid.uuid4()),
        input=json.dumps(payload or {}),
    )["executionArn"]


def describe(execution_arn: str) -> dict[str, Any]:
    return client("stepfunctions").describe_execution(executionArn=execution_arn)


def status(execution_arn: str) -> str:
    return str(describe(execution_arn)["status"])


def finished(execution_arn: str, timeout: float = 5.0) -> dict[str, Any]:
    return eventually(
        lambda: (d := describe(execution_arn))["status"] != "RUNNING" and d,
        timeout,
        "execution end",
    )


def blocked_on(clock: VirtualClock, *deadlines: dt.datetime) -> None:
    """Wait until the execution threads are blocked on exactly these virtual deadlines."""
    eventually(
        lambda: clock.pending_deadlines() == list(deadlines),
        what=f"deadlines {deadlines}",
    )


def queue(name: str) -> tuple[str, str]:
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(url: str, count: int = 1, timeout: float = 2.0) -> list[dict[str, Any]]:
    """At least `count` messages from the queue (received messages stay invisible, so they accumulate)."""
    sqs = client("sqs")
    messages: list[dict[str, Any]] = []

    def poll() -> bool:
        messages.extend(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))
        return len(messages) >= count

    eventually(poll, timeout, f"{count} message(s) on {url}")
    return messages


# ---- canaries: patch points and version pin -------------------------------------------------------------------
@pytest.mark.parametrize(
    "module",
    [virtual_clock, lambdas, eventbridge, sesv2, sqs, arrivals, dispatch, dynamodb, faults],
    ids=lambda m: m.__name__,
)
def test_patch_points_are_where_the_patches_expect_them(module: Any) -> None:
    module.verify_patch_points()


def test_moto_version_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    assert moto.__version__ == moto_patches.SUPPORTED_MOTO_VERSION == "5.2.5"
    moto_version_guard()
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(MotoVersionError, match=r"proven against moto 5\.2\.5, but moto 5\.3\.0"):
        moto_version_guard()
    with pytest.raises(MotoVersionError), local_aws_patches():
        pass


def test_patches_are_removed_on_exit() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core import responses as core_responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.events.models import Rule
    from moto.sesv2.responses import SESV2Response
    from moto.sqs.models import Queue, SQSBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    def current() -> tuple[Any, ...]:
        return (
            WaitFunction._wait_interval,
            retrier_decl.time,
            LambdaFunction._invoke_lambda,
            LambdaSimpleBackend.invoke,
            Rule.send_to_targets,
            SESV2Response.send_email,
            vars(Queue)["approximate_number_of_messages"],
            Queue.delete_message,
            SQSBackend.receive_message,
            SQSBackend.send_message,
            Queue.add_message,
            SQSBackend.change_message_visibility,
            core_responses.method_names_from_class,
            core_responses.camelcase_to_underscores,
            DynamoDBBackend.transact_write_items,
            Table.query,
            Table.all_items,
        )

    before = current()
    with local_aws_patches():
        assert WaitFunction._wait_interval is not before[0]
        assert hasattr(SESV2Response, "create_email_template")
        assert SQSBackend.receive_message is not before[8]
    after = current()
    assert after == before
    assert not hasattr(SESV2Response, "create_email_template")


# ---- virtual clock --------------------------------------------------------------------------------------------
def test_virtual_clock_moves_only_when_told_and_notifies_on_advance() -> None:
    clock = VirtualClock(START)
    seen: list[tuple[dt.datetime, dt.datetime]] = []
    unsubscribe = clock.on_advance(lambda old, new: seen.append((old, new)))

    assert clock.now() == START and clock.now().tzinfo is not None
    assert clock.advance(days=1) == START + dt.timedelta(days=1)
    clock.advance_by(dt.timedelta(hours=2))
    # other zones are converted to UTC
    clock.set(dt.datetime(2025, 1, 3, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    clock.advance(seconds=0)  # no move, no notification
    assert clock.now() == dt.datetime(2025, 1, 2, 23, 0, tzinfo=UTC)
    assert seen == [
        (START, START + dt.timedelta(days=1)),
        (START + dt.timedelta(days=1), START + dt.timedelta(days=1, hours=2)),
        (
            START + dt.timedelta(days=1, hours=2),
            dt.datetime(2025, 1, 2, 23, 0, tzinfo=UTC),
        ),
    ]
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(hours=-1)
    with pytest.raises(ValueError, match="naive"):
        clock.set(dt.datetime(2030, 1, 1))

    # sleep(): blocks until the virtual deadline, visible in pending_deadlines()
    results: list[bool] = []
    sleeper = threading.Thread(target=lambda: results.append(clock.sleep(3600)), daemon=True)
    sleeper.start()
    deadline = clock.now() + dt.timedelta(hours=1)
    blocked_on(clock, deadline)
    clock.advance(minutes=59)
    assert stays(lambda: not results, 0.05)
    assert clock.advance_to_next_deadline() == deadline
    sleeper.join(timeout=2)
    assert results == [False]  # False: the time ran out (True would mean `done` fired)
    assert clock.pending_deadlines() == [] and clock.advance_to_next_deadline() is None

    # done() ends a sleep early; a failing callback does not stop the others and surfaces afterwards
    flag = threading.Event()
    waker = threading.Timer(0.02, flag.set)
    waker.start()
    assert clock.sleep(None, done=flag.is_set) is True
    unsubscribe()
    clock.on_advance(lambda old, new: 1 / 0)
    clock.on_advance(lambda old, new: seen.append((old, new)))
    count = len(seen)
    with pytest.raises(ZeroDivisionError):
        clock.advance(minutes=1)
    assert len(seen) == count + 1


def test_on_advance_callbacks_see_old_and_new_times_from_every_kind_of_move(
    aws: LocalAwsPatches,
) -> None:
    # e.g. a scheduled-rule firer: fire the rules whose schedule falls in (old, new]
    clock = aws.clock
    fired: list[tuple[str, str]] = []
    clock.on_advance(lambda old, new: fired.append((old.isoformat(), new.isoformat())))
    arn = create_state_machine({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    execution = start(arn)
    blocked_on(clock, START + dt.timedelta(minutes=10))
    clock.advance(minutes=1)
    clock.advance_to_next_deadline()
    clock.set(START + dt.timedelta(days=1))
    assert finished(execution)["status"] == "SUCCEEDED"
    assert fired == [
        ("2025-01-01T09:00:00+00:00", "2025-01-01T09:01:00+00:00"),
        ("2025-01-01T09:01:00+00:00", "2025-01-01T09:10:00+00:00"),
        ("2025-01-01T09:10:00+00:00", "2025-01-02T09:00:00+00:00"),
    ]


def test_14_day_wait_finishes_only_when_the_clock_passes_14_days(
    aws: LocalAwsPatches,
) -> None:
    clock = aws.clock
    arn = create_state_machine(
        {
            "StartAt": "Wait2Weeks",
            "States": {
                "Wait2Weeks": {"Type": "Wait", "Seconds": 14 * 86400, "Next": "Done"},
                "Done": {"Type": "Pass", "Result": {"done": True}, "End": True},
            },
        }
    )
    execution = start(arn)
    blocked_on(clock, START + dt.timedelta(days=14))

    clock.advance(days=13, hours=23, minutes=59)
    assert stays(lambda: status(execution) == "RUNNING")

    real_start = time.monotonic()
    clock.advance(minutes=1)
    result = finished(execution)
    elapsed = time.monotonic() - real_start
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"]) == {"done": True}
    assert elapsed < 0.5, f"took {elapsed:.2f}s of real time"


def test_seconds_path_timestamp_and_timestamp_path_waits_use_virtual_utc(
    aws: LocalAwsPatches,
) -> None:
    clock = aws.clock
    arn = create_state_machine(
        {
            "StartAt": "ByPath",
            "States": {
                "ByPath": {
                    "Type": "Wait",
                    "SecondsPath": "$.delay",
                    "Next": "UntilPath",
                },
                "UntilPath": {
                    "Type": "Wait",
                    "TimestampPath": "$.until",
                    "Next": "UntilLiteral",
                },
                "UntilLiteral": {
                    "Type": "Wait",
                    "Timestamp": "2025-02-01T00:00:00Z",
                    "End": True,
                },
            },
        }
    )
    execution = start(arn, {"delay": 3 * 86400, "until": "2025-01-25T09:30:00Z"})

    blocked_on(clock, START + dt.timedelta(days=3))
    clock.advance_to_next_deadline()
    blocked_on(clock, dt.datetime(2025, 1, 25, 9, 30, tzinfo=UTC))
    clock.advance_to_next_deadline()
    blocked_on(clock, dt.datetime(2025, 2, 1, tzinfo=UTC))
    clock.advance(days=30)
    assert finished(execution)["status"] == "SUCCEEDED"


def test_stop_execution_interrupts_a_virtual_wait(aws: LocalAwsPatches) -> None:
    arn = create_state_machine(
        {
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": True}},
        }
    )
    execution = start(arn)
    blocked_on(aws.clock, START + dt.timedelta(days=1))
    client("stepfunctions").stop_execution(executionArn=execution)
    eventually(lambda: aws.clock.pending_deadlines() == [], what="the wait to end")
    assert status(execution) == "ABORTED"


def _callback_machine(queue_url: str, **task_settings: Any) -> dict[str, Any]:
    return {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {
                        "token.$": "$$.Task.Token",
                        "execution.$": "$$.Execution.Id",
                    },
                },
                "ResultPath": "$.answer",
                **task_settings,
                "Catch": [
                    {
                        "ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"],
                        "ResultPath": "$.err",
                        "Next": "NoAnswer",
                    }
                ],
                "Next": "Answered",
            },
            "Answered": {"Type": "Pass", "End": True},
            "NoAnswer": {"Type": "Pass", "End": True},
        },
    }


def test_wait_for_task_token_times_out_when_the_clock_passes_7_days(
    aws: LocalAwsPatches,
) -> None:
    clock = aws.clock
    url, _ = queue("asks")
    arn = create_state_machine(_callback_machine(url, TimeoutSeconds=7 * 86400))

    timed_out, answered = start(arn), start(arn)
    tokens = {body["execution"]: body["token"] for body in (json.loads(m["Body"]) for m in receive(url, 2))}
    blocked_on(clock, START + dt.timedelta(days=7), START + dt.timedelta(days=7))

    clock.advance(days=6, hours=23)
    assert stays(lambda: status(timed_out) == "RUNNING")
    # a real callback still resumes its execution at once
    client("stepfunctions").send_task_success(taskToken=tokens[answered], output=json.dumps({"clicked": True}))
    assert json.loads(finished(answered)["output"])["answer"] == {"clicked": True}
    assert status(timed_out) == "RUNNING"

    clock.advance(hours=1)
    output = json.loads(finished(timed_out)["output"])
    assert output["err"]["Error"] == "States.Timeout"


def test_heartbeat_timeout_follows_the_virtual_clock(aws: LocalAwsPatches) -> None:
    clock = aws.clock
    url, _ = queue("heartbeats")
    arn = create_state_machine(_callback_machine(url, TimeoutSeconds=30 * 86400, HeartbeatSeconds=3600))
    execution = start(arn)
    token = json.loads(receive(url)[0]["Body"])["token"]
    blocked_on(clock, START + dt.timedelta(hours=1))

    clock.advance(minutes=40)
    client("stepfunctions").send_task_heartbeat(taskToken=token)
    # the hour restarts at the heartbeat
    blocked_on(clock, START + dt.timedelta(minutes=100))
    # 80 minutes in: past the first hour, within the renewed one
    clock.advance(minutes=40)
    assert stays(lambda: status(execution) == "RUNNING")
    clock.advance_to_next_deadline()
    # moto reports a heartbeat timeout as States.Timeout (HeartbeatTimeoutError is a TimeoutError); only the
    # heartbeat can have fired here, the 30-day TimeoutSeconds is far away.
    assert json.loads(finished(execution)["output"])["err"]["Error"] == "States.Timeout"
    assert clock.now() == START + dt.timedelta(minutes=100)


def test_parked_executions_do_not_spin_and_still_stop_at_once(aws: LocalAwsPatches) -> None:
    arn = create_state_machine(
        {"StartAt": "Park", "States": {"Park": {"Type": "Wait", "Seconds": 86_400, "End": True}}}
    )
    executions = [start(arn) for _ in range(200)]
    blocked_on(aws.clock, *[START + dt.timedelta(days=1)] * 200)
    time.sleep(2.5)  # long enough for every waiter to back off its safety poll
    cpu = time.process_time()
    time.sleep(1.0)
    # measured: 200 waiters polling every 20 ms cost ~0.5 s of CPU a second (1,000: more than a core); now ~0.02
    assert time.process_time() - cpu < 0.15

    sfn = client("stepfunctions")
    sfn.stop_execution(executionArn=executions[0])
    started = time.monotonic()
    eventually(lambda: status(executions[0]) == "ABORTED", timeout=2.0, what="the stopped execution")
    assert time.monotonic() - started < 0.5  # woken by the stop, not by the next safety poll
    aws.clock.advance(days=1)
    for execution in executions[1:]:
        assert finished(execution)["status"] == "SUCCEEDED"


def test_retry_backoff_sleeps_in_virtual_time(aws: LocalAwsPatches) -> None:
    clock = aws.clock
    create_function("flaky", f"{HANDLERS}.flaky")
    arn = create_state_machine(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "OutputPath": "$.Payload",
                    "Parameters": {"FunctionName": "flaky", "Payload": {}},
                    "Retry": [
                        {
                            "ErrorEquals": ["Flaky"],
                            "IntervalSeconds": 3600,
                            "BackoffRate": 2,
                            "MaxAttempts": 3,
                        }
                    ],
                    "End": True,
                }
            },
        }
    )
    real_start = time.monotonic()
    execution = start(arn)
    blocked_on(clock, START + dt.timedelta(hours=1))
    clock.advance_to_next_deadline()
    blocked_on(clock, START + dt.timedelta(hours=3))  # 1 h, then 2 h (BackoffRate 2)
    clock.advance_to_next_deadline()
    result = finished(execution)
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"]) == {"ok": 3}
    assert handlers.flaky_calls == [
        "2025-01-01T09:00:00+00:00",
        "2025-01-01T10:00:00+00:00",
        "2025-01-01T12:00:00+00:00",
    ]
    assert time.monotonic() - real_start < 3


# ---- in-process Lambda -----------------------------------------------------------------------------------------
def test_direct_invoke_runs_the_handler_with_the_function_environment(
    aws: LocalAwsPatches,
) -> None:
    arn = create_function("echo", f"{HANDLERS}.echo_env", {"TABLE_NAME": "users"})
    response = client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"id": "u1"}))
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert body["event"] == {"id": "u1"}
    assert body["table"] == "users" and body["env_function_name"] == "echo"
    assert body["function_name"] == "echo" and body["arn"] == arn and body["memory"] == 128
    assert body["remaining_ms"] > 0 and body["request_id"]
    assert "TABLE_NAME" not in os.environ  # restored after the call

    calls = aws.runtime.calls_to("echo")
    assert [c.event for c in calls] == [{"id": "u1"}] and calls[0].cold_start and not calls[0].errored
    assert aws.runtime.invocations.maxlen == 10_000


@pytest.mark.parametrize("reader", ["botocore client endpoint", "urllib opener", "requests session"])
def test_other_threads_read_the_environment_safely_while_handlers_run(
    aws: LocalAwsPatches, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    # A handler's environment is put into os.environ and taken out when it returns. Proxy lookup, which botocore
    # runs on every client creation and urllib/requests on every opener/session, iterates os.environ: it lists
    # the keys, then reads them one by one. Here the invocation ends right after the listing (seen in CI on a
    # test's client creation as KeyError: '_HANDLER').
    import urllib.request

    import botocore.utils
    import requests.utils

    lookups: dict[str, Callable[[], Any]] = {
        "botocore client endpoint": lambda: botocore.utils.get_environ_proxies(
            "https://dynamodb.eu-west-1.amazonaws.com"
        ),
        "urllib opener": urllib.request.ProxyHandler,
        "requests session": lambda: requests.utils.get_environ_proxies("http://127.0.0.1:8080/v1/batch"),
    }
    running, returning = threading.Event(), threading.Event()

    def handler(event: Any, context: Any) -> dict[str, bool]:
        running.set()
        return {"returned": returning.wait(5)}

    aws.runtime.register("slow", handler)
    create_function("slow", "does.not.exist", {"SETTING_A": "a", "SETTING_B": "b"})
    invocation = threading.Thread(target=lambda: client("lambda").invoke(FunctionName="slow"))
    invocation.start()
    assert running.wait(5) and os.environ["SETTING_A"] == "a"

    decode = os.environ.decodevalue

    def decode_after_the_invocation_ends(value: bytes) -> str:
        if not returning.is_set():  # first value read by the lookup: its keys are already listed
            returning.set()
            invocation.join(5)
        return decode(value)

    monkeypatch.setattr(os.environ, "decodevalue", decode_after_the_invocation_ends)
    lookups[reader]()  # KeyError: 'SETTING_A' (or another of the function's keys) without the patch
    assert not invocation.is_alive() and "SETTING_A" not in os.environ


def test_sqs_event_source_mapping_reaches_the_same_runtime(aws: LocalAwsPatches) -> None:
    # moto calls fn.invoke directly for event-source mappings (synchronously, inside send_message)
    lambda_arn = create_function("consumer", f"{HANDLERS}.record")
    url, queue_arn = queue("jobs")
    client("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=lambda_arn, BatchSize=1)
    client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"job": 1}))
    [event] = eventually(lambda: handlers.received, what="the SQS batch")
    assert [json.loads(r["body"]) for r in event["Records"]] == [{"job": 1}]


def test_registry_handlers_and_powertools_context(aws: LocalAwsPatches) -> None:
    aws.runtime.register("from-registry", lambda event, context: {"via": "registry", "n": event["n"] + 1})
    create_function("from-registry", "does.not.exist")
    create_function("pt", f"{HANDLERS}.powertools")
    create_function("pt-before", f"{HANDLERS}.powertools")
    lam = client("lambda")
    # another function's calls in the same process (here, or in any earlier test) leave pt's first call cold
    assert json.loads(lam.invoke(FunctionName="pt-before")["Payload"].read()) == {"cold_start": True, "fn": "pt-before"}
    assert json.loads(lam.invoke(FunctionName="from-registry", Payload=b'{"n": 1}')["Payload"].read()) == {
        "via": "registry",
        "n": 2,
    }
    first = json.loads(lam.invoke(FunctionName="pt", Payload=b"{}")["Payload"].read())
    # no payload: the handler gets {}
    second = json.loads(lam.invoke(FunctionName="pt")["Payload"].read())
    assert first == {"cold_start": True, "fn": "pt"} and second["cold_start"] is False
    assert aws.runtime.calls_to("pt")[-1].event == {}


def test_raising_handler_gives_function_error_and_a_catchable_step_functions_error(
    aws: LocalAwsPatches,
) -> None:
    create_function("fail", f"{HANDLERS}.fail")
    create_function("echo", f"{HANDLERS}.echo_env", {"TABLE_NAME": "scores"})

    response = client("lambda").invoke(FunctionName="fail", Payload=json.dumps({"id": "u9"}))
    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Handled"  # moto's value; AWS says "Unhandled"
    assert error["errorType"] == "InvalidScore" and error["errorMessage"] == "bad input u9"
    assert aws.runtime.calls_to("fail")[-1].errored

    arn = create_state_machine(
        {
            "StartAt": "Score",
            "States": {
                "Score": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "echo", "Payload": {"id.$": "$.id"}},
                    "ResultSelector": {"table.$": "$.Payload.table"},
                    "ResultPath": "$.score",
                    "Next": "Bad",
                },
                "Bad": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "fail", "Payload": {"id.$": "$.id"}},
                    "Catch": [
                        {
                            "ErrorEquals": ["InvalidScore"],
                            "ResultPath": "$.err",
                            "Next": "Caught",
                        }
                    ],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        }
    )
    output = json.loads(finished(start(arn, {"id": "u1"}))["output"])
    assert output["score"] == {"table": "scores"}
    assert output["err"]["Error"] == "InvalidScore"
    assert json.loads(output["err"]["Cause"])["errorMessage"] == "bad input u1"


# ---- EventBridge ----------------------------------------------------------------------------------------------
def test_rule_with_lambda_and_step_functions_targets_fires(
    aws: LocalAwsPatches,
) -> None:
    lambda_arn = create_function("listener", f"{HANDLERS}.record")
    sm_arn = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    eb = client("events")
    eb.put_rule(
        Name="signups",
        EventPattern=json.dumps({"source": ["app.auth"], "detail": {"n": [{"numeric": [">", 1]}]}}),
    )
    eb.put_targets(
        Rule="signups",
        Targets=[{"Id": "fn", "Arn": lambda_arn}, {"Id": "sm", "Arn": sm_arn}],
    )

    eb.put_events(
        Entries=[
            {
                "Source": "app.auth",
                "DetailType": "UserSignedUp",
                "Detail": json.dumps({"n": 2}),
            },
            {
                "Source": "app.auth",
                "DetailType": "UserSignedUp",
                "Detail": json.dumps({"n": 0}),  # does not match
            },
        ]
    )

    [event] = handlers.received
    assert event["account"] == ACCOUNT and event["detail"] == {"n": 2} and event["detail-type"] == "UserSignedUp"
    # the envelope time follows the virtual clock
    assert event["time"] == "2025-01-01T09:00:00Z"
    assert event["region"] == REGION and event["version"] == "0" and event["resources"] == []
    [execution] = client("stepfunctions").list_executions(stateMachineArn=sm_arn)["executions"]
    assert json.loads(finished(execution["executionArn"])["output"]) == event
    assert not aws.events.failures and len(aws.events.deliveries) == 2


def test_disabled_and_schedule_only_rules_do_not_deliver(aws: LocalAwsPatches) -> None:
    lambda_arn = create_function("listener", f"{HANDLERS}.record")
    url, queue_arn = queue("disabled")
    eb = client("events")
    eb.put_rule(Name="off", EventPattern=json.dumps({"source": ["app"]}), State="DISABLED")
    eb.put_targets(
        Rule="off",
        Targets=[{"Id": "fn", "Arn": lambda_arn}, {"Id": "q", "Arn": queue_arn}],
    )
    eb.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * ? *)")
    eb.put_targets(Rule="nightly", Targets=[{"Id": "q", "Arn": queue_arn}])

    eb.put_events(Entries=[{"Source": "app", "DetailType": "T", "Detail": "{}"}])

    assert handlers.received == []
    assert client("sqs").receive_message(QueueUrl=url).get("Messages") is None
    eb.enable_rule(Name="off")
    eb.put_events(Entries=[{"Source": "app", "DetailType": "T", "Detail": "{}"}])
    assert len(handlers.received) == 1 and len(receive(url)) == 1


def test_sqs_target_gets_the_aws_envelope_with_account_and_input_options(
    aws: LocalAwsPatches,
) -> None:
    url, queue_arn = queue("orders")
    eb = client("events")
    eb.put_rule(Name="orders", EventPattern=json.dumps({"source": ["app.orders"]}))
    eb.put_targets(
        Rule="orders",
        Targets=[
            {"Id": "envelope", "Arn": queue_arn},
            {
                "Id": "transformed",
                "Arn": queue_arn,
                "InputTransformer": {
                    "InputPathsMap": {
                        "id": "$.detail.id",
                        "n": "$.detail.n",
                        "acct": "$.account",
                    },
                    "InputTemplate": '{"orderId": <id>, "n": <n>, "text": "order <id> x<n>", "acct": "<acct>", '
                    '"rule": <aws.events.rule-name>}',
                },
            },
            {"Id": "constant", "Arn": queue_arn, "Input": '{"fixed": true}'},
            {"Id": "path", "Arn": queue_arn, "InputPath": "$.detail"},
        ],
    )
    aws.clock.advance(hours=1)
    eb.put_events(
        Entries=[
            {
                "Source": "app.orders",
                "DetailType": "OrderPlaced",
                "Resources": ["arn:x"],
                "Detail": json.dumps({"id": "o-1", "n": 5}),
            }
        ]
    )

    bodies = [json.loads(m["Body"]) for m in receive(url, 4)]
    envelope = next(b for b in bodies if "detail-type" in b)
    assert list(envelope) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert envelope["account"] == ACCOUNT and envelope["time"] == "2025-01-01T10:00:00Z"
    assert envelope["resources"] == ["arn:x"] and envelope["detail"] == {
        "id": "o-1",
        "n": 5,
    }
    assert {
        "orderId": "o-1",
        "n": 5,
        "text": "order o-1 x5",
        "acct": ACCOUNT,
        "rule": "orders",
    } in bodies
    assert {"fixed": True} in bodies
    assert {"id": "o-1", "n": 5} in bodies


def test_input_template_placeholders_follow_aws_quoting() -> None:
    values = {"s": 'a "q"', "n": 3, "o": {"k": [1]}, "missing": None}
    rendered = render_input_template(
        '{"a": <s>, "b": "<s>!", "c": <n>, "d": "<o>", "e": <o>, "f": <missing>, "g": "<unknown> \\"<n>\\""}',
        values,
    )
    assert json.loads(rendered) == {
        "a": 'a "q"',
        "b": 'a "q"!',
        "c": 3,
        "d": '{"k": [1]}',
        "e": {"k": [1]},
        "f": None,
        "g": '<unknown> "3"',
    }


# ---- SQS ------------------------------------------------------------------------------------------------------
class FakeSqsTime:
    """moto's SQS reads the time through its module's unix_time/unix_time_millis; this makes them a dial."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from moto.sqs import models as sqs_models

        self.now = 1_750_000_000.0
        monkeypatch.setattr(sqs_models, "unix_time", lambda dt=None: self.now)
        monkeypatch.setattr(sqs_models, "unix_time_millis", lambda dt=None: self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def counts(url: str) -> tuple[int, int, int]:
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


def queue_with_dlq(name: str, max_receives: int = 2, visibility: int = 30) -> tuple[str, str]:
    sqs = client("sqs")
    dlq_url, dlq_arn = queue(f"{name}-dlq")
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
        },
    )["QueueUrl"]
    return url, dlq_url


def fill(name: str, count: int) -> None:
    """Put `count` messages on the queue straight through the backend (the test is about what comes after)."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[ACCOUNT][REGION]
    for i in range(count):
        backend.send_message(name, f"filler-{i}")


def test_sqs_semantics_hold_behind_a_long_backlog(aws: LocalAwsPatches, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeSqsTime(monkeypatch)
    sqs = client("sqs")
    url, dlq_url = queue_with_dlq("work", max_receives=2, visibility=30)
    sqs.send_message(QueueUrl=url, MessageBody="first")
    fill("work", 20_000)
    sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=5)
    assert counts(url) == (20_001, 0, 1)

    # receive, delete, and again: each call costs the same however long the queue is
    started = time.monotonic()
    for _ in range(100):
        [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert time.monotonic() - started < 10  # unpatched: about a second per receive at this backlog
    assert counts(url) == (19_901, 0, 1)

    # visibility timeout: a received message is invisible until it runs out, then comes back with its count
    batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in batch] == [f"filler-{i}" for i in range(99, 109)]
    assert counts(url) == (19_891, 10, 1)
    clock.advance(31)
    assert counts(url) == (19_902, 0, 0)  # ... and the delayed message is due
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in again] == [m["Body"] for m in batch]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again} == {"2"}

    # delete: by the newest handle or an older one (moto accepts both), twice is fine, a made-up one is refused
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=batch[1]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    result = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "ReceiptHandle": again[2]["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "nope"},
        ],
    )
    assert [e["Id"] for e in result["Successful"]] == ["ok"] and [e["Id"] for e in result["Failed"]] == ["bad"]
    assert counts(url) == (19_892, 7, 0)

    # change visibility: 0 makes it receivable now (the pump's retry), a bad handle is refused
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again[3]["ReceiptHandle"], VisibilityTimeout=0)
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="nope", VisibilityTimeout=0)
    clock.advance(0.001)  # visible once the clock is past "now + 0"
    assert counts(url) == (19_893, 6, 0)

    # redrive: received maxReceiveCount (2) times, the next receive moves it to the DLQ instead
    [third] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert third["Body"] != again[3]["Body"]  # that one went to the DLQ on the way
    [dead] = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"])["Messages"]
    assert dead["Body"] == again[3]["Body"]
    assert counts(url) == (19_891, 7, 0)

    # purge empties the queue and its counts
    sqs.purge_queue(QueueUrl=url)
    assert counts(url) == (0, 0, 0)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None


def _sqs_transcript(monkeypatch: pytest.MonkeyPatch, seed: int) -> list[Any]:
    """A seeded random session of SQS calls (standard queue with DLQ, FIFO queue) and everything it observed."""
    import random

    rng = random.Random(seed)
    clock = FakeSqsTime(monkeypatch)
    sqs = client("sqs")
    url, dlq_url = queue_with_dlq(f"q{seed}", max_receives=3, visibility=20)
    fifo = sqs.create_queue(
        QueueName=f"f{seed}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    handles: list[tuple[str, str]] = []
    seen: list[Any] = []
    sent = 0
    for _ in range(400):
        op = rng.choice(["send", "send", "batch", "receive", "receive", "delete", "visibility", "count", "tick"])
        target = fifo if rng.random() < 0.25 else url
        try:
            if op == "send":
                sent += 1
                extra: dict[str, Any] = {"MessageGroupId": f"g{sent % 3}"} if target == fifo else {}
                if target == url and rng.random() < 0.2:
                    extra["DelaySeconds"] = rng.choice([1, 5, 30])
                sqs.send_message(QueueUrl=target, MessageBody=f"m{sent % 40 if target == fifo else sent}", **extra)
            elif op == "batch" and target == url:
                entries = [{"Id": str(i), "MessageBody": f"b{sent}-{i}"} for i in range(rng.randint(1, 10))]
                sent += 1
                seen.append(("batch", len(sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"])))
            elif op == "receive":
                kwargs: dict[str, Any] = {"MaxNumberOfMessages": rng.randint(1, 10), "AttributeNames": ["All"]}
                if rng.random() < 0.5:
                    kwargs["VisibilityTimeout"] = rng.choice([0, 1, 10, 60])
                got = sqs.receive_message(QueueUrl=target, **kwargs).get("Messages", [])
                handles.extend((target, m["ReceiptHandle"]) for m in got)
                seen.append(("got", [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in got]))
            elif op == "delete" and handles:
                queue_url, handle = rng.choice(handles)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
                seen.append("deleted")
            elif op == "visibility" and handles:
                queue_url, handle = rng.choice(handles)
                timeout = rng.choice([0, 5, 100])
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=timeout)
                seen.append("changed")
            elif op == "count":
                seen.append(("counts", counts(url), counts(fifo), counts(dlq_url)))
            elif op == "tick":
                clock.advance(rng.choice([0.5, 2, 7, 25]))
        except ClientError as error:
            seen.append(("error", op, error.response["Error"]["Code"]))
    seen.append(("end", counts(url), counts(fifo), counts(dlq_url)))
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_sqs_patch_observes_exactly_what_moto_does(aws_env: None, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The same random session, with and without the patch: every receive, count and error must be identical."""
    with mock_aws():
        plain = _sqs_transcript(monkeypatch, seed)
    with mock_aws(), sqs_constant_time():
        patched = _sqs_transcript(monkeypatch, seed)
    assert any(entry[0] == "got" and entry[1] for entry in plain if isinstance(entry, tuple))
    assert patched == plain


def test_sqs_patch_takes_over_queues_that_already_hold_messages(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    FakeSqsTime(monkeypatch)
    with mock_aws():
        sqs = client("sqs")
        url, _ = queue_with_dlq("old", visibility=30)
        for i in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=str(i))
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=10)
        held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
        with sqs_constant_time():
            assert counts(url) == (3, 2, 1)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=held[0]["ReceiptHandle"])
            assert counts(url) == (3, 1, 1)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=held[1]["ReceiptHandle"])  # unpatched again
        with sqs_constant_time():
            assert counts(url) == (3, 0, 1)


# ---- DynamoDB transactions ----------------------------------------------------------------------------------------
def create_tables(suffix: str) -> tuple[str, str]:
    ddb = client("dynamodb")
    ranged, plain = f"ranged{suffix}", f"plain{suffix}"
    ddb.create_table(
        TableName=ranged,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.create_table(
        TableName=plain,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ranged, plain


def stream_events(table: str) -> list[tuple[str, str]]:
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends[ACCOUNT][REGION].get_table(table).stream_shard
    return [(r.record["eventName"], r.record["dynamodb"]["SequenceNumber"]) for r in shard.items]


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(aws: LocalAwsPatches) -> None:
    ddb = client("dynamodb")
    ranged, plain = create_tables("-rollback")
    ddb.put_item(TableName=ranged, Item={"pk": {"S": "p"}, "sk": {"S": "a"}, "n": {"N": "1"}})
    ddb.put_item(TableName=plain, Item={"id": {"S": "gone"}})
    for i in range(500):  # a table big enough that copying it would show
        ddb.put_item(TableName=plain, Item={"id": {"S": f"x{i}"}})
    stream_before = stream_events(ranged)

    writes = [
        {"Update": {"TableName": ranged, "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}}, "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": ranged, "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}}},
        {"Delete": {"TableName": plain, "Key": {"id": {"S": "gone"}}}},
        {"ConditionCheck": {"TableName": plain, "Key": {"id": {"S": "x1"}},
                            "ConditionExpression": "attribute_not_exists(id)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ]  # fmt: skip
    started = time.monotonic()
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=writes)
    assert time.monotonic() - started < 2
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = refused.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"] == {"id": {"S": "x1"}}
    assert ddb.get_item(TableName=ranged, Key={"pk": {"S": "p"}, "sk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName=ranged, Key={"pk": {"S": "p"}, "sk": {"S": "new"}})
    assert "Item" in ddb.get_item(TableName=plain, Key={"id": {"S": "gone"}})
    assert ddb.query(TableName=ranged, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "p"}})["Count"] == 1  # fmt: skip
    assert stream_events(ranged) == stream_before

    ddb.transact_write_items(TransactItems=writes[:3])  # without the failing check: all of it
    assert ddb.get_item(TableName=ranged, Key={"pk": {"S": "p"}, "sk": {"S": "a"}})["Item"]["n"] == {"N": "2"}
    assert "Item" not in ddb.get_item(TableName=plain, Key={"id": {"S": "gone"}})
    assert [name for name, _ in stream_events(ranged)[len(stream_before) :]] == ["MODIFY", "INSERT"]


def _transaction_transcript(seed: int) -> list[Any]:
    """A seeded random series of transactions on two tables, and everything observable after each."""
    import random

    rng = random.Random(seed)
    ddb = client("dynamodb")
    ranged, plain = create_tables(f"-{seed}")
    seen: list[Any] = []

    def op() -> dict[str, Any]:
        kind = rng.choice(["Put", "Update", "Delete", "ConditionCheck", "bad"])
        on_plain = rng.random() < 0.4
        key = (
            {"id": {"S": f"k{rng.randint(0, 5)}"}}
            if on_plain
            else {"pk": {"S": f"p{rng.randint(0, 2)}"}, "sk": {"S": f"s{rng.randint(0, 2)}"}}
        )
        table = plain if on_plain else ranged
        condition = rng.choice([None, "attribute_exists(v)", "attribute_not_exists(v)", "v < :limit"])
        body: dict[str, Any] = {"TableName": table}
        if kind == "Put":
            body["Item"] = {**key, "v": {"N": str(rng.randint(0, 9))}}
        elif kind == "bad":  # an update the validator refuses: the whole call fails with a ValidationException
            return {"Update": {"TableName": table, "Key": key, "UpdateExpression": "SET v = v + :missing"}}
        else:
            body["Key"] = key
        if kind == "Update":
            body["UpdateExpression"] = "ADD v :one SET touched = :t"
            body["ExpressionAttributeValues"] = {":one": {"N": "1"}, ":t": {"S": str(rng.random())[:6]}}
        if kind == "ConditionCheck" and condition is None:
            condition = "attribute_exists(v)"
        if condition:
            body["ConditionExpression"] = condition
            if ":limit" in condition:
                body.setdefault("ExpressionAttributeValues", {})[":limit"] = {"N": "5"}
            if rng.random() < 0.5:
                body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {kind: body}

    for _ in range(150):
        items = [op() for _ in range(rng.randint(1, 5))]
        try:
            ddb.transact_write_items(TransactItems=items)
            seen.append("ok")
        except ClientError as error:
            seen.append((error.response["Error"]["Code"], error.response.get("CancellationReasons")))
        seen.append(
            sorted(map(str, ddb.scan(TableName=ranged)["Items"])) + sorted(map(str, ddb.scan(TableName=plain)["Items"]))
        )
        seen.append(stream_events(ranged))
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_transactions_observe_exactly_what_moto_does(aws_env: None, seed: int) -> None:
    with mock_aws():
        plain = _transaction_transcript(seed)
    with mock_aws(), dynamodb_item_transactions():
        patched = _transaction_transcript(seed)
    outcomes = [entry if isinstance(entry, str) else entry[0] for entry in plain[::3]]
    assert {"ok", "TransactionCanceledException", "ValidationException"} <= set(outcomes)
    assert patched == plain


# ---- DynamoDB queries ---------------------------------------------------------------------------------------------
def create_indexed_tables(suffix: str) -> tuple[str, str]:
    """A (pk, sk) table and a pk-only table, each with an index on (g, v) that not every item is in."""
    ddb = client("dynamodb")
    index = {
        "IndexName": "byG",
        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "v", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }
    ranged, plain = f"qranged{suffix}", f"qplain{suffix}"
    for name, keys in ((ranged, [("pk", "HASH"), ("sk", "RANGE")]), (plain, [("id", "HASH")])):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": a, "KeyType": k} for a, k in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys]
            + [{"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "v", "AttributeType": "N"}],
            GlobalSecondaryIndexes=[index],
            BillingMode="PAY_PER_REQUEST",
        )
    return ranged, plain


def _query_transcript(seed: int) -> list[Any]:
    """A seeded random series of writes and queries (table and index, every kind of key condition, both
    directions, limits and paging, filters, projections, counts, errors), and every answer."""
    import random

    rng = random.Random(seed)
    ddb = client("dynamodb")
    ranged, plain = create_indexed_tables(f"-{seed}")
    seen: list[Any] = []

    def attrs() -> dict[str, Any]:
        extra: dict[str, Any] = {"n": {"N": str(rng.randint(0, 9))}}
        if rng.random() < 0.7:  # the rest are not in the index
            extra["g"] = {"S": f"g{rng.randint(0, 2)}"}
            extra["v"] = {"N": str(rng.randint(-3, 20))}
        return extra

    def write() -> None:
        on_plain = rng.random() < 0.3
        table = plain if on_plain else ranged
        key = (
            {"id": {"S": f"k{rng.randint(0, 30)}"}}
            if on_plain
            else {"pk": {"S": f"p{rng.randint(0, 6)}"}, "sk": {"S": f"s{rng.randint(0, 40):02d}"}}
        )
        if rng.random() < 0.2:
            ddb.delete_item(TableName=table, Key=key)
        else:
            ddb.put_item(TableName=table, Item={**key, **attrs()})

    def query() -> list[Any]:
        kind = rng.choice(["ranged", "ranged", "plain", "index", "index", "bad index", "bad key"])
        request: dict[str, Any] = {"ScanIndexForward": rng.random() < 0.5}
        values: dict[str, Any] = {}
        if kind in ("ranged", "bad key"):
            request["TableName"] = ranged
            condition = "pk = :h"
            values[":h"] = {"S": f"p{rng.randint(0, 7)}"}  # p7 never exists
            comparison = rng.choice([None, "=", "<", "<=", ">", ">=", "between", "begins_with"])
            bound = {"S": f"s{rng.randint(0, 40):02d}"}
            if comparison == "between":
                condition += " AND sk BETWEEN :a AND :b"
                values[":a"], values[":b"] = bound, {"S": f"s{rng.randint(0, 40):02d}"}
            elif comparison == "begins_with":
                condition += " AND begins_with(sk, :a)"
                values[":a"] = {"S": f"s{rng.randint(0, 3)}"}
            elif comparison:
                condition += f" AND sk {comparison} :a"
                values[":a"] = bound
            if kind == "bad key":
                condition = "sk = :h"
        elif kind == "plain":
            request["TableName"] = plain
            condition = "id = :h"
            values[":h"] = {"S": f"k{rng.randint(0, 31)}"}
        else:
            request["TableName"] = rng.choice([ranged, plain])
            request["IndexName"] = "byG" if kind == "index" else "nope"
            condition = "g = :h"
            values[":h"] = {"S": f"g{rng.randint(0, 3)}"}
            if rng.random() < 0.5:
                condition += " AND v <= :a"
                values[":a"] = {"N": str(rng.randint(0, 20))}
        request["KeyConditionExpression"] = condition
        if rng.random() < 0.3:
            request["FilterExpression"] = "n > :f"
            values[":f"] = {"N": str(rng.randint(0, 9))}
        if rng.random() < 0.2:
            request["ProjectionExpression"] = "n, v"
        elif rng.random() < 0.1:
            request["Select"] = "COUNT"
        if rng.random() < 0.5:
            request["Limit"] = rng.randint(1, 7)
        request["ExpressionAttributeValues"] = values
        pages: list[Any] = []
        while True:
            try:
                page = ddb.query(**request)
            except ClientError as error:
                return [*pages, (error.response["Error"]["Code"], error.response["Error"]["Message"])]
            pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
            if "LastEvaluatedKey" not in page:
                return pages
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    for _ in range(400):
        write()
    for _ in range(300):
        if rng.random() < 0.3:
            write()
        seen.append(query())
    seen.append(ddb.scan(TableName=ranged)["Items"])  # scans keep moto's whole-table order
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_queries_observe_exactly_what_moto_does(aws_env: None, seed: int) -> None:
    with mock_aws():
        plain = _query_transcript(seed)
    with mock_aws(), dynamodb_key_queries():
        patched = _query_transcript(seed)
    answers = [query[-1] for query in plain[:-1]]
    assert sum(isinstance(a, tuple) for a in answers) > 10  # refused queries were compared too
    assert sum(isinstance(a, dict) and a["Count"] > 1 for a in answers) > 50  # and many with several items
    assert sum(len(query) > 1 for query in plain[:-1]) > 20  # and paged ones
    assert patched == plain


def test_a_query_reads_only_its_partition_and_only_on_its_own_thread(aws: LocalAwsPatches) -> None:
    from moto.dynamodb.models.table import Table

    ddb = client("dynamodb")
    ranged, _ = create_indexed_tables("-narrow")
    for i in range(50):
        ddb.put_item(TableName=ranged, Item={"pk": {"S": f"p{i % 5}"}, "sk": {"S": f"s{i}"}})
    narrowed = Table.all_items
    listed: list[int] = []
    scanned: list[int] = []

    def all_items(self: Any) -> Any:
        items = narrowed(self)
        listed.append(len(items))
        if len(listed) == 1:  # while the query runs, a scan on another thread still sees the whole table
            worker = threading.Thread(target=lambda: scanned.append(ddb.scan(TableName=ranged)["Count"]))
            worker.start()
            worker.join()
        return items

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(Table, "all_items", all_items)
        answer = ddb.query(
            TableName=ranged, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p3"}}
        )
    assert answer["Count"] == 10 and listed[0] == 10
    assert scanned == [50]


# ---- moto request dispatch --------------------------------------------------------------------------------------
def test_dispatch_shortcut_finds_exactly_the_actions_moto_would(aws: LocalAwsPatches) -> None:
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.responses import EventsHandler
    from moto.sesv2.responses import SESV2Response
    from moto.sqs.responses import SQSResponse

    for cls in (DynamoHandler, EventsHandler, SQSResponse, SESV2Response):
        listed = set(method_names_from_class(cls))  # moto's own, unpatched function
        shortcut = dispatch.FunctionNames(cls)
        assert {name for name in dir(cls) if name in shortcut} == listed and set(shortcut) == listed
    assert "create_email_template" in dispatch.FunctionNames(SESV2Response)  # added by the SESv2 patch
    assert "send_message" in dispatch.FunctionNames(SQSResponse) and "not_an_action" not in dispatch.FunctionNames(
        SQSResponse
    )
    # and requests still reach implemented actions and refuse the rest as moto does
    assert client("sqs").list_queues().get("QueueUrls") is None
    client("sesv2").create_email_template(TemplateName="t", TemplateContent={"Subject": "s", "Text": "x"})
    with pytest.raises(NotImplementedError, match="has not been implemented"):
        client("sesv2").get_account()


# ---- SESv2 ----------------------------------------------------------------------------------------------------
# moto's renderer: {{#each}} items must be objects ({{this}} fails)
ITEMS = [{"label": "a"}, {"label": "b"}]


def test_sesv2_templates_render_on_send(aws: LocalAwsPatches) -> None:
    v2 = client("sesv2")
    v2.create_email_identity(EmailIdentity="app.test")
    v2.create_email_template(
        TemplateName="welcome",
        TemplateContent={
            "Subject": "Hi {{name}}",
            "Text": "Hello {{name}}",
            "Html": "<p>Hello {{name}}</p><ul>{{#each items}}<li>{{label}}</li>{{/each}}</ul>",
        },
    )
    assert v2.get_email_template(TemplateName="welcome")["TemplateContent"]["Subject"] == "Hi {{name}}"
    assert [t["TemplateName"] for t in v2.list_email_templates()["TemplatesMetadata"]] == ["welcome"]

    message_id = v2.send_email(
        FromEmailAddress="hello@app.test",
        Destination={"ToAddresses": ["ana@example.com"]},
        Content={
            "Template": {
                "TemplateName": "welcome",
                "TemplateData": json.dumps({"name": "Ana", "items": ITEMS}),
            }
        },
    )["MessageId"]

    sent = ses_backends[ACCOUNT][REGION].sent_messages[-1]
    assert sent.id == message_id and sent.subject == "Hi Ana"
    assert sent.html == "<p>Hello Ana</p><ul><li>a</li><li>b</li></ul>" and sent.body == sent.html
    assert sent.text == "Hello Ana" and sent.template == "welcome"
    assert sent.template_data == {"name": "Ana", "items": ITEMS}
    assert sent.destinations == {"ToAddresses": ["ana@example.com"]}

    v2.update_email_template(TemplateName="welcome", TemplateContent={"Subject": "Yo {{name}}", "Text": "t"})
    assert v2.get_email_template(TemplateName="welcome")["TemplateContent"] == {
        "Subject": "Yo {{name}}",
        "Text": "t",
    }
    v2.delete_email_template(TemplateName="welcome")
    assert v2.list_email_templates()["TemplatesMetadata"] == []


def test_sesv2_templated_send_keeps_its_headers(aws: LocalAwsPatches) -> None:
    # Given a template, sent with the one-click unsubscribe headers (RFC 8058)
    v2 = client("sesv2")
    v2.create_email_identity(EmailIdentity="app.test")
    v2.create_email_template(TemplateName="news", TemplateContent={"Subject": "News", "Html": "<p>{{name}}</p>"})
    headers = [
        {"Name": "List-Unsubscribe", "Value": "<https://api.app.test/v1/privacy/unsubscribe?token=u1.p.s>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]
    v2.send_email(
        FromEmailAddress="hello@app.test",
        Destination={"ToAddresses": ["ana@example.com"]},
        Content={"Template": {"TemplateName": "news", "TemplateData": json.dumps({"name": "Ana"}), "Headers": headers}},
    )

    # Then the recorded message carries them as sent; a send without headers records none
    assert ses_backends[ACCOUNT][REGION].sent_messages[-1].headers == headers
    v2.send_email(
        FromEmailAddress="hello@app.test",
        Destination={"ToAddresses": ["ana@example.com"]},
        Content={"Template": {"TemplateName": "news", "TemplateData": json.dumps({"name": "Ana"})}},
    )
    assert ses_backends[ACCOUNT][REGION].sent_messages[-1].headers == []
    # And more headers than SES allows (15) are refused
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.send_email(
            FromEmailAddress="hello@app.test",
            Destination={"ToAddresses": ["ana@example.com"]},
            Content={
                "Template": {
                    "TemplateName": "news",
                    "TemplateData": json.dumps({"name": "Ana"}),
                    "Headers": [{"Name": f"X-Extra-{i}", "Value": "x"} for i in range(16)],
                }
            },
        )


def test_sesv2_errors(aws: LocalAwsPatches) -> None:
    v2 = client("sesv2")
    v2.create_email_identity(EmailIdentity="app.test")
    v2.create_email_template(TemplateName="t", TemplateContent={"Subject": "Hi {{name}}", "Text": "x"})
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.send_email(
            FromEmailAddress="hello@app.test",
            Destination={"ToAddresses": ["a@example.com"]},
            Content={"Template": {"TemplateName": "missing", "TemplateData": "{}"}},
        )
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_email_template(TemplateName="missing")
    with pytest.raises(v2.exceptions.AlreadyExistsException):
        v2.create_email_template(TemplateName="t", TemplateContent={"Subject": "again"})
    with pytest.raises(ClientError, match="MessageRejected"):
        v2.send_email(
            FromEmailAddress="x@unverified.org",
            Destination={"ToAddresses": ["a@example.com"]},
            Content={
                "Template": {
                    "TemplateName": "t",
                    "TemplateData": json.dumps({"name": "A"}),
                }
            },
        )

    # A missing variable: accepted but never sent (AWS's "Rendering Failure"), recorded for assertions.
    sent_before = len(ses_backends[ACCOUNT][REGION].sent_messages)
    v2.send_email(
        FromEmailAddress="hello@app.test",
        Destination={"ToAddresses": ["a@example.com"]},
        Content={"Template": {"TemplateName": "t", "TemplateData": "{}"}},
    )
    assert len(ses_backends[ACCOUNT][REGION].sent_messages) == sent_before
    [failure] = aws.ses.rendering_failures
    assert failure.template == "t" and "name" in failure.error


def test_sesv2_templated_send_from_step_functions(aws: LocalAwsPatches) -> None:
    v2 = client("sesv2")
    v2.create_email_identity(EmailIdentity="app.test")
    v2.create_email_template(
        TemplateName="nudge",
        TemplateContent={
            "Subject": "Still there, {{name}}?",
            "Html": "<b>{{name}}</b>",
        },
    )
    arn = create_state_machine(
        {
            "StartAt": "Mail",
            "States": {
                "Mail": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sesv2:sendEmail",
                    "End": True,
                    "Parameters": {
                        "FromEmailAddress": "hello@app.test",
                        "Destination": {"ToAddresses.$": "States.Array($.email)"},
                        "Content": {
                            "Template": {
                                "TemplateName": "nudge",
                                "TemplateData.$": "States.JsonToString($)",
                            }
                        },
                    },
                }
            },
        }
    )
    result = finished(start(arn, {"name": "Bea", "email": "bea@example.com"}))
    assert result["status"] == "SUCCEEDED", result
    sent = ses_backends[ACCOUNT][REGION].sent_messages[-1]
    assert sent.subject == "Still there, Bea?" and sent.html == "<b>Bea</b>"


def test_conditional_writes_from_threads_have_one_winner_each(aws: LocalAwsPatches) -> None:
    """DynamoDB applies a conditional update as one step; with requests from eight threads at once, each item
    gets exactly one owner and every winner's answer (ALL_NEW) names itself."""
    ddb = client("dynamodb")
    _, plain = create_tables("-atomic")
    winners: dict[str, list[str]] = {}
    lock = threading.Lock()

    def claim(item: str, me: str, start: threading.Barrier) -> None:
        start.wait()
        try:
            answer = ddb.update_item(
                TableName=plain,
                Key={"id": {"S": item}},
                UpdateExpression="SET #o = :me, n = if_not_exists(n, :zero) + :one",
                ConditionExpression="attribute_not_exists(#o)",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": me}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
                ReturnValues="ALL_NEW",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return
        with lock:
            winners.setdefault(item, []).append(answer["Attributes"]["owner"]["S"] + "=" + me)

    for round_ in range(20):
        start = threading.Barrier(8)
        threads = [threading.Thread(target=claim, args=(f"i{round_}", f"t{t}", start)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(winners) == sorted(f"i{r}" for r in range(20))
    for item, won in winners.items():
        assert len(won) == 1, (item, won)
        owner, me = won[0].split("=")
        assert owner == me
        stored = ddb.get_item(TableName=plain, Key={"id": {"S": item}})["Item"]
        assert stored["owner"]["S"] == owner and stored["n"]["N"] == "1"
