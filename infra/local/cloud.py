"""The local cloud: the whole platform in one process on moto, with a virtual clock and an HTTP API."""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import boto3
from moto import mock_aws
from moto.ses.models import ses_backends

from infra.local.gateway import Gateway, LocalRoute
from infra.local.mailbox import SentMail
from infra.local.mailbox import mailbox as read_mailbox
from infra.local.moto_patches import MOTO_CONFIG, Faults, InProcessLambdaRuntime, VirtualClock, local_aws_patches
from infra.local.pump import Pump
from infra.local.resources import ACCOUNT, ROOT, LocalNames, Provisioned, ScheduledTarget, provision
from infra.local.schedules import Scheduler
from infra.replay import replay_all
from services.common import clock as app_clock
from services.common.access import AccessKeys, Role, presented_key
from services.common.console_auth import ConsoleSignIn, KeysUnavailable, TokenRefused, looks_like_jwt, verifier
from services.events.adapters.archive import DynamoKeyRing, S3Archive
from services.events.use_cases.archive import ReadReport
from services.events.use_cases.archive import read as read_archive_days

MAILBOX_DEFAULT_LIMIT = 50
MAILBOX_MAX_LIMIT = 500
CONSOLE_BUILD = ROOT / "build" / "console"  # `make console`: web/console built by Vite

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Fake credentials and the settings moto needs; the functions see the same environment as in AWS plus these.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


def parse_duration(text: str) -> dt.timedelta:
    """`14d`, `36h`, `2w`, `90m`, `30s` → a timedelta."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 14d, 36h, 2w, 90m, 30s)")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class LocalCloud:
    """Start with `with LocalCloud() as cloud:`; `cloud.url` is the HTTP API, `cloud.clock` the virtual clock.

    `follow_real_time=True` (for `make dev`) lets the clock tick with the wall clock; fast-forwards add to it.
    Tests keep it frozen and move it explicitly, so nothing depends on real waiting.

    `faults=Faults(rate=0.1, seed=7)` (or `CXM_FAULTS=0.1`) makes that fraction of the AWS calls the functions make
    fail as AWS fails (throttling, 5xx, timeouts after the write, partial batch failures); `cloud.aws.faults` counts
    what was injected. Calls made by the pump, the gateway and the caller's own boto3 clients are never faulted.
    """

    def __init__(
        self,
        *,
        region: str = "eu-west-1",
        start: dt.datetime | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        follow_real_time: bool = False,
        log_level: str = "WARNING",
        background_pump: bool = True,
        function_settings: dict[str, str] | None = None,
        stage: str = "local",
        faults: Faults | None = None,
    ) -> None:
        self.region = region
        # Resource names carry the stage; tests give each cloud its own, so nothing cached in a warm "container"
        # (key lookups, segment definitions) can leak from one test module's cloud into the next.
        self.names = LocalNames(region=region, stage=stage)
        self.clock = VirtualClock(start or dt.datetime.now(dt.UTC).replace(microsecond=0))
        self.runtime = InProcessLambdaRuntime()
        self._port = port
        self._host = host
        self._follow = follow_real_time
        self._log_level = log_level
        self._background_pump = background_pump
        self._function_settings = dict(function_settings or {})
        self.faults = faults
        self._stack = ExitStack()
        self._ticker_stop = threading.Event()
        self.url = ""
        self.provisioned = Provisioned()
        self.console = ConsoleSignIn("", "")
        self.gateway: Gateway | None = None
        self.pump: Pump | None = None
        self.scheduler: Scheduler | None = None

    # ---- lifecycle ----
    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        for key, value in {**AWS_ENV, "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}.items():
            self._stack.callback(_restore_env, key, os.environ.get(key))
            os.environ[key] = value
        self._stack.enter_context(mock_aws(config=MOTO_CONFIG))  # type: ignore[call-overload]
        self.aws = self._stack.enter_context(local_aws_patches(self.clock, self.runtime, self.faults))
        app_clock.set_source(self.clock.now)
        ses = ses_backends[ACCOUNT][self.region]
        ses.sent_messages = SentMail(self.clock.now, ses.sent_messages)  # each message noted with its virtual time
        self._stack.callback(app_clock.set_source, None)
        local_env = {
            **AWS_ENV,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": self._log_level,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        }
        # The gateway is bound first: functions that write links into emails get its URL in their environment.
        self.gateway = Gateway({}, self.region, self._host, self._port, local_routes=self._local_routes())
        self._stack.callback(self.gateway.stop)
        self.url = self.names.public_api_url = self.gateway.url
        # The console's user pool and client, made before the functions: they learn them as in the stack
        self.console = self.names.console = self._console_pool()
        self.provisioned = provision(self.names, local_env, self._function_settings)
        self.keys = AccessKeys(
            boto3.resource("dynamodb", region_name=self.region).Table(self.names.table("platform", "access"))
        )
        self.scheduler = Scheduler(self.provisioned.schedules, self._invoke_scheduled, self.region, ACCOUNT)
        self._stack.callback(self.clock.on_advance(self.scheduler.on_advance))
        self.pump = Pump(self.provisioned.consumers, self.region, watch=self.aws.sqs)
        # The pump sleeps until a message arrives (or a fast-forward, whose scheduled runs and resumed journeys
        # publish), instead of polling every queue: an idle `make dev` then costs next to no CPU.
        self._stack.callback(self.aws.sqs.subscribe(self.pump.wake))
        self._stack.callback(self.clock.on_advance(self.pump.wake))
        if self._background_pump:
            self.pump.start()
            self._stack.callback(self.pump.stop)
        self.gateway.set_routes(self.provisioned.routes)
        self.gateway.start()
        if self._follow:
            threading.Thread(target=self._tick, name="cxm-clock", daemon=True).start()
            self._stack.callback(self._ticker_stop.set)
        return self

    def stop(self) -> None:
        self._stack.close()

    # ---- time ----
    def advance(self, by: dt.timedelta | str) -> dt.datetime:
        """Fast-forward: Step Functions waits, task-token timeouts and scheduled rules see the new time."""
        delta = parse_duration(by) if isinstance(by, str) else by
        moved = self.clock.advance_by(delta)
        self.settle()
        return moved

    def _tick(self) -> None:
        last = dt.datetime.now(dt.UTC)
        while not self._ticker_stop.wait(1.0):
            real = dt.datetime.now(dt.UTC)
            self.clock.advance_by(real - last)
            last = real

    # ---- waiting for asynchronous work ----
    def settle(self, timeout: float = 30.0, quiet_for: float = 0.15) -> None:
        """Wait until every consumer queue is empty and stays empty for `quiet_for` seconds.

        While the cloud is busy the checks back off (20 ms doubling to 0.5 s): each one is a round of
        GetQueueAttributes calls that would otherwise compete with the pump for the interpreter.
        """
        assert self.pump is not None
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        pause = 0.02
        while time.monotonic() < deadline:
            if self.pump.backlog(stop_at=1) == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_for:
                    return
                pause = 0.02
            else:
                quiet_since = None
                pause = min(pause * 2, 0.5)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        raise TimeoutError(f"the local cloud did not settle in {timeout}s (backlog {self.pump.backlog()})")

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise TimeoutError("condition not met in time")

    def settle_runs(self, timeout: float = 60.0) -> None:
        """Wait until the queues are empty and every running execution is parked: in a Wait state, waiting for a
        task token, or backing off before a retry. Then moving the clock moves every run, none half-way."""
        parked = ("WaitStateEntered", "TaskSubmitted", "TaskFailed", "ExecutionStarted")
        sfn = boto3.client("stepfunctions", region_name=self.region)
        deadline = time.monotonic() + timeout
        steady = 0
        while time.monotonic() < deadline:
            self.settle(timeout=max(0.1, deadline - time.monotonic()))
            busy = False
            for execution in self.executions("RUNNING"):
                events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
                last = events[-1]["type"] if events else "ExecutionStarted"
                # an execution that has just started has only its first event; give its thread a moment
                if last not in parked or (last == "ExecutionStarted" and steady == 0):
                    busy = True
                    break
            steady = 0 if busy else steady + 1
            if steady >= 2:
                return
            time.sleep(0.05)
        raise TimeoutError(f"journey runs did not park in {timeout}s")

    # ---- the console's sign-in (moto's Cognito) ----
    def _console_pool(self) -> ConsoleSignIn:
        """A user pool and app client like the stack's (admin-created users only, no secret), plus the password
        flows moto can answer (it has no hosted UI for the code grant). Moto signs tokens with one key of its own
        and serves it at the pool's well-known address only inside moto, so a copy is handed to the functions as a
        file URL; they fetch and cache it like the real JWKS."""
        import requests  # moto answers requests' calls in-process (it mocks them with `responses`)

        idp = boto3.client("cognito-idp", region_name=self.region)
        pool = idp.create_user_pool(
            PoolName=f"cxm-{self.names.stage}-marketers",
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            MfaConfiguration="OPTIONAL",
        )["UserPool"]["Id"]
        client = idp.create_user_pool_client(
            UserPoolId=pool,
            ClientName="console",
            GenerateSecret=False,
            ExplicitAuthFlows=[
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
        )["UserPoolClient"]["ClientId"]
        sign_in = ConsoleSignIn(pool, client)
        jwks = requests.get(sign_in.keys_url, timeout=5).json()
        handle, path = tempfile.mkstemp(prefix="cxm-console-jwks-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(jwks, out)
        self._stack.callback(os.unlink, path)
        return ConsoleSignIn(pool, client, jwks_url=Path(path).as_uri())

    def create_marketer(self, email: str, password: str) -> None:
        """A marketer in the console's pool, with a permanent password (what an admin does in AWS)."""
        idp = boto3.client("cognito-idp", region_name=self.region)
        idp.admin_create_user(
            UserPoolId=self.console.user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=self.console.user_pool_id, Username=email, Password=password, Permanent=True
        )

    def marketer_tokens(self, email: str, password: str, client_id: str | None = None) -> dict[str, Any]:
        """Sign a marketer in (password flow): `AccessToken`, `IdToken`, `RefreshToken`."""
        idp = boto3.client("cognito-idp", region_name=self.region)
        answer = idp.initiate_auth(
            ClientId=client_id or self.console.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return dict(answer["AuthenticationResult"])

    # ---- conveniences for dev and tests ----
    def create_key(self, role: Role, source_id: str = "local", name: str = "local", key: str | None = None) -> str:
        return self.keys.create(role, source_id, name, key)

    def sent_emails(self) -> list[Any]:
        return list(ses_backends[ACCOUNT][self.region].sent_messages)

    def mailbox(self, limit: int | None = MAILBOX_DEFAULT_LIMIT, to: str | None = None) -> list[dict[str, Any]]:
        """What the local cloud "sent", newest first, as `GET /_local/mailbox` shows it (to one address when
        given): from, to, subject, headers, the HTML and text bodies, the tracked links, the virtual time."""
        sent = ses_backends[ACCOUNT][self.region].sent_messages
        stamps = sent.sent_at if isinstance(sent, SentMail) else {}
        return read_mailbox(list(sent), stamps, to, limit if limit is not None else len(sent) or 1)

    def dead_letters(self) -> dict[str, list[dict[str, Any]]]:
        sqs = boto3.client("sqs", region_name=self.region)
        out: dict[str, list[dict[str, Any]]] = {}
        for consumer in self.provisioned.consumers:
            messages = sqs.receive_message(QueueUrl=consumer.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
                "Messages", []
            )
            if messages:
                out[f"{consumer.service}/{consumer.subscription}"] = messages
        return out

    def replay(self, only: str | None = None) -> dict[str, int]:
        """`cxm replay`: dead-lettered messages go back to their queues (and the pump delivers them again)."""
        return replay_all(boto3.client("sqs", region_name=self.region), prefix="cxm-", only=only)

    def executions(self, status: str | None = None) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=self.region)
        out: list[dict[str, Any]] = []
        for machines in sfn.get_paginator("list_state_machines").paginate():
            for machine in machines["stateMachines"]:
                kwargs: dict[str, Any] = {"stateMachineArn": machine["stateMachineArn"]}
                if status:
                    kwargs["statusFilter"] = status
                for page in sfn.get_paginator("list_executions").paginate(**kwargs):  # 100 a page
                    out.extend(page["executions"])
        return out

    def table_name(self, service: str, table: str) -> str:
        return self.names.table(service, table)

    # ---- internals ----
    def _invoke_scheduled(self, target: ScheduledTarget, event: str) -> None:
        boto3.client("lambda", region_name=self.region).invoke(
            FunctionName=target.function_name, InvocationType="Event", Payload=event.encode()
        )

    def archive(self, since: dt.date, until: dt.date) -> tuple[list[dict[str, Any]], ReadReport]:
        """The raw event archive's events of these UTC days (read with the key ring, as an operator would)."""
        report = ReadReport()
        events = list(
            read_archive_days(
                S3Archive(boto3.client("s3", region_name=self.region), self.names.bucket("events", "archive")),
                DynamoKeyRing(
                    boto3.client("dynamodb", region_name=self.region), self.table_name("events", "archive-keys")
                ),
                since,
                until,
                report,
            )
        )
        return events, report

    def _refuse_unless_admin(self, headers: dict[str, str], what: str) -> tuple[int, dict[str, str], bytes] | None:
        key = presented_key(headers)
        if key and looks_like_jwt(key):  # a marketer signed in to the console is an admin here too
            try:
                verifier(self.console).claims(key, app_clock.system_now())
                return None
            except (TokenRefused, KeysUnavailable):
                key = None
        who = self.keys.lookup(key) if key else None
        if who is not None and who.role == "admin":
            return None
        status = 401 if who is None else 403
        return _json(
            status,
            {
                "title": "Unauthorized" if status == 401 else "Forbidden",
                "status": status,
                "detail": f"{what} needs an admin key",
                "errors": [{"field": "authorization", "message": "admin key required"}],
            },
            problem=True,
        )

    def _local_routes(self) -> dict[str, LocalRoute]:
        def clock_now(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            return _json(200, {"now": app_clock.iso(self.clock.now())})

        def clock_advance(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            refused = self._refuse_unless_admin(headers, "moving the clock")
            if refused:
                return refused
            try:
                by = json.loads(body or b"{}").get("by", "")
                moved = self.advance(str(by))
            except (ValueError, AttributeError) as error:
                return _bad_request("by", str(error))
            return _json(200, {"now": app_clock.iso(moved)})

        def replay_dead_letters(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            refused = self._refuse_unless_admin(headers, "replay")
            if refused:
                return refused
            only = json.loads(body or b"{}").get("only")
            return _json(200, {"replayed": self.replay(only)})

        def read_archive(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            refused = self._refuse_unless_admin(headers, "reading the archive")
            if refused:
                return refused
            asked = dict(parse_qsl(query))
            try:
                until = dt.date.fromisoformat(asked.get("until") or self.clock.now().date().isoformat())
                since = dt.date.fromisoformat(asked.get("since") or until.isoformat())
                events, report = self.archive(since, until)
            except ValueError as error:
                return _bad_request("until" if "until" in str(error) else "since", str(error))
            return _json(200, {"events": events, "report": report.to_json()})

        def demo_page(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            page = (ROOT / "web" / "demo" / "index.html").read_bytes()
            return 200, {"content-type": "text/html; charset=utf-8"}, page

        def shop_page(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            page = (ROOT / "web" / "demo" / "shop.html").read_bytes()
            return 200, {"content-type": "text/html; charset=utf-8"}, page

        def mailbox_list(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            refused = self._refuse_unless_admin(headers, "reading the mailbox")
            if refused:
                return refused
            asked = dict(parse_qsl(query))
            limit_text = asked.get("limit") or str(MAILBOX_DEFAULT_LIMIT)
            if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAILBOX_MAX_LIMIT:
                return _bad_request("limit", f"limit is a whole number from 1 to {MAILBOX_MAX_LIMIT}")
            to = asked.get("to")
            if to is not None and not 0 < len(to) <= 320:
                return _bad_request("to", "to is an email address (1 to 320 characters)")
            messages = self.mailbox(limit=int(limit_text), to=to)
            return _json(200, {"messages": messages, "count": len(messages)})

        def mailbox_message(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            refused = self._refuse_unless_admin(headers, "reading the mailbox")
            if refused:
                return refused
            message_id = unquote(params.get("messageId", ""))
            found = next((m for m in self.mailbox(limit=None) if m["id"] == message_id), None)
            if found is None:
                return _json(
                    404,
                    {
                        "title": "Not Found",
                        "status": 404,
                        "detail": f"No message {message_id!r} in the local mailbox.",
                        "errors": [{"field": "messageId", "message": "no such message"}],
                    },
                    problem=True,
                )
            return _json(200, found)

        def console_config(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            # Same origin: the console calls this gateway's API with the admin key the marketer types in.
            return _json(200, {"apiUrl": "", "auth": {"kind": "adminKey"}, "local": True})

        def console_file(
            query: str, headers: dict[str, str], body: bytes, params: dict[str, str]
        ) -> tuple[int, dict[str, str], bytes]:
            return console_response(CONSOLE_BUILD, unquote(params.get("path") or ""))

        return {
            "GET /_local/mailbox": mailbox_list,
            "GET /_local/mailbox/{messageId}": mailbox_message,
            "GET /console/config.json": console_config,
            "GET /console": console_file,
            "GET /console/{path+}": console_file,
            "GET /_local/clock": clock_now,
            "POST /_local/replay": replay_dead_letters,
            "GET /_local/archive": read_archive,
            "POST /_local/clock/advance": clock_advance,
            "GET /demo/": demo_page,
            "GET /demo": demo_page,
            "GET /demo/shop": shop_page,
        }


def console_response(build: Path, path: str) -> tuple[int, dict[str, str], bytes]:
    """A file of the console's build (`make console`): a file that exists under `build`, else the app's index.html
    for the app's own routes (`/console/journeys/j1`: the SPA routes in the browser). Never a file outside `build`."""
    index = build / "index.html"
    if not index.is_file():
        page = b"The console is not built yet: run make console (it builds web/console into build/console).\n"
        return 503, {"content-type": "text/plain; charset=utf-8", "cache-control": "no-store"}, page
    root = build.resolve()
    wanted = (root / path.lstrip("/")).resolve() if path.strip("/") else index.resolve()
    if not wanted.is_relative_to(root):
        return 404, {"content-type": "text/plain; charset=utf-8"}, b"Not found\n"
    if wanted.is_file():
        hashed = wanted.is_relative_to(root / "assets")  # Vite names assets by content hash: cache them for good
        cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
        return 200, {"content-type": content_type(wanted.name), "cache-control": cache}, wanted.read_bytes()
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.startswith("assets/") or "." in last:  # a missing file, not a page of the app
        return 404, {"content-type": "text/plain; charset=utf-8"}, b"Not found\n"
    return 200, {"content-type": "text/html; charset=utf-8", "cache-control": "no-cache"}, index.read_bytes()


_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}


def content_type(name: str) -> str:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _bad_request(field: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(
        400,
        {"title": "Bad Request", "status": 400, "detail": message, "errors": [{"field": field, "message": message}]},
        problem=True,
    )


def _json(status: int, body: dict[str, Any], problem: bool = False) -> tuple[int, dict[str, str], bytes]:
    kind = "application/problem+json" if problem else "application/json"
    return status, {"content-type": kind}, json.dumps(body).encode()


def _restore_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


__all__ = ["LocalCloud", "parse_duration"]
