"""Provisions the platform into moto from the same manifests the CDK app reads (one source of truth)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra import catalog
from services.common.console_auth import ConsoleSignIn
from services.common.manifest import Bucket, Function, ServiceManifest

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
ID_TAG = "cxm:id"  # the logical id `<service>/<name>` a resource carries in the stack and here


@dataclass
class LocalNames:
    """Physical names in the local cloud; implements `infra.catalog.Names` with plain strings."""

    region: str
    stage: str = "local"
    sender: str = "no-reply@cxm.local"
    secret_arns: dict[str, str] = field(default_factory=dict)
    machine_roles: dict[tuple[str, str], str] = field(default_factory=dict)
    public_api_url: str = ""  # the local gateway's URL, known once it is bound (before provisioning)
    console: ConsoleSignIn | None = None  # the local user pool and client of the console (see LocalCloud.start)

    def _name(self, *parts: str) -> str:
        return "-".join(("cxm", self.stage, *parts)).replace("_", "-")

    def table(self, service: str, table: str) -> str:
        return self._name(service, table)

    def bucket(self, service: str, bucket: str) -> str:
        return self._name(service, bucket)

    def bus(self) -> str:
        return self._name("bus")

    def state_machine_arn(self, service: str, machine: str) -> str:
        return f"arn:aws:states:{self.region}:{ACCOUNT}:stateMachine:{self._name(service, machine)}"

    def function_name(self, service: str, function: str) -> str:
        return self._name(service, function)

    def function_arn(self, service: str, function: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function_name(service, function)}"

    def machine_name_prefix(self, service: str, family: str) -> str:
        return self._name(service, family) + "-"

    def machine_role_arn(self, service: str, family: str) -> str:
        return self.machine_roles[(service, family)]

    def queue(self, service: str, subscription: str) -> str:
        return self._name(service, subscription)

    def rule(self, service: str, name: str) -> str:
        return self._name(service, name)

    def email_from(self) -> str:
        return self.sender

    def configuration_set(self) -> str:
        return self._name("email")

    def secret_arn(self, secret: str) -> str:
        return self.secret_arns[secret]

    def api_url(self) -> str:
        if not self.public_api_url:
            raise LookupError("the local API's URL is not known yet: bind the gateway before provisioning")
        return self.public_api_url

    def console_sign_in(self) -> ConsoleSignIn | None:
        return self.console


@dataclass(frozen=True)
class Consumer:
    """A subscription as the pump sees it: queue → function."""

    service: str
    subscription: str
    queue_url: str
    dlq_url: str
    function_name: str
    batch_size: int
    queue_arn: str


@dataclass(frozen=True)
class ScheduledTarget:
    service: str
    name: str
    expression: str
    function_name: str
    function_arn: str


@dataclass
class Provisioned:
    consumers: list[Consumer] = field(default_factory=list)
    schedules: list[ScheduledTarget] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)  # route key → function name
    inventory: dict[str, set[str]] = field(default_factory=dict)  # kind → cxm ids


def _random_secret() -> str:
    import secrets

    return secrets.token_urlsafe(48)


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "handlers run in-process from the repository")
    return buffer.getvalue()


def provision(
    names: LocalNames, local_env: dict[str, str], function_settings: dict[str, str] | None = None
) -> Provisioned:
    """Create every table, queue, rule, function, state machine and route the manifests declare."""
    region = names.region
    ddb = boto3.client("dynamodb", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    events = boto3.client("events", region_name=region)
    lam = boto3.client("lambda", region_name=region)
    sfn = boto3.client("stepfunctions", region_name=region)
    sesv2 = boto3.client("sesv2", region_name=region)
    iam = boto3.client("iam", region_name=region)
    s3 = boto3.client("s3", region_name=region)
    out = Provisioned(
        inventory={k: set() for k in ("tables", "buckets", "queues", "rules", "state_machines", "functions")}
    )

    role = iam.create_role(
        RoleName="cxm-local-lambda",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    for service in catalog.SERVICES:
        for family in service.machine_families:
            # moto does not enforce IAM: the role exists so machines can be created with it, as in the stack
            names.machine_roles[(service.name, family.name)] = iam.create_role(
                RoleName=names._name(service.name, family.name, "machines"),
                AssumeRolePolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "states.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
                Tags=[{"Key": ID_TAG, "Value": f"{service.name}/{family.name}-machines"}],
            )["Role"]["Arn"]
    events.create_event_bus(Name=names.bus())
    domain = names.email_from().rpartition("@")[2]
    sesv2.create_email_identity(EmailIdentity=domain)
    sesv2.create_configuration_set(ConfigurationSetName=names.configuration_set())
    code = _empty_zip()
    secrets = boto3.client("secretsmanager", region_name=region)
    for owner in catalog.ALL:
        for secret in owner.secrets:
            created = secrets.create_secret(
                Name=names._name(owner.name, secret.name),
                SecretString=_random_secret(),
                Tags=[{"Key": ID_TAG, "Value": f"{owner.name}/{secret.name}"}],
            )
            names.secret_arns[secret.name] = created["ARN"]

    for service in catalog.ALL:
        for table in service.tables:
            _create_table(ddb, names.table(service.name, table.name), table, f"{service.name}/{table.name}")
            out.inventory["tables"].add(f"{service.name}/{table.name}")
        for bucket in service.buckets:
            _create_bucket(s3, names.bucket(service.name, bucket.name), bucket, f"{service.name}/{bucket.name}")
            out.inventory["buckets"].add(f"{service.name}/{bucket.name}")

    # Functions first (state machines substitute their ARNs), but a function that starts a machine needs the
    # machine's ARN only as a string, which is known up front.
    for service in catalog.SERVICES:
        for function in service.functions:
            _create_function(lam, role, code, names, service, function, local_env, function_settings or {})
            out.inventory["functions"].add(f"{service.name}/{function.name}")
            for route in function.routes:
                out.routes[route.key] = names.function_name(service.name, function.name)
        for machine in service.state_machines:
            definition = (ROOT / machine.definition_file).read_text()
            for function_name in machine.invokes:
                definition = definition.replace(
                    "${" + function_name + "}", names.function_arn(service.name, function_name)
                )
            sfn.create_state_machine(
                name=names.state_machine_arn(service.name, machine.name).rsplit(":", 1)[1],
                definition=definition,
                roleArn=role,
                type="STANDARD",
                tags=[{"key": ID_TAG, "value": f"{service.name}/{machine.name}"}],
            )
            out.inventory["state_machines"].add(f"{service.name}/{machine.name}")
        _subscribe(sqs, events, names, service, out)
        _schedule(events, lam, names, service, out)
    return out


def _create_bucket(s3: Any, name: str, bucket: Bucket, logical_id: str) -> None:
    """Private and expiring like the stack's (moto keeps the lifecycle rule; the local cloud does not expire)."""
    config = {} if s3.meta.region_name == "us-east-1" else {"LocationConstraint": s3.meta.region_name}
    s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": config} if config else {}))
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": bucket.expire_after_days},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": ID_TAG, "Value": logical_id}]})


def _create_table(ddb: Any, name: str, table: Any, logical_id: str) -> None:
    keys = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    attributes = {table.partition_key}
    if table.sort_key:
        keys.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
        attributes.add(table.sort_key)
    indexes = []
    for index in table.indexes:
        schema = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        attributes.add(index.partition_key)
        if index.sort_key:
            schema.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
            attributes.add(index.sort_key)
        indexes.append({"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}})
    kwargs: dict[str, Any] = {
        "Tags": [{"Key": ID_TAG, "Value": logical_id}],
        "TableName": name,
        "KeySchema": keys,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
    }
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    ddb.create_table(**kwargs)
    if table.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )


def _create_function(
    lam: Any,
    role: str,
    code: bytes,
    names: LocalNames,
    service: ServiceManifest,
    function: Function,
    local_env: dict[str, str],
    settings: dict[str, str],
) -> None:
    env = {**catalog.environment(service, function, names, settings), **local_env}
    lam.create_function(
        FunctionName=names.function_name(service.name, function.name),
        Runtime="python3.12",
        Role=role,
        Handler=function.handler,
        Code={"ZipFile": code},
        Timeout=function.timeout_seconds,
        MemorySize=function.memory_mb,
        Environment={"Variables": env},
        Description=function.description[:256],
        Architectures=["arm64"],
        Tags={ID_TAG: f"{service.name}/{function.name}"},
    )


def _subscribe(sqs: Any, events: Any, names: LocalNames, service: ServiceManifest, out: Provisioned) -> None:
    for function in service.functions:
        for sub in function.subscriptions:
            queue_name = names.queue(service.name, sub.name)
            dlq_url = sqs.create_queue(QueueName=f"{queue_name}-dlq", tags={ID_TAG: f"{service.name}/{sub.name}-dlq"})[
                "QueueUrl"
            ]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queue_url = sqs.create_queue(
                QueueName=queue_name,
                tags={ID_TAG: f"{service.name}/{sub.name}"},
                Attributes={
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(sub.max_receive_count)}
                    ),
                    "VisibilityTimeout": str(6 * function.timeout_seconds),
                },
            )["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            pattern: dict[str, Any] = {"detail-type": list(sub.detail_types)}
            if sub.sources:
                pattern["source"] = list(sub.sources)
            rule = names.rule(service.name, sub.name)
            bus = names.bus() if sub.bus == "platform" else "default"
            events.put_rule(
                Name=rule,
                EventBusName=bus,
                EventPattern=json.dumps(pattern),
                Tags=[{"Key": ID_TAG, "Value": f"{service.name}/{sub.name}"}],
            )
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
            out.inventory["queues"].update({f"{service.name}/{sub.name}", f"{service.name}/{sub.name}-dlq"})
            out.inventory["rules"].add(f"{service.name}/{sub.name}")
            out.consumers.append(
                Consumer(
                    service.name,
                    sub.name,
                    queue_url,
                    dlq_url,
                    names.function_name(service.name, function.name),
                    sub.batch_size,
                    queue_arn,
                )
            )


def _schedule(events: Any, lam: Any, names: LocalNames, service: ServiceManifest, out: Provisioned) -> None:
    for function in service.functions:
        for schedule in function.schedules:
            rule = names.rule(service.name, schedule.name)
            events.put_rule(
                Name=rule,
                ScheduleExpression=schedule.expression,
                Tags=[{"Key": ID_TAG, "Value": f"{service.name}/{schedule.name}"}],
            )
            arn = names.function_arn(service.name, function.name)
            events.put_targets(Rule=rule, Targets=[{"Id": "function", "Arn": arn}])
            out.inventory["rules"].add(f"{service.name}/{schedule.name}")
            out.schedules.append(
                ScheduledTarget(
                    service.name,
                    schedule.name,
                    schedule.expression,
                    names.function_name(service.name, function.name),
                    arn,
                )
            )
