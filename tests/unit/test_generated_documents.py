"""The checked-in bus event schemas stay true to the contracts (the OpenAPI document is checked in
tests/integration/test_openapi_document.py)."""

from __future__ import annotations

import json

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
