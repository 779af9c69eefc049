"""`CxmHttpApi`: the one HTTP API every service's routes are attached to."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.registry import acknowledge
from infra.constructs.service import BoundRoute, pascal
from services.common.manifest import CORS_ALLOW_HEADERS

# HTTP API $context variables (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html)
# No caller IP ($context.identity.sourceIp): IPs are personal data, anonymised before anything stores them, and a
# log line never holds one (tests/flows/test_log_hygiene.py, tests/infra/test_operations.py).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class CxmHttpApi(Construct):
    """HTTP API with CORS, a throttled `$default` stage with JSON access logs, and Lambda routes.

    Authorisation is NOT done by API Gateway: each route's `auth` (manifest) is checked by the handler against
    hashed API keys, so refusals are problem+json (HTTP API authorisers cannot customise their 401/403 body).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        cors_allow_origins: Sequence[str],
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=api_name,
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(cors_allow_origins),
                allow_methods=[apigwv2.CorsHttpMethod.ANY],
                allow_headers=list(CORS_ALLOW_HEADERS),
                max_age=cdk.Duration.hours(1),
            ),
        )
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        self.stage = self.api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )
        self._integrations: dict[tuple[str, str], integrations.HttpLambdaIntegration] = {}
        acknowledge(
            self.api,
            "AwsSolutions-APIG4",
            "Authorisation is done in the Lambda against hashed API keys (each route's `auth` in the manifest: "
            "write key, admin key or public docs) so refusals are problem+json; HTTP API authorisers cannot "
            "customise their 401/403 body.",
        )

    @property
    def url(self) -> str:
        return self.stage.url

    def add_routes(self, routes: Iterable[BoundRoute]) -> None:
        """Attach routes; one Lambda integration per function, however many routes it serves."""
        for bound in routes:
            key = (bound.service, bound.function_name)
            if key not in self._integrations:
                # One invoke permission per function (this API, any of its routes), not one per route: every route
                # cost two resources and the root stack was at CloudFormation's 500 (decision 34).
                self._integrations[key] = integrations.HttpLambdaIntegration(
                    f"{pascal(bound.service)}{pascal(bound.function_name)}Integration",
                    bound.function,
                    scope_permission_to_route=False,
                )
            self.api.add_routes(
                path=bound.route.path,
                methods=[apigwv2.HttpMethod(bound.route.method.upper())],
                integration=self._integrations[key],
            )
