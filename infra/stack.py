"""`CxmStack`: the whole platform, derived from the manifests of infra/catalog.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.catalog import ALL
from infra.constructs.api import CxmHttpApi
from infra.constructs.console import Console
from infra.constructs.function import DEFAULT_POWERTOOLS_LAYER_VERSION
from infra.constructs.operations import Operations
from infra.constructs.registry import Registry, cxm_id
from infra.constructs.service import ServiceConstruct, build_order, pascal
from services.common.manifest import ServiceManifest


def _bool(value: Any) -> bool:
    if isinstance(value, str):  # `cdk synth -c deletionProtection=false` passes strings
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):  # `-c corsAllowOrigins='["https://a"]'` or `-c corsAllowOrigins=https://a,https://b`
        value = (
            json.loads(value) if value.strip().startswith("[") else [v.strip() for v in value.split(",") if v.strip()]
        )
    return [str(v) for v in value]


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # `-c functionSettings='{"JOURNEY_EMAIL_FREQUENCY_CAP": "3/7d"}'` passes a string
        value = json.loads(value) if value.strip() else {}
    return dict(value)


@dataclass(frozen=True)
class Settings:
    """The stack's context values (defaults here mirror cdk.json)."""

    stage: str = "dev"
    email_from: str = "no-reply@example.com"
    powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION
    cors_allow_origins: tuple[str, ...] = ("http://localhost:3000",)
    deletion_protection: bool = True
    api_throttle_rate_limit: float = 100.0
    api_throttle_burst_limit: int = 200
    function_settings: tuple[tuple[str, str], ...] = ()
    public_api_url: str = ""  # the API's address in emails when a custom domain fronts it; else its stage URL
    alarm_email: str = ""  # who the alarm topic e-mails (`-c alarmEmail=ops@example.com`); none when empty
    console: bool = True  # the marketers' console (CloudFront + Cognito); `-c console=false` leaves it out
    console_domain_prefix: str = ""  # the Cognito sign-in domain's prefix; default `<stack name>-console-<account>`
    console_local_callback: bool = False  # also let a console on http://localhost:8080/console/ sign in
    console_admin_email: str = ""  # creates this first marketer (Cognito e-mails a temporary password)

    @classmethod
    def from_context(cls, scope: Construct) -> Settings:
        node = scope.node

        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            return default if value is None else value

        d = cls()
        return cls(
            stage=str(get("stage", d.stage)),
            email_from=str(get("emailFrom", d.email_from)),
            powertools_layer_version=int(get("powertoolsLayerVersion", d.powertools_layer_version)),
            cors_allow_origins=tuple(_strings(get("corsAllowOrigins", list(d.cors_allow_origins)))),
            deletion_protection=_bool(get("deletionProtection", d.deletion_protection)),
            api_throttle_rate_limit=float(get("apiThrottleRateLimit", d.api_throttle_rate_limit)),
            api_throttle_burst_limit=int(get("apiThrottleBurstLimit", d.api_throttle_burst_limit)),
            function_settings=tuple(sorted((str(k), str(v)) for k, v in _mapping(get("functionSettings", {})).items())),
            public_api_url=str(get("publicApiUrl", d.public_api_url)),
            alarm_email=str(get("alarmEmail", d.alarm_email)).strip(),
            console=_bool(get("console", d.console)),
            console_domain_prefix=str(get("consoleDomainPrefix", d.console_domain_prefix)).strip(),
            console_local_callback=_bool(get("consoleLocalCallback", d.console_local_callback)),
            console_admin_email=str(get("consoleAdminEmail", d.console_admin_email)).strip(),
        )


class CxmStack(cdk.Stack):
    """Bus, SES configuration set, HTTP API and one `ServiceConstruct` per manifest (PLATFORM too)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        manifests: Sequence[ServiceManifest] = ALL,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = s = settings or Settings.from_context(self)

        self.bus = events.EventBus(self, "Bus", event_bus_name=f"cxm-{s.stage}")
        cxm_id(self.bus, "platform/bus")
        # No EventBridge archive: it cannot be edited, and it would keep an erased person's events for its whole
        # retention. The raw event archive is the events service's crypto-shredded bucket (docs/decisions.md #18).
        self.configuration_set = ses.ConfigurationSet(self, "EmailConfigurationSet", reputation_metrics=True)
        cxm_id(self.configuration_set, "platform/configuration-set")
        # Delivery feedback (bounces, complaints, deliveries) goes to the default bus, where SES may publish; the
        # identity service subscribes there to keep its suppression list.
        self.configuration_set.add_event_destination(
            "FeedbackToEventBridge",
            destination=ses.EventDestination.event_bus(
                events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
            ),
            events=[
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.REJECT,
            ],
        )

        # The console first: the API's CORS allowlist names its address (config.json names the API's, below).
        self.console = (
            Console(
                self,
                "Console",
                stage=s.stage,
                domain_prefix=s.console_domain_prefix,
                local_callback=s.console_local_callback,
                admin_email=s.console_admin_email,
                public_api_url=s.public_api_url,
                deletion_protection=s.deletion_protection,
            )
            if s.console
            else None
        )
        console_origins = (self.console.origin,) if self.console else ()
        self.api = CxmHttpApi(
            self,
            "HttpApi",
            api_name=f"cxm-{s.stage}",
            cors_allow_origins=(*s.cors_allow_origins, *console_origins),
            throttle_rate_limit=s.api_throttle_rate_limit,
            throttle_burst_limit=s.api_throttle_burst_limit,
        )
        # Functions that write links into emails get the API's address (the stage URL names only the API id, so
        # no function depends on its own routes).
        self.registry = Registry(
            bus_=self.bus,
            email_from_=s.email_from,
            configuration_set_=self.configuration_set,
            api_url_=s.public_api_url.rstrip("/") or self.api.url,
            function_settings=dict(s.function_settings),
            stage_=s.stage,
            # API functions accept the console's tokens as admin credentials (services/common/console_auth.py)
            console_sign_in_=self.console.sign_in if self.console else None,
        )
        if self.console:
            self.console.deploy(api_url=self.registry.api_url())
        self.services: dict[str, ServiceConstruct] = {}
        # Every service's tables and secrets first (functions are granted the platform's too), then each function
        # and state machine after what it references, across services.
        for manifest in manifests:
            self.services[manifest.name] = ServiceConstruct(
                self,
                pascal(manifest.name),
                manifest=manifest,
                registry=self.registry,
                deletion_protection=s.deletion_protection,
                powertools_layer_version=s.powertools_layer_version,
            )
        for manifest, node in build_order(manifests):
            self.services[manifest.name].add(node)
        for service in self.services.values():
            self.api.add_routes(service.routes)

        # Alarms on all of the above, the SES sending pause and the dashboard (docs/operations.md); every alarm
        # of the app notifies the alarm topic.
        self.operations = Operations(
            self,
            "Operations",
            stage=s.stage,
            alarm_email=s.alarm_email,
            configuration_set=self.configuration_set,
            powertools_layer_version=s.powertools_layer_version,
        )
        self.operations.watch(list(self.services.values()), self.api)
        self.operations.notify_everyone(self)

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the HTTP API")
        cdk.CfnOutput(self, "BusName", value=self.bus.event_bus_name, description="The platform's event bus")
        cdk.CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.operations.topic.topic_arn,
            description="Every alarm notifies this topic; subscribe with `-c alarmEmail=...` or in the SNS console",
        )
        if self.console:
            cdk.CfnOutput(self, "ConsoleUrl", value=self.console.url, description="The marketers' console")
            cdk.CfnOutput(
                self,
                "ConsoleUserPoolId",
                value=self.console.user_pool.user_pool_id,
                description="The console's marketers: add one with `aws cognito-idp admin-create-user`",
            )
            cdk.CfnOutput(
                self,
                "ConsoleClientId",
                value=self.console.client.user_pool_client_id,
                description="The console's app client (authorization code with PKCE, no secret)",
            )
        cdk.CfnOutput(
            self,
            "AccessTableName",
            value=self.registry.table("platform", "access"),
            description="API keys (hashed); `cxm keys create --stack <name>` adds one",
        )
        cdk.CfnOutput(
            self,
            "ArchiveBucketName",
            value=self.registry.bucket("events", "archive"),
            description="The raw event archive (sealed per person); `cxm archive read --stack <name>` reads it back",
        )
        cdk.CfnOutput(
            self,
            "ArchiveKeysTableName",
            value=self.registry.table("events", "archive-keys"),
            description="The raw event archive's key ring (one key per person; erasure destroys it)",
        )
