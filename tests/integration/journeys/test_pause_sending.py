"""The pause function on moto: it reads the account's SES reputation from CloudWatch and turns sending off on the
platform's configuration set (SES v2 PutConfigurationSetSendingOptions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from services.common import clock
from services.journeys.adapters.reputation import CloudWatchReputation, SesSendingSwitch
from services.journeys.domain.reputation import Rates
from services.journeys.handlers import pause_sending

REGION = "eu-west-1"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
    }.items():
        monkeypatch.setenv(name, value)
    clock.set_source(lambda: NOW)
    with mock_aws():
        yield
    clock.set_source(None)


def reputation_metric(name: str, value: float, minutes_ago: int) -> None:
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/SES",
        MetricData=[{"MetricName": name, "Value": value, "Timestamp": NOW - dt.timedelta(minutes=minutes_ago)}],
    )


def test_the_newest_reputation_rates_are_read(aws: None) -> None:
    reputation_metric("Reputation.BounceRate", 0.09, minutes_ago=50)
    reputation_metric("Reputation.BounceRate", 0.03, minutes_ago=10)
    reputation_metric("Reputation.ComplaintRate", 0.0004, minutes_ago=10)
    rates = CloudWatchReputation(boto3.client("cloudwatch", region_name=REGION)).rates(NOW)
    assert rates == Rates(bounce=0.03, complaint=0.0004)


def test_no_reputation_data_reads_as_none(aws: None) -> None:
    assert CloudWatchReputation(boto3.client("cloudwatch", region_name=REGION)).rates(NOW) == Rates(None, None)


def test_the_switch_disables_sending_on_its_configuration_set() -> None:
    """moto 5.2.5 does not implement PutConfigurationSetSendingOptions: botocore's Stubber checks the request
    against the SES v2 model instead."""
    client = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response(
            "put_configuration_set_sending_options",
            {},
            {"ConfigurationSetName": "cxm-dev-configset", "SendingEnabled": False},
        )
        SesSendingSwitch(client, "cxm-dev-configset").pause()
        stub.assert_no_pending_responses()


class LambdaContext:
    function_name = "pause-sending"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:pause-sending"
    aws_request_id = "req-1"


def test_the_handler_pauses_on_a_bounce_alarm_when_the_rate_is_over(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    reputation_metric("Reputation.BounceRate", 0.061, minutes_ago=5)
    reputation_metric("Reputation.ComplaintRate", 0.0002, minutes_ago=5)
    paused: list[str] = []

    class Switch:
        configuration_set = "cxm-dev-configset"

        def pause(self) -> None:
            paused.append(self.configuration_set)

    monkeypatch.setattr(pause_sending.app, "sending_switch", Switch)
    monkeypatch.setattr(
        pause_sending.app, "reputation", lambda: CloudWatchReputation(boto3.client("cloudwatch", region_name=REGION))
    )
    event: dict[str, Any] = {
        "source": "aws.cloudwatch",
        "alarmData": {"alarmName": "cxm-dev-ses-bounce-rate", "state": {"value": "ALARM"}},
    }
    outcome = pause_sending.handler(event, LambdaContext())
    assert outcome["paused"] is True and paused == ["cxm-dev-configset"]
    assert outcome["reasons"] == ["bounce rate 6.10% >= 5.00%"]
