"""The HTTP shell every service shares: a powertools resolver with validation, problem+json for every refusal,
and a guard that refuses oversized bodies and wrong credentials before any route code runs."""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict

from services.common import clock, observability, settings
from services.common.access import AccessKeys, Principal, presented_key
from services.common.console_auth import ConsoleTokens, KeysUnavailable, TokenRefused, configured_tokens, looks_like_jwt
from services.common.manifest import ACCESS_TABLE_ENV, Function
from services.common.problems import (
    PROBLEM_JSON,
    FieldError,
    Problem,
    bad_request,
    forbidden,
    from_pydantic,
    not_found,
    too_large,
    unauthorized,
)

DEFAULT_MAX_BODY = 512 * 1024  # bytes: Segment's 500 KB batch limit plus headroom for the envelope

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class View(BaseModel):
    """A response document: the fields every answer has, typed for the OpenAPI document (clients are generated
    from it, the fuzzer checks answers against it); any other field the handler returns passes through unchanged.
    Only fields always present are declared: a declared default would add a key the route does not send."""

    model_config = ConfigDict(extra="allow")


def problem_response(problem: Problem) -> Response[Any]:
    return Response(status_code=problem.status, content_type=PROBLEM_JSON, body=json.dumps(problem.body()))


def _raw_problem(problem: Problem) -> dict[str, Any]:
    return {
        "statusCode": problem.status,
        "headers": {"Content-Type": PROBLEM_JSON},
        "body": json.dumps(problem.body()),
        "isBase64Encoded": False,
    }


def resolver(title: str) -> APIGatewayHttpResolver:
    """A resolver with validation on and every error rendered as problem+json."""
    app = APIGatewayHttpResolver(enable_validation=True)
    app.configure_openapi(title=title, version="1.0.0")

    @app.exception_handler(Problem)
    def _problem(problem: Problem) -> Response[Any]:
        return problem_response(problem)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[Any]:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem_response(bad_request("The body is not valid JSON.", from_pydantic(errors)))
        return problem_response(bad_request("The request is invalid.", from_pydantic(errors)))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response[Any]:
        return problem_response(unsupported_content_type())

    @app.not_found
    def _missing(_: Exception) -> Response[Any]:
        return problem_response(not_found("No such route."))

    return app


def principal(app: APIGatewayHttpResolver) -> Principal:
    """The authenticated caller of the current request (set by the guard)."""
    return app.context["principal"]  # type: ignore[no-any-return]


def body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def decoded_body(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body as the client meant it: `Content-Encoding: gzip` is inflated, never beyond `max_bytes` (a small
    compressed body that inflates to gigabytes is refused once the limit is passed, without inflating the rest)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise Problem(
            415,
            "Unsupported Media Type",
            f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding.",
            [FieldError("content-encoding", "only gzip is supported")],
        )
    out = bytearray()
    pending = raw
    try:
        while pending:  # a gzip file may hold several members, one after the other
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(pending, max_bytes + 1 - len(out))
            if len(out) > max_bytes or inflater.unconsumed_tail:
                raise too_large(f"The decompressed body is larger than the limit of {max_bytes} bytes.")
            if not inflater.eof:
                raise zlib.error("truncated gzip data")
            pending = inflater.unused_data
    except zlib.error as error:
        raise bad_request("The body is not valid gzip.", [FieldError("body", str(error))]) from error
    return bytes(out)


class Guard:
    """Checks size and credentials of a request against the route's declared auth, before validation.

    `prepare` also hands the routes a plain-text body: base64 (API Gateway's form for binary and compressed
    bodies) and gzip are undone, the limit applies to the decompressed size, and a body that is not UTF-8 is
    refused (every route of the platform reads JSON).
    """

    def __init__(
        self,
        function: Function,
        max_body_bytes: int,
        keys: Callable[[], AccessKeys],
        console: Callable[[], ConsoleTokens | None] = lambda: configured_tokens(os.environ),
    ) -> None:
        self._auth = {route.key: route.auth for route in function.routes}
        self._max_body = max_body_bytes
        self._keys = keys
        self._console = console

    def check(self, event: dict[str, Any]) -> Principal | None:
        return self.prepare(event)[0]

    def prepare(self, event: dict[str, Any]) -> tuple[Principal | None, dict[str, Any]]:
        """The caller, and the event with its body decoded; raises a Problem for any refusal."""
        body = body_bytes(event)
        if len(body) > self._max_body:
            raise too_large(f"The body is {len(body)} bytes; the limit is {self._max_body} bytes.")
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        if headers.get("content-type", "").strip().lower().startswith("multipart/"):
            # no route reads a form; left to the resolver, a part-less or non-Latin-1 form body is a 500
            raise unsupported_content_type()
        encoding = headers.get("content-encoding", "")
        if encoding:
            body = decoded_body(body, encoding, self._max_body)
        if encoding or event.get("isBase64Encoded"):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as error:
                raise bad_request("The body is not UTF-8.", [FieldError("body", str(error))]) from error
            kept = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-encoding"}
            event = {**event, "body": text, "isBase64Encoded": False, "headers": kept}
        auth = self._auth.get(event.get("routeKey", ""), "admin")
        if auth == "public":
            return None, event
        key = presented_key(headers)
        token = _bearer(headers)
        if token is not None and looks_like_jwt(token):  # a marketer signed in to the console
            return self._console_principal(token), event  # an admin: it may call every route
        if not key and auth == "write_key":  # only then read the body or URL: most clients send the Basic header
            key = _body_write_key(body) or _url_write_key(event)
        if not key:
            raise unauthorized("No API key: send the write key as the HTTP Basic user, or `Bearer <admin key>`.")
        who = self._keys().lookup(key)
        if who is None:
            raise unauthorized("Unknown or revoked API key.")
        if not who.may(auth):
            needed = "a server or admin key" if auth == "server" else "an admin key"
            raise forbidden(f"This key may not call this route: it needs {needed}.")
        return who, event

    def _console_principal(self, token: str) -> Principal:
        """An admin for a token the console's user pool signed; the same 401 as a wrong key otherwise. The token
        is never logged: the refusal says why, not what was sent."""
        tokens = self._console()
        if tokens is None:
            raise unauthorized("This deployment has no console sign-in: send `Bearer <admin key>`.")
        try:
            # wall time, not the platform's clock: the pool stamps its tokens with real time (the local cloud's
            # virtual clock may be weeks ahead)
            claims = tokens.claims(token, clock.system_now())
        except TokenRefused as refused:
            raise unauthorized(f"Console sign-in refused: {refused}") from None
        except KeysUnavailable:
            raise Problem(
                503,
                "Service Unavailable",
                "The console's sign-in keys cannot be read right now; try again shortly.",
                [FieldError("authorization", "sign-in keys unavailable")],
            ) from None
        return Principal(role="admin", source_id="console", key_id=f"cognito:{claims['sub']}")


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def unsupported_content_type() -> Problem:
    return Problem(
        415,
        "Unsupported Media Type",
        "Send the body as application/json.",
        [FieldError("content-type", "send application/json")],
    )


def _body_write_key(body: bytes) -> str | None:
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return None
    key = parsed.get("writeKey") if isinstance(parsed, dict) else None
    return key if isinstance(key, str) else None


def _url_write_key(event: dict[str, Any]) -> str | None:
    """The write key named by the URL of a GET: SDK settings documents are fetched as
    `/v1/projects/{writeKey}/settings` (Segment) or `?writeKey=` (RudderStack), without a header. Never for a POST:
    sending events takes the key as collection clients present it."""
    if not str(event.get("routeKey", "")).startswith("GET "):
        return None
    key = (event.get("pathParameters") or {}).get("writeKey") or (event.get("queryStringParameters") or {}).get(
        "writeKey"
    )
    return key if isinstance(key, str) and key else None


def _access_keys() -> AccessKeys:
    return _keys_for(settings.setting(ACCESS_TABLE_ENV))


def access_keys() -> AccessKeys:
    """The key store of this function's platform (its source identity secrets too), cached per container."""
    return _access_keys()


_KEY_STORES: dict[str, AccessKeys] = {}


def _keys_for(table_name: str) -> AccessKeys:
    store = _KEY_STORES.get(table_name)
    if store is None:
        store = _KEY_STORES[table_name] = AccessKeys(settings.table(ACCESS_TABLE_ENV))
    return store


def http_handler(
    app: APIGatewayHttpResolver, service: str, function: Function, max_body_bytes: int = DEFAULT_MAX_BODY
) -> LambdaHandler:
    """The Lambda entry point of a service's API: logging with correlation id, metrics, tracing, guard, resolver."""
    log = observability.logger(service)
    metrics = observability.metrics(service)
    tracer = observability.tracer(service)
    guard = Guard(function, max_body_bytes, _access_keys)

    @log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)  # responses hold personal data: never in a trace
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            who, event = guard.prepare(event)
        except Problem as problem:
            log.info("request refused", extra={"status": problem.status, "route": event.get("routeKey")})
            return _raw_problem(problem)
        app.append_context(principal=who)
        return app.resolve(event, context)

    return handler
