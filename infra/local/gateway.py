"""The local HTTP API: turns requests on localhost into API Gateway HTTP API (payload 2.0) events and invokes
the route's function through moto's Lambda (so env, context and errors match the deployed shape)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

from services.common.manifest import CORS_ALLOW_HEADERS

# (query string, headers, body, path parameters) → (status, headers, body)
LocalRoute = Callable[[str, dict[str, str], bytes, dict[str, str]], tuple[int, dict[str, str], bytes]]
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/problem+json")


def route_pattern(path: str) -> re.Pattern[str]:
    """API Gateway routes `/a/b/` as `/a/b` (a route cannot end with a slash): RudderStack asks for `/sourceConfig/`."""
    pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}/?$" if path != "/" else "^/$")


def http_api_event(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    route_key: str,
    path_parameters: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as the Lambda integration delivers it."""
    text = headers.get("content-type", "").startswith(_TEXT_TYPES) and headers.get("content-encoding") is None
    if text:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            text = False  # bytes that are not UTF-8 reach the function as they are (base64), never "repaired"
    query_parameters: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        query_parameters[key] = f"{query_parameters[key]},{value}" if key in query_parameters else value
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "cookies": [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()] or None,
        "headers": headers,
        "queryStringParameters": query_parameters or None,
        "pathParameters": path_parameters or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
        },
        "body": (body.decode("utf-8") if text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not text,
        "stageVariables": None,
    }


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """API Gateway's mapping of a Lambda result, including the 'simple' format."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, raw


class Gateway:
    """`routes`: route key → function name. `local_routes`: extra routes served in-process (dev tools)."""

    def __init__(
        self,
        routes: dict[str, str],
        region: str,
        host: str = "127.0.0.1",
        port: int = 0,
        local_routes: dict[str, LocalRoute] | None = None,
        cors_origin: str = "*",
    ) -> None:
        self.set_routes(routes)
        self._local = [
            (key.split(" ", 1)[0], route_pattern(key.split(" ", 1)[1]), key, fn)
            for key, fn in (local_routes or {}).items()
        ]
        self._lambda = boto3.client("lambda", region_name=region)
        self._cors = cors_origin
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # requests are logged by the functions
                pass

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.command == "OPTIONS":
                    return self._send(204, {}, b"")
                status, out_headers, out_body = gateway.dispatch(
                    self.command, url.path, url.query, headers, body, self.client_address[0]
                )
                self._send(status, out_headers, out_body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                headers = {
                    "access-control-allow-origin": gateway._cors,
                    "access-control-allow-headers": ",".join(CORS_ALLOW_HEADERS),
                    "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS",
                    **headers,
                }
                for name, value in headers.items():
                    if name != "content-length":
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":  # a HEAD answer announces its body's length but carries none
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, HEAD, PROPFIND...) is routed too and, matching no route, gets API
                # Gateway's JSON 404 rather than http.server's HTML 501.
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="cxm-gateway", daemon=True)

    def set_routes(self, routes: dict[str, str]) -> None:
        """Serve these routes (route key → function name); the socket may be bound before they are known."""
        self._routes = [
            (key.split(" ", 1)[0], route_pattern(key.split(" ", 1)[1]), key, target)
            for key, target in sorted(routes.items(), key=lambda kv: "{" in kv[0])
        ]

    def dispatch(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        for route_method, pattern, _, local in self._local:
            found = pattern.match(path)
            if route_method in (method, "ANY") and found:
                return local(query, headers, body, found.groupdict())
        for route_method, pattern, key, function in self._routes:
            match = pattern.match(path)
            if match and route_method in (method, "ANY"):
                event = http_api_event(method, path, query, headers, body, key, match.groupdict(), source_ip)
                response = self._lambda.invoke(FunctionName=function, Payload=json.dumps(event).encode())
                result = json.loads(response["Payload"].read() or b"null")
                if response.get("FunctionError"):
                    return 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
                return http_response(result)
        # API Gateway's own answer for an unknown route (not problem+json: no function ran)
        return 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'

    def start(self) -> Gateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop that never started
            self.server.shutdown()
        self.server.server_close()
