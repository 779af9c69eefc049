"""Every service's manifest and the environment each function gets: read by the CDK app and the local cloud."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from services.common.manifest import (
    ACCESS_TABLE_ENV,
    BUS_ENV,
    EMAIL_CONFIGURATION_SET_ENV,
    EMAIL_FROM_ENV,
    PLATFORM,
    PUBLIC_API_URL_ENV,
    Function,
    ServiceManifest,
    invoke_env,
)
from services.content.manifest import MANIFEST as CONTENT
from services.events.manifest import MANIFEST as EVENTS
from services.identity.manifest import MANIFEST as IDENTITY
from services.journeys.manifest import MANIFEST as JOURNEYS
from services.segments.manifest import MANIFEST as SEGMENTS

SERVICES: tuple[ServiceManifest, ...] = (EVENTS, IDENTITY, SEGMENTS, JOURNEYS, CONTENT)
ALL: tuple[ServiceManifest, ...] = (PLATFORM, *SERVICES)


class Names(Protocol):
    """Physical names of deployed resources: CDK tokens in the stack, plain strings in the local cloud."""

    def table(self, service: str, table: str) -> str: ...
    def bucket(self, service: str, bucket: str) -> str: ...
    def bus(self) -> str: ...
    def state_machine_arn(self, service: str, machine: str) -> str: ...
    def function_name(self, service: str, function: str) -> str: ...
    def function_arn(self, service: str, function: str) -> str: ...
    def machine_name_prefix(self, service: str, family: str) -> str: ...
    def machine_role_arn(self, service: str, family: str) -> str: ...
    def email_from(self) -> str: ...
    def configuration_set(self) -> str: ...
    def secret_arn(self, secret: str) -> str: ...
    def api_url(self) -> str: ...


def manifest(name: str) -> ServiceManifest:
    return next(m for m in ALL if m.name == name)


def environment(
    service: ServiceManifest, function: Function, names: Names, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment variables of one function, derived only from its declaration (plus the values of the
    optional settings it declares, when the deployment sets them)."""
    env = {"POWERTOOLS_SERVICE_NAME": service.name, "POWERTOOLS_METRICS_NAMESPACE": "CxM"}
    for table_name in function.tables:
        env[service.table(table_name).env] = names.table(service.name, table_name)
    for bucket_name in function.buckets:
        env[service.bucket(bucket_name).env] = names.bucket(service.name, bucket_name)
    if function.routes or function.reads_sources or function.manages_keys:
        env[ACCESS_TABLE_ENV] = names.table(PLATFORM.name, "access")
    if function.publishes:
        env[BUS_ENV] = names.bus()
    for machine in function.starts_state_machines:
        env[service.state_machine(machine).env] = names.state_machine_arn(service.name, machine)
    for family_name in dict.fromkeys((*function.manages_machines, *function.runs_machines)):
        family = service.machine_family(family_name)
        env[family.name_prefix_env] = names.machine_name_prefix(service.name, family.name)
        if family_name in function.manages_machines:
            env[family.role_env] = names.machine_role_arn(service.name, family.name)
            for invoked in family.invokes:
                env[family.function_env(invoked)] = names.function_arn(service.name, invoked)
    for target in function.invokes:
        target_service, _, target_function = target.partition(".")
        env[invoke_env(target)] = names.function_name(target_service, target_function)
    for name in function.settings:
        if settings and name in settings:
            env[name] = str(settings[name])
    for secret in function.secrets:
        env[PLATFORM.secret(secret).env] = names.secret_arn(secret)
    if function.links_to_api:
        env[PUBLIC_API_URL_ENV] = names.api_url()
    if function.sends_email:
        env[EMAIL_FROM_ENV] = names.email_from()
        env[EMAIL_CONFIGURATION_SET_ENV] = names.configuration_set()
    return env
