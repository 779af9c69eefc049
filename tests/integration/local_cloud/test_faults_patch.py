"""The local cloud's fault injection (`moto_patches/faults.py`): AWS-shaped errors as botocore sees them, timeouts
that apply the write, partial batch failures, idempotent transaction retries, and only the calls in scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from infra.local.moto_patches import MOTO_CONFIG, Faults, moto_faults
from infra.local.moto_patches.faults import verify_patch_points

ONE_ATTEMPT = Config(retries={"mode": "standard", "max_attempts": 0})
REGION = "eu-west-1"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        ddb = boto3.client("dynamodb", region_name=REGION, config=ONE_ATTEMPT)
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION, config=ONE_ATTEMPT)
        yield {
            "ddb": ddb,
            "events": boto3.client("events", region_name=REGION, config=ONE_ATTEMPT),
            "sqs": sqs,
            "queue": sqs.create_queue(QueueName="q")["QueueUrl"],
            "sesv2": boto3.client("sesv2", region_name=REGION, config=ONE_ATTEMPT),
        }


def items(aws: dict[str, Any]) -> list[str]:
    return sorted(i["pk"]["S"] for i in aws["ddb"].scan(TableName="t")["Items"])


def test_patch_points_are_where_the_fault_injection_expects_them() -> None:
    verify_patch_points()


@pytest.mark.parametrize(
    ("kind", "service", "code", "status"),
    [
        ("throttle", "ddb", "ProvisionedThroughputExceededException", 400),
        ("throttle", "events", "ThrottlingException", 400),
        ("throttle", "sqs", "RequestThrottled", 400),
        ("throttle", "sesv2", "TooManyRequestsException", 429),
        ("internal", "ddb", "InternalServerError", 500),
        ("internal", "events", "InternalFailure", 500),
        ("unavailable", "sqs", "ServiceUnavailable", 503),
    ],
)
def test_errors_are_aws_shaped_and_apply_nothing(
    aws: dict[str, Any], kind: str, service: str, code: str, status: int
) -> None:
    calls = {
        "ddb": lambda: aws["ddb"].put_item(TableName="t", Item={"pk": {"S": "a"}}),
        "events": lambda: aws["events"].put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]),
        "sqs": lambda: aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody="x"),
        "sesv2": lambda: aws["sesv2"].list_email_identities(),
    }
    with moto_faults(Faults(rate=1.0, kinds=(kind,)), scope=lambda: True) as log, pytest.raises(ClientError) as raised:
        calls[service]()
    assert (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        code,
        status,
    )
    assert log.total() == 1
    assert items(aws) == []


def test_a_timeout_applies_the_write_and_loses_the_answer(aws: dict[str, Any]) -> None:
    with moto_faults(Faults(rate=1.0, kinds=("timeout",)), scope=lambda: True), pytest.raises(ReadTimeoutError):
        aws["ddb"].put_item(TableName="t", Item={"pk": {"S": "applied"}})
    assert items(aws) == ["applied"]


def test_partial_batch_failures_apply_the_rest(aws: dict[str, Any]) -> None:
    with moto_faults(Faults(rate=1.0, kinds=("partial",), seed=3), scope=lambda: True):
        written = aws["ddb"].batch_write_item(
            RequestItems={"t": [{"PutRequest": {"Item": {"pk": {"S": f"i{n}"}}}} for n in range(8)]}
        )
        published = aws["events"].put_events(
            Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"} for _ in range(8)]
        )
        sent = aws["sqs"].send_message_batch(
            QueueUrl=aws["queue"], Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(8)]
        )
    unprocessed = {r["PutRequest"]["Item"]["pk"]["S"] for r in written["UnprocessedItems"]["t"]}
    assert unprocessed and set(items(aws)) == {f"i{n}" for n in range(8)} - unprocessed
    failed = [e for e in published["Entries"] if "ErrorCode" in e]
    assert published["FailedEntryCount"] == len(failed) > 0 and len(published["Entries"]) == 8
    assert sent["Failed"] and len(sent["Failed"]) + len(sent["Successful"]) == 8
    assert all(f["Code"] == "InternalError" and not f["SenderFault"] for f in sent["Failed"])
    # the calls that were not batch APIs were not partially failed: a partial fault is for batches only
    assert aws["sqs"].get_queue_attributes(QueueUrl=aws["queue"], AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]["ApproximateNumberOfMessages"] == str(len(sent["Successful"]))


def test_a_retried_transaction_after_a_lost_answer_succeeds_as_in_aws(aws: dict[str, Any]) -> None:
    # Given botocore's retries (the functions' configuration) and one lost answer on a conditional transaction
    ddb = boto3.client("dynamodb", region_name=REGION, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    put = {"Put": {"TableName": "t", "Item": {"pk": {"S": "once"}}, "ConditionExpression": "attribute_not_exists(pk)"}}
    with moto_faults(Faults(rate=1.0, kinds=("timeout",), limit=1), scope=lambda: True) as log:
        # When it is applied, its answer lost and botocore sends it again (the same ClientRequestToken)
        ddb.transact_write_items(TransactItems=[put])
    # Then the retry is answered as AWS answers a repeated token: success, nothing applied twice
    assert log.by_kind() == {"timeout": 1}
    assert items(aws) == ["once"]
    # and a new transaction (a new token) is judged on its own
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(TransactItems=[put])


def test_only_calls_in_scope_are_faulted_and_pausing_stops_injection(aws: dict[str, Any]) -> None:
    inside = [False]
    with moto_faults(Faults(rate=1.0, kinds=("internal",)), scope=lambda: inside[0]) as log:
        aws["ddb"].put_item(TableName="t", Item={"pk": {"S": "outside"}})
        inside[0] = True
        with log.paused():
            aws["ddb"].put_item(TableName="t", Item={"pk": {"S": "paused"}})
        with pytest.raises(ClientError):
            aws["ddb"].put_item(TableName="t", Item={"pk": {"S": "faulted"}})
    assert items(aws) == ["outside", "paused"]
    assert (log.calls, log.total()) == (1, 1)


def test_rates_per_service_and_operation_and_the_cli_spelling() -> None:
    faults = Faults.parse("0.1,seed=7,kinds=throttle+timeout,dynamodb=0.2,dynamodb.PutItem=0.5")
    assert (faults.seed, faults.kinds) == (7, ("throttle", "timeout"))
    assert faults.rate_for("dynamodb", "PutItem") == 0.5
    assert faults.rate_for("dynamodb", "GetItem") == 0.2
    assert faults.rate_for("events", "PutEvents") == 0.1
    with pytest.raises(ValueError, match="kinds"):
        Faults.parse("0.1,kinds=meteor")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(rate=1.5)


def test_the_same_seed_draws_the_same_faults(aws: dict[str, Any]) -> None:
    def run() -> list[tuple[str, str, str]]:
        outcomes = []
        with moto_faults(Faults(rate=0.5, kinds=("throttle", "internal"), seed=5), scope=lambda: True) as log:
            for n in range(30):
                try:
                    aws["ddb"].get_item(TableName="t", Key={"pk": {"S": str(n)}})
                    outcomes.append(("ok", "", ""))
                except ClientError as error:
                    outcomes.append(("error", error.response["Error"]["Code"], ""))
        assert log.calls == 30
        return outcomes

    first = run()
    assert first == run() and {o[0] for o in first} == {"ok", "error"}


def test_the_fault_patches_are_removed_on_exit() -> None:
    from botocore.retries.standard import ExponentialBackoff
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.models import EventsBackend
    from moto.sqs.models import SQSBackend

    def current() -> tuple[Any, ...]:
        return (
            BaseResponse.call_action,
            EventsBackend.put_events,
            SQSBackend.send_message_batch,
            DynamoHandler.batch_write_item,
            DynamoHandler.transact_write_items,
            ExponentialBackoff.delay_amount,
        )

    before = current()
    with moto_faults(Faults(rate=0.1)):
        assert all(a is not b for a, b in zip(current(), before, strict=True))
    assert current() == before
