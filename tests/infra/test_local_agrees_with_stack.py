"""One source of truth: the local cloud has every route, table, queue, rule, function and state machine that the
synthesised CloudFormation template has, with the same keys, patterns, redrive limits and environment."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from infra.local.resources import ID_TAG
from infra.synth import synth_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synth_template()


def stack_resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """cxm:id → properties, for every resource of a CloudFormation type."""
    return {
        r["Metadata"]["cxm:id"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == kind and "cxm:id" in (r.get("Metadata") or {})
    }


def local_tables(cloud: Any) -> dict[str, dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=cloud.region)
    out = {}
    for name in ddb.list_tables()["TableNames"]:
        table = ddb.describe_table(TableName=name)["Table"]
        tags = {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]}
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        out[tags[ID_TAG]] = {
            "keys": table["KeySchema"],
            "indexes": sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])),
            "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
        }
    return out


def test_every_route_of_the_stack_is_served_locally_and_no_other(cloud: Any, template: dict[str, Any]) -> None:
    stack_routes = {
        r["Properties"]["RouteKey"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert stack_routes == set(cloud.provisioned.routes)


def test_tables_agree_in_keys_indexes_and_ttl(cloud: Any, template: dict[str, Any]) -> None:
    stack = stack_resources(template, "AWS::DynamoDB::Table")
    local = local_tables(cloud)
    assert set(stack) == set(local)
    for logical_id, props in stack.items():
        assert props["KeySchema"] == local[logical_id]["keys"], logical_id
        assert sorted(i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])) == local[logical_id]["indexes"]
        assert (props.get("TimeToLiveSpecification") or {}).get("AttributeName") == local[logical_id]["ttl"]


def test_queues_agree_including_the_dead_letter_limits(cloud: Any, template: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name=cloud.region)
    local: dict[str, Any] = {}
    for url in sqs.list_queues()["QueueUrls"]:
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        local[tags[ID_TAG]] = (
            json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] if "RedrivePolicy" in attrs else None
        )
    stack = {
        k: (p.get("RedrivePolicy") or {}).get("maxReceiveCount")
        for k, p in stack_resources(template, "AWS::SQS::Queue").items()
    }
    assert set(stack) == set(local)
    assert {k: None if v is None else int(v) for k, v in stack.items()} == {
        k: None if v is None else int(v) for k, v in local.items()
    }


def test_rules_agree_in_patterns_and_schedules(cloud: Any, template: dict[str, Any]) -> None:
    events = boto3.client("events", region_name=cloud.region)
    local: dict[str, Any] = {}
    for bus in (cloud.names.bus(), "default"):
        for rule in events.list_rules(EventBusName=bus)["Rules"]:
            tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]}
            local[tags[ID_TAG]] = (
                json.loads(rule["EventPattern"]) if "EventPattern" in rule else rule["ScheduleExpression"]
            )
    stack = {
        k: p.get("EventPattern") or p.get("ScheduleExpression")
        for k, p in stack_resources(template, "AWS::Events::Rule").items()
    }
    assert stack == local


def test_functions_agree_in_handler_and_environment_names(cloud: Any, template: dict[str, Any]) -> None:
    lam = boto3.client("lambda", region_name=cloud.region)
    local = {}
    for function in lam.list_functions()["Functions"]:
        tags = lam.list_tags(Resource=function["FunctionArn"])["Tags"]
        local[tags[ID_TAG]] = (function["Handler"], set(function["Environment"]["Variables"]))
    stack = {
        k: (p["Handler"], set(p["Environment"]["Variables"]))
        for k, p in stack_resources(template, "AWS::Lambda::Function").items()
    }
    assert set(stack) == set(local)
    local_only = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE",
        "POWERTOOLS_TRACE_DISABLED",
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_DEV",
        "CONSOLE_JWKS_URL",  # moto's signing keys, copied to a file (in AWS: the pool's well-known address)
    }
    for logical_id, (handler, env) in stack.items():
        assert handler == local[logical_id][0]
        assert env - {"POWERTOOLS_LOG_LEVEL"} == local[logical_id][1] - local_only - {"POWERTOOLS_LOG_LEVEL"}, (
            logical_id
        )


def test_state_machines_agree_in_their_states(cloud: Any, template: dict[str, Any]) -> None:
    sfn = boto3.client("stepfunctions", region_name=cloud.region)
    local = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        arn = machine["stateMachineArn"]
        tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
        local[tags[ID_TAG]] = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    stack = stack_resources(template, "AWS::StepFunctions::StateMachine")
    assert set(stack) == set(local)
    for logical_id, props in stack.items():
        definition = props.get("DefinitionString")
        text = json.dumps(definition) if not isinstance(definition, str) else definition
        for state, body in local[logical_id]["States"].items():
            assert f'"{state}"' in text, f"{logical_id}: state {state} missing from the stack"
            assert body["Type"] in text


def test_secrets_agree(cloud: Any, template: dict[str, Any]) -> None:
    manager = boto3.client("secretsmanager", region_name=cloud.region)
    local = set()
    for secret in manager.list_secrets()["SecretList"]:
        tags = {t["Key"]: t["Value"] for t in secret.get("Tags", [])}
        local.add(tags[ID_TAG])
    assert set(stack_resources(template, "AWS::SecretsManager::Secret")) == local


def test_buckets_agree_in_expiry(cloud: Any, template: dict[str, Any]) -> None:
    s3 = boto3.client("s3", region_name=cloud.region)
    local = {}
    for bucket in s3.list_buckets()["Buckets"]:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]}
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket["Name"])["Rules"]
        local[tags[ID_TAG]] = [r["Expiration"]["Days"] for r in rules if "Expiration" in r]
    stack = {
        k: [r["ExpirationInDays"] for r in p["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
        for k, p in stack_resources(template, "AWS::S3::Bucket").items()
    }
    assert stack and stack == local
