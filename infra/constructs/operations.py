"""`Operations`: what reaches a person when the platform needs one, and the figures to look at when it does.

The alarm topic (KMS-encrypted, e-mail subscription from the `alarmEmail` context value), alarms derived from the
manifests (errors and throttles of every declared function, failed and timed-out runs of every declared state
machine, each service's `alarms`), the API's 5xx rate, the account's SES reputation with the automatic sending
pause, and the dashboard of key figures. A nested stack: a CloudFormation stack holds at most 500 resources and
the platform's own stack is close to that; every alarm of the app, the DLQ alarms of the root stack included, is
pointed at the topic by `notify_everyone`.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.api import CxmHttpApi
from infra.constructs.function import DEFAULT_POWERTOOLS_LAYER_VERSION, REPO_ROOT, code_excludes, powertools_layer
from infra.constructs.registry import acknowledge
from infra.constructs.service import ServiceConstruct, pascal
from services.common import observability
from services.common.manifest import EMAIL_CONFIGURATION_SET_ENV
from services.journeys.adapters.reputation import BOUNCE_RATE_METRIC, COMPLAINT_RATE_METRIC, SES_NAMESPACE
from services.journeys.domain.reputation import BOUNCE_RATE_LIMIT, COMPLAINT_RATE_LIMIT

FIVE_MINUTES = cdk.Duration.minutes(5)
API_5XX_PERCENT = 5  # of the requests in 5 minutes, twice in 15 minutes
API_MIN_REQUESTS = 20  # fewer requests in 5 minutes: too few for a rate to mean anything
PAUSE_HANDLER = "services.journeys.handlers.pause_sending.handler"


class Operations(cdk.NestedStack):
    """Alarm topic, alarms, SES sending pause and dashboard; `watch` adds what the services deployed."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        alarm_email: str,
        configuration_set: ses.IConfigurationSet,
        powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION,
    ) -> None:
        super().__init__(scope, construct_id, description=f"CxM platform ({stage}): alarms, sending pause, dashboard")
        self.stage = stage
        self.alarms: list[cloudwatch.Alarm] = []

        # CloudWatch cannot use the AWS-managed SNS key: the topic has a key of its own that CloudWatch may use.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"CxM {stage}: encrypts the alarm topic (CloudWatch alarms publish to it)",
            enable_key_rotation=True,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(self, "AlarmTopic", display_name=f"CxM {stage} alarms", master_key=key, enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        self.pause_function = self._pause_function(configuration_set, powertools_layer_version)
        self.reputation_alarms = self._reputation_alarms()

    # --- what the services deployed ---
    def watch(self, services: Sequence[ServiceConstruct], api: CxmHttpApi) -> None:
        """Alarms for every declared function, state machine and service metric, the API's 5xx rate, and the
        dashboard over all of it."""
        for service in services:
            name = service.manifest.name
            for function_name, function in service.functions.items():
                self._function_alarms(name, function_name, function.function)
            for machine_name, machine in service.state_machines.items():
                where = f"{name}/{machine_name}"
                self._alarm(
                    f"{pascal(name)}{pascal(machine_name)}RunsFailed",
                    f"Runs of the state machine {where} failed: see its execution history and log group.",
                    machine.metric_failed(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
                )
                self._alarm(
                    f"{pascal(name)}{pascal(machine_name)}RunsTimedOut",
                    f"Runs of the state machine {where} timed out: see its execution history and log group.",
                    machine.metric_timed_out(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
                )
            for declared in service.manifest.alarms:
                self._alarm(
                    f"{pascal(name)}{declared.metric}",
                    declared.advice,
                    self._figure(name, declared.metric, cdk.Duration.minutes(declared.period_minutes)),
                    threshold=declared.threshold,
                )
        self._alarm(
            "Api5xxRate",
            f"More than {API_5XX_PERCENT} % of the API's requests answered 5xx (twice in 15 minutes): the functions' "
            "error alarms and logs say which route; the API's access log has the request ids.",
            self._api_5xx_rate(api),
            threshold=API_5XX_PERCENT,
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
        self._dashboard(services, api)

    def notify_everyone(self, scope: Construct) -> None:
        """Every alarm under `scope` (the whole app: DLQ and run-failure alarms of the services too) notifies the
        topic when it goes into ALARM and when it is OK again."""
        topic = actions.SnsAction(self.topic)
        for construct in scope.node.find_all():
            if isinstance(construct, cloudwatch.Alarm):
                construct.add_alarm_action(topic)
                construct.add_ok_action(topic)

    # --- alarms ---
    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float = 0,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
        alarm_name: str | None = None,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=alarm_name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms.append(alarm)
        return alarm

    def _function_alarms(self, service: str, name: str, function: lambda_.IFunction) -> None:
        where = f"{service}.{name}"
        self._alarm(
            f"{pascal(service)}{pascal(name)}Errors",
            f"{where} failed (an uncaught error or a timeout): its log group has the error and the request id.",
            function.metric_errors(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
        )
        self._alarm(
            f"{pascal(service)}{pascal(name)}Throttles",
            f"{where} was throttled (the account's concurrency is exhausted): raise the account's Lambda "
            "concurrency quota or the API's throttling limits.",
            function.metric_throttles(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
        )

    def _api_5xx_rate(self, api: CxmHttpApi) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=f"IF(requests >= {API_MIN_REQUESTS}, 100 * errors / requests, 0)",
            using_metrics={
                "errors": api.api.metric_server_error(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
                "requests": api.api.metric_count(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM),
            },
            label="5xx (% of requests)",
            period=FIVE_MINUTES,
        )

    # --- SES reputation and the sending pause ---
    def _reputation_alarms(self) -> list[cloudwatch.Alarm]:
        """Early warnings at half SES's review thresholds; at the thresholds, the pause function acts too."""
        out = []
        for label, metric_name, limit in (
            ("bounce", BOUNCE_RATE_METRIC, BOUNCE_RATE_LIMIT),
            ("complaint", COMPLAINT_RATE_METRIC, COMPLAINT_RATE_LIMIT),
        ):
            metric = cloudwatch.Metric(
                namespace=SES_NAMESPACE,
                metric_name=metric_name,
                statistic=cloudwatch.Stats.MAXIMUM,
                period=cdk.Duration.minutes(15),
            )
            at_or_above = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            self._alarm(
                f"Ses{pascal(label)}RateWarning",
                f"The account's SES {label} rate is at half the rate at which SES reviews the account ({limit:.2%}):"
                " check the bounces/complaints of the latest journey emails (docs/operations.md).",
                metric,
                threshold=limit / 2,
                comparison=at_or_above,
                alarm_name=f"cxm-{self.stage}-ses-{label}-rate-warning",
            )
            paused = self._alarm(
                f"Ses{pascal(label)}RatePause",
                f"The account's SES {label} rate reached {limit:.2%}, where SES reviews the account: the platform's "
                "email sending is paused (its configuration set); docs/operations.md says how to resume.",
                metric,
                threshold=limit,
                comparison=at_or_above,
                alarm_name=f"cxm-{self.stage}-ses-{label}-rate-pause",
            )
            # one invoke permission per alarm, each limited to that alarm (SourceArn)
            paused.add_alarm_action(actions.LambdaAction(self.pause_function, use_unique_permission_id=True))
            out.append(paused)
        return out

    def _pause_function(self, configuration_set: ses.IConfigurationSet, layer_version: int) -> lambda_.Function:
        log_group = logs.LogGroup(self, "PauseSendingLogs", retention=logs.RetentionDays.ONE_MONTH)
        role = iam.Role(
            self,
            "PauseSendingRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="operations.pause_sending: read the SES reputation metrics, turn the platform's sending off",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ses:PutConfigurationSetSendingOptions"],
                resources=[
                    self.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=configuration_set.configuration_set_name,
                    )
                ],
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"]))
        function = lambda_.Function(
            self,
            "PauseSending",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=code_excludes("operations")),
            handler=PAUSE_HANDLER,
            description="Pauses the platform's email sending (its SES configuration set) when the account's bounce "
            "or complaint rate reaches SES's review threshold (alarm action).",
            memory_size=256,
            timeout=cdk.Duration.seconds(30),
            environment={
                "POWERTOOLS_SERVICE_NAME": "operations",
                "POWERTOOLS_METRICS_NAMESPACE": observability.NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                EMAIL_CONFIGURATION_SET_ENV: configuration_set.configuration_set_name,
            },
            layers=[powertools_layer(self, layer_version)],
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "Python 3.12 is deliberate: the Powertools v3 layer is the python312 build and the code is tested on "
            "3.12; move runtime and layer (POWERTOOLS_LAYER_NAME) together.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only actions without resource-level permissions: cloudwatch:GetMetricData (the account's AWS/SES "
            "reputation metrics) and X-Ray's PutTraceSegments/PutTelemetryRecords (active tracing). Sending is "
            "switched off on the platform's configuration set only.",
        )
        return function

    # --- dashboard ---
    def _figure(
        self, service: str, name: str, period: cdk.Duration = FIVE_MINUTES, label: str | None = None, **dims: str
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=observability.NAMESPACE,
            metric_name=name,
            dimensions_map={"service": service, **dims},
            statistic=cloudwatch.Stats.SUM,
            period=period,
            label=label,
        )

    def _dashboard(self, services: Sequence[ServiceConstruct], api: CxmHttpApi) -> None:
        o = observability
        graph = cloudwatch.GraphWidget
        sends = [
            self._figure("journeys", o.SENDS, label=f"{channel} {outcome}", channel=channel, outcome=outcome)
            for channel in o.CHANNELS
            for outcome in sorted(set(o.SEND_OUTCOMES.values()))
        ]
        reputation = [
            cloudwatch.Metric(
                namespace=SES_NAMESPACE, metric_name=m, statistic=cloudwatch.Stats.MAXIMUM, period=FIVE_MINUTES
            )
            for m in (BOUNCE_RATE_METRIC, COMPLAINT_RATE_METRIC)
        ]
        functions = [(s.manifest.name, f, fn.function) for s in services for f, fn in s.functions.items()]
        dlqs = [(s.manifest.name, q, pair[1]) for s in services for q, pair in s.queues.items()]
        rows: list[Sequence[cloudwatch.IWidget]] = [
            [
                cloudwatch.TextWidget(
                    markdown=f"# CxM {self.stage}\nKey figures (namespace `CxM`), errors, dead letters, the API and "
                    "SES reputation. What each alarm means and what to do: docs/operations.md.",
                    width=24,
                    height=2,
                )
            ],
            [
                graph(title="Events collected", left=[self._figure("events", o.EVENTS_COLLECTED)], width=6),
                graph(
                    title="Profiles created / merged",
                    left=[self._figure("identity", o.PROFILES_CREATED), self._figure("identity", o.PROFILES_MERGED)],
                    width=6,
                ),
                graph(
                    title="Segment entries / exits",
                    left=[self._figure("segments", o.SEGMENT_ENTRIES), self._figure("segments", o.SEGMENT_EXITS)],
                    width=6,
                ),
                graph(title="Content decisions", left=[self._figure("content", o.DECISIONS)], width=6),
            ],
            [
                graph(title="Sends by channel and outcome", left=sends, width=12),
                graph(
                    title="SES reputation (account)",
                    left=reputation,
                    left_annotations=[
                        cloudwatch.HorizontalAnnotation(value=BOUNCE_RATE_LIMIT, label="bounce: sending paused"),
                        cloudwatch.HorizontalAnnotation(value=COMPLAINT_RATE_LIMIT, label="complaint: sending paused"),
                    ],
                    width=12,
                ),
            ],
            [
                graph(
                    title="Function errors",
                    left=[
                        fn.metric_errors(period=FIVE_MINUTES, statistic=cloudwatch.Stats.SUM, label=f"{s}.{f}")
                        for s, f, fn in functions
                    ],
                    width=12,
                ),
                graph(
                    title="Dead-letter queue depth",
                    left=[
                        dlq.metric_approximate_number_of_messages_visible(
                            period=FIVE_MINUTES, statistic=cloudwatch.Stats.MAXIMUM, label=f"{s}/{q}"
                        )
                        for s, q, dlq in dlqs
                    ],
                    width=12,
                ),
            ],
            [
                graph(
                    title="API latency",
                    left=[
                        api.api.metric_latency(period=FIVE_MINUTES, statistic="p50", label="p50"),
                        api.api.metric_latency(period=FIVE_MINUTES, statistic="p99", label="p99"),
                    ],
                    width=8,
                ),
                graph(title="API 5xx rate (%)", left=[self._api_5xx_rate(api)], width=8),
                graph(
                    title="Service metrics that raise alarms (CouponPoolLow, ...)",
                    left=[self._figure(s.manifest.name, a.metric) for s in services for a in s.manifest.alarms],
                    width=8,
                ),
            ],
        ]
        # This stack's alarms only: the root stack's alarms (DLQs) notify this stack's topic, so naming them here
        # would make the two stacks depend on each other (their queues are on the DLQ graph). A status widget
        # shows at most 100 alarms.
        alarms = self.alarms
        rows.extend(
            [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms[i : i + 100], width=24, height=8)]
            for i in range(0, len(alarms), 100)
        )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"cxm-{self.stage}")
        for row in rows:
            dashboard.add_widgets(*row)
