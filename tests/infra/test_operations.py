"""Operations in the synthesized stack: alarms that reach someone, the SES sending pause and the dashboard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.catalog import SERVICES
from services.common import observability
from services.common.manifest import EMAIL_CONFIGURATION_SET_ENV

CXM_ID = "cxm:id"


def of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


@pytest.fixture(scope="module")
def root(cxm_template: dict[str, Any]) -> dict[str, Any]:
    return cxm_template


@pytest.fixture(scope="module")
def ops() -> dict[str, Any]:
    from infra.synth import synth_nested_template

    return synth_nested_template("Operations")


@pytest.fixture(scope="module")
def passed(root: dict[str, Any]) -> dict[str, Any]:
    """The nested stack's parameters as the root stack passes them (parameter → root value)."""
    (stack,) = of_type(root, "AWS::CloudFormation::Stack").values()
    return dict(stack["Properties"].get("Parameters", {}))


def root_resource_of(value: Any, passed: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The root stack's resource behind a nested-stack value `{"Ref": <parameter>}`."""
    param = value["Ref"]
    ref = passed[param]
    logical_id = ref["Ref"] if "Ref" in ref else ref["Fn::GetAtt"][0]
    return dict(root["Resources"][logical_id])


def topic_id(ops: dict[str, Any]) -> str:
    (topic,) = of_type(ops, "AWS::SNS::Topic")
    return topic


def test_the_alarm_topic_is_encrypted_ssl_only_and_cloudwatch_may_use_it(ops: dict[str, Any]) -> None:
    topic = topic_id(ops)
    key_ref = ops["Resources"][topic]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = ops["Resources"][key_ref]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in s["Action"]
        for s in key["KeyPolicy"]["Statement"]
    )
    (policy,) = of_type(ops, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    assert any(s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def test_no_subscription_without_the_alarm_email(ops: dict[str, Any]) -> None:
    assert not of_type(ops, "AWS::SNS::Subscription")


def test_the_alarm_email_from_the_context_subscribes_to_the_topic() -> None:
    """`cdk deploy -c alarmEmail=ops@example.com`."""
    from infra.stack import Settings
    from infra.synth import synth_nested_template

    ops = synth_nested_template("Operations", {"alarmEmail": "ops@example.com"})
    (subscription,) = of_type(ops, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"
    assert subscription["Properties"]["TopicArn"] == {"Ref": topic_id(ops)}
    assert Settings().alarm_email == ""  # cdk.json sets none: no subscription unless asked


def test_every_alarm_of_the_app_notifies_the_topic(root: dict[str, Any], ops: dict[str, Any]) -> None:
    topic = {"Ref": topic_id(ops)}
    for logical_id, alarm in of_type(ops, "AWS::CloudWatch::Alarm").items():
        assert topic in alarm["Properties"]["AlarmActions"], logical_id
        assert topic in alarm["Properties"]["OKActions"], logical_id
    (stack,) = of_type(root, "AWS::CloudFormation::Stack")
    root_alarms = of_type(root, "AWS::CloudWatch::Alarm")
    assert root_alarms, "the DLQ alarms live in the root stack"
    for logical_id, alarm in root_alarms.items():
        (action,) = alarm["Properties"]["AlarmActions"]
        assert action["Fn::GetAtt"][0] == stack and "AlarmTopic" in action["Fn::GetAtt"][1], logical_id


def test_every_declared_function_has_an_errors_and_a_throttles_alarm(
    root: dict[str, Any], ops: dict[str, Any], passed: dict[str, Any]
) -> None:
    watched: dict[str, set[str]] = {}
    for alarm in of_type(ops, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") != "AWS/Lambda":
            continue
        (dimension,) = props["Dimensions"]
        assert dimension["Name"] == "FunctionName"
        function = root_resource_of(dimension["Value"], passed, root)
        assert function["Type"] == "AWS::Lambda::Function"
        watched.setdefault(function["Metadata"][CXM_ID], set()).add(props["MetricName"])
        assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    declared = {f"{m.name}/{f.name}" for m in SERVICES for f in m.functions}
    assert set(watched) == declared
    assert all(metrics == {"Errors", "Throttles"} for metrics in watched.values())


def test_the_api_5xx_rate_is_alarmed(root: dict[str, Any], ops: dict[str, Any], passed: dict[str, Any]) -> None:
    (alarm,) = [a for k, a in of_type(ops, "AWS::CloudWatch::Alarm").items() if k.startswith("Api5xxRate")]
    queries = {q["Id"]: q for q in alarm["Properties"]["Metrics"]}
    assert (
        "100 * errors / requests" in queries[next(k for k in queries if "MetricStat" not in queries[k])]["Expression"]
    )
    names = {q["MetricStat"]["Metric"]["MetricName"] for q in queries.values() if "MetricStat" in q}
    assert names == {"5xx", "Count"}
    for query in queries.values():
        if "MetricStat" in query:
            (dimension,) = query["MetricStat"]["Metric"]["Dimensions"]
            assert dimension["Name"] == "ApiId"
            assert root_resource_of(dimension["Value"], passed, root)["Type"] == "AWS::ApiGatewayV2::Api"


def test_the_service_metric_alarms_are_declared_in_the_manifests(ops: dict[str, Any]) -> None:
    """journeys declares CouponPoolLow (the step task emits it when a coupon pool runs low)."""
    declared = {(m.name, a.metric) for m in SERVICES for a in m.alarms}
    assert ("journeys", "CouponPoolLow") in declared
    found = {
        (a["Properties"]["Dimensions"][0]["Value"], a["Properties"]["MetricName"])
        for a in of_type(ops, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "CxM"
    }
    assert found == declared


def test_ses_rates_warn_and_then_pause_sending(
    root: dict[str, Any], ops: dict[str, Any], passed: dict[str, Any]
) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: (k, a["Properties"])
        for k, a in of_type(ops, "AWS::CloudWatch::Alarm").items()
        if a["Properties"].get("Namespace") == "AWS/SES"
    }
    (function_id,) = of_type(ops, "AWS::Lambda::Function")
    pause = {"Fn::GetAtt": [function_id, "Arn"]}
    expected = {
        "cxm-dev-ses-bounce-rate-warning": ("Reputation.BounceRate", 0.025, False),
        "cxm-dev-ses-bounce-rate-pause": ("Reputation.BounceRate", 0.05, True),
        "cxm-dev-ses-complaint-rate-warning": ("Reputation.ComplaintRate", 0.0005, False),
        "cxm-dev-ses-complaint-rate-pause": ("Reputation.ComplaintRate", 0.001, True),
    }
    assert set(alarms) == set(expected)
    permissions = of_type(ops, "AWS::Lambda::Permission").values()
    for name, (metric, threshold, pauses) in expected.items():
        logical_id, props = alarms[name]
        assert (props["MetricName"], props["Threshold"]) == (metric, threshold)
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert "Dimensions" not in props  # the account-level reputation
        assert (pause in props["AlarmActions"]) is pauses
        allowed = [
            p["Properties"] for p in permissions if p["Properties"]["SourceArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
        ]
        assert len(allowed) == int(pauses)
        if pauses:
            assert allowed[0]["Principal"] == "lambda.alarms.cloudwatch.amazonaws.com"
            assert allowed[0]["FunctionName"] == pause


def test_the_pause_function_may_only_switch_off_the_platforms_configuration_set(
    root: dict[str, Any], ops: dict[str, Any], passed: dict[str, Any]
) -> None:
    (function,) = of_type(ops, "AWS::Lambda::Function").values()
    props = function["Properties"]
    assert props["Handler"] == "services.journeys.handlers.pause_sending.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    configuration_set = props["Environment"]["Variables"][EMAIL_CONFIGURATION_SET_ENV]
    assert root_resource_of(configuration_set, passed, root)["Type"] == "AWS::SES::ConfigurationSet"
    (policy,) = of_type(ops, "AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {a: s for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert set(by_action) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ses:PutConfigurationSetSendingOptions",
        "cloudwatch:GetMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    ses_resource = json.dumps(by_action["ses:PutConfigurationSetSendingOptions"]["Resource"])
    assert ":configuration-set/" in ses_resource and configuration_set["Ref"] in ses_resource
    assert all(s["Effect"] == "Allow" for s in statements)


def test_the_dashboard_shows_the_key_figures(ops: dict[str, Any]) -> None:
    (dashboard,) = of_type(ops, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for figure in (
        observability.EVENTS_COLLECTED,
        observability.PROFILES_CREATED,
        observability.PROFILES_MERGED,
        observability.SEGMENT_ENTRIES,
        observability.SEGMENT_EXITS,
        observability.DECISIONS,
        observability.SENDS,
        "Reputation.BounceRate",
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Latency",
        "5xx",
    ):
        assert figure in body, figure
    for channel in observability.CHANNELS:
        assert f'\\"channel\\",\\"{channel}\\"' in body, channel


def test_the_operations_template_passes_cfn_lint(ops: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "operations.template.json"
    path.write_text(json.dumps(ops, indent=1))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--ignore-checks", "W3005", "--", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_access_logs_hold_no_ip_address(root: dict[str, Any]) -> None:
    """A log line never holds a caller's IP (IPs are personal data; tests/flows/test_log_hygiene.py checks the
    functions' logs)."""
    (stage,) = of_type(root, "AWS::ApiGatewayV2::Stage").values()
    log_format = stage["Properties"]["AccessLogSettings"]["Format"]
    assert "$context.requestId" in log_format
    assert "sourceIp" not in log_format and "$context.identity.caller" not in log_format
