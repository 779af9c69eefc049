"""Declarations of what each service deploys: the one source of truth read by the CDK app and the local cloud."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Auth = Literal["write_key", "server", "admin", "public"]
Access = Literal["read", "write"]


@dataclass(frozen=True)
class Index:
    """A global secondary index (projection ALL)."""

    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class Table:
    """A DynamoDB table owned by one service; keys are strings. `env` names the variable carrying its name."""

    name: str
    env: str
    partition_key: str = "pk"
    sort_key: str | None = "sk"
    ttl_attribute: str | None = None
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket owned by one service (private, encrypted, TLS only). Objects expire `expire_after_days` after
    they are written; `env` names the variable carrying the bucket's name."""

    name: str
    env: str
    expire_after_days: int


@dataclass(frozen=True)
class Secret:
    """A random secret the platform generates at deploy time (e.g. an HMAC key). `env` names the variable that
    carries its ARN (Secrets Manager); functions read it at run time, it never appears in code or logs."""

    name: str
    env: str


@dataclass(frozen=True)
class Route:
    """An HTTP API route; `auth` is checked by the handler so refusals are problem+json (HTTP APIs cannot
    customise authoriser responses)."""

    method: str
    path: str
    auth: Auth
    # Refusals beyond every route's 400/401/403/413 (and 404 for a path with an id, 415 for one with a body) that
    # the OpenAPI document declares, e.g. (404, 409): the 404 of a look-up by email, the 409 of a state change.
    refuses: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Subscription:
    """Bus events a consumer receives: rule → SQS queue (with DLQ) → function, partial batch failures on."""

    name: str
    detail_types: tuple[str, ...]
    sources: tuple[str, ...] = ()
    batch_size: int = 10
    max_receive_count: int = 5
    # "platform": our bus (cxm-<stage>); "default": the account's default bus, where AWS services (SES feedback,
    # scheduled events) publish.
    bus: Literal["platform", "default"] = "platform"


@dataclass(frozen=True)
class Schedule:
    """A scheduled rule invoking a function, e.g. `rate(1 minute)`."""

    name: str
    expression: str


@dataclass(frozen=True)
class Function:
    """One Lambda function. `handler` is the dotted path to the entry point."""

    name: str
    handler: str
    description: str
    routes: tuple[Route, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    tables: dict[str, Access] = field(default_factory=dict)
    buckets: dict[str, Access] = field(default_factory=dict)  # "write" may put objects, never delete them
    publishes: bool = False
    sends_email: bool = False  # ses:SendEmail from the stack's sender address
    manages_email_templates: bool = False  # create/update/read SES templates (no sending)
    links_to_api: bool = False  # writes links to the public HTTP API (email tracking, unsubscribe): PUBLIC_API_URL
    starts_state_machines: tuple[str, ...] = ()  # names of this service's state machines
    # machine families (see MachineFamily): create/update the machines, or start/stop/resume their runs
    manages_machines: tuple[str, ...] = ()
    runs_machines: tuple[str, ...] = ()
    sends_sms: bool = False  # sns:Publish to phone numbers
    invokes: tuple[str, ...] = ()  # "<service>.<function>" of internal APIs it calls
    reads_sources: bool = False  # reads the sources' settings in the platform's access table (ACCESS_TABLE)
    manages_keys: bool = False  # writes the platform's access table: creates and revokes API keys (the keys API)
    secrets: tuple[str, ...] = ()  # names of PLATFORM secrets it may read
    # Optional configuration variables it reads (defaults live in the code); a deployment sets them with the CDK
    # context `functionSettings` ({"NAME": "value"}), the local cloud with LocalCloud(function_settings=...).
    settings: tuple[str, ...] = ()
    timeout_seconds: int = 10
    memory_mb: int = 512


@dataclass(frozen=True)
class StateMachine:
    """A Step Functions state machine whose ASL lives in a JSON file beside the service. `${Name}` placeholders
    are substituted with the ARNs of this service's functions of that name."""

    name: str
    env: str
    definition_file: str
    invokes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MachineFamily:
    """State machines a service creates at run time from what marketers publish (one per journey version). Their
    names start with the family's prefix; they all run with one role, declared here, that may invoke only
    `invokes` (this service's functions, whose ARNs the definitions are given)."""

    name: str
    env_prefix: str  # <PREFIX>_NAME_PREFIX, <PREFIX>_ROLE_ARN, <PREFIX>_FUNCTION_<NAME>_ARN
    invokes: tuple[str, ...] = ()
    # a metric (namespace CxM, dimension service) the functions emit when a run fails; the stack alarms on it
    failure_metric: str | None = None

    @property
    def name_prefix_env(self) -> str:
        return f"{self.env_prefix}_NAME_PREFIX"

    @property
    def role_env(self) -> str:
        return f"{self.env_prefix}_ROLE_ARN"

    def function_env(self, function: str) -> str:
        return f"{self.env_prefix}_FUNCTION_{function.upper()}_ARN"


@dataclass(frozen=True)
class MetricAlarm:
    """A metric a service emits (namespace CxM, dimension service) that needs a person when it appears: the stack
    alarms when its sum over `period_minutes` is above `threshold`; `advice` says what to do (the alarm's text)."""

    metric: str
    advice: str
    threshold: float = 0
    period_minutes: int = 5


@dataclass(frozen=True)
class ServiceManifest:
    name: str
    tables: tuple[Table, ...] = ()
    buckets: tuple[Bucket, ...] = ()
    functions: tuple[Function, ...] = ()
    state_machines: tuple[StateMachine, ...] = ()
    secrets: tuple[Secret, ...] = ()
    machine_families: tuple[MachineFamily, ...] = ()
    alarms: tuple[MetricAlarm, ...] = ()

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def bucket(self, name: str) -> Bucket:
        return next(b for b in self.buckets if b.name == name)

    def state_machine(self, name: str) -> StateMachine:
        return next(m for m in self.state_machines if m.name == name)

    def secret(self, name: str) -> Secret:
        return next(s for s in self.secrets if s.name == name)

    def machine_family(self, name: str) -> MachineFamily:
        return next(f for f in self.machine_families if f.name == name)


# Platform-wide names: the environment variables functions receive.
BUS_ENV = "EVENT_BUS_NAME"
EMAIL_FROM_ENV = "EMAIL_FROM"
EMAIL_CONFIGURATION_SET_ENV = "EMAIL_CONFIGURATION_SET"
ACCESS_TABLE_ENV = "ACCESS_TABLE"
PUBLIC_API_URL_ENV = "PUBLIC_API_URL"  # the HTTP API's public base URL, e.g. https://api.example.com

# Request headers browsers may send cross-origin (CORS preflight), for the stack and the local gateway alike. Beyond
# our own: analytics.js 2.0 adds X-Retry-Count on a retry; RudderStack's SDK sends AnonymousId and SentAt, and the
# Rsa-* headers on a retry. A header missing here makes the browser drop the request before it is sent.
CORS_ALLOW_HEADERS = (
    "authorization",
    "content-type",
    "content-encoding",
    "x-retry-count",
    "anonymousid",
    "sentat",
    "rsa-recovered",
    "rsa-retry-attempt",
    "rsa-since-first-attempt",
    "rsa-since-last-attempt",
    "rsa-retry-reason",
)


def invoke_env(target: str) -> str:
    """`identity.lookup` → `IDENTITY_LOOKUP_FUNCTION`: the variable holding an internal API's function name."""
    return target.replace(".", "_").upper() + "_FUNCTION"


# Resources of the platform itself rather than of one service: the API credentials every API function checks.
PLATFORM = ServiceManifest(
    name="platform",
    tables=(Table("access", env=ACCESS_TABLE_ENV),),
    secrets=(Secret("link-signing", env="LINK_SIGNING_SECRET_ARN"),),  # HMAC key of email links (tracking, unsubscribe)
)
