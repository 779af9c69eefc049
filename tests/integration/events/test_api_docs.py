"""The API docs (Swagger UI at /v1/docs) work offline: the page loads its script and style sheet from the platform,
which serves its pinned copies with long-lived cache headers, to anyone, without a key."""

from __future__ import annotations

import gzip
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from services.events.handlers.api import SWAGGER_UI_VERSION

ROOT = Path(__file__).resolve().parents[3]
PINNED = ROOT / "services" / "events" / "static" / "swagger-ui"


def get(cloud: Any, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(cloud.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def referenced(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r'url:\s*"([^"]+)"', page)


def test_the_docs_page_loads_only_same_origin_assets(cloud: Any) -> None:
    # When anyone (no key) opens the docs
    status, headers, body = get(cloud, "/v1/docs")

    # Then the page names its script, style sheet and API document by path on this origin, never another host
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    links = referenced(page)
    assert sorted(links) == sorted(
        [
            f"/v1/docs/assets/{SWAGGER_UI_VERSION}/swagger-ui.css",
            f"/v1/docs/assets/{SWAGGER_UI_VERSION}/swagger-ui-bundle.js",
            "/v1/openapi.json",
        ]
    )
    assert "//" not in page.replace("<!--", ""), "no absolute or protocol-relative URL"
    assert "validatorUrl: null" in page  # Swagger UI would otherwise load a badge from validator.swagger.io


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [("swagger-ui-bundle.js", "application/javascript"), ("swagger-ui.css", "text/css")],
)
def test_each_asset_is_served_as_pinned_with_its_type_and_cached_for_good(
    cloud: Any, asset: str, content_type: str
) -> None:
    # When the browser fetches an asset the page names (no key)
    status, headers, body = get(cloud, f"/v1/docs/assets/{SWAGGER_UI_VERSION}/{asset}")

    # Then it gets the pinned file, with its type, to keep for good (the version is in the path)
    assert status == 200
    assert headers["content-type"].startswith(content_type)
    assert body == (PINNED / asset).read_bytes()
    cache = headers["cache-control"]
    assert "immutable" in cache and "max-age=31536000" in cache and "public" in cache


def test_an_asset_is_gzipped_for_a_browser_that_accepts_it(cloud: Any) -> None:
    status, headers, body = get(
        cloud, f"/v1/docs/assets/{SWAGGER_UI_VERSION}/swagger-ui-bundle.js", {"accept-encoding": "gzip, br"}
    )
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == (PINNED / "swagger-ui-bundle.js").read_bytes()
    assert len(body) < len(gzip.decompress(body)) / 2


@pytest.mark.parametrize(
    "path",
    [
        "/v1/docs/assets/5.0.0/swagger-ui-bundle.js",  # another version: not ours to serve
        f"/v1/docs/assets/{SWAGGER_UI_VERSION}/index.html",  # a file that is not one of the assets
        f"/v1/docs/assets/{SWAGGER_UI_VERSION}/..%2F..%2Fmanifest.py",
        f"/v1/docs/assets/{SWAGGER_UI_VERSION}/LICENSE",
    ],
)
def test_anything_else_under_the_assets_path_is_not_found(cloud: Any, path: str) -> None:
    status, headers, _ = get(cloud, path)
    assert status == 404
    assert headers["content-type"].startswith("application/problem+json")
    assert "immutable" not in headers.get("cache-control", "")
