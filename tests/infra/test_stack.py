"""What the synthesized template promises a user, checked against the manifests (the one source of truth)."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.catalog import ALL, SERVICES, environment
from services.common.manifest import PLATFORM, Function, ServiceManifest

REPO = Path(__file__).resolve().parents[2]
CXM_ID = "cxm:id"
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


# --- helpers over the raw template ---------------------------------------------------------------------------
class T:
    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.outputs: dict[str, Any] = template.get("Outputs", {})

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == type_}

    def by_cxm_id(self, type_: str, cxm_id: str) -> tuple[str, dict[str, Any]]:
        found = [(k, r) for k, r in self.of_type(type_).items() if r.get("Metadata", {}).get(CXM_ID) == cxm_id]
        assert len(found) == 1, f"expected one {type_} with {CXM_ID}={cxm_id}, found {[k for k, _ in found]}"
        return found[0]

    def function(self, service: str, function: str) -> tuple[str, dict[str, Any]]:
        return self.by_cxm_id("AWS::Lambda::Function", f"{service}/{function}")

    def statements(self, function_logical_id: str) -> list[dict[str, Any]]:
        """All IAM statements attached to the role of a function."""
        role = self.resources[function_logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        assert not self.resources[role]["Properties"].get("ManagedPolicyArns"), "no managed policies on function roles"
        return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refs(value: Any) -> set[str]:
    """Logical ids a (CloudFormation intrinsic) value references."""
    text = json.dumps(value)
    return set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text)) | set(
        re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text)
    )


def actions_on(statements: list[dict[str, Any]], logical_id: str) -> set[str]:
    return {
        action
        for s in statements
        if s["Effect"] == "Allow" and logical_id in refs(s["Resource"])
        for action in as_list(s["Action"])
    }


def all_functions() -> list[tuple[ServiceManifest, Function]]:
    return [(m, f) for m in SERVICES for f in m.functions]


@pytest.fixture(scope="module")
def t(cxm_template: dict[str, Any]) -> T:
    return T(cxm_template)


# --- routes --------------------------------------------------------------------------------------------------
def test_every_manifest_route_is_an_api_route_to_its_function(t: T) -> None:
    routes = {r["Properties"]["RouteKey"]: r for r in t.of_type("AWS::ApiGatewayV2::Route").values()}
    declared = [(m, f, r) for m, f in all_functions() for r in f.routes]
    assert sorted(routes) == sorted(r.key for _, _, r in declared), "exactly the declared routes, no others"
    for manifest, function, route in declared:
        integration_id = refs(routes[route.key]["Properties"]["Target"]).pop()
        uri = t.resources[integration_id]["Properties"]["IntegrationUri"]
        function_id, _ = t.function(manifest.name, function.name)
        assert refs(uri) == {function_id}, f"{route.key} must be served by {manifest.name}.{function.name}"
        assert t.resources[integration_id]["Properties"]["PayloadFormatVersion"] == "2.0"
    # one integration per function, however many routes
    assert len(t.of_type("AWS::ApiGatewayV2::Integration")) == sum(1 for _, f in all_functions() if f.routes)


def test_api_has_cors_throttling_and_access_logs(t: T) -> None:
    (api,) = t.of_type("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["CorsConfiguration"]["AllowOrigins"] == ["http://localhost:3000"]
    (stage,) = t.of_type("AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == "$default"
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["Properties"]["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert "$context.requestId" in stage["Properties"]["AccessLogSettings"]["Format"]
    assert {"ApiUrl", "BusName"} <= set(t.outputs)


# --- functions -----------------------------------------------------------------------------------------------
def manifest_of(name: str) -> ServiceManifest:
    return next(m for m in ALL if m.name == name)


class _TokenNames:
    """`Names` returning markers, to compare the environment keys with the catalog's."""

    def table(self, service: str, table: str) -> str:
        return f"table:{service}/{table}"

    def bucket(self, service: str, bucket: str) -> str:
        return f"bucket:{service}/{bucket}"

    def bus(self) -> str:
        return "bus"

    def state_machine_arn(self, service: str, machine: str) -> str:
        return f"machine:{service}/{machine}"

    def function_name(self, service: str, function: str) -> str:
        return f"function:{service}/{function}"

    def function_arn(self, service: str, function: str) -> str:
        return f"function-arn:{service}/{function}"

    def machine_name_prefix(self, service: str, family: str) -> str:
        return f"cxm-dev-{service}-{family}-"  # a literal in the stack: the stage's name prefix

    def machine_role_arn(self, service: str, family: str) -> str:
        return f"machine-role:{service}/{family}"

    def email_from(self) -> str:
        return "no-reply@example.com"

    def configuration_set(self) -> str:
        return "configuration-set"

    def secret_arn(self, secret: str) -> str:
        return f"secret:{secret}"

    def api_url(self) -> str:
        return "api:url"


@pytest.mark.parametrize(("manifest", "function"), all_functions(), ids=lambda x: getattr(x, "name", None))
def test_function_is_built_from_its_declaration(t: T, manifest: ServiceManifest, function: Function) -> None:
    _, fn = t.function(manifest.name, function.name)
    props = fn["Properties"]
    assert props["Handler"] == function.handler
    assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"])
    assert (props["MemorySize"], props["Timeout"]) == (function.memory_mb, function.timeout_seconds)
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "AWSLambdaPowertoolsPythonV3-python312-arm64:" in json.dumps(props["Layers"])
    (layer_id,) = t.of_type("AWS::Lambda::LayerVersion")
    assert {"Ref": layer_id} in props["Layers"]  # our dependencies layer
    expected = environment(manifest, function, _TokenNames())
    env = props["Environment"]["Variables"]
    assert set(env) == set(expected) | {"POWERTOOLS_LOG_LEVEL"}
    # a literal value must be the catalog's; a token must point at the right kind of resource
    for key, marker in expected.items():
        if isinstance(env[key], str):
            assert env[key] == marker, key
        else:
            kind = marker.partition(":")[0]
            (target,) = refs(env[key])
            target_type = t.resources[target]["Type"]
            assert {
                "table": "AWS::DynamoDB::Table",
                "bucket": "AWS::S3::Bucket",
                "bus": "AWS::Events::EventBus",
                "machine": "AWS::StepFunctions::StateMachine",
                "function": "AWS::Lambda::Function",
                "function-arn": "AWS::Lambda::Function",
                "machine-role": "AWS::IAM::Role",
                "configuration-set": "AWS::SES::ConfigurationSet",
                "secret": "AWS::SecretsManager::Secret",
                "api": "AWS::ApiGatewayV2::Api",
            }[kind] == target_type, key
            if kind in ("table", "bucket", "machine", "function"):
                assert t.resources[target]["Metadata"][CXM_ID] == marker.partition(":")[2], key
    log_group = refs(props["LoggingConfig"]["LogGroup"]).pop()
    assert t.resources[log_group]["Properties"]["RetentionInDays"] == 30


def test_the_dependencies_layer_pins_match_pyproject() -> None:
    """infra/layer/requirements.txt is what runs in Lambda; pyproject.toml is what the tests run against."""
    import tomllib

    layer = {
        line.strip()
        for line in (REPO / "infra" / "layer" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    project = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    assert layer <= project, layer - project


def test_function_bundles_hold_only_common_and_own_code() -> None:
    """The asset excludes leave `services/__init__.py`, `services/common` and `services/<name>` in a bundle; the
    rest must come from the Powertools layer or the Lambda runtime. Checked statically on the source."""
    ours = (REPO / "infra" / "layer" / "top_level.txt").read_text().split()
    layer_and_runtime = {
        *(name for name in ours if not name.startswith("#")),
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_core",
        "typing_extensions",
        "aws_xray_sdk",
        "jmespath",
        "boto3",
        "botocore",
    }
    problems = []
    for manifest in SERVICES:
        allowed = {"services.common", f"services.{manifest.name}", "services"}
        for path in [*(REPO / "services" / "common").rglob("*.py"), *(REPO / "services" / manifest.name).rglob("*.py")]:
            if "tests" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                )
                for name in names:
                    top = name.split(".")[0]
                    if top == "services":
                        if ".".join(name.split(".")[:2]) not in allowed:
                            problems.append(f"{path.relative_to(REPO)} imports {name} (not in its bundle)")
                    elif top not in sys.stdlib_module_names and top not in layer_and_runtime:
                        problems.append(f"{path.relative_to(REPO)} imports {name} (not in the layer or runtime)")
    assert not problems, "\n".join(problems)


# --- subscriptions and schedules -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("manifest", "function", "subscription"),
    [(m, f, s) for m, f in all_functions() for s in f.subscriptions],
    ids=lambda x: getattr(x, "name", None),
)
def test_subscription_is_rule_to_queue_with_dlq_to_function(t: T, manifest, function, subscription) -> None:  # type: ignore[no-untyped-def]
    cxm = f"{manifest.name}/{subscription.name}"
    queue_id, queue = t.by_cxm_id("AWS::SQS::Queue", cxm)
    dlq_id, dlq = t.by_cxm_id("AWS::SQS::Queue", f"{cxm}-dlq")
    redrive = queue["Properties"]["RedrivePolicy"]
    assert refs(redrive["deadLetterTargetArn"]) == {dlq_id}
    assert redrive["maxReceiveCount"] == subscription.max_receive_count
    assert queue["Properties"]["VisibilityTimeout"] == 6 * function.timeout_seconds
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for q in (queue, dlq):
        assert q["Properties"]["SqsManagedSseEnabled"] is True

    function_id, _ = t.function(manifest.name, function.name)
    (mapping,) = [
        m
        for m in t.of_type("AWS::Lambda::EventSourceMapping").values()
        if refs(m["Properties"]["EventSourceArn"]) == {queue_id}
    ]
    assert refs(mapping["Properties"]["FunctionName"]) == {function_id}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BatchSize"] == subscription.batch_size

    _, rule = t.by_cxm_id("AWS::Events::Rule", cxm)
    (bus_id,) = t.of_type("AWS::Events::EventBus")
    if subscription.bus == "platform":
        assert refs(rule["Properties"]["EventBusName"]) == {bus_id}
    else:  # AWS services (SES feedback) publish on the account's default bus
        assert rule["Properties"]["EventBusName"] == "default"
    assert rule["Properties"]["EventPattern"] == {
        "source": list(subscription.sources),
        "detail-type": list(subscription.detail_types),
    }
    (target,) = rule["Properties"]["Targets"]
    assert refs(target["Arn"]) == {queue_id}

    alarms = [
        a for a in t.of_type("AWS::CloudWatch::Alarm").values() if dlq_id in refs(a["Properties"].get("Dimensions", []))
    ]
    assert len(alarms) == 1
    assert alarms[0]["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarms[0]["Properties"]["Threshold"], alarms[0]["Properties"]["ComparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )


@pytest.mark.parametrize(
    ("manifest", "function", "schedule"),
    [(m, f, s) for m, f in all_functions() for s in f.schedules],
    ids=lambda x: getattr(x, "name", None),
)
def test_schedule_rule_on_default_bus_targets_function(t: T, manifest, function, schedule) -> None:  # type: ignore[no-untyped-def]
    _, rule = t.by_cxm_id("AWS::Events::Rule", f"{manifest.name}/{schedule.name}")
    assert rule["Properties"]["ScheduleExpression"] == schedule.expression
    assert "EventBusName" not in rule["Properties"]
    function_id, _ = t.function(manifest.name, function.name)
    assert [refs(target["Arn"]) for target in rule["Properties"]["Targets"]] == [{function_id}]


# --- tables, bus -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("manifest", "table"), [(m, tb) for m in ALL for tb in m.tables], ids=lambda x: x.name)
def test_tables_are_on_demand_with_pitr_ttl_and_indexes(t: T, manifest, table) -> None:  # type: ignore[no-untyped-def]
    _, resource = t.by_cxm_id("AWS::DynamoDB::Table", f"{manifest.name}/{table.name}")
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"
    keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
    assert keys == {"HASH": table.partition_key, **({"RANGE": table.sort_key} if table.sort_key else {})}
    if table.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i.name for i in table.indexes}
    for index in table.indexes:
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}


def test_bus_is_named_for_the_stage_and_has_no_archive_erasure_could_not_reach(t: T) -> None:
    (bus,) = t.of_type("AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == "cxm-dev"
    assert t.of_type("AWS::Events::Archive") == {}


def test_the_raw_event_archive_is_private_encrypted_expiring_and_append_only(t: T) -> None:
    bucket_id, bucket = t.by_cxm_id("AWS::S3::Bucket", "events/archive")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert [r["ExpirationInDays"] for r in props["LifecycleConfiguration"]["Rules"]] == [395]
    assert "VersioningConfiguration" not in props  # old versions would outlive the expiry
    (policy,) = [
        p for p in t.of_type("AWS::S3::BucketPolicy").values() if refs(p["Properties"]["Bucket"]) == {bucket_id}
    ]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Only the archive function reaches it, and it may add objects but never delete them
    for manifest, function in all_functions():
        actions = actions_on(t.statements(t.function(manifest.name, function.name)[0]), bucket_id)
        if (manifest.name, function.name) == ("events", "archive"):
            assert actions == {"s3:ListBucket", "s3:GetObject", "s3:PutObject"}
        else:
            assert actions == set(), f"{manifest.name}.{function.name}"


def test_cxm_ids_are_unique_and_cover_the_manifests(t: T) -> None:
    """Unique per resource type (a subscription's queue and rule share `<service>/<subscription>`)."""
    typed = [(r["Type"], r["Metadata"][CXM_ID]) for r in t.resources.values() if CXM_ID in r.get("Metadata", {})]
    assert len(typed) == len(set(typed))
    ids = [cxm for _, cxm in typed]
    expected = {"platform/bus", "platform/configuration-set"}
    for m in ALL:
        expected |= {f"{m.name}/{tb.name}" for tb in m.tables} | {f"{m.name}/{sm.name}" for sm in m.state_machines}
        expected |= {f"{m.name}/{secret.name}" for secret in m.secrets}
        expected |= {f"{m.name}/{family.name}-machines" for family in m.machine_families}
        for f in m.functions:
            expected |= {f"{m.name}/{f.name}"} | {f"{m.name}/{s.name}" for s in f.schedules}
            expected |= {f"{m.name}/{s.name}{suffix}" for s in f.subscriptions for suffix in ("", "-dlq")}
    assert set(ids) == expected


# --- state machine -------------------------------------------------------------------------------------------
def test_state_machine_definition_gets_the_send_function_arn(t: T) -> None:
    for manifest in SERVICES:
        for machine in manifest.state_machines:
            _, resource = t.by_cxm_id("AWS::StepFunctions::StateMachine", f"{manifest.name}/{machine.name}")
            props = resource["Properties"]
            assert props["StateMachineType"] == "STANDARD"
            assert props["TracingConfiguration"] == {"Enabled": True}
            assert props["LoggingConfiguration"]["Level"] == "ALL"
            assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
            invoked = set()
            for name in machine.invokes:
                function_id, _ = t.function(manifest.name, name)
                assert props["DefinitionSubstitutions"][name] == {"Fn::GetAtt": [function_id, "Arn"]}
                invoked.add(function_id)
            # what CloudFormation will deploy: the ARN where the ASL had `${send_email}`
            definition = props["DefinitionString"]
            for name, value in props["DefinitionSubstitutions"].items():
                definition = definition.replace("${" + name + "}", f"<{value['Fn::GetAtt'][0]}.Arn>")
            task = json.loads(definition)["States"]["SendEmail"]
            function_id, _ = t.function("journeys", "send_email")
            assert task["Parameters"]["FunctionName"] == f"<{function_id}.Arn>"
            # its role may invoke those functions and nothing else
            role = props["RoleArn"]["Fn::GetAtt"][0]
            statements = [
                s
                for p in t.of_type("AWS::IAM::Policy").values()
                if {"Ref": role} in p["Properties"]["Roles"]
                for s in p["Properties"]["PolicyDocument"]["Statement"]
            ]
            invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
            assert {r for s in invoke for r in refs(s["Resource"])} == invoked
            assert all("*" not in json.dumps(s["Resource"]) for s in invoke)


# --- IAM -----------------------------------------------------------------------------------------------------
def test_identity_consumer_writes_profiles_and_cannot_touch_segments(t: T) -> None:
    function_id, _ = t.function("identity", "on_event_collected")
    statements = t.statements(function_id)
    profiles_id, _ = t.by_cxm_id("AWS::DynamoDB::Table", "identity/profiles")
    segments_id, _ = t.by_cxm_id("AWS::DynamoDB::Table", "segments/segments")
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"} <= actions_on(statements, profiles_id)
    assert actions_on(statements, segments_id) == set()
    assert not any("dynamodb" in json.dumps(s["Action"]) and s["Resource"] == "*" for s in statements)


def test_events_api_publishes_and_writes_no_other_service_table(t: T) -> None:
    function_id, _ = t.function("events", "api")
    statements = t.statements(function_id)
    (bus_id,) = t.of_type("AWS::Events::EventBus")
    assert "events:PutEvents" in actions_on(statements, bus_id)
    own = {t.by_cxm_id("AWS::DynamoDB::Table", f"events/{table.name}")[0] for table in manifest_of("events").tables}
    for table_id in t.of_type("AWS::DynamoDB::Table"):
        if table_id not in own:
            assert not actions_on(statements, table_id) & WRITE_ACTIONS, table_id
    access_id, _ = t.by_cxm_id("AWS::DynamoDB::Table", f"{PLATFORM.name}/access")
    assert "dynamodb:GetItem" in actions_on(statements, access_id)  # it checks API keys


def test_email_senders_send_only_from_the_configured_address(t: T) -> None:
    senders = {f"{m.name}/{f.name}" for m, f in all_functions() if f.sends_email}
    (config_set_id,) = t.of_type("AWS::SES::ConfigurationSet")
    for manifest, function in all_functions():
        statements = t.statements(t.function(manifest.name, function.name)[0])
        send = [s for s in statements if "ses:SendEmail" in as_list(s["Action"])]
        if f"{manifest.name}/{function.name}" not in senders:
            assert not send
            if not function.manages_email_templates:
                assert "ses:" not in json.dumps(statements)
            continue
        (statement,) = send
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "no-reply@example.com"}}
        assert config_set_id in refs(statement["Resource"])


def test_only_declared_tables_and_publishers(t: T) -> None:
    """Every function's role reaches exactly the tables its declaration names (+ the access table for APIs)."""
    tables = {r["Metadata"][CXM_ID]: k for k, r in t.of_type("AWS::DynamoDB::Table").items()}
    (bus_id,) = t.of_type("AWS::Events::EventBus")
    for manifest, function in all_functions():
        statements = t.statements(t.function(manifest.name, function.name)[0])
        expected = {f"{manifest.name}/{name}": access for name, access in function.tables.items()}
        if function.routes or function.reads_sources:  # API keys; the sources' settings
            expected[f"{PLATFORM.name}/access"] = "read"
        if function.manages_keys:  # the keys admin API
            expected[f"{PLATFORM.name}/access"] = "write"
        for cxm, table_id in tables.items():
            actions = actions_on(statements, table_id)
            if cxm not in expected:
                assert not actions, f"{manifest.name}.{function.name} must not reach {cxm}"
            else:
                assert bool(actions & WRITE_ACTIONS) == (expected[cxm] == "write"), (
                    f"{manifest.name}.{function.name} {cxm}"
                )
        assert ("events:PutEvents" in actions_on(statements, bus_id)) == function.publishes


def test_functions_invoke_exactly_the_internal_apis_they_declare(t: T) -> None:
    """lambda:InvokeFunction names the declared functions only (identity's export reaches the three privacy
    functions, and nothing else may call them)."""
    for manifest, function in all_functions():
        statements = t.statements(t.function(manifest.name, function.name)[0])
        invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
        declared = {t.function(*target.split("."))[0] for target in function.invokes}
        assert {r for s in invoke for r in refs(s["Resource"])} == declared, f"{manifest.name}.{function.name}"
        assert all("*" not in json.dumps(s["Resource"]) for s in invoke)
    identity_api = next(f for f in manifest_of("identity").functions if f.name == "api")
    assert set(identity_api.invokes) == {"segments.privacy", "journeys.privacy", "content.privacy"}


def test_services_may_call_each_other_both_ways_but_functions_not_in_a_cycle() -> None:
    from infra.constructs.service import DependencyCycle, build_order
    from services.common.manifest import Function as Fn
    from services.common.manifest import ServiceManifest as Manifest

    def svc(name: str, *functions: Fn) -> Manifest:
        return Manifest(name=name, functions=functions)

    # identity.api → journeys.privacy and journeys.send → identity.lookup: a service cycle, no function cycle
    identity = svc("identity", Fn("api", "h", "d", invokes=("journeys.privacy",)), Fn("lookup", "h", "d"))
    journeys = svc("journeys", Fn("privacy", "h", "d"), Fn("send", "h", "d", invokes=("identity.lookup",)))
    order = [f"{m.name}.{n.name}" for m, n in build_order([identity, journeys])]
    assert order.index("journeys.privacy") < order.index("identity.api")
    assert order.index("identity.lookup") < order.index("journeys.send")
    # a.f → b.g → a.f is refused, naming the cycle
    looping = [svc("a", Fn("f", "h", "d", invokes=("b.g",))), svc("b", Fn("g", "h", "d", invokes=("a.f",)))]
    with pytest.raises(DependencyCycle, match=re.escape("a.f -> b.g -> a.f")):
        build_order(looping)
    with pytest.raises(KeyError, match="not declared"):
        build_order([svc("a", Fn("f", "h", "d", invokes=("b.missing",)))])


# --- context -------------------------------------------------------------------------------------------------
def test_context_overrides_as_the_cli_passes_them() -> None:
    """`cdk synth -c stage=prod -c deletionProtection=false -c corsAllowOrigins=...` (the CLI passes strings)."""
    from infra.synth import synth_template

    t = T(
        synth_template(
            {
                "stage": "prod",
                "deletionProtection": "false",
                "powertoolsLayerVersion": "27",
                "corsAllowOrigins": "https://app.example.com,https://admin.example.com",
                "emailFrom": "hello@mail.example.org",
            }
        )
    )
    (bus,) = t.of_type("AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == "cxm-prod"
    assert all(
        r["Properties"]["DeletionProtectionEnabled"] is False for r in t.of_type("AWS::DynamoDB::Table").values()
    )
    (api,) = t.of_type("AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["CorsConfiguration"]["AllowOrigins"] == [
        "https://app.example.com",
        "https://admin.example.com",
    ]
    _, send = t.function("journeys", "send_email")
    assert send["Properties"]["Environment"]["Variables"]["EMAIL_FROM"] == "hello@mail.example.org"
    assert send["Properties"]["Layers"][0]["Fn::Sub"].endswith(":27")


def test_email_links_point_at_the_api_or_at_the_deployments_own_address(t: T) -> None:
    """The send step writes links to the public API into emails: its stage URL, unless `publicApiUrl` names the
    domain that fronts it (`cdk deploy -c publicApiUrl=https://api.brand.example`)."""
    from infra.synth import synth_template

    _, send = t.function("journeys", "send_email")
    url = send["Properties"]["Environment"]["Variables"]["PUBLIC_API_URL"]
    (api,) = t.of_type("AWS::ApiGatewayV2::Api")
    assert refs(url) == {api} and "execute-api" in json.dumps(url)
    custom = T(synth_template({"publicApiUrl": "https://api.brand.example/"}))
    _, send = custom.function("journeys", "send_email")
    assert send["Properties"]["Environment"]["Variables"]["PUBLIC_API_URL"] == "https://api.brand.example"


def test_cdk_json_context_and_settings_defaults_agree() -> None:
    from infra.stack import Settings
    from infra.synth import cdk_json_context

    d = Settings()
    assert cdk_json_context() == {
        "stage": d.stage,
        "emailFrom": d.email_from,
        "powertoolsLayerVersion": d.powertools_layer_version,
        "corsAllowOrigins": list(d.cors_allow_origins),
        "deletionProtection": d.deletion_protection,
        "apiThrottleRateLimit": d.api_throttle_rate_limit,
        "apiThrottleBurstLimit": d.api_throttle_burst_limit,
    }


def test_email_feedback_goes_to_the_default_bus(t: T) -> None:
    """Bounces and complaints reach EventBridge, where the identity service keeps its suppression list."""
    (destination,) = t.of_type("AWS::SES::ConfigurationSetEventDestination").values()
    config = destination["Properties"]["EventDestination"]
    assert config["Enabled"] is True
    assert {"BOUNCE", "COMPLAINT"} <= {e.upper() for e in config["MatchingEventTypes"]}
    assert ":event-bus/default" in json.dumps(config["EventBridgeDestination"])


def test_a_deployment_sets_the_optional_settings_a_function_declares() -> None:
    """`cdk deploy -c functionSettings='{"DEDUPE_WINDOW_HOURS": "48"}'` reaches the functions that read it, only."""
    from infra.synth import synth_template

    template = synth_template({"functionSettings": {"DEDUPE_WINDOW_HOURS": "48", "NOT_DECLARED_ANYWHERE": "x"}})
    variables = {
        r["Metadata"]["cxm:id"]: r["Properties"]["Environment"]["Variables"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "cxm:id" in r.get("Metadata", {})
    }
    assert variables["events/api"]["DEDUPE_WINDOW_HOURS"] == "48"
    assert "DEDUPE_WINDOW_HOURS" not in variables["identity/lookup"]
    assert all("NOT_DECLARED_ANYWHERE" not in env for env in variables.values())


def test_function_settings_given_on_the_command_line_as_json_are_read() -> None:
    """`-c functionSettings='{...}'` reaches the app as a string, cdk.json's context as an object: both work."""
    import aws_cdk as cdk

    from infra.stack import Settings

    given = {"JOURNEY_EMAIL_FREQUENCY_CAP": "3/7d"}
    for value in (json.dumps(given), given):
        app = cdk.App(context={"functionSettings": value})
        assert dict(Settings.from_context(app).function_settings) == given


def test_failed_journey_runs_raise_an_alarm(t: T) -> None:
    """The step task counts a run that fails (no failure edge) in a metric; the stack alarms on it."""
    alarms = [
        t.resources[a]["Properties"]
        for a in t.of_type("AWS::CloudWatch::Alarm")
        if t.resources[a]["Properties"].get("MetricName") == "JourneyRunsFailed"
    ]
    assert len(alarms) == 1
    (alarm,) = alarms
    assert alarm["Namespace"] == "CxM"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "journeys"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
