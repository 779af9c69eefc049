"""`ServiceConstruct`: everything one service deploys, built generically from its `ServiceManifest`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.function import DEFAULT_POWERTOOLS_LAYER_VERSION, REPO_ROOT, ServiceFunction
from infra.constructs.registry import Registry, acknowledge, cxm_id
from services.common.manifest import Bucket, Function, Route, ServiceManifest, StateMachine, Subscription, Table

DLQ_RETENTION = cdk.Duration.days(14)
VISIBILITY_TIMEOUT_FACTOR = 6  # AWS guidance for SQS event sources: 6x the function timeout
MAX_BATCH_WITHOUT_WINDOW = 10  # an SQS event source with a batch over 10 needs a batching window


def pascal(name: str) -> str:
    """`segment-changed` / `on_segment_changed` → `SegmentChanged` / `OnSegmentChanged` (construct ids)."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


@dataclass(frozen=True)
class BoundRoute:
    """A manifest route and the function serving it, for the HTTP API construct."""

    service: str
    function_name: str
    route: Route
    function: lambda_.IFunction


class DependencyCycle(ValueError):
    pass


Node = Function | StateMachine


def build_order(manifests: Sequence[ServiceManifest]) -> list[tuple[ServiceManifest, Node]]:
    """Every service's functions and state machines, each after what its definition references: a function after
    the state machines it starts (their ARN is in its environment) and the functions it invokes, in any service
    (their names are in its environment); a state machine after the functions it invokes (their ARNs are
    substituted into its definition).

    Ordered per function, not per service: services may call each other's internal APIs both ways (identity's
    export asks journeys for its part, journeys' sends ask identity for the contact). Only a cycle of functions
    is refused."""
    by_name = {m.name: m for m in manifests}
    nodes: dict[tuple[str, str, str], tuple[ServiceManifest, Node]] = {}
    for manifest in manifests:
        nodes.update({(manifest.name, "function", f.name): (manifest, f) for f in manifest.functions})
        nodes.update({(manifest.name, "machine", m.name): (manifest, m) for m in manifest.state_machines})

    def deps(service: str, node: Node) -> list[tuple[str, str, str]]:
        if isinstance(node, StateMachine):
            return [(service, "function", name) for name in node.invokes]
        invoked = [(t.partition(".")[0], "function", t.partition(".")[2]) for t in node.invokes]
        # a function that creates a family's machines is given the ARNs of the functions they invoke
        family_functions = [
            (service, "function", f)
            for family in by_name[service].machine_families
            if family.name in node.manages_machines
            for f in family.invokes
        ]
        return [(service, "machine", m) for m in node.starts_state_machines] + invoked + family_functions

    ordered: list[tuple[ServiceManifest, Node]] = []
    done: set[tuple[str, str, str]] = set()

    def visit(key: tuple[str, str, str], path: tuple[tuple[str, str, str], ...]) -> None:
        if key in done:
            return
        if key in path:
            raise DependencyCycle(" -> ".join(f"{k[0]}.{k[2]}" for k in (*path, key)))
        if key not in nodes:
            where = f"{path[-1][0]}.{path[-1][2]}: " if path else ""
            known = "" if key[0] in by_name else f" (no service {key[0]!r})"
            raise KeyError(f"{where}{key[1]} {key[0]}.{key[2]} is referenced but not declared{known}")
        manifest, node = nodes[key]
        for dep in deps(manifest.name, node):
            visit(dep, (*path, key))
        done.add(key)
        ordered.append(nodes[key])

    for key in nodes:
        visit(key, ())
    return ordered


class ServiceConstruct(Construct):
    """Tables, functions, subscriptions (rule → queue + DLQ → function), schedules and state machines of one
    service. Tables and secrets are built at once; functions and state machines by `add`, in the platform-wide
    `build_order`. Routes are exposed as `routes` for the shared HTTP API (see `CxmHttpApi`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifest: ServiceManifest,
        registry: Registry,
        deletion_protection: bool = True,
        powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION,
    ) -> None:
        super().__init__(scope, construct_id)
        self.manifest = manifest
        self.registry = registry
        self.powertools_layer_version = powertools_layer_version
        self.tables: dict[str, dynamodb.Table] = {}
        self.functions: dict[str, ServiceFunction] = {}
        self.state_machines: dict[str, sfn.StateMachine] = {}
        self.queues: dict[str, tuple[sqs.Queue, sqs.Queue]] = {}
        self.routes: list[BoundRoute] = []
        cdk.Tags.of(self).add("cxm:service", manifest.name)

        for table in manifest.tables:
            self.tables[table.name] = self._table(table, deletion_protection)
            registry.tables[(manifest.name, table.name)] = self.tables[table.name]

        for bucket in manifest.buckets:
            registry.buckets[(manifest.name, bucket.name)] = self._bucket(bucket)

        for family in manifest.machine_families:
            role = iam.Role(
                self,
                f"Machines{pascal(family.name)}Role",
                assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
                description=f"{self._id(family.name)} machines (created at run time): may invoke only "
                f"{', '.join(family.invokes) or 'nothing'}",
            )
            cxm_id(role, self._id(f"{family.name}-machines"))
            registry.machine_roles[(manifest.name, family.name)] = role
            if family.failure_metric:
                cloudwatch.Alarm(
                    self,
                    f"Machines{pascal(family.name)}FailedAlarm",
                    alarm_description=f"Runs of {self._id(family.name)} machines failed (a step with no failure "
                    "edge failed): list them with GET /v1/journeys/{id}/runs?state=failed.",
                    metric=cloudwatch.Metric(
                        namespace="CxM",
                        metric_name=family.failure_metric,
                        dimensions_map={"service": manifest.name},
                        period=cdk.Duration.minutes(5),
                        statistic=cloudwatch.Stats.SUM,
                    ),
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )

        for secret in manifest.secrets:
            generated = secretsmanager.Secret(
                self,
                pascal(secret.name) + "Secret",
                description=f"CxM {manifest.name}/{secret.name}: generated at deploy time, read by functions only",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=64, exclude_punctuation=True
                ),
            )
            cxm_id(generated, self._id(secret.name))
            acknowledge(
                generated,
                "AwsSolutions-SMG4",
                "An HMAC signing key: rotating it would invalidate links already sent in emails; rotate by deploying "
                "a new secret version when needed.",
            )
            registry.secrets[secret.name] = generated

    def add(self, node: Node) -> None:
        """Build one of this service's functions or state machines; the stack calls this in `build_order`, once
        every service's tables and secrets exist."""
        if isinstance(node, StateMachine):
            self.state_machines[node.name] = self._state_machine(node)
            self.registry.state_machines[(self.manifest.name, node.name)] = self.state_machines[node.name]
        else:
            self.functions[node.name] = self._function(node)
            self.registry.functions[(self.manifest.name, node.name)] = self.functions[node.name].function
            for family in self.manifest.machine_families:
                if node.name in family.invokes:
                    # the unqualified ARN only: the definitions the service compiles name exactly it
                    self.registry.machine_roles[(self.manifest.name, family.name)].add_to_principal_policy(
                        iam.PolicyStatement(
                            actions=["lambda:InvokeFunction"],
                            resources=[self.functions[node.name].function.function_arn],
                        )
                    )

    def _id(self, name: str) -> str:
        return f"{self.manifest.name}/{name}"

    # --- tables ---
    def _table(self, declared: Table, deletion_protection: bool) -> dynamodb.Table:
        string = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self,
            f"Table{pascal(declared.name)}",
            partition_key=dynamodb.Attribute(name=declared.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=declared.sort_key, type=string) if declared.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=declared.ttl_attribute,
            deletion_protection=deletion_protection,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for index in declared.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=string),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=string) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        cxm_id(table, self._id(declared.name))
        return table

    # --- buckets ---
    def _bucket(self, declared: Bucket) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            f"Bucket{pascal(declared.name)}",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=False,  # nothing is overwritten; old versions would outlive the expiry below
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(declared.expire_after_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        cxm_id(bucket, self._id(declared.name))
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "Written by one function of this service and read by operators only; object keys name no person. "
            "Server access logs would need a second bucket with its own retention; enable CloudTrail S3 data "
            "events on this bucket where an audit of reads is required.",
        )
        return bucket

    # --- functions and what triggers them ---
    def _function(self, declared: Function) -> ServiceFunction:
        fn = ServiceFunction(
            self,
            f"Fn{pascal(declared.name)}",
            service=self.manifest,
            declaration=declared,
            registry=self.registry,
            powertools_layer_version=self.powertools_layer_version,
        )
        for subscription in declared.subscriptions:
            self._subscription(declared, fn.function, subscription)
        for schedule in declared.schedules:
            rule = events.Rule(
                self,
                f"Schedule{pascal(schedule.name)}",
                description=f"{self._id(schedule.name)}: {schedule.expression} → {self.manifest.name}.{declared.name}",
                schedule=events.Schedule.expression(schedule.expression),  # default bus: schedules are not events
                targets=[targets.LambdaFunction(fn.function, retry_attempts=2)],
            )
            cxm_id(rule, self._id(schedule.name))
        self.routes.extend(BoundRoute(self.manifest.name, declared.name, r, fn.function) for r in declared.routes)
        return fn

    def _default_bus(self) -> events.IEventBus:
        found = self.node.try_find_child("DefaultBus")
        return found or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")  # type: ignore[return-value]

    def _subscription(self, declared: Function, function: lambda_.IFunction, sub: Subscription) -> None:
        name = pascal(sub.name)
        dlq = sqs.Queue(
            self,
            f"{name}Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        queue = sqs.Queue(
            self,
            f"{name}Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * declared.timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=sub.max_receive_count),
        )
        cxm_id(queue, self._id(sub.name))
        cxm_id(dlq, self._id(f"{sub.name}-dlq"))
        pattern = events.EventPattern(source=list(sub.sources) or None, detail_type=list(sub.detail_types))
        rule = events.Rule(
            self,
            f"{name}Rule",
            description=f"{self._id(sub.name)}: {', '.join(sub.detail_types)} → {self.manifest.name}.{declared.name}",
            event_bus=self.registry.bus_ if sub.bus == "platform" else self._default_bus(),
            event_pattern=pattern,
            # Events the bus cannot deliver to the queue land in the same DLQ (and raise the same alarm).
            targets=[targets.SqsQueue(queue, dead_letter_queue=dlq)],
        )
        cxm_id(rule, self._id(sub.name))
        function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=sub.batch_size,
                max_batching_window=cdk.Duration.seconds(1) if sub.batch_size > MAX_BATCH_WITHOUT_WINDOW else None,
                report_batch_item_failures=True,
            )
        )
        cloudwatch.Alarm(
            self,
            f"{name}DlqAlarm",
            alarm_description=f"Messages of {self._id(sub.name)} that {self.manifest.name}.{declared.name} "
            "could not process (or the bus could not deliver) are waiting in its DLQ.",
            metric=dlq.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.queues[sub.name] = (queue, dlq)

    # --- state machines ---
    def _state_machine(self, declared: StateMachine) -> sfn.StateMachine:
        name = pascal(declared.name)
        invoked = {n: self.registry.function_construct(self.manifest.name, n) for n in declared.invokes}
        role = iam.Role(
            self,
            f"Machine{name}Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"{self._id(declared.name)}: may invoke only {', '.join(declared.invokes) or 'nothing'}",
        )
        if invoked:
            # The unqualified ARNs only (no `:*` for versions/aliases): the definition uses exactly these.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in invoked.values()]
                )
            )
        machine = sfn.StateMachine(
            self,
            f"Machine{name}",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(Path(REPO_ROOT, declared.definition_file).read_text()),
            definition_substitutions={n: f.function_arn for n, f in invoked.items()},
            role=role,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self,
                    f"Machine{name}Logs",
                    # /aws/vendedlogs/ keeps Step Functions' log delivery out of the account's resource policy limit
                    log_group_name=f"/aws/vendedlogs/states/{cdk.Stack.of(self).stack_name}/{self._id(declared.name)}",
                    retention=logs.RetentionDays.ONE_MONTH,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            tracing_enabled=True,
        )
        cxm_id(machine, self._id(declared.name))
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only what CDK adds for logging and tracing: Step Functions' log delivery (logs:CreateLogDelivery, "
            "PutResourcePolicy, ...) and X-Ray require Resource '*'. lambda:InvokeFunction names the functions.",
        )
        return machine
