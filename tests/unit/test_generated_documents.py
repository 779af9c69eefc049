"""Checked-in generated documents stay true to the code: bus event schemas and the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

from infra import openapi
from services.common.contracts import schemas
from services.common.contracts.registry import ALL


def test_every_bus_event_has_its_json_schema_checked_in_and_current() -> None:
    assert schemas.drift() == [], "run `make schemas` and commit the result"
    names = {p.name for p in schemas.SCHEMA_DIR.glob("*.json")}
    assert len(names) == len(ALL)


def test_each_schema_names_its_source_detail_type_and_version() -> None:
    for path in schemas.SCHEMA_DIR.glob("*.json"):
        meta = json.loads(path.read_text())["x-cxm"]
        assert path.name == f"{meta['source']}.{meta['detailType']}.v{meta['version']}.json"


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
