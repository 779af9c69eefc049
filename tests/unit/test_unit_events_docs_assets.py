"""Swagger UI's files served at /v1/docs/assets/<version>/ are swagger-ui-dist's, at the version package.json pins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.events.handlers.api import SWAGGER_UI_ASSETS, SWAGGER_UI_DIR, SWAGGER_UI_VERSION

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "node_modules" / "swagger-ui-dist"


def test_the_served_version_is_the_one_package_json_pins_and_npm_installed() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/swagger-ui-dist"]
    installed = json.loads((DIST / "package.json").read_text())["version"]
    assert pinned == locked["version"] == installed == SWAGGER_UI_VERSION, (
        "bump SWAGGER_UI_VERSION in services/events/handlers/api.py with the pin, then copy the files again"
    )


@pytest.mark.parametrize("name", [*SWAGGER_UI_ASSETS, "LICENSE", "NOTICE"])
def test_each_committed_file_is_byte_equal_to_the_pinned_package(name: str) -> None:
    assert (SWAGGER_UI_DIR / name).read_bytes() == (DIST / name).read_bytes(), (
        f"services/events/static/swagger-ui/{name} differs from node_modules/swagger-ui-dist: "
        f"cp node_modules/swagger-ui-dist/{name} services/events/static/swagger-ui/"
    )
