"""Journeys' send record on DynamoDB under a lost answer: a claim applied whose answer never came back is still
this send's claim, not an earlier send's (else the email would never go)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from infra.local.moto_patches import MOTO_CONFIG, Faults, moto_faults
from services.journeys.adapters.dynamodb import DynamoJourneys

NOW = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
# the functions' client configuration: botocore retries what failed or timed out
RETRIED = Config(retries={"mode": "standard", "max_attempts": 3})


@pytest.fixture
def journeys() -> Iterator[DynamoJourneys]:
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        dynamodb = boto3.resource("dynamodb", region_name="eu-west-1", config=RETRIED)
        table = dynamodb.create_table(
            TableName="journeys",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoJourneys(table)


def test_a_claim_whose_answer_was_lost_is_still_this_sends_claim(journeys: DynamoJourneys) -> None:
    # Given the claim's put applied but its answer lost (botocore then sends it again, and its condition fails)
    lost = Faults(rate=0.0, overrides={"dynamodb.PutItem": 1.0}, kinds=("timeout",), limit=1)
    with moto_faults(lost, scope=lambda: True) as log:
        claimed = journeys.claim_send("p-1", "send-1", NOW, {"channel": "email"})
    assert log.by_kind() == {"timeout": 1}

    # Then the send is ours to make: no earlier record is reported
    assert claimed is None
    # and a later attempt (a retried task) does find it, as an earlier send
    earlier = journeys.claim_send("p-1", "send-1", NOW, {"channel": "email"})
    assert earlier is not None and earlier["status"] == "sending" and "claim" not in earlier
