"""The deployed resources by manifest name, and the `Names` protocol of infra/catalog.py over them (CDK tokens)."""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from services.common.console_auth import ConsoleSignIn

CXM_ID = "cxm:id"


def cxm_id(construct: IConstruct, value: str) -> None:
    """Mark the CloudFormation resource behind `construct` with `Metadata: {"cxm:id": "<service>/<name>"}`.

    Metadata (not tags) because it works on every resource type, AWS::Events::Rule and the SES configuration set
    included, and it is where the local-cloud agreement test looks to match synthesized resources to its own.
    """
    resource = construct if isinstance(construct, cdk.CfnResource) else construct.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to mark with {CXM_ID}={value}")
    resource.add_metadata(CXM_ID, value)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge a cdk-nag AwsSolutions finding (`AwsSolutions-IAM5[Resource::*]`) on `construct` and below only."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))


class UnknownResource(LookupError):
    pass


@dataclass
class Registry:
    """Everything built so far, keyed by manifest names. Implements `infra.catalog.Names` with CDK tokens.

    Lookups of something not built yet raise `UnknownResource`: the stack builds every table and secret first,
    then functions and state machines in dependency order (`build_order`), so this only happens for a manifest
    that names a resource that is not declared.
    """

    bus_: events.IEventBus
    email_from_: str
    configuration_set_: ses.IConfigurationSet
    api_url_: str  # the HTTP API's public base URL (its stage URL, or the deployment's own domain)
    tables: dict[tuple[str, str], dynamodb.Table] = field(default_factory=dict)
    buckets: dict[tuple[str, str], s3.Bucket] = field(default_factory=dict)
    functions: dict[tuple[str, str], lambda_.IFunction] = field(default_factory=dict)
    state_machines: dict[tuple[str, str], sfn.IStateMachine] = field(default_factory=dict)
    secrets: dict[str, secretsmanager.ISecret] = field(default_factory=dict)
    function_settings: dict[str, str] = field(default_factory=dict)  # CDK context `functionSettings`
    stage_: str = "dev"
    machine_roles: dict[tuple[str, str], iam.IRole] = field(default_factory=dict)
    console_sign_in_: ConsoleSignIn | None = None  # the console's user pool and client (tokens), when deployed

    @staticmethod
    def _get(kind: str, items: dict, key: tuple[str, str]):  # type: ignore[no-untyped-def]
        try:
            return items[key]
        except KeyError:
            raise UnknownResource(f"{kind} {key[0]}.{key[1]} is not declared or not built yet") from None

    def table_construct(self, service: str, table: str) -> dynamodb.Table:
        return self._get("table", self.tables, (service, table))

    def bucket_construct(self, service: str, bucket: str) -> s3.Bucket:
        return self._get("bucket", self.buckets, (service, bucket))

    def function_construct(self, service: str, function: str) -> lambda_.IFunction:
        return self._get("function", self.functions, (service, function))

    def state_machine_construct(self, service: str, machine: str) -> sfn.IStateMachine:
        return self._get("state machine", self.state_machines, (service, machine))

    # --- infra.catalog.Names ---
    def table(self, service: str, table: str) -> str:
        return self.table_construct(service, table).table_name

    def bucket(self, service: str, bucket: str) -> str:
        return self.bucket_construct(service, bucket).bucket_name

    def bus(self) -> str:
        return self.bus_.event_bus_name

    def state_machine_arn(self, service: str, machine: str) -> str:
        return self.state_machine_construct(service, machine).state_machine_arn

    def function_name(self, service: str, function: str) -> str:
        return self.function_construct(service, function).function_name

    def function_arn(self, service: str, function: str) -> str:
        return self.function_construct(service, function).function_arn

    def machine_name_prefix(self, service: str, family: str) -> str:
        return f"cxm-{self.stage_}-{service}-{family}-".replace("_", "-")

    def machine_role_arn(self, service: str, family: str) -> str:
        return self._get("machine role", self.machine_roles, (service, family)).role_arn

    def email_from(self) -> str:
        return self.email_from_

    def configuration_set(self) -> str:
        return self.configuration_set_.configuration_set_name

    def secret_construct(self, secret: str) -> secretsmanager.ISecret:
        try:
            return self.secrets[secret]
        except KeyError:
            raise UnknownResource(f"secret {secret} is not declared") from None

    def secret_arn(self, secret: str) -> str:
        return self.secret_construct(secret).secret_arn

    def api_url(self) -> str:
        return self.api_url_

    def console_sign_in(self) -> ConsoleSignIn | None:
        return self.console_sign_in_
