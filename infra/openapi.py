"""Builds the platform's one OpenAPI document from every service's route models; `--check` fails on drift."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from infra import catalog

OUTPUT = Path(__file__).resolve().parents[1] / "services" / "common" / "openapi.json"
PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each field.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "required": ["title", "status"],
}
SECURITY = {
    "writeKey": {
        "type": "http",
        "scheme": "basic",
        "description": "A source's write key as the HTTP Basic user (password empty), as Segment does.",
    },
    "serverKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A site back-end's server key: `Authorization: Bearer sk_...` (never in a page).",
    },
    "adminKey": {"type": "http", "scheme": "bearer", "description": "An admin key: `Authorization: Bearer ak_...`."},
}
LEVELS: dict[str, list[dict[str, list[str]]]] = {
    "admin": [{"adminKey": []}],
    "server": [{"serverKey": []}, {"adminKey": []}],
    "write_key": [{"writeKey": []}, {"serverKey": []}, {"adminKey": []}],
}


REFUSALS = {  # what a route's declared refusals (Route.refuses) say in the document
    404: "Nothing with this id, or no profile for the person named.",
    409: "The current state does not allow this (the problem's `detail` says why; read again and retry).",
    429: "Too many attempts: wait the problem's `retryAfter` seconds.",
    502: "A service could not give its part of the answer; nothing was changed. Try again.",
    503: "A service could not be asked; nothing was changed. Try again.",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    for service in catalog.SERVICES:
        for function in service.functions:
            if not function.routes:
                continue
            module = importlib.import_module(function.handler.rpartition(".")[0])
            spec = json.loads(module.app.get_openapi_json_schema())
            schemas.update((spec.get("components") or {}).get("schemas", {}))
            routes = {route.key: route for route in function.routes}
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    route = routes.get(f"{method.upper()} {path}")
                    if route is None:
                        raise ValueError(f"{service.name}: {method.upper()} {path} is served but not declared")
                    level = route.auth
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)
                    if "204" in responses:  # no body at all (powertools documents `Response[None]` as JSON null)
                        responses["204"].pop("content", None)
                    responses["400"] = _problem("Invalid input; `errors` names each field at fault.")
                    responses["413"] = _problem("The body is larger than the limit.")
                    if "{" in path:
                        responses.setdefault("404", _problem("Nothing with this id."))
                    if "requestBody" in operation:
                        responses["415"] = _problem("The body is not in a media type this route reads.")
                    for status in route.refuses:
                        responses[str(status)] = _problem(REFUSALS[status])
                    if level != "public":
                        responses["401"] = _problem("No API key, or an unknown one.")
                        responses["403"] = _problem("The key may not call this route.")
                        operation["security"] = LEVELS[level]
                    paths.setdefault(path, {})[method] = operation
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CxM platform API",
            "version": "1.0.0",
            "description": "Collect events (Segment HTTP Tracking API), profiles, segments, journeys, content.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY},
    }


def rendered() -> str:
    return json.dumps(document(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    text = rendered()
    if "--check" in sys.argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date with the route models: run `make openapi`")
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
