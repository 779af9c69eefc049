"""The checked-in OpenAPI document stays true to the route models. It is built by importing every service's handler
modules (the imperative shell, whose tracer opens the X-Ray daemon's UDP socket), so it is not a unit test."""

from __future__ import annotations

import json
from typing import Any

from infra import openapi


def test_the_openapi_document_is_current_with_the_route_models() -> None:
    assert openapi.OUTPUT.read_text() == openapi.rendered(), "run `make openapi` and commit the result"


def test_every_declared_route_is_documented_with_its_security() -> None:
    from infra import catalog

    document = openapi.document()
    for service in catalog.SERVICES:
        for function in service.functions:
            for route in function.routes:
                if route.path in ("/v1/openapi.json", "/v1/docs"):
                    continue
                operation = document["paths"][route.path][route.method.lower()]
                assert "400" in operation["responses"]
                assert ("security" in operation) == (route.auth != "public"), route.key


def _success_schemas() -> list[tuple[str, str, dict[str, Any]]]:
    document = json.loads(openapi.OUTPUT.read_text())
    return [
        (f"{method.upper()} {path} {status}", media_type, content.get("schema") or {})
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media_type, content in response.get("content", {}).items()
    ]


def _named(schema: dict[str, Any]) -> bool:
    """A model, or a choice between models."""
    choices = schema.get("anyOf") or schema.get("oneOf")
    return "$ref" in schema or (bool(choices) and all("$ref" in choice for choice in choices))


def test_every_success_response_has_a_schema_clients_can_be_generated_from() -> None:
    # Given every success answer of every operation in the checked-in document
    answers = _success_schemas()
    assert len(answers) >= 110
    # Then a JSON answer is a named model (not an open `dict[str, Any]`), and any other answer is a string or
    # nothing at all (a 204)
    untyped = [
        key
        for key, media_type, schema in answers
        if not (
            _named(schema)
            if media_type == "application/json" and schema.get("type") != "null"
            else schema.get("type") in ("string", "null")
        )
    ]
    assert untyped == []
