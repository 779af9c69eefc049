"""Checked-in generated documents stay true to the code: bus event schemas and the OpenAPI document."""

from __future__ import annotations

import json

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
