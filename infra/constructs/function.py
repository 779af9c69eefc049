"""`ServiceFunction`: one Lambda function built from its manifest declaration, with least-privilege IAM."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.catalog import environment
from infra.constructs.registry import Registry, acknowledge, cxm_id
from services.common.manifest import PLATFORM, Access, Function, ServiceManifest

REPO_ROOT = Path(__file__).resolve().parents[2]

# The public Powertools for AWS Lambda (Python) v3 layer; it bundles pydantic v2 and the X-Ray SDK.
# Its version (cdk.json context `powertoolsLayerVersion`) MUST match the aws-lambda-powertools version pinned in
# pyproject.toml: the layer is what runs in Lambda, the pin is what the tests run against.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python312-arm64"
DEFAULT_POWERTOOLS_LAYER_VERSION = 27

DYNAMODB_READ = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
DYNAMODB_WRITE = ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
SES_TEMPLATE_ACTIONS = ("ses:CreateEmailTemplate", "ses:GetEmailTemplate", "ses:UpdateEmailTemplate")


def code_excludes(service: str) -> list[str]:
    """Asset excludes so that a bundle rooted at the repository holds only `services/__init__.py`,
    `services/common/**` and `services/<service>/**` (handlers are dotted paths from the repository root,
    `services.identity.handlers.api.handler`).

    CDK's GLOB ignore mode: every path is tested against all patterns in order and the last match wins (`!`
    re-includes); a pattern without `/` matches the basename at any depth; an excluded directory is not walked.
    """
    return [
        "*",  # everything (not dotfiles: see the last pattern) ...
        "!services",  # ... but the services package,
        "!services/__init__.py",
        "!services/common",  # the shared code,
        "!services/common/**",
        f"!services/{service}",  # and this service's own code;
        f"!services/{service}/**",
        "tests",  # never tests, caches or dotfiles, at any depth
        "conftest.py",
        "__pycache__",
        "*.pyc",
        ".*",
    ]


def powertools_layer(scope: Construct, version: int) -> lambda_.ILayerVersion:
    """The Powertools layer, one reference per stack."""
    stack = cdk.Stack.of(scope)
    construct_id = f"PowertoolsLayerV{version}"
    existing = stack.node.try_find_child(construct_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = cdk.Fn.sub(
        f"arn:aws:lambda:${{AWS::Region}}:{POWERTOOLS_LAYER_ACCOUNT}:layer:{POWERTOOLS_LAYER_NAME}:{version}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(stack, construct_id, arn)


LAYER_DIR = REPO_ROOT / "build" / "layer"
LAYER_REQUIREMENTS = REPO_ROOT / "infra" / "layer" / "requirements.txt"


def dependencies_layer(scope: Construct) -> lambda_.ILayerVersion:
    """Our runtime packages beyond the Powertools layer (infra/layer/requirements.txt), one layer per stack.

    Built by `make install` for arm64/CPython 3.12 into build/layer, so synth needs neither Docker nor network.
    """
    stack = cdk.Stack.of(scope)
    existing = stack.node.try_find_child("DependenciesLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    if not (LAYER_DIR / "python").is_dir():
        raise RuntimeError(f"{LAYER_DIR} is missing: run `make install` (it builds the Lambda dependencies layer)")
    return lambda_.LayerVersion(
        stack,
        "DependenciesLayer",
        code=lambda_.Code.from_asset(str(LAYER_DIR), exclude=[".installed"]),
        compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        # names only (pins are in infra/layer/requirements.txt): a layer description holds at most 256 characters
        description=(
            "CxM runtime packages beyond Powertools: "
            + ", ".join(
                line.split("==")[0].strip()
                for line in LAYER_REQUIREMENTS.read_text().splitlines()
                if line.strip() and not line.startswith("#")
            )
        )[:256],
    )


class ServiceFunction(Construct):
    """A function of a service, derived only from its `Function` declaration.

    Python 3.12 on arm64, the service's code, the Powertools layer, X-Ray tracing, its own log group with retention,
    the environment of `infra.catalog.environment`, and a role allowed exactly what the declaration names.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: ServiceManifest,
        declaration: Function,
        registry: Registry,
        powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service
        self.declaration = declaration
        self.registry = registry

        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{service.name}.{declaration.name}: only what its manifest declaration names",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy: write to this function's log group only.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
            )
        )

        env = environment(service, declaration, registry, registry.function_settings)
        env["POWERTOOLS_LOG_LEVEL"] = "INFO"
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=code_excludes(service.name)),
            handler=declaration.handler,
            description=declaration.description[:256],
            memory_size=declaration.memory_mb,
            timeout=cdk.Duration.seconds(declaration.timeout_seconds),
            environment=env,
            layers=[powertools_layer(self, powertools_layer_version), dependencies_layer(self)],
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
        )
        cxm_id(self.function, f"{service.name}/{declaration.name}")
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is deliberate: the Powertools v3 layer providing the dependencies is the python312 build "
            "and the code is tested on 3.12; move runtime and layer (POWERTOOLS_LAYER_NAME) together.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only actions that support no resource-level permissions: X-Ray's PutTraceSegments/PutTelemetryRecords "
            "(active tracing), states:SendTask* (task tokens have no ARN) and sns:Publish of an SMS to a phone "
            "number (no topic). Every other statement names its table, bus, state machine or function.",
        )
        self._grant()

    # --- least privilege, from the declaration only ---
    def _grant(self) -> None:
        d, service, registry = self.declaration, self.service, self.registry
        for table_name, access in d.tables.items():
            self._grant_table(service, table_name, access)
        for bucket_name, access in d.buckets.items():
            self._grant_bucket(bucket_name, access)
        # API functions check credentials in the platform's access table; `reads_sources` functions read the
        # sources' settings there (see catalog.environment)
        if d.manages_keys:  # the keys admin API: creates and revokes keys
            self._grant_table(PLATFORM, "access", "write")
        elif d.routes or d.reads_sources:
            self._grant_table(PLATFORM, "access", "read")
        if d.publishes:
            self._allow(["events:PutEvents"], [registry.bus_.event_bus_arn])
        if d.starts_state_machines:
            arns = [
                registry.state_machine_construct(service.name, m).state_machine_arn for m in d.starts_state_machines
            ]
            self._allow(["states:StartExecution"], arns)
            # The function that starts a machine's runs may stop them (erasure); executions are named at run time.
            executions = [
                cdk.Arn.format(
                    cdk.ArnComponents(
                        service="states",
                        resource="execution",
                        resource_name=f"{registry.state_machine_construct(service.name, m).state_machine_name}:*",  # type: ignore[attr-defined]
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    ),
                    cdk.Stack.of(self),
                )
                for m in d.starts_state_machines
            ]
            self._allow(["states:StopExecution"], executions)
            for m in d.starts_state_machines:
                machine_id = cdk.Stack.of(self).get_logical_id(
                    registry.state_machine_construct(service.name, m).node.default_child  # type: ignore[arg-type]
                )
                acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                    f"execution:<{machine_id}.Name>:*]",
                    "Stopping a person's runs on erasure: execution names are made at run time (journey + profile), "
                    "so the grant covers the executions of this one state machine.",
                )
        self._grant_machine_families()
        if d.sends_sms:
            self._allow(["sns:Publish"], ["*"])  # an SMS to a phone number names no topic (see the IAM5 note)
        for secret in d.secrets:
            self._allow(["secretsmanager:GetSecretValue"], [registry.secret_arn(secret)])
        if d.invokes:
            arns = []
            for target in d.invokes:
                target_service, _, target_function = target.partition(".")
                arns.append(registry.function_construct(target_service, target_function).function_arn)
            self._allow(["lambda:InvokeFunction"], arns)
        if d.sends_email:
            self._grant_sending()
        if d.manages_email_templates:
            self._grant_templates()

    def _grant_machine_families(self) -> None:
        """Machines made at run time (journey versions): named under the family's prefix, run with its role."""
        d, service, registry = self.declaration, self.service, self.registry
        stack = cdk.Stack.of(self)
        for family_name in dict.fromkeys((*d.manages_machines, *d.runs_machines)):
            prefix = registry.machine_name_prefix(service.name, family_name)
            machines = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:{prefix}*"
            executions = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{prefix}*:*"
            if family_name in d.manages_machines:
                self._allow(
                    [
                        "states:CreateStateMachine",
                        "states:UpdateStateMachine",
                        "states:DescribeStateMachine",
                        "states:DeleteStateMachine",
                        "states:TagResource",
                        "states:ListExecutions",
                    ],
                    [machines],
                )
                self._allow(["iam:PassRole"], [registry.machine_role_arn(service.name, family_name)])
            self._allow(["states:StartExecution"], [machines])
            self._allow(["states:StopExecution", "states:DescribeExecution"], [executions])
            # task tokens are not resources: the callback actions take no resource-level permission
            self._allow(["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"], ["*"])
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f"stateMachine:{prefix}*]",
                "Journey versions are compiled into state machines at publish time; the grant covers only the "
                "names under this service's prefix.",
            )
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                f"execution:{prefix}*:*]",
                "Runs of the journey machines under this service's prefix (names made at run time).",
            )

    def _grant_table(self, service: ServiceManifest, table_name: str, access: Access) -> None:
        declared = service.table(table_name)
        table = self.registry.table_construct(service.name, table_name)
        resources = [table.table_arn, *(f"{table.table_arn}/index/{index.name}" for index in declared.indexes)]
        actions = list(DYNAMODB_READ) + (list(DYNAMODB_WRITE) if access == "write" else [])
        self._allow(actions, resources)

    def _grant_bucket(self, bucket_name: str, access: Access) -> None:
        bucket = self.registry.bucket_construct(self.service.name, bucket_name)
        self._allow(["s3:ListBucket"], [bucket.bucket_arn])
        self._allow(["s3:GetObject", *(["s3:PutObject"] if access == "write" else [])], [bucket.arn_for_objects("*")])
        bucket_id = cdk.Stack.of(self).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]",
            f"Objects of this service's own {bucket_name} bucket: their keys are made at run time (date and batch "
            "id). No delete is granted.",
        )

    def _ses_arn(self, resource: str) -> str:
        stack = cdk.Stack.of(self)
        return f"arn:{stack.partition}:ses:{stack.region}:{stack.account}:{resource}"

    def _grant_sending(self) -> None:
        ses_arn = self._ses_arn

        # Identities are `identity/*` because SES also authorises the *recipient* identities while the account is
        # in the sandbox; what may be sent is pinned by the From address instead (`ses:FromAddress`).
        sender = parseaddr(self.registry.email_from())[1] or self.registry.email_from()
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[ses_arn(f"configuration-set/{self.registry.configuration_set()}"), ses_arn("identity/*")],
                conditions={"StringEquals": {"ses:FromAddress": sender}},
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]",
            "ses:SendEmail must be allowed on recipient identities too while the SES account is in the sandbox; "
            "the statement is pinned to this stack's From address (ses:FromAddress) and configuration set.",
        )

    def _grant_templates(self) -> None:
        # Templates are created per journey at run time, so their names are not known at deploy time.
        self._allow(list(SES_TEMPLATE_ACTIONS), [self._ses_arn("template/*")])
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:template/*]",
            "SES email templates are created per journey at run time, so their names are unknown at deploy time; "
            "the grant is limited to template actions on templates of this account and region.",
        )

    def _allow(self, actions: list[str], resources: list[str]) -> None:
        self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
